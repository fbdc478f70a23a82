"""The calibration's targets with standard errors, and how far runs fall from them.

`load_target_set` reads one target set of data/targets.csv (how each standard error was set
is told in sim/evidence/targets.py and in each row's `basis`); `simulated_vector` reads every
target from each run's tables (sim.evidence.observations.simulated, the same rule as the fit
command's); `standardized_residuals` is (mean over runs - observed) / se, the quantity a
Gaussian likelihood or a distance for simulation-based inference is built from. A range
row (primary-bank switching, 2-8 % a year) counts only how far the runs fall outside it.
Rows with use='check' are read and judged like any other: a caller that builds a
likelihood keeps `targets[targets.use == "fit"]`.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sim.evidence.observations import RunView, off_by, switching_by_year, yearly_switching
from sim.evidence.targets import TARGETS_CSV, read_targets, select

Run = tuple[pd.DataFrame, pd.DataFrame]            # (timeseries, institutions) of one run


def load_target_set(target_set: str, path: Path = TARGETS_CSV) -> pd.DataFrame:
    """Every target of `target_set` ('seed' or 'cba'), with its standard error; a bad file or set
    raises ConfigError with one line naming the file, the key and value, and what is allowed."""
    targets = select(read_targets(path), target_set, path)
    return targets.set_axis(targets["series"] + " " + targets["date"], axis=0)


def _run_value(target, view: RunView) -> float:
    if target.kind == "range":                      # primary-bank switching: the run's mean over whole years
        per_year = yearly_switching(view.ts)
        return float(per_year.mean()) if len(per_year) else np.nan
    value = view.value(target.series, target.date)
    return np.nan if value is None else value


def simulated_vector(targets: pd.DataFrame, runs: list[Run]) -> pd.DataFrame:
    """One row per run, one column per target: the run's value, NaN where it cannot produce one
    (a date outside the run, a bank figure without banks=named)."""
    views = [RunView(ts, inst) for ts, inst in runs]
    return pd.DataFrame([[_run_value(t, view) for t in targets.itertuples()] for view in views],
                        columns=targets.index, dtype=float)


def standardized_residuals(targets: pd.DataFrame, runs: list[Run]) -> pd.Series:
    """(mean over runs - observed) / se for each target; for a range, the distance outside it over
    se (0 inside). NaN where no run produces the target."""
    mean = simulated_vector(targets, runs).mean()
    point = (mean - targets["value"]) / targets["se"]
    outside = (mean - targets["low"]).clip(upper=0) + (mean - targets["high"]).clip(lower=0)
    return point.where(targets["kind"] == "point", outside / targets["se"])


def tolerance_ratio(targets: pd.DataFrame, mean: pd.Series) -> pd.Series:
    """How far each simulated mean is from its target in units of the fit command's tolerance
    (sim.evidence.observations.off_by): at most 1 is within; a missing mean is inf."""
    ratio = {key: off_by(t["series"], mean.get(key, np.nan), t["value"], t["low"], t["high"])
             for key, t in targets.iterrows()}
    return pd.Series(ratio, dtype=float).fillna(np.inf)


def fit_command_ratio(targets: pd.DataFrame, runs: list[Run]) -> pd.Series:
    """`tolerance_ratio` of the mean over `runs`, judged as the fit command judges: a range
    (primary-bank switching) by its worst whole year of the runs' mean, not by the mean year."""
    ratio = tolerance_ratio(targets, simulated_vector(targets, runs).mean())
    per_year = switching_by_year(runs)
    for key, t in targets[targets["kind"] == "range"].iterrows():
        ratio[key] = max((off_by(t["series"], v, low=t["low"], high=t["high"]) for v in per_year), default=np.inf)
    return ratio
