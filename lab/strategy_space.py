"""Players and their levers, for the strategy commands (`experiments.optimise`, `experiments.game`).

A player is an institution of the model config: a bank (`banks.<name>`) or a platform
(`platforms.<name>`). A lever is named as its strategy names it; `lever_key` resolves it to the
one config key that has it: the player's `strategy.<lever>` first, then the institution's own
field (`marketing_budget_bn` of a bank is `banks.<b>.strategy.marketing_budget_bn`; of a platform
`platforms.<p>.marketing_budget_bn`). A lever's search range is checked against the field's own
check and bounds (sim/config.py), by applying both ends as typed changes (`lab.changes`): the
bounds are declared once, beside the field, and never here. Continuous and integer levers take
`[low, high]`; any lever may take `{choices: [...]}` (a launch month or null for
`balance_product`, say).
"""
from __future__ import annotations

import typing
from dataclasses import dataclass, fields, is_dataclass
from typing import Any

from lab.changes import NotTyped, with_changes
from sim.config import Config, ConfigError

ROSTERS = ("banks", "platforms")
NOT_LEVERS = ("strategy", "label", "group")      # what an institution is, not what it decides


@dataclass(frozen=True)
class Lever:
    """One lever of a player, as searched: its name, config key, and range or choices."""
    name: str
    key: str
    low: float | int | None = None
    high: float | int | None = None
    choices: tuple | None = None
    integer: bool = False


def players(config: Config) -> list[str]:
    """Every institution of the config, banks first."""
    return [*config.banks, *config.platforms]


def roster_of(config: Config, player: str, key: str = "player") -> str:
    """'banks' or 'platforms': where the player is; ConfigError naming `key` when it is neither."""
    for roster in ROSTERS:
        if player in getattr(config, roster):
            return roster
    raise ConfigError(key, player, f"an institution of the model: one of {players(config)}")


def _lever_fields(obj: Any) -> dict[str, Any]:
    """{name: current value} of the fields of a dataclass that hold one value (not a list or mapping)."""
    return {f.name: getattr(obj, f.name) for f in fields(obj)
            if f.name not in NOT_LEVERS and not isinstance(getattr(obj, f.name), (list, dict))
            and not is_dataclass(getattr(obj, f.name))}


def levers_of(config: Config, player: str) -> dict[str, str]:
    """{lever: config key} of every lever the player has: strategy fields first, then its own."""
    roster = roster_of(config, player)
    institution = getattr(config, roster)[player]
    out = {name: f"{roster}.{player}.strategy.{name}" for name in _lever_fields(institution.strategy)}
    for name in _lever_fields(institution):
        out.setdefault(name, f"{roster}.{player}.{name}")
    return out


def lever_key(config: Config, player: str, lever: str, where: str, value: Any = None) -> str:
    """The config key of `player`'s `lever`; ConfigError naming `where` and listing the levers when it has none."""
    known = levers_of(config, player)
    if lever not in known:
        raise ConfigError(where, value if value is not None else lever,
                          f"a lever of {player}: one of {sorted(known)}")
    return known[lever]


def value_at(config: Config, key: str) -> Any:
    """The value a dotted key holds in the config (the status quo of a lever)."""
    node: Any = config
    for part in key.split("."):
        node = node[part] if isinstance(node, dict) else getattr(node, part)
    return node


def check_setting(config: Config, key: str, value: Any, where: str) -> None:
    """Refuse, naming `where`, a value the field's own check or bounds refuse (applied as a typed change)."""
    try:
        with_changes(config, {key: value})
    except ConfigError as e:
        raise ConfigError(where, value, e.allowed) from None
    except NotTyped:
        raise ConfigError(where, value, "a single value (not a list or mapping)") from None


def _numeric_field(config: Config, key: str) -> bool:
    """Whether the field at `key` holds a number, as its type declares (its value may be null)."""
    parent, name = key.rsplit(".", 1)
    hint = typing.get_type_hints(type(value_at(config, parent)))[name]
    kinds = [a for a in typing.get_args(hint) if a is not type(None)] or [hint]
    return all(k in (int, float) for k in kinds)


def _number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def read_lever(config: Config, player: str, name: str, spec: Any, where: str) -> Lever:
    """A lever's search space from the config: `[low, high]` or `{choices: [...]}`, checked."""
    key = lever_key(config, player, str(name), where, spec)
    current = value_at(config, key)
    if isinstance(spec, dict):
        if set(spec) != {"choices"} or not isinstance(spec["choices"], list) or len(spec["choices"]) < 2:
            raise ConfigError(where, spec, "{choices: [a, b, ...]} with two or more choices")
        choices = tuple(spec["choices"])
        if len(set(map(repr, choices))) < len(choices):
            raise ConfigError(where, list(choices), "choices that differ from each other")
        for choice in choices:
            check_setting(config, key, choice, where)
        return Lever(str(name), key, choices=choices)
    if not (isinstance(spec, list) and len(spec) == 2 and all(_number(b) for b in spec)):
        raise ConfigError(where, spec, "[low, high] (two numbers, low < high) or {choices: [...]}")
    low, high = spec
    if not low < high:
        raise ConfigError(where, spec, "[low, high] with low < high")
    integer = isinstance(current, int) and not isinstance(current, bool)
    if integer and not all(isinstance(b, int) for b in spec):
        raise ConfigError(where, spec, f"[low, high] as whole numbers ({name} is an integer)")
    if not _numeric_field(config, key):
        raise ConfigError(where, spec, f"{{choices: [...]}} ({name} is not a number)")
    for end in (low, high):
        check_setting(config, key, end, where)
    return Lever(str(name), key, low, high, integer=integer)


def read_setting(config: Config, player: str, setting: Any, where: str) -> dict[str, Any]:
    """A named strategy's lever values ({lever: value}) as {config key: value}, each value checked;
    {} is the status quo."""
    if setting is None:
        setting = {}
    if not isinstance(setting, dict):
        raise ConfigError(where, setting, "a mapping of levers to values, e.g. {deposit_rate_premium: 0.3}, "
                          "or {} for the status quo")
    out = {}
    for lever, value in setting.items():
        key = lever_key(config, player, str(lever), f"{where}.{lever}", value)
        check_setting(config, key, value, f"{where}.{lever}")
        out[key] = value
    return out
