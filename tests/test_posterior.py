"""Runs, studies and comparisons that draw their parameters from a calibration's posterior
(lab/posterior.py): replicate r runs draw r, resuming knows the posterior file, bad
input is one line, and every interval says what it covers."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lab import comparison as compare

from lab import posterior

from lab import report
from lab.compose import load_config
from lab.changes import with_changes
from lab.points import NOT_HASHED, config_hash
from lab.reruns import rerun
from sim.market import MarketModel
from sim.writers.run_folder import write_run

ROOT = Path(__file__).resolve().parents[1]
SMALL = ["population.size=1500", "end=2013-06", "figures=false"]
KEYS = ("customers.channel_constant.mobile", "transactions.maturity_fit", "customers.habit")


def write_posterior(folder: Path, name: str = "demo", draws: int = 60, sets=("seed", "cba"), seed: int = 0) -> Path:
    """A posterior file as lab.calibration writes it: target_set, draw and one column per dotted key."""
    rng = np.random.default_rng(seed)
    rows = [{"target_set": s, "draw": d, KEYS[0]: rng.uniform(-3.0, -1.0), KEYS[1]: rng.uniform(2.0, 4.0),
             KEYS[2]: rng.uniform(0.5, 2.5)} for s in sets for d in range(draws)]
    path = Path(folder) / name / "posterior.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).astype({"draw": "int64"}).to_parquet(path, index=False)
    (path.parent / "calibration.json").write_text(json.dumps({"name": name, "parameters": {
        KEYS[0]: [-3.0, -1.0], KEYS[1]: [2.0, 4.0], KEYS[2]: [0.5, 2.5]}}))
    return path


def draw(path: Path, r: int, target_set: str = "seed") -> dict[str, float]:
    table = pd.read_parquet(path)
    row = table[(table["target_set"] == target_set) & (table["draw"] == r)].iloc[0]
    return {k: float(row[k]) for k in KEYS}


def cli(args: list[str], folder: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SIM_POSTERIOR_DIR": str(folder)}
    return subprocess.run([sys.executable, "-m", "experiments.run", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_each_replicate_of_a_run_runs_its_own_draw_and_reruns_exactly(tmp_path, monkeypatch):
    path = write_posterior(tmp_path / "cal")
    out = tmp_path / "run"
    proc = cli(["posterior=demo", "replicates=2", *SMALL, f"hydra.run.dir={out}"], tmp_path / "cal")
    assert proc.returncode == 0, proc.stderr
    assert "(mean of 2 replicates: seeds and parameter draws from posterior 'demo')" in proc.stdout
    for r in range(2):
        info = json.loads((out / f"rep_{r:03d}" / "run.json").read_text())
        assert (info["posterior"], info["posterior_draw"]) == ("demo", r)
        assert info["posterior_values"] == pytest.approx(draw(path, r))
    monkeypatch.setenv(posterior.ROOT_ENV, str(tmp_path / "cal"))
    base = load_config(["posterior=demo", "replicates=2", *SMALL])
    alone = MarketModel(with_changes(base, draw(path, 1)), replicate=1).run().recorder.timeseries()
    stored = pd.read_parquet(out / "rep_001" / "timeseries.parquet")
    pd.testing.assert_frame_equal(stored[alone.columns].drop(columns="date").reset_index(drop=True),
                                  alone.drop(columns="date").reset_index(drop=True), check_dtype=False)
    other = MarketModel(base, replicate=1).run().recorder.timeseries()      # the draw is what made it differ
    assert not np.allclose(other["share_mobile"], alone["share_mobile"])
    assert all(problem is None for problem in rerun(out / "rep_001").values())


def test_without_a_posterior_the_summary_says_seeds_only_and_the_hash_is_unchanged(tmp_path, monkeypatch):
    from lab.headline import run_summary
    none, empty = load_config(SMALL), load_config([*SMALL, "posterior="])
    values = dataclasses.asdict(none)
    for key in (*NOT_HASHED, "posterior"):                   # the hash as it was before the key existed
        values.pop(key)
    before = hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()[:16]
    assert config_hash(none) == config_hash(empty) == before
    path = write_posterior(tmp_path / "cal")
    monkeypatch.setenv(posterior.ROOT_ENV, str(tmp_path / "cal"))
    with_draws = config_hash(dataclasses.replace(none, posterior="demo"))
    assert with_draws != before
    write_posterior(tmp_path / "cal", seed=1)                 # a re-calibration changes the hash
    assert config_hash(dataclasses.replace(none, posterior="demo")) != with_draws
    folders = []
    for r in range(2):
        model = MarketModel(none, replicate=r).run()
        folders.append(write_run(model, tmp_path / f"rep{r}", 0.0, figures=False))
    assert all(line.endswith("(mean of 2 replicates: seeds only)") for line in run_summary(folders)[1:])
    assert path.exists()


@pytest.mark.parametrize("args, first", [
    pytest.param(["posterior=absent"], "error: no posterior 'absent' at {cal}/absent/posterior.parquet or {committed}: run "
                 "python -m experiments.calibrate configs/calibration/absent.yaml first", marks=pytest.mark.slow),
    pytest.param(["posterior=seedonly", "target_set=cba"], "config error: target_set='cba' is not allowed; expected a "
                 "target set posterior 'seedonly' has draws for (['seed'])", marks=pytest.mark.slow),
    (["posterior=demo", "replicates=61"], "config error: replicates=61 is not allowed; expected at most 60, the draws "
                                          "posterior 'demo' holds for target_set=seed"),
    (["-m", "posterior=demo", "replicates=61", "seed=1,2"], "config error: replicates=61 is not allowed; expected at "
                                                           "most 60, the draws posterior 'demo' holds for target_set=seed"),
    (["posterior=demo", "customers.habit=1.0"], "config error: customers.habit='1.0' is not allowed; expected no "
                                                "value while posterior=demo draws it for each replicate (drop one or "
                                                "the other)"),
    pytest.param(["-m", "posterior=demo", "customers.habit=1,2"], "config error: customers.habit='1' is not "
                 "allowed; expected no value while posterior=demo draws it for each replicate (drop one or the other)",
                 marks=pytest.mark.slow),
])
def test_bad_posterior_input_is_one_line_and_exit_2(tmp_path, args, first):
    cal = tmp_path / "cal"
    write_posterior(cal)
    write_posterior(cal, "seedonly", sets=("seed",))
    out = tmp_path / "out"
    proc = cli([*args, *SMALL, f"hydra.run.dir={out}", f"hydra.sweep.dir={out}"], cal)
    assert proc.returncode == 2
    committed = posterior.COMMITTED_ROOT / "absent" / "posterior.parquet"
    assert proc.stderr.strip().splitlines() == [first.format(cal=cal, committed=committed)]
    assert not out.exists()


@pytest.mark.slow
def test_a_study_runs_draw_r_as_replicate_r_resumes_and_reruns_after_a_recalibration(tmp_path):
    cal, root = tmp_path / "cal", tmp_path / "study"
    write_posterior(cal)
    args = ["-m", "posterior=demo", "replicates=2", *SMALL, "seed=1,2", "hydra/launcher=basic",
            f"hydra.sweep.dir={root}"]
    first = cli(args, cal)
    assert first.returncode == 0, first.stderr
    assert "4 runs done, 0 failed, 0 already stored" in first.stderr
    runs = pd.read_parquet(root / "runs")
    assert set(runs["posterior"]) == {"demo"}
    assert (runs["posterior_draw"] == runs["replicate"]).all() and len(runs) == 4
    again = cli(args, cal)
    assert again.returncode == 0 and "0 runs done, 0 failed, 4 already stored" in again.stderr
    ts = pd.read_parquet(root / "timeseries")
    write_posterior(cal, seed=7)                              # the posterior file changes: every run is stale
    third = cli(args, cal)
    assert third.returncode == 0 and "4 runs done, 0 failed, 0 already stored" in third.stderr
    after = pd.read_parquet(root / "timeseries")
    assert after["config_hash"].nunique() == 2 * ts["config_hash"].nunique()


@pytest.mark.slow
def test_a_comparison_pairs_draws_and_says_its_intervals_cover_parameters(tmp_path, monkeypatch):
    write_posterior(tmp_path / "cal")
    monkeypatch.setenv(posterior.ROOT_ENV, str(tmp_path / "cal"))
    folder, lines = compare.compare(["marketing_war"], replicates=2, overrides=["posterior=demo", *SMALL],
                                    out=tmp_path / "cmp", progress=False)
    covers = "seeds and parameters (posterior 'demo', 2 draws)"
    assert lines[-1].startswith(f"interval_covers: {covers}")
    assert set(pd.read_csv(folder / "effects.csv")["interval_covers"]) == {covers}
    assert set(pd.read_csv(folder / "institution_effects.csv")["interval_covers"]) == {covers}
    assert f"interval_covers: {covers}." in (folder / "report.md").read_text()
    ts = pd.read_parquet(folder / "timeseries.parquet")
    pairs = ts.groupby(["scenario", "replicate"])["posterior_draw"].agg(["min", "max"])
    assert (pairs["min"] == pairs["max"]).all()
    assert (pairs["min"] == pairs.index.get_level_values("replicate")).all()   # draw r in both scenarios
    assert report.interval_covers(ts.drop(columns=["posterior", "posterior_draw"])) == "seeds"
