"""The main job writes a complete run folder and prints its path last."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sim.writers.run_folder import folder_tag

ROOT = Path(__file__).resolve().parents[1]
REQUIRED = ["date", "step", "tx_total", "tx_offcounter", "value_offcounter", "value_mobile", "off_counter_rate",
            "mobile_value_share", "share_branch", "share_pc", "share_mobile", "share_platform"]


@pytest.mark.slow
def test_run_writes_tables_config_provenance_and_figures(tmp_path):
    out = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-m", "experiments.run", "population.size=2000", "seed=5",
                           "experiment=partnership", f"hydra.run.dir={out}"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert lines[-1] == str(out)
    assert lines[0].startswith("fit to the targets: off counter rate 2013")          # the summary comes first
    assert any(re.fullmatch(r"Bank app, monthly active users \(a bank-app transaction in the month\) \(2020-12\): "
                            r"[\d,]+\.\d million", x) for x in lines)
    assert not any("Most-used channel" in x or "Main channel" in x for x in lines)
    for name in ("timeseries.csv", "timeseries.parquet", "institutions.csv", "institutions.parquet",
                 "yearly.csv", "targets_fit.csv", "columns.csv", "config.yaml", "run.json",
                 "channels.png", "targets.png", "institutions.png", "adoption.png"):
        assert (out / name).stat().st_size > 0, name
    ts = pd.read_csv(out / "timeseries.csv", parse_dates=["date"])
    assert set(REQUIRED) <= set(ts.columns)
    assert len(ts) == 96 and ts["date"].iloc[0] == pd.Timestamp("2013-01-01")
    assert ts["date"].iloc[-1] == pd.Timestamp("2020-12-01")
    stored = pd.read_parquet(out / "timeseries.parquet")
    assert pd.api.types.is_datetime64_any_dtype(stored["date"])                      # dates are dates
    pd.testing.assert_frame_equal(ts, stored, check_dtype=False)
    assert ts[["scenario", "overrides", "seed", "replicate"]].drop_duplicates().values.tolist() == [
        ["partnership", "experiment=partnership,population.size=2000,seed=5", 5, 0]]
    assert ts["config_hash"].nunique() == 1 and len(ts["config_hash"].iloc[0]) == 16
    inst = pd.read_csv(out / "institutions.csv")
    assert set(inst["institution"]) == {"large_state", "joint_stock", "city_commercial", "rural_commercial",
                                        "alipay", "wechat_pay", "jd_finance"}
    banks = inst["kind"] == "bank"                                                   # `share` disambiguated
    assert inst.loc[banks, "customer_share"].notna().all() and inst.loc[banks, "user_share"].isna().all()
    assert inst.loc[~banks, "user_share"].notna().all() and inst.loc[~banks, "customer_share"].isna().all()
    for table in ("yearly.csv", "targets_fit.csv"):                              # every table says whose it is
        assert pd.read_csv(out / table)[["scenario", "seed", "replicate"]].drop_duplicates().values.tolist() == [
            ["partnership", 5, 0]]
    units = pd.read_csv(out / "columns.csv")
    assert {"customer_share", "user_share", "config_hash", "profit"} <= set(units["column"])
    info = json.loads((out / "run.json").read_text())
    assert info["seed"] == 5 and info["scenario"] == "partnership" and info["git_commit"]
    assert "partner_platform: jd_finance" in (out / "config.yaml").read_text()
    assert not list(out.glob("*.tmp")) and not list(out.glob(".*.tmp*"))


def test_folder_names_carry_a_short_tag_of_the_overrides():
    assert folder_tag(["experiment=no_ukey", "seed=3"]) == ""                        # already in the name
    assert folder_tag(["switching_cost.scale=2", "population.size=2000", "replicates=5"]) == "size=2000,scale=2"
    long_a = folder_tag([f"banks.joint_stock.strategy.marketing_budget_bn={v}" for v in (20,)] + ["end=2016-12"] * 3)
    long_b = folder_tag([f"banks.joint_stock.strategy.marketing_budget_bn={v}" for v in (21,)] + ["end=2016-12"] * 3)
    assert len(long_a) == 40 and long_a != long_b


def test_a_run_shorter_than_a_target_year_writes_its_figures_and_says_so(tmp_path):
    from lab.headline import run_summary
    from sim.writers.run_folder import write_run
    from tests.conftest import run_model
    folder = write_run(run_model("end=2013-06", size=1000), tmp_path / "short", 0.0,
                       extra={"overrides": ["end=2013-06"], "replicate": 0, "config_hash": "x"})
    assert (folder / "channels.png").is_file() and (folder / "targets.png").is_file()
    lines = run_summary([folder])
    assert lines[0] == ("Off-counter rate (bank transactions not at a counter, in the year) (2013, 6 months): "
                        + lines[0].split(": ")[1])
    assert not any(line.startswith("fit to the targets") for line in lines)     # no full target year to fit


def test_the_run_summary_computes_each_figure_as_its_name_says():
    """A hand-made 14-month table: shares of the year's bank transactions, switching summed over twelve
    months, users at the last month; none of the most-used-channel figures."""
    from lab.headline import RUN_SUMMARY, summary
    months = [f"2013-{m:02d}" for m in range(1, 13)] + ["2014-01", "2014-02"]
    n = len(months)
    ts = pd.DataFrame({"date": months, "tx_total": [10.0] * n, "tx_counter": [4.0] * 11 + [9.0] + [1.0, 1.0],
                       "tx_mobile": [6.0] * 11 + [1.0] + [9.0, 9.0], "churn_rate": [0.001] * 2 + [0.002] * 12,
                       "users_mobile_m": [100.0] * (n - 1) + [530.0]})
    ts = ts.assign(tx_offcounter=ts["tx_total"] - ts["tx_counter"], value_offcounter=1.0, value_mobile=0.5,
                   corporate_offcounter_value=1.0)          # what the yearly table is made of
    lines = dict(line.rsplit(": ", 1) for line in summary(ts))
    assert lines["Share of bank transactions in the year: branch counter (2013)"] == f"{100 * 53 / 120:.2f} %"
    assert lines["Share of bank transactions in the year: bank app (2013)"] == f"{100 * 67 / 120:.2f} %"
    assert lines["Primary-bank switching (switches in 12 months, % of adults) (12 months to 2014-02)"] == "2.40 %"
    assert lines["Bank app, monthly active users (a bank-app transaction in the month) (2014-02)"] == "530.0 million"
    assert len(lines) == 4 and {f.column for f in RUN_SUMMARY}.isdisjoint({"share_mobile", "share_platform"})
