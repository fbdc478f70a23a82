"""Calibration targets with standard errors (data/targets.csv), and the fitted-series view of them.

data/targets.csv holds one row per observation of data/observations.csv that the model
can produce (`sim.evidence.observations.simulated`), with:
  series, date, value, unit    as in observations.csv ('2013' a year, '2013-12' a month);
  se                           the standard error, in the series' unit;
  target_set                   'seed', 'cba' or 'both': the two sets differ only in the
                               2013 off-counter rate (seed 004's 54.37 vs the China Banking
                               Association's 63.23), a conflict kept as two sets, not averaged;
  kind                         'point' (a figure) or 'range' (a plausibility range low-high);
  use                          'fit' (in the calibration's likelihood) or 'check' (shown in
                               posterior predictive checks only: the model cannot reproduce
                               the figure's definition, said in `basis`);
  status, source               from observations.csv;
  basis                        in words, how `se` was set.

How `se` is set: se = sqrt(measurement^2 + discrepancy^2), where measurement is the
source's precision (half the last digit of a seed or published figure; 5 % for a figure
recalled from a public report, 10 % for a second-hand press figure) and discrepancy is an
explicit allowance for the model measuring something slightly different (2 pp for the
off-counter rate; 15 % for the mobile share, whose observed denominator's corporate part
is an exogenous path in the model; 5 % for CNNIC's half-year 6+ definition; 10 % for
Yu'ebao; 15 % for a bank's figures, 20 % for BOC's derived retail e-channel value). The
allowances are assumptions, written in each row's `basis`; they are not estimated. A range row's se is a quarter of its width.

Rows for series the model has no counterpart for (BOC's e-channel and corporate values,
branch counts, logins, payment-market shares) are left out. The seed's two off-counter
value totals are kept with use=check: the exogenous corporate value is set from them.

`read_targets` checks the file (one-line ConfigError naming the file, the row or column
and what is allowed). `load_targets` is the view the deterministic fit and the reports
use: the fitted yearly series of one set, one row per year.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sim.choices import TargetSet
from sim.config import ConfigError
from sim.writers.metrics import FITTED_SERIES
from sim.evidence.observations import TOLERANCE

TARGETS_CSV = Path(__file__).resolve().parents[2] / "data" / "targets.csv"
TARGET_SETS = tuple(t.value for t in TargetSet)
COLUMNS = ("series", "date", "value", "unit", "se", "target_set", "kind", "use", "low", "high", "status",
           "source", "basis")
ALLOWED = {"target_set": (*TARGET_SETS, "both"), "kind": ("point", "range"), "use": ("fit", "check"),
           "series": tuple(TOLERANCE)}


def read_targets(path: Path = TARGETS_CSV) -> pd.DataFrame:
    """Every row of a targets file, checked: known columns, sets, kinds and series, finite values,
    se > 0, low < high on range rows, and no (series, date) twice within a set."""
    path = Path(path)
    try:
        df = pd.read_csv(path, dtype={"date": str})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise ConfigError(str(path), str(e).splitlines()[0] if str(e) else type(e).__name__,
                          "a CSV file of targets") from None
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise ConfigError(f"{path}: column {missing[0]!r}", None, f"a file with the columns {list(COLUMNS)}")
    for i, row in enumerate(df.itertuples(index=False), start=2):      # line 1 is the header
        where = f"{path} line {i} ({row.series} {row.date})"
        for column, allowed in ALLOWED.items():
            if getattr(row, column) not in allowed:
                raise ConfigError(f"{where}: {column}", getattr(row, column), f"one of {list(allowed)}")
        for column in ("value", "se") + (("low", "high") if row.kind == "range" else ()):
            number = pd.to_numeric(getattr(row, column), errors="coerce")
            if not np.isfinite(number):
                raise ConfigError(f"{where}: {column}", getattr(row, column), "a finite number")
        if float(row.se) <= 0:
            raise ConfigError(f"{where}: se", row.se, "a standard error > 0, in the series' unit")
        if row.kind == "range" and not float(row.low) < float(row.high):
            raise ConfigError(f"{where}: low", row.low, f"a lower bound below high={row.high}")
    for target_set in TARGET_SETS:
        rows = df[df["target_set"].isin([target_set, "both"])]
        twice = rows[rows.duplicated(["series", "date"])]
        if len(twice):
            raise ConfigError(f"{path}: {twice['series'].iloc[0]} {twice['date'].iloc[0]}", target_set,
                              "one row per series and date in each target set")
    return df.astype({"value": float, "se": float, "low": float, "high": float})


def select(targets: pd.DataFrame, target_set: str, path: Path = TARGETS_CSV) -> pd.DataFrame:
    """The rows of one target set: its own rows and those marked 'both'."""
    if target_set not in TARGET_SETS:
        raise ConfigError(f"{path}: target_set", target_set, f"one of {list(TARGET_SETS)}")
    return targets[targets["target_set"].isin([target_set, "both"])].reset_index(drop=True)


def load_targets(target_set: str = "seed", path: Path = TARGETS_CSV) -> pd.DataFrame:
    """The yearly fitted series (off-counter rate, mobile share) of one set, as `fit_to_targets`,
    the reports and the deterministic calibration read them: target_set, series, year, value,
    unit, source, note (the se's basis)."""
    rows = select(read_targets(path), target_set, path)
    rows = rows[rows["series"].isin(FITTED_SERIES)]
    return pd.DataFrame({"target_set": target_set, "series": rows["series"], "year": rows["date"].astype(int),
                         "value": rows["value"], "unit": rows["unit"], "source": rows["source"],
                         "note": rows["basis"]}).reset_index(drop=True)
