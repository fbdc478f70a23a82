"""The main job writes a complete run folder and prints its path last."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
REQUIRED = ["date", "step", "tx_total", "tx_offcounter", "value_offcounter", "value_mobile", "off_counter_rate",
            "mobile_value_share", "share_branch", "share_pc", "share_mobile", "share_platform"]


def test_run_writes_tables_config_provenance_and_figures(tmp_path):
    out = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-m", "experiments.run", "population.size=2000", "seed=5",
                           "experiment=partnership", f"hydra.run.dir={out}"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == str(out)
    for name in ("timeseries.csv", "timeseries.parquet", "institutions.csv", "institutions.parquet",
                 "yearly.csv", "targets_fit.csv", "columns.csv", "config.yaml", "run.json",
                 "channels.png", "targets.png", "institutions.png", "adoption.png"):
        assert (out / name).stat().st_size > 0, name
    ts = pd.read_csv(out / "timeseries.csv")
    assert set(REQUIRED) <= set(ts.columns)
    assert len(ts) == 96 and ts["date"].iloc[0] == "2013-01" and ts["date"].iloc[-1] == "2020-12"
    pd.testing.assert_frame_equal(ts, pd.read_parquet(out / "timeseries.parquet"), check_dtype=False)
    inst = pd.read_csv(out / "institutions.csv")
    assert set(inst["institution"]) == {"large_state", "joint_stock", "city_commercial", "rural_commercial",
                                        "alipay", "wechat_pay", "jd_finance"}
    info = json.loads((out / "run.json").read_text())
    assert info["seed"] == 5 and info["scenario"] == "partnership" and info["git_commit"]
    assert "partner_platform: jd_finance" in (out / "config.yaml").read_text()
    assert not list(out.glob("*.tmp")) and not list(out.glob(".*.tmp*"))
