"""The checks a config value must pass, and the error that names what is wrong.

A check is a function `(key, value) -> None` that raises `ConfigError`, whose message is
one line naming the key, the value and what is allowed. `sim/config.py` attaches a check
and, where the unit's default range does not fit, physical bounds to each field; the
factories below (`integer`, `one_of`, `per_name`, ...) build the checks fields share.
"""
from __future__ import annotations

import fnmatch
import functools
import math
import re
from dataclasses import fields, is_dataclass
from enum import StrEnum
from typing import Any, Callable, Iterator, Optional, Sequence, Tuple

Check = Callable[[str, Any], None]
Bounds = Tuple[float, float, str]              # low, high, what is allowed (in words)


class ConfigError(ValueError):
    """A config value that the model cannot run with."""

    def __init__(self, key: str, value: Any, allowed: str):
        self.key, self.value, self.allowed = key, value, allowed
        super().__init__(f"config error: {key}={value!r} is not allowed; expected {allowed}")


# ----------------------------------------------------------------------------- calendar

def month_index(date: str, key: str = "date") -> int:
    """'YYYY-MM' -> months since year 0 (raises ConfigError naming `key`)."""
    try:
        year_s, month_s = str(date).split("-")
        year, month = int(year_s), int(month_s)
        if len(year_s) != 4 or not 1 <= month <= 12:
            raise ValueError
    except ValueError:
        raise ConfigError(key, date, "a month written YYYY-MM, e.g. 2017-01") from None
    return year * 12 + month - 1


def month_label(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def month(key: str, value: Any) -> None:
    month_index(value, key)


def in_period(key: str, date: str, first: Optional[int], last: int) -> int:
    """The month of `date`, which must fall in the period (or anywhere up to its end with first=None)."""
    idx = month_index(date, key)
    if first is None and idx > last:
        raise ConfigError(key, date, f"a month up to {month_label(last)}")
    if first is not None and not first <= idx <= last:
        raise ConfigError(key, date, f"a month between {month_label(first)} and {month_label(last)}")
    return idx


# ----------------------------------------------------------------------------- one value

def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def prob(key: str, value: Any) -> None:
    if not isinstance(value, (int, float)) or not 0.0 <= float(value) <= 1.0 or value != value:
        raise ConfigError(key, value, "a probability or share in [0, 1]")


def nonneg(key: str, value: Any) -> None:
    if not isinstance(value, (int, float)) or not float(value) >= 0.0:
        raise ConfigError(key, value, "a number >= 0")


def positive(key: str, value: Any) -> None:
    if not isinstance(value, (int, float)) or not float(value) > 0.0:
        raise ConfigError(key, value, "a number > 0")


def finite(key: str, value: Any) -> None:
    if not isinstance(value, (int, float)) or not abs(float(value)) < float("inf"):
        raise ConfigError(key, value, "a finite number")


def boolean(key: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise ConfigError(key, value, "true or false")


def at_least(low: float) -> Check:
    def check(key: str, value: Any) -> None:
        if not _number(value) or not value >= low:
            raise ConfigError(key, value, f"a number >= {low:g}")
    return check


def inside(low: float, high: float, allowed: str) -> Check:
    """A number strictly between `low` and `high`."""
    def check(key: str, value: Any) -> None:
        if not _number(value) or not low < value < high:
            raise ConfigError(key, value, allowed)
    return check


def integer(low: int, high: Optional[int] = None) -> Check:
    allowed = f"an integer >= {low}" if high is None else f"an integer in [{low}, {high}]"

    def check(key: str, value: Any) -> None:
        if not isinstance(value, int) or isinstance(value, bool) or value < low or (high is not None and value > high):
            raise ConfigError(key, value, allowed)
    return check


def one_of(choices: type[StrEnum]) -> Check:
    allowed = f"one of {[c.value for c in choices]}"

    def check(key: str, value: Any) -> None:
        if value not in [c.value for c in choices]:
            raise ConfigError(key, value, allowed)
    return check


def optional(inner: Check) -> Check:
    """null, or a value `inner` accepts."""
    def check(key: str, value: Any) -> None:
        if value is not None:
            inner(key, value)
    return check


NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def check_name(key: str, value: Any) -> str:
    """A name used to build a folder or file name: letters, digits, '-', '_', '.', never a path."""
    if not isinstance(value, str) or not NAME.match(value) or ".." in value:
        raise ConfigError(key, value, "a name of letters, digits, '-', '_' or '.' (not a path)")
    return value


def name(key: str, value: Any) -> None:
    check_name(key, value)


# ----------------------------------------------------------------------------- several values

def sums_to_one(key: str, values: Sequence[Any]) -> None:
    total = sum(float(v) for v in values)
    if abs(total - 1.0) > 1e-6:
        raise ConfigError(key, list(values), f"shares that sum to 1 (these sum to {total:.6g})")


def per_name(names: Sequence[str], what: str, each: Optional[Check] = None, shares: bool = False) -> Check:
    """A list with one value per name (e.g. per age band), each checked; `shares`: they sum to 1."""
    def check(key: str, values: Any) -> None:
        if len(values) != len(names):
            raise ConfigError(key, list(values), f"{len(names)} values, one per {what} {list(names)}")
        for i, v in enumerate(values if each else ()):
            each(f"{key}[{i}]", v)
        if shares:
            sums_to_one(key, values)
    return check


def keyed(names: Sequence[str], each: Check, shares: bool = False) -> Check:
    """A mapping with exactly the keys `names`, each value checked; `shares`: they sum to 1."""
    def check(key: str, mapping: Any) -> None:
        if set(mapping) != set(names):
            raise ConfigError(key, sorted(mapping), f"exactly the keys {list(names)}")
        for k, v in mapping.items():
            each(f"{key}.{k}", v)
        if shares:
            sums_to_one(key, list(mapping.values()))
    return check


def by_year(each: Check, example: str) -> Check:
    """A yearly path {'YYYY': value}: at least one year, years written YYYY, each value checked."""
    def check(key: str, values: Any) -> None:
        if not values:
            raise ConfigError(key, {}, f"at least one year's value, e.g. {{'2018': {example}}}")
        for year, v in values.items():
            if not str(year).isdigit():
                raise ConfigError(key, year, "years written YYYY")
            each(f"{key}.{year}", v)
    return check


# ----------------------------------------------------------------------------- every field at once

KNOWN_KEY = "a known key (see them all with --cfg job)"


def check_fields(node: Any, key: str = "") -> None:
    """Run every field's check (its metadata's `check`), into nested configs and maps of them."""
    join = (lambda k: f"{key}.{k}") if key else str
    if is_dataclass(node):
        for f in fields(node):
            value = getattr(node, f.name)
            if "check" in f.metadata:
                f.metadata["check"](join(f.name), value)
            check_fields(value, join(f.name))
    elif isinstance(node, dict):
        for k, v in node.items():
            if is_dataclass(v):
                check_fields(v, join(k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            if is_dataclass(v):
                check_fields(v, f"{key}[{i}]")


# The physical range of a number whose field declares no bounds, by the unit its name ends in
# (first match wins); no key documents infinity, so every number must also be finite. Rates,
# utils and counts get room far beyond any plausible scenario but stop absurd values (1e308
# RMB, 1e9 utils) before they reach the model.
UNIT_RANGES: Tuple[Tuple[str, float, float, str], ...] = (
    ("*_rmb", 0, 1e9, "RMB in [0, 1e9]"),
    ("*_bn", 0, 1e5, "RMB bn a year in [0, 1e5]"),
    ("*", -1e6, 1e6, "a number in [-1e6, 1e6]"),
)


def numbers(node: Any, key: str = "", bounds: Optional[Bounds] = None) -> Iterator[Tuple[str, float, Optional[Bounds]]]:
    """Every number in a config as (dotted key, value, its field's bounds or None); refuses
    attributes the schema does not have.

    OmegaConf turns a `+key=value` addition into an attribute on the dataclass, so this is
    where a misspelt addition is caught. A mapping field whose metadata has `bounds_of`
    (the policy changes of an event) takes each entry's bounds from it.
    """
    join = (lambda k: f"{key}.{k}") if key else (lambda k: str(k))
    if is_dataclass(node):
        names = [f.name for f in fields(node)]
        for extra in vars(node):
            if extra not in names:
                stray, value = join(extra), getattr(node, extra)
                while isinstance(value, dict) and len(value) == 1:   # name the whole +a.b.c=value
                    (k, value), = value.items()
                    stray += f".{k}"
                raise ConfigError(stray, value, KNOWN_KEY)
        for f in fields(node):
            value = getattr(node, f.name)
            if "bounds_of" in f.metadata and isinstance(value, dict):
                for k, v in value.items():
                    yield from numbers(v, f"{join(f.name)}.{k}", f.metadata["bounds_of"](k))
            else:
                yield from numbers(value, join(f.name), f.metadata.get("bounds"))
    elif isinstance(node, dict):
        for k, v in node.items():
            yield from numbers(v, join(k), bounds)
    elif isinstance(node, (list, tuple)):
        for i, v in enumerate(node):
            yield from numbers(v, f"{key}[{i}]", bounds)
    elif _number(node):
        yield key, node, bounds


@functools.lru_cache(maxsize=None)
def _unit_range(key: str) -> Bounds:
    """The first rule of UNIT_RANGES whose pattern the key matches (kept: a sweep validates every job)."""
    return next((low, high, allowed) for pattern, low, high, allowed in UNIT_RANGES
                if fnmatch.fnmatchcase(key, pattern))


def in_range(key: str, value: float, bounds: Optional[Bounds]) -> None:
    low, high, allowed = bounds or _unit_range(key)
    if not (math.isfinite(value) and low <= value <= high):
        raise ConfigError(key, value, allowed if math.isfinite(value) else f"a finite number, {allowed}")


def optional_name(key: str, value: Any) -> None:
    """"" (none), or a name as `check_name` allows."""
    if value != "":
        check_name(key, value)
