"""Reproducibility across ways of running, re-running from a folder, kills and Ctrl-C mid-run and
mid-sweep followed by resuming, and two sweeps on one study at once."""
from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from experiments.collect import collect
from experiments.rerun import main as rerun_main
from sim.outputs import check_run

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


def _popen(*args: str) -> subprocess.Popen:
    """The command in a child that takes Ctrl-C as a terminal would send it (pytest-xdist workers
    ignore SIGINT, and children would inherit that)."""
    return subprocess.Popen([sys.executable, "-m", "experiments.run", *args], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _wait_for(condition, timeout: float = 180) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline and not condition():
        time.sleep(0.05)
    assert condition(), "timed out"


def _runs(folder: Path) -> list[Path]:
    return sorted(p.parent for p in folder.rglob("run.json") if "collected" not in p.parts)


@pytest.mark.slow
def test_ctrl_c_during_a_run_prints_one_line_and_leaves_no_folder(tmp_path):
    proc = _popen("population.size=1000000", "figures=false", f"hydra.run.dir={tmp_path}/run")
    _wait_for(lambda: (tmp_path / "run" / "run.log").exists())
    time.sleep(1.0)                                    # inside the model by now
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130
    assert [ln for ln in err.splitlines() if ln.strip()] == ["interrupted"]
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_ctrl_c_during_a_sweep_keeps_finished_runs_and_the_sweep_resumes(tmp_path):
    args = ["-m", *SMALL, "seed=range(0,4)", f"hydra.sweep.dir={tmp_path}/sweep"]
    proc = _popen(*args)
    _wait_for(lambda: len(_runs(tmp_path / "sweep")) >= 1)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and err.strip().splitlines()[-1] == "interrupted"
    assert "Traceback" not in err
    finished = _runs(tmp_path / "sweep")
    assert 1 <= len(finished) < 4 and all(check_run(f) is None for f in finished)
    for rep in (tmp_path / "sweep").rglob("rep_*"):   # an unfinished replicate leaves no table behind
        assert rep in finished or not list(rep.glob("*.parquet")), rep
    stamps = {f: (f / "run.json").stat().st_mtime_ns for f in finished}
    again = cli(*args)
    assert again.returncode == 0, again.stderr[-2000:]
    assert len(_runs(tmp_path / "sweep")) == 4
    assert all((f / "run.json").stat().st_mtime_ns == t for f, t in stamps.items())


@pytest.mark.slow
def test_a_killed_run_resumes_into_its_folder(tmp_path):
    args = [*SMALL, "population.size=20000", "replicates=3", f"hydra.run.dir={tmp_path}/run"]
    proc = _popen(*args)
    _wait_for(lambda: len(_runs(tmp_path / "run")) >= 1)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    finished = _runs(tmp_path / "run")
    assert 1 <= len(finished) < 3
    stamps = {f: (f / "run.json").stat().st_mtime_ns for f in finished}
    again = cli(*args)
    assert again.returncode == 0, again.stderr[-2000:]
    runs = _runs(tmp_path / "run")
    assert len(runs) == 3 and all(check_run(f) is None for f in runs)
    assert all((f / "run.json").stat().st_mtime_ns == t for f, t in stamps.items())


@pytest.mark.slow
def test_two_sweeps_on_one_study_at_once_give_one_complete_table(tmp_path):
    args = ["-m", *SMALL, "seed=range(0,3)", "replicates=2", f"hydra.sweep.dir={tmp_path}/sweep"]
    first, second = _popen(*args), _popen(*args)
    for proc in (first, second):
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err[-2000:]
    runs = _runs(tmp_path / "sweep")
    assert len(runs) == 6 and all(check_run(f) is None for f in runs)
    ts = pd.read_parquet(collect(tmp_path / "sweep") / "timeseries.parquet")
    assert ts.drop_duplicates(["job", "replicate"]).shape[0] == 6
    assert not ts.duplicated(["job", "replicate", "step"]).any()
    assert not list((tmp_path / "sweep").rglob("*.tmp"))


def test_ctrl_c_that_surfaces_from_compiled_code_as_another_error_stops_the_sweep(tmp_path, monkeypatch):
    """Numba can report Ctrl-C as an error raised while KeyboardInterrupt was pending: not a failed run."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    import experiments.run as run
    from experiments.config import CONFIG_DIR
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base=None):
        cfg = compose(config_name="config", overrides=SMALL)
    GlobalHydra.instance().clear()

    def interrupted(self, progress=None):
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as e:
            raise SystemError("returned a result with an exception set") from e
    monkeypatch.setattr(run.MarketModel, "run", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run.run_job(cfg, tmp_path / "job", [], show_progress=False, sweep=True)
    assert not list((tmp_path / "job").rglob("error.json"))
