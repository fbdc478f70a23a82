"""Reproducibility across ways of running, re-running from a folder, and kills mid-sweep."""
from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from experiments.collect import collect
from experiments.rerun import main as rerun_main

ROOT = Path(__file__).resolve().parents[1]
SMALL = ["population.size=1500", "end=2016-12", "figures=false"]


def cli(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "experiments.run", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


def test_run_alone_and_inside_a_sweep_give_identical_tables(tmp_path):
    alone = cli(*SMALL, "seed=5", "replicates=2", f"hydra.run.dir={tmp_path}/alone")
    assert alone.returncode == 0, alone.stderr
    swept = cli("-m", *SMALL, "seed=4,5", "replicates=2", "hydra/launcher=joblib",
                f"hydra.sweep.dir={tmp_path}/sweep")
    assert swept.returncode == 0, swept.stderr
    for rep in ("rep_000", "rep_001"):
        a = pd.read_parquet(tmp_path / "alone" / rep / "timeseries.parquet")
        b = pd.read_parquet(tmp_path / "sweep" / "end=2016-12,population.size=1500,seed=5" / rep / "timeseries.parquet")
        pd.testing.assert_frame_equal(a, b)


def test_rerun_reproduces_a_folder_and_notices_a_change(tmp_path, capsys):
    run = cli(*SMALL, "seed=8", "experiment=marketing_war", f"hydra.run.dir={tmp_path}/run")
    assert run.returncode == 0, run.stderr
    folder = tmp_path / "run"
    assert rerun_main([str(folder)]) == 0
    assert "reproduced exactly" in capsys.readouterr().out
    ts = pd.read_parquet(folder / "timeseries.parquet")
    ts.loc[10, "share_mobile"] += 1e-9
    ts.to_parquet(folder / "timeseries.parquet", index=False)
    assert rerun_main([str(folder)]) == 1
    assert "share_mobile" in capsys.readouterr().out


def test_a_killed_sweep_keeps_every_finished_run_and_nothing_half_written(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "experiments.run", "-m", *SMALL, "seed=range(0,40)",
                             f"hydra.sweep.dir={tmp_path}/sweep"], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and len(list((tmp_path / "sweep").rglob("run.json"))) < 3:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    finished = list((tmp_path / "sweep").rglob("run.json"))
    assert 3 <= len(finished) < 40
    for run_json in finished:
        for table in ("timeseries", "institutions", "yearly"):
            assert len(pd.read_parquet(run_json.parent / f"{table}.parquet")) > 0
            assert len(pd.read_csv(run_json.parent / f"{table}.csv")) > 0
    out = collect(tmp_path / "sweep")
    ts = pd.read_parquet(out / "timeseries.parquet")
    assert ts.drop_duplicates(["job", "replicate"]).shape[0] == len(finished)
    assert (ts.groupby("job").size() == 48).all()
    # resuming finishes the rest and leaves the finished ones alone
    before = {p: p.stat().st_mtime_ns for p in finished}
    again = cli("-m", *SMALL, "seed=range(0,40)", f"hydra.sweep.dir={tmp_path}/sweep", timeout=600)
    assert again.returncode == 0, again.stderr[-2000:]
    assert len(list((tmp_path / "sweep").rglob("run.json"))) == 40
    assert all(p.stat().st_mtime_ns == t for p, t in before.items())
