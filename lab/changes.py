"""Typed changes to a config: a dotted key set to a value as the schema types it, then validated.

Studies, designs, calibration draws and the dashboard change a composed `Config` this way
instead of composing it again (composing costs tens of milliseconds a point); what only
composing can do (lists, mappings, new keys, config groups) raises `NotTyped`.
"""
from __future__ import annotations

import dataclasses
import functools
import typing
from dataclasses import fields, is_dataclass
from typing import Any

from lab.compose import check_memory
from sim.config import KNOWN_KEY, Config, ConfigError, validate


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
    for key, value in changes.items():
        config = _changed(config, key.split("."), value, key)
    validate(config)
    check_memory(config.population.size)
    return config
