"""Studies: a Hydra multirun through the study runner on every backend, the dataset, resuming,
failures, kills, readers, and plots from the stored dataset."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from lab import dataset
from lab.compose import load_config
from experiments.plot import main as plot_main
from lab.changes import with_changes
from lab.points import Point
from lab.study import Study, run_study
from sim.config import ConfigError

ROOT = Path(__file__).resolve().parents[1]
SWEEP = ["population.size=1500", "end=2015-12", "replicates=3",
         "switching_cost.scale=0.5,2", "experiment=baseline,no_ukey"]
ENV = {**os.environ, "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}


def sweep(tmp_path: Path, study: str, *extra: str, args=SWEEP) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "experiments.run", "-m", *args, f"study={study}",
                           f"hydra.sweep.dir={tmp_path}/{study}", *extra],
                          cwd=ROOT, capture_output=True, text=True, timeout=600, env=ENV)


def stored(root: Path, table: str = "timeseries") -> pd.DataFrame:
    """A study's table without the columns that name the study or time the run."""
    return dataset.load(root, table).drop(columns=["study"])


@pytest.fixture(scope="module")
def local_sweep(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sweeps")
    proc = sweep(tmp, "vialocal")                # the default: every core
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().splitlines()[-1] == str(tmp / "vialocal")
    return tmp / "vialocal"


@pytest.mark.slow                        # local_sweep's command (about 5.7 s) is paid by its first user
def test_a_sweep_stores_twelve_runs_with_distinct_replicate_streams(local_sweep):
    ts = stored(local_sweep)
    runs = ts.drop_duplicates(["config_hash", "replicate"])
    assert len(runs) == 12 and len(ts) == 12 * 36
    assert runs["config_hash"].nunique() == 4
    assert (runs.groupby("config_hash")["replicate_seed"].nunique() == 3).all()
    assert set(runs["switching_cost_scale"]) == {0.5, 2.0} and set(runs["experiment"]) == {"baseline", "no_ukey"}
    per_rep = ts[ts["step"] == 36].groupby(["config_hash"])["share_mobile"].nunique()
    assert (per_rep > 1).all()                       # replicates differ from each other
    table = pd.read_csv(local_sweep / "runs.csv")
    assert (table["status"] == "complete").sum() == 12 and table["model_seconds"].gt(0).all()
    assert not (local_sweep / "folders").exists()    # no per-run folders unless figures=true is asked for


@pytest.mark.slow                        # local_sweep
def test_the_dataset_is_queryable_unquoted_in_pandas_and_duckdb(local_sweep):
    import duckdb
    ts = pd.read_parquet(local_sweep / "timeseries")                       # the folder is one dataset
    month = pd.Timestamp("2015-12-01")
    wanted = ts.query("switching_cost_scale == 2 and experiment == 'no_ukey' and date == @month")
    assert len(wanted) == 3
    table = f"{local_sweep}/timeseries/*.parquet"
    got = duckdb.sql(f"SELECT replicate, share_mobile, date FROM '{table}' WHERE switching_cost_scale = 2 "
                     "AND experiment = 'no_ukey' AND date = DATE '2015-12-01' ORDER BY replicate").df()
    assert got["share_mobile"].tolist() == wanted.sort_values("replicate")["share_mobile"].tolist()
    assert duckdb.sql(f"SELECT typeof(date) FROM '{table}' LIMIT 1").fetchall()[0][0].startswith("TIMESTAMP")
    inst = duckdb.sql(f"SELECT DISTINCT kind, customer_share IS NULL AS no_customer_share "
                      f"FROM '{local_sweep}/institutions/*.parquet'").df()
    assert set(zip(inst["kind"], inst["no_customer_share"])) == {("bank", False), ("platform", True)}
    units = pd.read_csv(local_sweep / "columns.csv")
    renamed = units[units["column"] == "switching_cost_scale"]
    assert renamed["config_key"].tolist() == ["switching_cost.scale"]
    assert {"customer_share", "user_share", "date", "share_*", "replicate_seed", "point"} <= set(units["column"])


@pytest.mark.slow                        # local_sweep
def test_every_stored_column_is_declared_in_columns_csv(local_sweep):
    units = pd.read_csv(local_sweep / "columns.csv")
    from fnmatch import fnmatchcase
    for table in ("timeseries", "institutions"):
        declared = units[units["table"].isin([table, "study"])]["column"].tolist()
        swept = units[units["config_key"].notna()]["column"].tolist()
        for column in dataset.load(local_sweep, table).columns:
            assert column in swept or any(fnmatchcase(column, p) for p in declared), (table, column)


@pytest.mark.slow
def test_serial_local_and_ray_give_identical_datasets(local_sweep, tmp_path):
    serial = sweep(tmp_path, "viaserial", "hydra/launcher=basic")
    ray = sweep(tmp_path, "viaray", "hydra/launcher=ray", "+hydra.launcher.ray.init.num_cpus=2")
    assert serial.returncode == 0, serial.stderr[-3000:]
    assert ray.returncode == 0, ray.stderr[-3000:]
    a = stored(local_sweep)
    for other in ("viaserial", "viaray"):
        pd.testing.assert_frame_equal(a, stored(tmp_path / other))
        pd.testing.assert_frame_equal(stored(local_sweep, "institutions"), stored(tmp_path / other, "institutions"))


@pytest.mark.slow
def test_a_run_alone_and_inside_a_sweep_give_identical_tables(local_sweep, tmp_path):
    alone = subprocess.run([sys.executable, "-m", "experiments.run", *SWEEP[:3], "switching_cost.scale=2",
                            "experiment=no_ukey", "figures=false", f"hydra.run.dir={tmp_path}/alone"],
                           cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert alone.returncode == 0, alone.stderr[-2000:]
    ts = stored(local_sweep)
    for r in range(3):
        a = pd.read_parquet(tmp_path / "alone" / f"rep_{r:03d}" / "timeseries.parquet")
        b = ts[(ts["switching_cost_scale"] == 2) & (ts["experiment"] == "no_ukey") & (ts["replicate"] == r)]
        assert b["config_hash"].iloc[0] == a["config_hash"].iloc[0]
        pd.testing.assert_frame_equal(a.drop(columns="overrides"), b[a.columns].drop(columns="overrides")
                                      .reset_index(drop=True))


def _study(tmp_path: Path, seeds=(1, 2, 3), replicates=2, size=600) -> Study:
    base = load_config([f"population.size={size}", "end=2013-12", "figures=false"])
    points = [Point.make(i, with_changes(base, {"seed": s, "replicates": replicates}), [f"seed={s}"], {"seed": s})
              for i, s in enumerate(seeds)]
    return Study("unit", tmp_path / "unit", points, {"seed": "seed"})


def test_resume_skips_finished_runs_and_a_failing_point_is_recorded_while_the_rest_complete(tmp_path, monkeypatch):
    import sim.market
    study = _study(tmp_path)
    real = sim.market.MarketModel.run

    def fails_for_seed_2(self, progress=None):
        if self.cfg.seed == 2:
            raise RuntimeError("boom at seed 2")
        return real(self, progress)
    monkeypatch.setattr(sim.market.MarketModel, "run", fails_for_seed_2)
    first = run_study(study, show_progress=False)
    assert (first["complete"], first["failed"]) == (4, 2)
    runs = dataset.load_runs(study.root)
    failed = runs[runs["status"] == "failed"]
    assert len(failed) == 2 and set(failed["seed"]) == {2} and failed["error"].str.contains("boom at seed 2").all()
    assert set(dataset.load(study.root)["seed"]) == {1, 3}
    parts = {p: p.stat().st_mtime_ns for p in (study.root / "runs").iterdir()}

    monkeypatch.setattr(sim.market.MarketModel, "run", real)
    again = run_study(study, show_progress=False)          # the failures are retried; the rest skipped
    assert (again["skipped"], again["complete"], again["failed"]) == (4, 2, 0)
    assert all(p.stat().st_mtime_ns == t for p, t in parts.items())
    runs = dataset.load_runs(study.root)
    assert len(runs) == 6 and (runs["status"] == "complete").all()
    assert dataset.load(study.root).groupby(["seed", "replicate"]).size().eq(12).all()
    third = run_study(study, show_progress=False)
    assert (third["skipped"], third["complete"]) == (6, 0)


def test_a_bad_value_is_refused_before_anything_is_written(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "experiments.run", "-m", *SWEEP[:3], "switching_cost.scale=0.5,-1",
                           f"hydra.sweep.dir={tmp_path}/bad"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "config error: switching_cost.scale=-1.0 is not allowed; expected a number >= 0"
    assert not (tmp_path / "bad").exists()
    with pytest.raises(ConfigError, match="population.size"):
        with_changes(load_config([]), {"population.size": "many"})


def test_readers_never_see_an_uncommitted_or_damaged_part(tmp_path):
    study = _study(tmp_path, seeds=(1, 2))
    run_study(study, show_progress=False, flush_s=0)              # a part per run
    root = study.root
    whole = dataset.load(root)
    part = next((root / "timeseries").iterdir())
    # a data part whose runs part was never written (a crash between the renames) is not read
    orphan = root / "timeseries" / "part-99990101T000000-1-deadbeef.parquet"
    shutil.copy(part, orphan)
    pd.testing.assert_frame_equal(dataset.load(root), whole)
    # a damaged committed part is left out (its runs count as not done) and moved aside on resume
    victim = next((root / "institutions").iterdir())
    victim.write_bytes(victim.read_bytes()[:100])
    left = dataset.load(root)
    assert len(left) < len(whole) and left.groupby(["seed", "replicate"]).size().eq(12).all()
    os.utime(orphan, (time.time() - 3600, time.time() - 3600))
    again = run_study(study, show_progress=False)
    assert again["complete"] == len(whole) // 12 - len(left) // 12
    assert (root / "damaged" / "institutions" / victim.name).exists() and not orphan.exists()
    pd.testing.assert_frame_equal(dataset.load(root).drop(columns="study"), whole.drop(columns="study"))


@pytest.mark.slow
def test_two_studies_writing_one_dataset_at_once_store_each_run_once(tmp_path):
    args = ["-m", "population.size=1500", "end=2016-12", "seed=range(0,3)", "replicates=2",
            f"hydra.sweep.dir={tmp_path}/sweep"]
    procs = [subprocess.Popen([sys.executable, "-m", "experiments.run", *args], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    errs = []
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err[-2000:]
        errs.append(err)
    assert sum("waiting: another process is writing" in err for err in errs) == 1     # one writer at a time
    assert any("6 already stored" in err for err in errs)
    ts = dataset.load(tmp_path / "sweep")
    assert ts.drop_duplicates(["config_hash", "replicate"]).shape[0] == 6
    assert len(pd.read_parquet(tmp_path / "sweep" / "timeseries")) == len(ts)         # a plain read sees each once
    assert not ts.duplicated(["config_hash", "replicate", "step"]).any()
    assert not list((tmp_path / "sweep").rglob("*.tmp")) and not list((tmp_path / "sweep" / ".staging").iterdir())


@pytest.mark.slow
def test_a_study_killed_with_sigkill_resumes_to_the_same_dataset(tmp_path):
    args = ["population.size=4000", "end=2020-12", "seed=range(0,30)"]
    proc = subprocess.Popen([sys.executable, "-m", "experiments.run", "-m", *args,
                             f"hydra.sweep.dir={tmp_path}/killed", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2"],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 300
    while time.time() < deadline and len(dataset.parts(tmp_path / "killed", "runs")) < 2:
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)                   # the command and its workers
    proc.wait()
    done = dataset.load_runs(tmp_path / "killed")
    assert 1 <= len(done) < 30, "the study should have been killed part-way"
    kept = dataset.load(tmp_path / "killed")
    assert kept.groupby(["config_hash", "replicate"]).size().eq(96).all()   # whole runs only
    again = sweep(tmp_path, "killed", args=args)
    assert again.returncode == 0, again.stderr[-2000:]
    assert f"{len(done)} already stored" in again.stderr
    whole = sweep(tmp_path, "uninterrupted", args=args)
    assert whole.returncode == 0, whole.stderr[-2000:]
    pd.testing.assert_frame_equal(stored(tmp_path / "killed"), stored(tmp_path / "uninterrupted"))


@pytest.mark.slow
def test_plot_command_draws_from_the_stored_dataset_only(local_sweep, monkeypatch):
    import sim.market
    monkeypatch.setattr(sim.market.MarketModel, "step", lambda self: pytest.fail("plot re-ran the model"))
    root = local_sweep
    assert plot_main([str(root), "all"]) == 0
    assert plot_main([str(root), "heatmap", "--metric", "churn_rate", "--x", "switching_cost.scale",
                      "--y", "experiment", "--date", "2014-06"]) == 0
    assert plot_main([str(root), "diff", "--metric", "share_platform", "--key", "switching_cost.scale",
                      "--baseline", "2"]) == 0                          # the config key, and 2 for the stored 2.0
    figures = {p.name for p in (root / "figures").glob("*.png")}
    assert {"fan_share_mobile.png", "diff_share_mobile_vs_baseline.png", "heatmap_churn_rate_2014-06.png",
            "institutions_customer_share.png", "institutions_profit.png", "diff_share_platform_vs_2.0.png"} <= figures
    assert plot_main([str(root), "fan", "--metric", "not_a_metric"]) == 2
    assert pq.read_metadata(next((root / "timeseries").iterdir())).num_rows > 0


@pytest.mark.parametrize("changes, overrides", [
    ({"switching_cost.scale": 2}, ["switching_cost.scale=2"]),
    ({"platforms.alipay.subsidy_bn": 12.5, "seed": 9}, ["platforms.alipay.subsidy_bn=12.5", "seed=9"]),
    ({"banks.joint_stock.strategy.marketing_budget_bn": 20}, ["banks.joint_stock.strategy.marketing_budget_bn=20"]),
    ({"regulation.mmf_yield_cap": 3.0}, ["regulation.mmf_yield_cap=3.0"]),
])
def test_typed_changes_give_the_config_and_hash_that_composing_gives(changes, overrides):
    from lab.points import config_hash
    changed, composed = with_changes(load_config([]), changes), load_config(overrides)
    assert changed == composed and config_hash(changed) == config_hash(composed)


def test_changes_that_need_composing_are_composed():
    from lab.changes import NotTyped
    with pytest.raises(NotTyped):
        with_changes(load_config([]), {"population.age_shares": [0.25, 0.25, 0.25, 0.25]})
    from lab.sweep import plan
    study, _ = plan(
        ["population.size=500", "end=2013-03", "population.age_shares=[0.25,0.25,0.25,0.25],[0.3,0.3,0.2,0.2]"])
    assert [p.config.population.age_shares for p in study.points] == [[0.25] * 4, [0.3, 0.3, 0.2, 0.2]]


def test_a_preset_with_sweeper_params_expands_like_hydra():
    from lab.sweep import plan
    study, settings = plan(["experiment=study_regulation_x_switching", "population.size=500"])
    assert study.name == "regulation_x_switching" and len(study.points) == 9 and len(study.runs()) == 45
    grid = {(p.config.regulation.platform_compliance_cost, p.config.switching_cost.scale) for p in study.points}
    assert grid == {(c, s) for c in (0.0, 0.5, 1.0) for s in (0.5, 1.0, 2.0)}
    assert len({p.config_hash for p in study.points}) == 9
    assert str(study.root).endswith("results/sweeps/regulation_x_switching")
    # the command line wins over the preset's params, as in Hydra
    study, _ = plan(["experiment=study_regulation_x_switching", "switching_cost.scale=3"])
    assert {p.config.switching_cost.scale for p in study.points} == {3.0} and len(study.points) == 3


def test_a_study_of_another_model_version_is_not_resumed_into(tmp_path, monkeypatch):
    import lab.study
    from lab.errors import CommandError
    study = _study(tmp_path, seeds=(1,), replicates=1, size=300)
    first = run_study(study, show_progress=False)
    assert first["complete"] == 1
    stored = dataset.load(Path(study.root), "runs")
    assert (stored["model_version"] == lab.study.MODEL_VERSION).all()
    assert run_study(study, show_progress=False)["skipped"] == 1        # the same version resumes
    monkeypatch.setattr(lab.study, "MODEL_VERSION", "0123456789abcdef")
    with pytest.raises(CommandError, match="holds runs of another version of the model"):
        run_study(study, show_progress=False)


def _children(pid: int) -> list[int]:
    """Processes whose parent is `pid` (read from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


@pytest.mark.slow
def test_a_sweeps_workers_die_with_the_command(tmp_path):
    """kill -9 of the command alone (not its process group): its workers end instead of committing runs."""
    proc = subprocess.Popen([sys.executable, "-m", "experiments.run", "-m", "population.size=4000", "seed=range(0,200)",
                             f"hydra.sweep.dir={tmp_path}/orphaned"], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 300
    while time.time() < deadline and len(dataset.parts(tmp_path / "orphaned", "runs")) < 1:
        time.sleep(0.05)
    workers = _children(proc.pid)
    assert workers, "the sweep should have started its workers"
    proc.kill()
    proc.wait()
    time.sleep(5)
    alive = [w for w in workers if Path(f"/proc/{w}").exists() and "Z" not in Path(f"/proc/{w}/stat").read_text()
             .rsplit(")", 1)[1].split()[0]]
    assert alive == [], f"workers still running after their command died: {alive}"
    committed = len(dataset.parts(tmp_path / "orphaned", "runs"))
    time.sleep(3)
    assert len(dataset.parts(tmp_path / "orphaned", "runs")) == committed       # nothing commits any more
