"""The work of `python -m experiments.optimise NAME [KEY=VALUE ...]`: what should one institution do?

A search over the player's levers (Optuna, ask/tell) for the strategies that do best on the
objectives, each candidate evaluated on the same grid of uncertainty (lab/evaluation.py: draws x
scenarios x replicate streams, common random numbers) with the rivals as the model config makes
them (the shipped configs make them responsive, so every evaluation includes their answer).
Candidates are asked in batches of `batch`; each batch runs as one study through the study runner
(local processes, or Ray), never `study.optimize(n_jobs=)`. The Optuna study lives in the
folder's journal (`optuna.journal`), so a killed search resumes: trials asked but never told are
evaluated first (their runs that were stored are not run again), and each batch's sampler is
seeded from `seed` and the number of trials before it, so a resumed search asks the same
candidates an uninterrupted one does. Raising `trials` extends the same study.

The player's strategy as the scenario sets it is always a candidate, `status_quo` (enqueued as the
first trial where it lies inside the levers' ranges). At the end every Pareto candidate and the
status quo run again on draws and streams the search never saw (lab/optimise_report.py writes the
tables, the figure and the report).
"""
from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from lab import evaluation, progress
from lab.evaluation import STATUS_QUO, Uncertainty
from lab.objectives import Objective, read_objective
from lab.strategy_config import claim_folder, folder_for, integer, ray_session, read_spec, require_extra
from lab.strategy_space import Lever, read_lever, roster_of, value_at
from lab.study import BACKENDS
from sim.config import Config, ConfigError

KEYS = {"player", "levers", "objectives", "uncertainty", "robustness", "trials", "batch", "sampler", "seed",
        "model", "backend", "workers"}
SAMPLERS = ("nsga2", "tpe", "random")
COMMAND = "experiments.optimise"
RESERVED = {"candidate", "sample", "scenario", "draw", "replicate", "stream", "config_hash", "flagged"}


@dataclass
class Search:
    """An optimisation, read and checked: who searches which levers for what, on which grid."""
    name: str
    folder: Path
    player: str
    levers: list[Lever]
    objectives: list[Objective]
    uncertainty: Uncertainty
    robustness: str
    trials: int
    batch: int
    sampler: str
    seed: int
    bases: dict[str, Config]
    backend: str = "local"
    workers: int | None = None
    spec: dict = dataclasses.field(default_factory=dict)

    @property
    def senses(self) -> dict[str, str]:
        """{objective: max | min} of the robust values (regret is always minimised)."""
        return {o.name: evaluation.robust_sense(o, self.robustness) for o in self.objectives}


def _objective_names(objectives: Any, levers: list[Lever]) -> None:
    if not isinstance(objectives, dict) or not objectives:
        raise ConfigError("objectives", objectives, "a mapping of names to {column, at | sum | mean, sense}")
    clash = {lv.name for lv in levers} | RESERVED
    for name in objectives:
        if not str(name).isidentifier() or name in clash or str(name).endswith(("_low", "_high", "_oos")):
            raise ConfigError(f"objectives.{name}", objectives[name], "a name of letters, digits and '_' that is "
                              "not a lever's or a column's (candidate, scenario, ...) and does not end in _low, "
                              "_high or _oos")


def read_search(name: str, overrides: list[str], out: Path = Path("results/optimise")) -> Search:
    """The optimisation NAME (configs/optimise/NAME.yaml) with overrides, every key checked before anything
    runs or is written; ConfigError or CommandError, one line, on bad input."""
    spec = read_spec("optimise", name, overrides, KEYS)
    u, model, probe = evaluation.read_grid(spec)
    player = spec.get("player")
    roster_of(probe, player if isinstance(player, str) else str(player))
    levers_spec = spec.get("levers")
    if not isinstance(levers_spec, dict) or not levers_spec:
        raise ConfigError("levers", levers_spec, "a mapping of the player's levers to [low, high] or {choices: [...]}")
    levers = [read_lever(probe, player, k, v, f"levers.{k}") for k, v in levers_spec.items()]
    _objective_names(spec.get("objectives"), levers)
    objectives = [read_objective(k, v, probe, player, f"objectives.{k}") for k, v in spec["objectives"].items()]
    robustness = spec.get("robustness", "mean")
    if robustness not in evaluation.ROBUSTNESS:
        raise ConfigError("robustness", robustness, f"one of {list(evaluation.ROBUSTNESS)}")
    sampler = spec.get("sampler", "nsga2")
    if sampler not in SAMPLERS:
        raise ConfigError("sampler", sampler, f"one of {list(SAMPLERS)}")
    backend = spec.get("backend", "local")
    if backend not in BACKENDS:
        raise ConfigError("backend", backend, f"one of {list(BACKENDS)}")
    bases = evaluation.base_configs(u, model, [lv.key for lv in levers])
    return Search(name, folder_for(out, name, overrides), player, levers, objectives, u, robustness,
                  integer(spec, "trials", 40, 1, 10_000), integer(spec, "batch", 10, 2, 1_000), sampler,
                  integer(spec, "seed", 0, 0, 2 ** 31 - 1), bases, backend,
                  integer(spec, "workers", None, 1, 1_024), spec)


# ----------------------------------------------------------------------------- Optuna

def _distributions(levers: list[Lever]) -> dict:
    import optuna
    d = optuna.distributions
    return {lv.name: d.CategoricalDistribution(list(lv.choices)) if lv.choices is not None else
            d.IntDistribution(lv.low, lv.high) if lv.integer else d.FloatDistribution(float(lv.low), float(lv.high))
            for lv in levers}


def _sampler(search: Search, offset: int):
    import optuna
    seed = search.seed * 100_003 + offset        # the same for the same trials before it: resumes ask the same
    if search.sampler == "nsga2":
        return optuna.samplers.NSGAIISampler(population_size=search.batch, seed=seed)
    if search.sampler == "tpe":
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=min(10, search.batch))
    return optuna.samplers.RandomSampler(seed=seed)


def _study(search: Search, offset: int):
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = JournalStorage(JournalFileBackend(str(search.folder / "optuna.journal")))
    directions = ["maximize" if s == "max" else "minimize" for s in search.senses.values()]
    return optuna.create_study(storage=storage, study_name=search.name, directions=directions,
                               sampler=_sampler(search, offset), load_if_exists=True)


def status_quo_values(search: Search) -> dict[str, Any] | None:
    """The player's lever values in every scenario, if all scenarios agree and they lie inside the ranges
    (then the status quo is the first trial); else None."""
    values = {lv.name: value_at(search.bases[search.uncertainty.scenarios[0]], lv.key) for lv in search.levers}
    for base in search.bases.values():
        if any(value_at(base, lv.key) != values[lv.name] for lv in search.levers):
            return None
    for lv in search.levers:
        v = values[lv.name]
        inside = v in lv.choices if lv.choices is not None else (v is not None and lv.low <= v <= lv.high)
        if not inside:
            return None
    return values


def candidate_name(trial) -> str:
    """A trial's candidate name: status_quo for the enqueued status quo, else t<number>."""
    return trial.user_attrs.get("candidate") or f"t{trial.number:03d}"


def changes_of(search: Search, params: dict[str, Any]) -> dict[str, Any]:
    """A candidate's lever values as config changes {config key: value}."""
    return {lv.key: params[lv.name] for lv in search.levers}


def _evaluate(search: Search, candidates: dict[str, dict], grid, show: bool) -> pd.DataFrame:
    return evaluation.evaluate(search.name, search.folder, search.uncertainty, search.bases, candidates, grid,
                               search.objectives, search.backend, search.workers, show)


def _tell(study, trials: list, evals: pd.DataFrame, search: Search) -> None:
    robust = evaluation.robust_values(evals, search.objectives, search.robustness).set_index("candidate")
    for trial in trials:
        row = robust.loc[candidate_name(trial)]
        study.tell(trial.number, [float(row[o.name]) for o in search.objectives], skip_if_finished=True)


def run_search(search: Search, show_progress: bool = True) -> None:
    """Ask, evaluate and tell until `trials` candidates (besides a status quo outside the ranges) are told.
    The status quo runs first, always: it is every comparison's reference."""
    import optuna
    grid = evaluation.cells(search.uncertainty)
    study = _study(search, 0)
    sq = status_quo_values(search)
    if sq is not None and not any(t.user_attrs.get("candidate") == STATUS_QUO for t in study.get_trials()):
        study.enqueue_trial(sq, user_attrs={"candidate": STATUS_QUO})
    target = search.trials + (1 if sq is not None else 0)
    _evaluate(search, {STATUS_QUO: {}}, grid, show_progress)
    done = len(study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)))
    with progress.bar(target, f"optimise {search.name}", "candidate", show=show_progress) as bar:
        bar.update(done)
        while True:
            existing = len(study.get_trials(deepcopy=False))
            study = _study(search, existing)
            batch = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))   # asked, not told
            if not batch:
                batch = [study.ask(_distributions(search.levers)) for _ in range(min(search.batch, target - existing))]
            if not batch:
                break
            candidates = {candidate_name(t): changes_of(search, t.params) for t in batch}
            evals = _evaluate(search, candidates, grid, show_progress)
            if search.robustness == "regret":           # regret is against every candidate so far (read back)
                so_far = told(search)
                evals = _evaluate(search, {**candidate_changes(search, so_far, so_far), **candidates}, grid, False)
            _tell(study, batch, evals, search)
            bar.update(len(batch))


def told(search: Search) -> dict[str, dict[str, Any]]:
    """{candidate: {lever: value}} of the status quo (its values as the first scenario sets them) and every
    told trial, in trial order."""
    import optuna
    base = search.bases[search.uncertainty.scenarios[0]]
    out = {STATUS_QUO: {lv.name: value_at(base, lv.key) for lv in search.levers}}
    trials = _study(search, 0).get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    for t in sorted(trials, key=lambda t: t.number):
        if candidate_name(t) != STATUS_QUO:
            out[candidate_name(t)] = dict(t.params)
    return out


def candidate_changes(search: Search, candidates: dict[str, dict], names) -> dict[str, dict[str, Any]]:
    """The config changes of the named candidates: none for the status quo (each scenario's own)."""
    return {c: {} if c == STATUS_QUO else changes_of(search, candidates[c]) for c in names}


def optimise(name: str, overrides: list[str], out: Path = Path("results/optimise"),
             show_progress: bool = True) -> Path:
    """Run (or resume, or extend) the optimisation and write its folder; returns the folder."""
    require_extra("optuna")
    search = read_search(name, overrides, out)
    claim_folder(search.folder, search.spec, COMMAND)
    with ray_session(search.backend, search.workers):
        return _optimise(search, show_progress)


def _optimise(search: Search, show_progress: bool) -> Path:
    from lab import optimise_report
    run_search(search, show_progress)
    candidates = told(search)
    evals = _evaluate(search, candidate_changes(search, candidates, candidates), evaluation.cells(search.uncertainty),
                      False).assign(sample="in")
    table = optimise_report.candidate_table(search, evals, candidates)
    pareto = table[evaluation.non_dominated(table, search.senses)]
    held_out = evaluation.cells(search.uncertainty, out_of_sample=True)
    shown = list(dict.fromkeys([STATUS_QUO, *pareto["candidate"]]))
    oos = _evaluate(search, candidate_changes(search, candidates, shown), held_out, show_progress).assign(sample="out")
    optimise_report.write(search, evals, oos, table, pareto)
    print(f"optimise {search.name}: {len(table)} candidates, {len(pareto)} on the Pareto front", file=sys.stderr)
    return search.folder
