"""Evaluating strategies on a grid of uncertainty: draws x scenarios x replicate streams, paired.

Every candidate (a set of lever values: typed changes to the model config) runs in the same
cells, one cell being a scenario preset (configs/experiment/), a posterior draw (with
`posterior`) and a replicate stream; so two candidates differ in a cell only by their levers
(common random numbers), and their difference is paired by cell. Where a cell runs:
  no posterior   the config's seed, replicate = stream     (SeedSequence(seed, spawn_key=(stream,)))
  posterior      seed + stream, replicate = draw           (lab/posterior.py: replicate r runs draw r)
The in-sample cells are draws 0..D-1 and streams 0..R-1; the out-of-sample cells, which a search
never sees, are draws D..2D-1 and streams R..2R-1. The runs are one study (lab/study.py) in the
command's folder, so what is stored is never run again and a killed command resumes.

Robust statistics over a candidate's cells, each with a 95 % interval:
  mean    the mean over cells; t interval over the cells
  p10     the worst decile: the 10th percentile (90th for an objective to minimise); bootstrap
          interval over the cells (seeded)
  regret  the largest, over scenario x draw, of the mean over streams of the candidate's shortfall
          from the best candidate evaluated in that cell (always to minimise); t interval over
          the streams of that worst scenario x draw
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from lab import dataset
from lab.compose import group_options, load_config
from lab.errors import CommandError
from lab.objectives import Objective
from lab.points import Point, uniform_values
from lab.posterior import check as check_posterior
from lab.posterior import refuse_overlap
from lab.changes import with_changes
from lab.study import Study, run_study
from sim.config import Config, ConfigError

ROBUSTNESS = ("mean", "p10", "regret")
UNCERTAINTY_KEYS = {"posterior", "draws", "replicates", "scenarios"}
BOOTSTRAP = 2000
CELL = ["scenario", "draw", "stream"]
STATUS_QUO = "status_quo"          # the candidate that changes nothing: every comparison's reference


@dataclass(frozen=True)
class Uncertainty:
    posterior: str
    draws: int
    replicates: int
    scenarios: tuple[str, ...]


def hydra_value(value: Any) -> str:
    """A value as a Hydra override writes it (strings quoted, null, lists and mappings)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(hydra_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{hydra_value(v)}" for k, v in value.items()) + "}"
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def flat(mapping: Any, where: str = "model", prefix: str = "") -> dict[str, Any]:
    """A `model:` mapping as {dotted key: value}: nested or dotted keys alike."""
    if not isinstance(mapping, dict):
        raise ConfigError(where, mapping, "a mapping of model config keys to values, e.g. {population.size: 20000}")
    out = {}
    for k, v in mapping.items():
        key = f"{prefix}{k}"
        out.update(flat(v, where, key + ".") if isinstance(v, dict) and v else {key: v})
    return out


def model_overrides(model: dict[str, Any]) -> list[str]:
    """The `model:` keys as Hydra overrides, KEY=VALUE."""
    return [f"{k}={hydra_value(v)}" for k, v in model.items()]


def read_uncertainty(spec: Any, where: str = "uncertainty") -> Uncertainty:
    """The grid's size and scenarios from the config; ConfigError naming the key."""
    if not isinstance(spec, dict):
        raise ConfigError(where, spec, "{posterior: null | <name>, draws: N, replicates: N, scenarios: [...]}")
    unknown = sorted(set(spec) - UNCERTAINTY_KEYS)
    if unknown:
        raise ConfigError(f"{where}.{unknown[0]}", spec[unknown[0]], f"one of the keys {sorted(UNCERTAINTY_KEYS)}")
    posterior = spec.get("posterior") or ""
    for key, default, most in (("draws", 1, 500), ("replicates", 2, 1000)):
        value = spec.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= most:
            raise ConfigError(f"{where}.{key}", value, f"an integer in [1, {most}]")
    if not posterior and spec.get("draws", 1) != 1:
        raise ConfigError(f"{where}.draws", spec["draws"], "1 without a posterior (draws are a posterior's)")
    scenarios = spec.get("scenarios", ["baseline"])
    presets = group_options("experiment")
    if not isinstance(scenarios, list) or not scenarios:
        raise ConfigError(f"{where}.scenarios", scenarios, f"a non-empty list of presets from {presets}")
    for s in scenarios:
        if s not in presets:
            raise ConfigError(f"{where}.scenarios", s, f"a scenario preset: one of {presets}")
    if len(set(scenarios)) < len(scenarios):
        raise ConfigError(f"{where}.scenarios", scenarios, "each scenario once")
    return Uncertainty(str(posterior), spec.get("draws", 1), spec.get("replicates", 2), tuple(scenarios))


def read_grid(spec: dict) -> tuple[Uncertainty, dict[str, Any], Config]:
    """A strategy file's `uncertainty` and `model`, and a probe config (its first scenario, no posterior)
    that players, levers and objectives are checked against before anything runs."""
    u = read_uncertainty(spec.get("uncertainty", {}))
    model = flat(spec.get("model") or {})
    probe = base_configs(dataclasses.replace(u, posterior="", draws=1, scenarios=u.scenarios[:1]),
                         model, [])[u.scenarios[0]]
    return u, model, probe


def base_configs(u: Uncertainty, model: dict[str, Any], levers: list[str]) -> dict[str, Config]:
    """Each scenario's config with the model's overrides (composed once a scenario), its posterior checked
    for enough draws in and out of sample and for setting none of the levers or model keys."""
    overrides = [*model_overrides(model), "figures=false"]
    if u.posterior:
        overrides.append(f"posterior={hydra_value(u.posterior)}")
    bases = {s: load_config([f"experiment={s}", *overrides]) for s in u.scenarios}
    for cfg in bases.values():
        check_posterior(dataclasses.replace(cfg, replicates=2 * u.draws if u.posterior else 1))
        refuse_overlap(cfg, [*overrides, *(f"{k}=" for k in levers)])
    return bases


def cells(u: Uncertainty, out_of_sample: bool = False, streams: range | None = None) -> list[tuple[str, int, int]]:
    """(scenario, draw, stream) of the grid; out of sample: the draws and streams after the search's;
    `streams`: those streams of the in-sample draws instead (a game's added replicates)."""
    d0, r0 = (u.draws, u.replicates) if out_of_sample else (0, 0)
    draws = range(d0, d0 + u.draws) if u.posterior else range(1)
    streams = streams if streams is not None else range(r0, r0 + u.replicates)
    return [(s, d, r) for s in u.scenarios for d in draws for r in streams]


def _placement(u: Uncertainty, base: Config, draw: int, stream: int) -> tuple[int, int]:
    """(seed, replicate) a cell runs with."""
    return (base.seed + stream, draw) if u.posterior else (base.seed, stream)


def grid_study(name: str, root: Path, u: Uncertainty, bases: dict[str, Config], candidates: dict[str, dict],
               grid: list[tuple[str, int, int]]) -> tuple[Study, pd.DataFrame]:
    """The runs of every candidate in every cell as a study, and the map from (candidate, cell) to its
    run (config_hash, replicate)."""
    points, replicates, rows, made = [], {}, [], {}
    for candidate, changes in candidates.items():
        for (scenario, draw, stream) in grid:
            seed, replicate = _placement(u, bases[scenario], draw, stream)
            key = (scenario, seed, tuple(sorted(changes.items(), key=str)))
            if key not in made:
                config = with_changes(bases[scenario], {**changes, "seed": seed})
                values = {dataset.column_name(k): v for k, v in changes.items()}
                overrides = [f"{k}={hydra_value(v)}" for k, v in changes.items()]
                points.append(Point.make(len(points), config, overrides, values))
                made[key] = len(points) - 1
            index = made[key]
            replicates.setdefault(index, [])
            if replicate not in replicates[index]:
                replicates[index].append(replicate)
            rows.append({"candidate": candidate, "scenario": scenario, "draw": draw, "stream": stream,
                         "config_hash": points[index].config_hash, "replicate": replicate})
    study = Study(name, root, uniform_values(points), replicates={i: tuple(r) for i, r in replicates.items()})
    return study, pd.DataFrame(rows)


def evaluate(name: str, root: Path, u: Uncertainty, bases: dict[str, Config], candidates: dict[str, dict],
             grid: list[tuple[str, int, int]], objectives: list[Objective], backend: str = "local",
             workers: int | None = None, show_progress: bool = True) -> pd.DataFrame:
    """Run what is not stored yet and return one row per candidate and cell: the cell, its run and each
    objective's value. A run that failed is one line (CommandError) naming the first error."""
    study, where = grid_study(name, root, u, bases, candidates, grid)
    if not candidates:
        return where
    run_study(study, backend=backend, workers=workers, show_progress=show_progress)
    runs = dataset.load_runs(root)
    wanted = set(zip(where["config_hash"], where["replicate"]))
    mine = runs[[(h, r) in wanted for h, r in zip(runs["config_hash"], runs["replicate"])]]
    failed = mine[mine["status"] != "complete"]
    if len(failed) or len(mine) < len(wanted):
        first = failed["error"].iloc[0] if len(failed) else "runs missing from the dataset"
        raise CommandError(f"error: {len(failed) or len(wanted) - len(mine)} of {len(wanted)} runs failed "
                           f"(first: {first}); see {root}/runs.csv")
    columns = sorted({o.column for o in objectives})
    inst = dataset.load(root, "institutions", columns=columns, hashes=set(where["config_hash"]))
    for o in objectives:
        values = o.read(inst).rename(o.name)
        where = where.join(values, on=["config_hash", "replicate"])
    return where


# ----------------------------------------------------------------------------- robust statistics

def t_interval(x: np.ndarray) -> tuple[float, float, float]:
    """Mean and 95 % t interval (NaN bounds from one value)."""
    x = np.asarray(x, dtype=float)
    mean = float(x.mean()) if len(x) else np.nan
    if len(x) < 2:
        return mean, np.nan, np.nan
    half = float(stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x)))
    return mean, mean - half, mean + half


def robust_sense(objective: Objective, robustness: str) -> str:
    """Which way the robust value is better: the objective's sense, or min for regret."""
    return "min" if robustness == "regret" else objective.sense


def _p10(x: np.ndarray, sense: str, rng: np.random.Generator) -> tuple[float, float, float]:
    q = 10 if sense == "max" else 90
    value = float(np.percentile(x, q))
    if len(x) < 2:
        return value, np.nan, np.nan
    boot = np.percentile(x[rng.integers(0, len(x), (BOOTSTRAP, len(x)))], q, axis=1)
    return value, float(np.percentile(boot, 2.5)), float(np.percentile(boot, 97.5))


def robust_values(evaluations: pd.DataFrame, objectives: list[Objective], robustness: str,
                  seed: int = 0) -> pd.DataFrame:
    """One row per candidate: for each objective its robust value, `<objective>_low`, `<objective>_high`.

    Regret is measured against the best of the candidates in `evaluations`, cell by cell."""
    if robustness not in ROBUSTNESS:
        raise ConfigError("robustness", robustness, f"one of {list(ROBUSTNESS)}")
    rng = np.random.default_rng(seed)
    out = pd.DataFrame(index=pd.Index(list(dict.fromkeys(evaluations["candidate"])), name="candidate"))
    for o in objectives:
        wide = evaluations.pivot_table(index="candidate", columns=CELL, values=o.name, aggfunc="first")
        wide = wide.reindex(out.index)
        if robustness == "regret":
            better = o.better(wide.to_numpy())
            shortfall = pd.DataFrame(better.max(axis=0, keepdims=True) - better, index=wide.index,
                                     columns=wide.columns)
        triples = []
        for candidate in out.index:
            if robustness == "mean":
                triples.append(t_interval(wide.loc[candidate].dropna().to_numpy()))
            elif robustness == "p10":
                triples.append(_p10(wide.loc[candidate].dropna().to_numpy(), o.sense, rng))
            else:
                by_state = shortfall.loc[candidate].groupby(level=["scenario", "draw"])
                worst = by_state.mean().idxmax()
                triples.append(t_interval(by_state.get_group(worst).to_numpy()))
        out[o.name], out[f"{o.name}_low"], out[f"{o.name}_high"] = map(list, zip(*triples))
    return out.reset_index()


def paired_effects(evaluations: pd.DataFrame, objectives: list[Objective], reference: str) -> pd.DataFrame:
    """Per candidate and objective: the mean over cells of (candidate − reference), paired by cell, with a
    95 % t interval; `<objective>_effect`, `_effect_low`, `_effect_high`."""
    out = {}
    for o in objectives:
        wide = evaluations.pivot_table(index=CELL, columns="candidate", values=o.name, aggfunc="first")
        if reference not in wide:
            raise CommandError(f"error: the reference candidate {reference!r} was not evaluated")
        for candidate in wide.columns:
            diff = (wide[candidate] - wide[reference]).dropna().to_numpy()
            m, lo, hi = t_interval(diff)
            out.setdefault(candidate, {}).update({f"{o.name}_effect": m, f"{o.name}_effect_low": lo,
                                                  f"{o.name}_effect_high": hi})
    return pd.DataFrame.from_dict(out, orient="index").rename_axis("candidate").reset_index()


def non_dominated(table: pd.DataFrame, senses: dict[str, str]) -> np.ndarray:
    """Mask of the rows no other row dominates (at least as good in every column of `senses`, better in one)."""
    x = np.column_stack([table[c].to_numpy(float) * (1.0 if s == "max" else -1.0) for c, s in senses.items()])
    keep = np.ones(len(x), dtype=bool)
    for i in range(len(x)):
        dominated = np.all(x >= x[i], axis=1) & np.any(x > x[i], axis=1)
        keep[i] = not dominated.any()
    return keep


def require_intervals(u: Uncertainty) -> str:
    """A note for reports: what the intervals cover, or that one cell gives none."""
    n = u.draws * u.replicates * len(u.scenarios)
    if n < 2:
        return "one cell per candidate: no interval can be drawn from one replicate"
    what = f"posterior '{u.posterior}' draws, " if u.posterior else ""
    return f"95 % intervals over {n} paired cells ({what}seeds and scenarios {list(u.scenarios)})"
