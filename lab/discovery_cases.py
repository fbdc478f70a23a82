"""The cases of a scenario discovery: one per run of a stored study, with its parameters and outcome.

FOLDER (of `python -m experiments.discover FOLDER --outcome "<column> <op> <value>"`) is a
design's or sweep's dataset (lab/dataset.py). Each run (point x replicate) is one case: its
parameters are the study's swept values (study.json `swept`, stored with every run in the runs
table), its outcome the value of a timeseries column, or with `--institution` of an institutions
column for that institution, at one month (`--at`, default the last). PRIM (the patient rule
induction method; `lab.prim_boxes`) then finds boxes, ranges of a few parameters, inside which the
outcome holds far more often than overall (`lab.discovery` runs the whole command).
"""
from __future__ import annotations

import operator
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from lab import dataset
from lab.errors import CommandError
from sim.config import ConfigError, month_index

OPERATORS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
             "==": operator.eq, "!=": operator.ne}
OPERATOR_WORDS = {"<": "lt", "<=": "le", ">": "gt", ">=": "ge", "==": "eq", "!=": "ne"}
SYNTAX = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(<=|>=|==|!=|<|>)\s*"
                    r"([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*$")
ALLOWED_SYNTAX = ("'<column> <op> <number>' with op one of <, <=, >, >=, ==, !=, "
                  "e.g. \"customer_share < 0.4\"")
NOT_PARAMETERS = ("seed",)      # a swept seed is another replicate, not a condition to discover
KEY_COLUMNS = {"scenario", "overrides", "seed", "replicate", "config_hash", "study", "point", "replicate_seed",
               "date", "step", "institution", "label", "kind", "group", "partner"}


@dataclass(frozen=True)
class Outcome:
    """What makes a case of interest: `column op value`, read at one month, of one institution or not."""
    column: str
    op: str
    value: float
    at: str | None = None
    institution: str | None = None

    @property
    def text(self) -> str:
        return f"{self.column} {self.op} {self.value:g}"

    def describe(self) -> str:
        """The outcome in words, e.g. 'customer_share < 0.4 for large_state at 2020-12'."""
        who = f" for {self.institution}" if self.institution else ""
        return f"{self.text}{who} at {self.at or 'the last month'}"

    def tag(self) -> str:
        """A folder name for this question: 'large_state_customer_share_lt_0.4_at_2020-12'."""
        parts = [self.institution, self.column, OPERATOR_WORDS[self.op], f"{self.value:g}", "at", self.at]
        return "_".join(str(p) for p in parts if p)

    def holds(self, values: np.ndarray) -> np.ndarray:
        """Whether each value meets the outcome (a missing value never does)."""
        values = np.asarray(values, dtype=float)
        with np.errstate(invalid="ignore"):
            return OPERATORS[self.op](values, self.value) & ~np.isnan(values)


def parse_outcome(text: str, at: str | None = None, institution: str | None = None) -> Outcome:
    """An Outcome from the command line's "<column> <op> <value>" (CommandError naming what is allowed)."""
    match = SYNTAX.match(str(text))
    if not match:
        raise CommandError(f"error: --outcome={text!r} is not allowed; expected {ALLOWED_SYNTAX}")
    value = float(match.group(3))
    if not np.isfinite(value):
        raise CommandError(f"error: --outcome={text!r} is not allowed; expected a finite number after {match.group(2)}")
    if at is not None:
        try:
            month_index(at, "--at")
        except ConfigError as e:
            raise CommandError(f"error: --at={at!r} is not allowed; expected {e.allowed}") from None
    return Outcome(match.group(1), match.group(2), value, at, institution)


@dataclass
class Cases:
    """One row per complete run: keys, parameters, the outcome's value and `of_interest`; and what was left out."""
    table: pd.DataFrame
    parameters: list[str]           # column names of the parameters PRIM works over
    config_keys: dict[str, str]     # parameter column -> config key, for the report
    outcome: Outcome                # with `at` filled in
    left_out: dict[str, int]        # why runs are not cases: {"failed": n, "no value": n}


def study_parameters(root: Path, runs: pd.DataFrame) -> tuple[list[str], dict[str, str]]:
    """The swept columns that vary across the study's complete runs, and their config keys."""
    meta = dataset.read_meta(root)
    swept = [c for c in meta.get("swept", []) if c in runs.columns and c not in NOT_PARAMETERS]
    keys = {c: meta.get("config_keys", {}).get(c, c) for c in swept}
    varying = [c for c in swept if runs[c].nunique(dropna=True) > 1]
    if not varying:
        what = f"only {swept} (each with one value)" if swept else "no parameter"
        raise CommandError(f"error: {root} swept {what}; discover needs a design or sweep whose runs differ in "
                           "at least one parameter (seed is not one)")
    return varying, {c: keys[c] for c in varying}


def _schema(root: Path, table: str) -> dict[str, str]:
    """{column: Arrow type} of a table of the study, from its first committed part."""
    done = dataset.committed(root)
    files = [p for part, p in dataset.parts(root, table).items() if part in done]
    if not files:
        raise CommandError(f"error: {root} has no committed {table} table to read an outcome from")
    schema = pq.read_schema(files[0])
    return {f.name: str(f.type) for f in schema}


def check_column(root: Path, outcome: Outcome) -> str:
    """The table the outcome's column is read from; CommandError when no table has it as a number."""
    table = "institutions" if outcome.institution else "timeseries"
    schema = _schema(root, table)
    numeric = [c for c, t in schema.items() if c not in KEY_COLUMNS and t.startswith(("double", "float", "int"))]
    if outcome.column in numeric:
        return table
    hint = ""
    other = "timeseries" if outcome.institution else "institutions"
    if outcome.column in _schema(root, other):
        hint = (" (it is a column of the institutions table: add --institution NAME)" if other == "institutions"
                else " (it is a column of the timeseries table: drop --institution)")
    listed = ", ".join(numeric[:15]) + (", ..." if len(numeric) > 15 else "")
    raise CommandError(f"error: --outcome column {outcome.column!r} is not a numeric column of the {table} "
                       f"table{hint}; expected one of {listed}")


def _values(root: Path, outcome: Outcome, table: str) -> tuple[pd.DataFrame, str]:
    """(config_hash, replicate, value) of every run at the outcome's month, and that month."""
    columns = [outcome.column, *(["institution"] if outcome.institution else [])]
    df = dataset.load(root, table, columns=columns)
    if outcome.institution:
        names = sorted(df["institution"].dropna().unique())
        if outcome.institution not in names:
            raise CommandError(f"error: --institution={outcome.institution!r} is not allowed; expected one of "
                               f"{names} (the institutions of {root})")
        df = df[df["institution"] == outcome.institution]
    months = pd.to_datetime(df["date"]).dt.strftime("%Y-%m")
    at = outcome.at or max(months)
    if at not in set(months):
        raise CommandError(f"error: --at={at!r} is not allowed; expected a month the study recorded, "
                           f"{min(months)} to {max(months)}")
    at_month = df[months == at]
    return at_month[["config_hash", "replicate", outcome.column]], at


def read_cases(root: Path, outcome: Outcome) -> Cases:
    """The study's cases for this outcome; CommandError for a folder that is not a study, an unknown
    column, institution or month, and an outcome that no run, or every run, meets."""
    root = Path(root)
    if not root.is_dir() or not dataset.is_study(root):
        raise CommandError(f"error: {root} is not a study folder (no runs/ or study.json); expected a design's "
                           "or sweep's dataset, e.g. results/designs/<name> or results/sweeps/<study>")
    runs = dataset.load_runs(root)
    complete = runs[runs["status"] == "complete"] if len(runs) else runs
    if complete.empty:
        raise CommandError(f"error: {root} holds no complete run to discover from")
    parameters, config_keys = study_parameters(root, complete)
    table = check_column(root, outcome)
    values, at = _values(root, outcome, table)
    outcome = Outcome(outcome.column, outcome.op, outcome.value, at, outcome.institution)
    keys = ["point", "replicate", "config_hash"]
    cases = complete[keys + parameters].merge(values, on=["config_hash", "replicate"], how="left")
    missing = cases[outcome.column].isna()
    unswept = cases[parameters].isna().any(axis=1) & ~missing    # runs of an earlier design that swept less
    cases = cases[~missing & ~unswept].reset_index(drop=True)
    if cases.empty:
        raise CommandError(f"error: {outcome.column} has no value {_whose(outcome)} at {at} in any run of {root}")
    cases["of_interest"] = outcome.holds(cases[outcome.column].to_numpy())
    _refuse_one_sided(cases, outcome, root)
    return Cases(cases, parameters, config_keys, outcome,
                 {"failed": int(len(runs) - len(complete)), "no value": int(missing.sum()),
                  "without every parameter": int(unswept.sum())})


def _whose(outcome: Outcome) -> str:
    return f"for {outcome.institution}" if outcome.institution else "in the timeseries"


def _refuse_one_sided(cases: pd.DataFrame, outcome: Outcome, root: Path) -> None:
    """PRIM separates cases where the outcome holds from those where it does not: both must exist."""
    hits, n = int(cases["of_interest"].sum()), len(cases)
    if 0 < hits < n:
        return
    v = cases[outcome.column]
    which = "no run meets" if hits == 0 else "every run meets"
    raise CommandError(f"error: {which} the outcome {outcome.describe()} ({n} runs of {root}, where "
                       f"{outcome.column} ranges from {v.min():.4g} to {v.max():.4g}); choose a threshold inside "
                       "that range")
