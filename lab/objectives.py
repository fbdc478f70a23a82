"""An objective (optimise) or payoff (game): one number per run, read from the institutions table.

Written in a strategy config as
  {column: customer_share, at: 2020-12, sense: max}            the value in one month
  {column: profit, sum: [2016-01, 2020-12], sense: max}         summed over the months from..to
  {column: rate_offered, mean: [2019-01, 2020-12], sense: min}  their mean
for the player's own row (or `institution: <name>` for another's). The column must be a number the
institutions table holds for that kind of institution (sim/writers/schema.py, the one list of
columns), and the months must lie in the model's period. `sense` says which way is better; a
game's payoffs default to max.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from lab.errors import CommandError
from lab.strategy_space import roster_of
from sim.config import Config, ConfigError, month_index
from sim.writers.schema import COLUMNS

HOW = ("at", "sum", "mean")
SENSES = ("max", "min")
NOT_NUMBERS = ("name", "text", "hex", "date", "bank | platform", "index", "integer", "count")
KEYS = {"column", "sense", "institution", *HOW}


def numeric_columns(kind: str) -> list[str]:
    """Columns of the institutions table holding a number for a bank ('bank') or a platform ('platform')."""
    other = "platforms:" if kind == "bank" else "banks:"
    return [c.name for c in COLUMNS if c.table == "institutions" and c.unit not in NOT_NUMBERS
            and not c.meaning.startswith(other) and "*" not in c.name]


@dataclass(frozen=True)
class Objective:
    """What one run scores: `column` of `institution`, at a month or summed / averaged over months."""
    name: str
    column: str
    institution: str
    how: str
    first: str
    last: str
    sense: str = "max"

    def describe(self) -> str:
        """The objective in words, for tables and figures."""
        when = f"in {self.first}" if self.how == "at" else f"{self.how} {self.first} to {self.last}"
        return f"{self.institution} {self.column}, {when} ({self.sense})"

    def read(self, inst: pd.DataFrame) -> pd.Series:
        """The objective per run, indexed by (config_hash, replicate), from stored institutions rows."""
        rows = inst[inst["institution"] == self.institution]
        dates = pd.to_datetime(rows["date"])
        first, last = pd.Timestamp(self.first + "-01"), pd.Timestamp(self.last + "-01")
        rows = rows[(dates >= first) & (dates <= last)]
        grouped = rows.groupby(["config_hash", "replicate"])[self.column]
        values = grouped.sum(min_count=1) if self.how == "sum" else grouped.mean()
        if values.isna().any():
            raise CommandError(f"error: objective {self.name}: {self.institution} has no {self.column} "
                               f"{'in ' + self.first if self.how == 'at' else 'from ' + self.first}")
        return values.astype(float)

    def better(self, values: np.ndarray) -> np.ndarray:
        """The values turned so that larger is better (negated for sense min)."""
        return np.asarray(values, dtype=float) * (1.0 if self.sense == "max" else -1.0)


def _month(where: str, value, config: Config) -> str:
    text = str(value)
    index = month_index(text, where)
    if not month_index(config.start) <= index <= month_index(config.end):
        raise ConfigError(where, value, f"a month between {config.start} and {config.end} (the model's period)")
    return text


def read_objective(name: str, spec, config: Config, player: str, where: str,
                   default_sense: str | None = None) -> Objective:
    """An objective from its config entry, checked against the model config; ConfigError naming `where`."""
    if not isinstance(spec, dict):
        raise ConfigError(where, spec, "{column: <institutions column>, at: YYYY-MM | sum: [from, to] | "
                          "mean: [from, to], sense: max | min}")
    unknown = sorted(set(spec) - KEYS)
    if unknown:
        raise ConfigError(f"{where}.{unknown[0]}", spec[unknown[0]], f"one of the keys {sorted(KEYS)}")
    institution = str(spec.get("institution", player))
    roster = roster_of(config, institution, f"{where}.institution")
    kind = "bank" if roster == "banks" else "platform"
    allowed = numeric_columns(kind)
    if spec.get("column") not in allowed:
        raise ConfigError(f"{where}.column", spec.get("column"),
                          f"a number the institutions table holds for a {kind}: one of {allowed}")
    hows = [h for h in HOW if h in spec]
    if len(hows) != 1:
        raise ConfigError(where, spec, "exactly one of at: YYYY-MM, sum: [from, to] or mean: [from, to]")
    how = hows[0]
    if how == "at":
        first = last = _month(f"{where}.at", spec["at"], config)
    else:
        span = spec[how]
        if not (isinstance(span, list) and len(span) == 2):
            raise ConfigError(f"{where}.{how}", span, "[from, to], two months YYYY-MM")
        first, last = (_month(f"{where}.{how}", m, config) for m in span)
        if month_index(last) < month_index(first):
            raise ConfigError(f"{where}.{how}", span, "[from, to] with from on or before to")
    sense = spec.get("sense", default_sense)
    if sense not in SENSES:
        raise ConfigError(f"{where}.sense", sense, f"one of {list(SENSES)}")
    return Objective(name, spec["column"], institution, how, first, last, sense)
