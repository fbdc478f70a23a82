"""Re-running from a folder, kills and Ctrl-C mid-run and mid-sweep followed by resuming.
(A run alone against inside a sweep, SIGKILL of a study and two studies at once: tests/test_sweeps.py.)"""
from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from lab import dataset
from experiments.rerun import main as rerun_main
from sim.writers.run_folder import check_run

ROOT = Path(__file__).resolve().parents[1]
SMALL = ["population.size=1500", "end=2016-12", "figures=false"]


def cli(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "experiments.run", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


@pytest.mark.slow                        # a run through the command, then two reruns: 5.2 s
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


@pytest.mark.slow                        # 6.4 s: the command starts, then a second inside the model
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
    args = ["-m", *SMALL, "population.size=5000", "end=2020-12", "seed=range(0,40)", f"hydra.sweep.dir={tmp_path}/sweep"]
    proc = _popen(*args)
    _wait_for(lambda: len(dataset.parts(tmp_path / "sweep", "runs")) >= 1)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and err.strip().splitlines()[-1] == "interrupted"
    assert "Traceback" not in err
    finished = dataset.load_runs(tmp_path / "sweep")
    assert 1 <= len(finished) < 40 and (finished["status"] == "complete").all()
    assert dataset.load(tmp_path / "sweep").groupby(["config_hash", "replicate"]).size().eq(96).all()
    parts = {p: p.stat().st_mtime_ns for p in (tmp_path / "sweep" / "runs").iterdir()}
    again = cli(*args)
    assert again.returncode == 0, again.stderr[-2000:]
    assert len(dataset.load_runs(tmp_path / "sweep")) == 40
    assert all(p.stat().st_mtime_ns == t for p, t in parts.items())


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


def test_ctrl_c_that_surfaces_from_compiled_code_as_another_error_stops_the_study(tmp_path, monkeypatch):
    """Numba can report Ctrl-C as an error raised while KeyboardInterrupt was pending: not a failed run."""
    import sim.market
    from lab.compose import load_config
    from lab.points import Point
    from lab.study import Study, run_study

    def interrupted(self, progress=None):
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as e:
            raise SystemError("returned a result with an exception set") from e
    cfg = load_config(SMALL)
    monkeypatch.setattr(sim.market.MarketModel, "run", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_study(Study("ctrlc", tmp_path / "study", [Point.make(0, cfg)]), show_progress=False)
    assert dataset.load_runs(tmp_path / "study").empty
