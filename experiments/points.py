"""A study's points: configurations made by typed changes to a composed config, and their hash.

Composing a config with Hydra costs a tenth of a second or more; a study of thousands of
points composes each distinct composition once and makes every point from it with
`with_changes`, which sets dotted keys on the dataclasses with the types the schema
declares (as Hydra would accept them) and validates the result. A change it cannot make
(a list, a mapping, a key the config lacks, a config group) raises NotTyped, and the
caller composes that point instead. `config_hash` identifies what a replicate computes,
for single runs and studies alike.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import typing
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any, Iterable

from sim.config import KNOWN_KEY, Config, ConfigError, validate

NOT_HASHED = ("replicates", "study", "figures", "question")   # none changes what one replicate computes


def config_hash(config: Config) -> str:
    """Short hash of everything that determines a replicate's results (the same for a single run).

    Without a posterior the hash is what it was before `posterior` existed; with one it covers the
    posterior file's content (experiments/posterior.py), so a re-calibration re-runs on resume."""
    values = dataclasses.asdict(config)
    for key in NOT_HASHED:
        values.pop(key, None)
    if values.get("posterior"):
        from experiments.posterior import content_hash
        values["posterior"] = f"{config.posterior}:{content_hash(config.posterior)}"
    else:
        values.pop("posterior", None)
    return hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()[:16]


class NotTyped(Exception):
    """A change `with_changes` cannot apply to the dataclasses (a list, a mapping, a new key):
    the caller composes it instead."""


@functools.lru_cache(maxsize=None)
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _coerce(key: str, value: Any, hint: Any, current: Any) -> Any:
    """`value` as the type the schema declares for `key`, as Hydra would accept it; ConfigError if not."""
    args = typing.get_args(hint)
    if typing.get_origin(hint) is typing.Union and type(None) in args:
        if value is None:
            return None
        hint = next(a for a in args if a is not type(None))
    if hint is Any:
        hint = type(current) if current is not None else Any
    if hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if hint is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if hint is bool and isinstance(value, bool):
        return value
    if hint is str and isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return str(value)
    if hint in (float, int, bool, str):
        kind = {float: "a number", int: "an integer", bool: "true or false", str: "text"}[hint]
        raise ConfigError(key, value, kind)
    raise NotTyped(key)


def _changed(obj: Any, path: list[str], value: Any, key: str) -> Any:
    name, rest = path[0], path[1:]
    if is_dataclass(obj):
        if name not in {f.name for f in fields(obj)}:
            raise ConfigError(key, value, KNOWN_KEY)
        current = getattr(obj, name)
        new = _changed(current, rest, value, key) if rest else _coerce(key, value, _hints(type(obj))[name], current)
        return dataclasses.replace(obj, **{name: new})
    if isinstance(obj, dict) and name in obj:
        current = obj[name]
        if rest:
            new = _changed(current, rest, value, key)
        elif isinstance(current, (int, float, str, bool)) and not isinstance(current, (list, dict)):
            new = _coerce(key, value, type(current), current)
        else:
            raise NotTyped(key)
        return {**obj, name: new}
    raise NotTyped(key)


def with_changes(config: Config, changes: dict[str, Any]) -> Config:
    """`config` with each dotted key set to its value, typed as the schema says, then validated.

    Raises ConfigError naming a bad key or value, or NotTyped for a change that only composing
    the config can make (lists, mappings, keys not in the config, config groups)."""
    from experiments.config import check_memory
    for key, value in changes.items():
        config = _changed(config, key.split("."), value, key)
    validate(config)
    check_memory(config.population.size)
    return config


@dataclass(frozen=True)
class Point:
    """One configuration of a study: its config, what sets it apart, and its hash."""
    index: int
    config: Config
    overrides: tuple[str, ...] = ()                 # as typed, e.g. ("switching_cost.scale=0.5",)
    values: dict[str, Any] = field(default_factory=dict)   # swept values under their column names
    config_hash: str = ""

    @staticmethod
    def make(index: int, config: Config, overrides: Iterable[str] = (), values: dict | None = None) -> "Point":
        return Point(index, config, tuple(overrides), dict(values or {}), config_hash(config))


def uniform_values(points: list[Point]) -> list[Point]:
    """Points whose swept values have one type per column (0, 0.5, 1 -> 0.0, 0.5, 1.0), so every part
    of the dataset has the same schema."""
    columns = {k for p in points for k in p.values}
    floats = {k for k in columns
              if any(isinstance(p.values.get(k), float) for p in points)
              and all(isinstance(p.values.get(k), (int, float)) and not isinstance(p.values.get(k), bool)
                      for p in points if p.values.get(k) is not None)}
    texts = {k for k in columns - floats
             if len({type(p.values.get(k)) for p in points if p.values.get(k) is not None}) > 1}
    return [dataclasses.replace(p, values={k: float(v) if k in floats and v is not None else
                                           str(v) if k in texts and v is not None else v
                                           for k, v in p.values.items()}) for p in points]
