"""Sweeps through Hydra's launchers, the results store, resuming, failures, and plots."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from experiments.collect import collect
from experiments.plot import main as plot_main

ROOT = Path(__file__).resolve().parents[1]
SWEEP = ["population.size=1500", "end=2015-12", "figures=false", "replicates=3",
         "switching_cost.scale=0.5,2", "experiment=baseline,no_ukey"]


def sweep(tmp_path: Path, study: str, *extra: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}
    return subprocess.run([sys.executable, "-m", "experiments.run", "-m", *SWEEP, f"study={study}",
                           f"hydra.sweep.dir={tmp_path}/{study}", *extra],
                          cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)


def collected(tmp_path: Path, study: str) -> pd.DataFrame:
    ts = pd.read_parquet(tmp_path / study / "collected" / "timeseries.parquet")
    return ts.sort_values(["switching_cost_scale", "experiment", "replicate", "step"]).reset_index(drop=True)


@pytest.fixture(scope="module")
def joblib_sweep(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sweeps")
    proc = sweep(tmp, "viajoblib", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return tmp


def test_joblib_sweep_collects_twelve_runs_with_distinct_replicate_streams(joblib_sweep):
    ts = collected(joblib_sweep, "viajoblib")
    runs = ts.drop_duplicates(["config_hash", "replicate"])
    assert len(runs) == 12 and len(ts) == 12 * 36
    assert runs["config_hash"].nunique() == 4
    assert (runs.groupby("config_hash")["replicate_seed"].nunique() == 3).all()
    assert set(runs["switching_cost_scale"]) == {0.5, 2.0} and set(runs["experiment"]) == {"baseline", "no_ukey"}
    per_rep = ts[ts["step"] == 36].groupby(["config_hash"])["share_mobile"].nunique()
    assert (per_rep > 1).all()                       # replicates differ from each other
    table = pd.read_csv(joblib_sweep / "viajoblib" / "collected" / "runs.csv")
    assert (table["status"] == "complete").sum() == 12


def test_collected_tables_are_queryable_unquoted_in_pandas_and_duckdb(joblib_sweep):
    import duckdb
    out = joblib_sweep / "viajoblib" / "collected"
    ts = pd.read_parquet(out / "timeseries.parquet")
    month = pd.Timestamp("2015-12-01")                                     # dates are dates
    wanted = ts.query("switching_cost_scale == 2 and experiment == 'no_ukey' and date == @month")
    assert len(wanted) == 3
    table = str(out / "timeseries.parquet")
    got = duckdb.sql(f"SELECT replicate, share_mobile, date FROM '{table}' WHERE switching_cost_scale = 2 "
                     "AND experiment = 'no_ukey' AND date = DATE '2015-12-01' ORDER BY replicate").df()
    assert got["share_mobile"].tolist() == wanted.sort_values("replicate")["share_mobile"].tolist()
    assert duckdb.sql(f"SELECT typeof(date) FROM '{table}' LIMIT 1").fetchall()[0][0].startswith("TIMESTAMP")
    inst = duckdb.sql(f"SELECT DISTINCT kind, customer_share IS NULL AS no_customer_share, scenario, overrides "
                      f"FROM '{out / 'institutions.parquet'}'").df()
    assert set(zip(inst["kind"], inst["no_customer_share"])) == {("bank", False), ("platform", True)}
    units = pd.read_csv(out / "columns.csv")
    renamed = units[units["column"] == "switching_cost_scale"]
    assert renamed["config_key"].tolist() == ["switching_cost.scale"]
    assert {"customer_share", "user_share", "date", "share_*", "replicate_seed", "job"} <= set(units["column"])


def test_ray_sweep_gives_identical_results_for_identical_seeds(joblib_sweep, tmp_path):
    proc = sweep(tmp_path, "viaray", "hydra/launcher=ray", "+hydra.launcher.ray.init.num_cpus=2",
                 "+hydra.launcher.ray.init.include_dashboard=false")
    assert proc.returncode == 0, proc.stderr[-3000:]
    a = collected(joblib_sweep, "viajoblib").drop(columns=["study"])
    b = collected(tmp_path, "viaray").drop(columns=["study"])
    pd.testing.assert_frame_equal(a, b)


def test_resume_skips_finished_runs_and_failed_runs_are_recorded(tmp_path):
    first = sweep(tmp_path, "resume")
    assert first.returncode == 0, first.stderr[-3000:]
    done = sorted((tmp_path / "resume").rglob("run.json"))
    stamps = {p: p.stat().st_mtime_ns for p in done}
    victim, broken = done[0], done[1]
    victim.unlink()                                  # as if killed before this replicate finished
    broken.unlink()                                  # and this one cannot be written when re-run:
    (broken.parent / "timeseries.csv").unlink()      # a folder stands where a table goes
    (broken.parent / "timeseries.csv").mkdir()
    # a bad swept value is refused before anything runs or changes
    bad = subprocess.run([sys.executable, "-m", "experiments.run", "-m", *SWEEP[:-2],
                          "switching_cost.scale=0.5,2,-1", "experiment=baseline,no_ukey", "study=resume",
                          f"hydra.sweep.dir={tmp_path}/resume"], cwd=ROOT, capture_output=True, text=True,
                         timeout=600)
    assert bad.returncode == 2 and bad.stderr.strip() == (
        "config error: switching_cost.scale=-1.0 is not allowed; expected a number >= 0")
    assert not victim.exists()
    # resuming re-runs the missing replicate, skips the others, records the failure and exits 1
    again = sweep(tmp_path, "resume")
    assert again.returncode == 1, again.stderr[-3000:]
    assert again.stderr.strip().splitlines()[-1].startswith("sweep: 1 failed and 0 damaged of 12 runs")
    for p in done:
        if p not in (victim, broken):
            assert p.stat().st_mtime_ns == stamps[p]  # untouched: skipped
    assert victim.exists()                           # re-run
    table = pd.read_csv(tmp_path / "resume" / "collected" / "runs.csv")
    assert (table["status"] == "complete").sum() == 11
    failed = table[table["status"] == "failed"]
    assert len(failed) == 1 and failed["error"].str.contains("IsADirectoryError").all()
    errors = list((tmp_path / "resume").rglob("error.json"))
    assert len(errors) == 1 and "traceback" in json.loads(errors[0].read_text())


def test_collect_ignores_half_written_runs(joblib_sweep, tmp_path):
    import shutil
    root = tmp_path / "copy"
    shutil.copytree(joblib_sweep / "viajoblib", root)
    shutil.rmtree(root / "collected")
    broken = next(root.rglob("rep_001"))
    (broken / "run.json").unlink()                  # tables there, but the run never finished
    out = collect(root)
    ts = pd.read_parquet(out / "timeseries.parquet")
    assert ts.drop_duplicates(["config_hash", "replicate"]).shape[0] == 11


def test_plot_command_draws_from_stored_results_only(joblib_sweep, monkeypatch):
    import sim.market
    monkeypatch.setattr(sim.market.MarketModel, "step", lambda self: pytest.fail("plot re-ran the model"))
    root = joblib_sweep / "viajoblib"
    assert plot_main([str(root), "all"]) == 0
    assert plot_main([str(root), "heatmap", "--metric", "churn_rate", "--x", "switching_cost.scale",
                      "--y", "experiment", "--date", "2014-06"]) == 0
    assert plot_main([str(root), "diff", "--metric", "share_platform", "--key", "switching_cost.scale",
                      "--baseline", "2"]) == 0                          # the config key, and 2 for the stored 2.0
    figures = {p.name for p in (root / "figures").glob("*.png")}
    assert {"fan_share_mobile.png", "diff_share_mobile_vs_baseline.png", "heatmap_churn_rate_2014-06.png",
            "institutions_customer_share.png", "institutions_profit.png", "diff_share_platform_vs_2.0.png"} <= figures
    assert plot_main([str(root), "fan", "--metric", "not_a_metric"]) == 2
