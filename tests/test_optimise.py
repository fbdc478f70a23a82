"""`experiments.optimise` at tiny sizes: its tables, the Pareto set, a known optimum, running again, extending
and resuming a stopped search (lab/optimise.py, lab/evaluation.py)."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("optuna")

from experiments import optimise as command  # noqa: E402
from lab import evaluation, optimise, optimise_report  # noqa: E402
from lab import posterior  # noqa: E402
from lab.objectives import read_objective  # noqa: E402

TINY = ["model.population.size=1000", "model.end=2014-06", "backend=serial", "batch=2",
        "objectives={share: {column: customer_share, at: 2014-06, sense: max}, "
        "profit: {column: profit, sum: [2014-01, 2014-06], sense: max}}",
        "levers={marketing_budget_bn: [0, 40], deposit_rate_premium: [0, 0.6]}"]


def _dominated(row: pd.Series, others: pd.DataFrame, columns: list[str]) -> bool:
    better_or_equal = np.all([others[c] >= row[c] for c in columns], axis=0)
    better = np.any([others[c] > row[c] for c in columns], axis=0)
    return bool((better_or_equal & better).any())


def _complete_runs(folder: Path) -> pd.DataFrame:
    """Every complete run stored, from the raw parts (a run stored twice would show twice here)."""
    runs = pd.concat([pd.read_parquet(p) for p in (folder / "runs").glob("part-*.parquet")])
    return runs[runs["status"] == "complete"]


@pytest.mark.slow
def test_optimise_writes_its_tables_and_runs_nothing_new_when_run_again(tmp_path, capsys):
    assert command.main(["joint_stock_growth", *TINY, "trials=4", "--out", str(tmp_path)]) == 0
    folder = Path(capsys.readouterr().out.strip().splitlines()[-1])
    assert folder.parent == tmp_path and folder.name.startswith("joint_stock_growth_")
    candidates = pd.read_csv(folder / "candidates.csv")
    assert list(candidates.columns) == ["candidate", "marketing_budget_bn", "deposit_rate_premium",
                                        "share", "share_low", "share_high", "profit", "profit_low", "profit_high"]
    assert candidates["candidate"].iloc[0] == "status_quo" and len(candidates) == 5    # 4 trials + status quo
    assert (candidates["share_low"] <= candidates["share"]).all()
    assert (candidates["share"] <= candidates["share_high"]).all()
    pareto = pd.read_csv(folder / "pareto.csv")
    objectives = ["share", "profit"]
    for _, row in pareto.iterrows():                 # non-dominated rows only, and every non-dominated row
        assert not _dominated(row, candidates, objectives)
    for _, row in candidates[~candidates["candidate"].isin(pareto["candidate"])].iterrows():
        assert _dominated(row, candidates, objectives)
    assert {"share_oos", "share_oos_low", "share_oos_high", "flagged"} <= set(pareto.columns)
    evals = pd.read_parquet(folder / "evaluations.parquet")
    inside = evals[evals["sample"] == "in"]
    assert len(inside) == 5 * 2 and set(inside["replicate"]) == {0, 1}
    assert set(evals.loc[evals["sample"] == "out", "replicate"]) == {2, 3}      # streams the search never saw
    mean = inside.groupby("candidate")["share"].mean()
    assert np.allclose(candidates.set_index("candidate")["share"], mean.reindex(candidates["candidate"]))
    assert (folder / "pareto.png").stat().st_size > 0 and "status_quo" in (folder / "report.html").read_text()
    before = _complete_runs(folder)
    assert command.main(["joint_stock_growth", *TINY, "trials=4", "--out", str(tmp_path)]) == 0
    assert len(_complete_runs(folder)) == len(before)                          # nothing new ran
    assert command.main(["joint_stock_growth", *TINY, "trials=6", "--out", str(tmp_path)]) == 0
    assert Path(capsys.readouterr().out.strip().splitlines()[-1]) == folder     # trials is not in the name
    after = _complete_runs(folder)
    assert len(pd.read_csv(folder / "candidates.csv")) == 7
    assert not after.duplicated(["config_hash", "replicate"]).any()
    assert set(zip(before["config_hash"], before["replicate"])) <= set(zip(after["config_hash"], after["replicate"]))


@pytest.mark.slow
def test_a_stopped_optimisation_resumes_to_the_candidates_of_an_uninterrupted_one(tmp_path, monkeypatch):
    args = [*TINY, "trials=6", "sampler=tpe"]
    whole = optimise.optimise("joint_stock_growth", args, tmp_path / "whole", show_progress=False)
    real, calls = evaluation.run_study, []

    def stopped(study, **kwargs):       # the third batch: half its runs stored, then Ctrl-C
        calls.append(1)
        if len(calls) == 3:
            study.points = study.points[: max(1, len(study.points) // 2)]
            real(study, **kwargs)
            raise KeyboardInterrupt
        return real(study, **kwargs)
    monkeypatch.setattr(evaluation, "run_study", stopped)
    with pytest.raises(KeyboardInterrupt):
        optimise.optimise("joint_stock_growth", args, tmp_path / "stopped", show_progress=False)
    monkeypatch.setattr(evaluation, "run_study", real)
    folder = optimise.optimise("joint_stock_growth", args, tmp_path / "stopped", show_progress=False)
    a, b = pd.read_csv(whole / "candidates.csv"), pd.read_csv(folder / "candidates.csv")
    pd.testing.assert_frame_equal(a, b)
    runs = _complete_runs(folder)
    assert not runs.duplicated(["config_hash", "replicate"]).any()             # nothing ran twice
    assert len(runs) == len(_complete_runs(whole))


@pytest.mark.slow
def test_the_optimiser_lands_near_the_optimum_a_grid_finds(tmp_path):
    """One lever (the joint-stock banks' deposit premium) against one objective (their 2016 profit): a grid
    of 13 premiums on the same cells finds the best value; 10 TPE candidates must come within 5 % of the
    grid's range of it."""
    model = ["model.population.size=1000", "model.end=2016-12", "backend=serial"]
    objective = "objectives={profit: {column: profit, sum: [2016-01, 2016-12], sense: max}}"
    lever = "levers={deposit_rate_premium: [-1.5, 1.5]}"
    search = optimise.read_search("joint_stock_growth", [*model, objective, lever], tmp_path)
    key = search.levers[0].key
    grid = {f"g{i}": {key: float(v)} for i, v in enumerate(np.linspace(-1.5, 1.5, 13))}
    values = evaluation.evaluate("grid", tmp_path / "grid", search.uncertainty, search.bases, grid,
                                 evaluation.cells(search.uncertainty), search.objectives, "serial",
                                 show_progress=False).groupby("candidate")["profit"].mean()
    folder = optimise.optimise("joint_stock_growth", [*model, objective, lever, "trials=10", "batch=5", "sampler=tpe"],
                               tmp_path, show_progress=False)
    found = pd.read_csv(folder / "candidates.csv")["profit"].max()
    assert found >= values.max() - 0.05 * (values.max() - values.min()), (found, values.to_dict())


def test_robust_statistics_and_the_pareto_mask_on_known_numbers():
    """mean, p10 and regret over cells, and non-domination, on a table whose answers are known."""
    config = optimise.read_search("joint_stock_growth", TINY).bases["baseline"]
    share = read_objective("share", {"column": "customer_share", "at": "2014-06", "sense": "max"}, config,
                           "joint_stock", "o")
    rows = [{"candidate": c, "scenario": "baseline", "draw": 0, "stream": s, "share": v}
            for c, vals in {"a": [1.0, 3.0, 5.0], "b": [2.0, 2.0, 2.0]}.items() for s, v in enumerate(vals)]
    evals = pd.DataFrame(rows)
    mean = evaluation.robust_values(evals, [share], "mean").set_index("candidate")
    assert mean.loc["a", "share"] == 3.0 and mean.loc["b", "share_low"] == 2.0
    p10 = evaluation.robust_values(evals, [share], "p10").set_index("candidate")
    assert p10.loc["a", "share"] == pytest.approx(np.percentile([1, 3, 5], 10)) and p10.loc["b", "share"] == 2.0
    regret = evaluation.robust_values(evals, [share], "regret").set_index("candidate")
    assert regret.loc["a", "share"] == pytest.approx(1 / 3) and regret.loc["b", "share"] == pytest.approx(4 / 3)
    table = pd.DataFrame({"x": [1, 2, 3, 2], "y": [3, 2, 1, 1]})
    assert evaluation.non_dominated(table, {"x": "max", "y": "max"}).tolist() == [True, True, True, False]
    assert evaluation.non_dominated(table, {"x": "min", "y": "min"}).tolist() == [True, False, False, True]


def test_a_posterior_committed_with_the_code_is_found_when_no_calibration_has_it(tmp_path, monkeypatch):
    monkeypatch.setenv(posterior.ROOT_ENV, str(tmp_path / "calibrations"))
    monkeypatch.setattr(posterior, "COMMITTED_ROOT", tmp_path / "data")
    path = tmp_path / "data" / "tiny" / "posterior.parquet"
    path.parent.mkdir(parents=True)
    pd.DataFrame({"target_set": ["seed"] * 3, "draw": [0, 1, 2], "customers.habit": [0.5, 1.0, 1.5]}).to_parquet(path)
    assert posterior.posterior_file("tiny") == path
    assert posterior.load_posterior("tiny", "seed")["customers.habit"].tolist() == [0.5, 1.0, 1.5]
    own = tmp_path / "calibrations" / "tiny" / "posterior.parquet"       # a calibration of its own comes first
    own.parent.mkdir(parents=True)
    path.rename(own)
    assert posterior.posterior_file("tiny") == own
    with pytest.raises(Exception, match="no posterior 'nope'"):
        posterior.posterior_file("nope")


def test_a_win_that_does_not_hold_out_of_sample_is_flagged():
    """Candidate `lucky` beats the status quo on the search's cells but not on the held-out ones; `steady`
    beats it on both: only `lucky` is flagged."""
    config = optimise.read_search("joint_stock_growth", TINY).bases["baseline"]
    share = read_objective("share", {"column": "customer_share", "at": "2014-06", "sense": "max"}, config,
                           "joint_stock", "o")
    search = SimpleNamespace(objectives=[share], robustness="mean", seed=0)

    def table(values: dict[str, list[float]], first: int) -> pd.DataFrame:
        return pd.DataFrame([{"candidate": c, "scenario": "baseline", "draw": 0, "stream": first + s, "share": v}
                             for c, vals in values.items() for s, v in enumerate(vals)])
    inside = table({"status_quo": [1.0, 1.2], "lucky": [1.5, 1.6], "steady": [1.3, 1.4]}, 0)
    outside = table({"status_quo": [1.1, 1.0], "lucky": [1.0, 0.9], "steady": [1.3, 1.2]}, 2)
    pareto = evaluation.robust_values(inside, [share], "mean")
    out = optimise_report.with_out_of_sample(search, pareto, inside, outside).set_index("candidate")
    assert out["flagged"].to_dict() == {"status_quo": False, "lucky": True, "steady": False}
    assert out.loc["lucky", "share_oos"] == pytest.approx(0.95)


@pytest.mark.slow
def test_the_grid_places_cells_on_the_same_streams_for_every_candidate(tmp_path, monkeypatch):
    """Without a posterior a cell is (seed, replicate = stream); with one (seed + stream, replicate = draw);
    the held-out cells are new; two candidates share every cell's placement."""
    search = optimise.read_search("joint_stock_growth", TINY)
    u = search.uncertainty
    key = search.levers[0].key
    candidates = {"status_quo": {}, "more": {key: 30.0}}
    _, where = evaluation.grid_study("g", tmp_path, u, search.bases, candidates, evaluation.cells(u))
    assert sorted(where.loc[where["candidate"] == "more", "replicate"]) == [0, 1]
    assert (where.groupby(["scenario", "draw", "stream"])["replicate"].nunique() == 1).all()
    monkeypatch.setattr(posterior, "COMMITTED_ROOT", tmp_path / "data")
    monkeypatch.setenv(posterior.ROOT_ENV, str(tmp_path / "none"))
    path = tmp_path / "data" / "tiny" / "posterior.parquet"
    path.parent.mkdir(parents=True)
    draws = {"target_set": ["seed"] * 4, "draw": range(4), "customers.habit": [0.5, 1.0, 1.5, 2.0]}
    pd.DataFrame(draws).to_parquet(path)
    with_posterior = optimise.read_search("joint_stock_growth", [*TINY, "uncertainty.posterior=tiny",
                                                                 "uncertainty.draws=2"])
    u = with_posterior.uncertainty
    study, where = evaluation.grid_study("g", tmp_path, u, with_posterior.bases, candidates, evaluation.cells(u))
    seeds = {p.config_hash: p.config.seed for p in study.points}
    base = with_posterior.bases["baseline"].seed
    assert all(seeds[h] == base + s and r == d for h, s, r, d in
               zip(where["config_hash"], where["stream"], where["replicate"], where["draw"]))
    held = evaluation.cells(u, out_of_sample=True)
    assert not set(held) & set(evaluation.cells(u)) and {d for _, d, _ in held} == {2, 3}
    with pytest.raises(Exception, match="uncertainty.draws|replicates"):
        optimise.read_search("joint_stock_growth", [*TINY, "uncertainty.posterior=tiny", "uncertainty.draws=3"])


def test_ctrl_c_exits_130_and_leaves_no_tables(tmp_path, monkeypatch, capsys):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(evaluation, "run_study", interrupted)
    assert command.main(["joint_stock_growth", *TINY, "trials=2", "--out", str(tmp_path)]) == 130
    assert capsys.readouterr().err.strip().splitlines()[-1] == "interrupted"
    written = {p.name for p in tmp_path.rglob("*") if p.is_file()}
    assert not written & {"candidates.csv", "pareto.csv", "evaluations.parquet", "report.html", "pareto.png"}
