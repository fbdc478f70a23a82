"""Hydra side of the configuration: the schema, composing configs, and one-line errors.

`sim.config.Config` is registered as the structured schema `base_config`, so Hydra
refuses unknown keys and wrongly typed values when it composes; `to_config` turns a
composed DictConfig into the dataclasses `sim` takes and validates the values.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Iterable, get_type_hints

from hydra import compose, initialize_config_dir
from hydra.core.config_store import ConfigStore
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig, OmegaConf

from sim.config import Config, ConfigError, validate

CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs"

ConfigStore.instance().store(name="base_config", node=Config)


def to_config(cfg: DictConfig) -> Config:
    """A validated Config from a composed Hydra config (the `hydra` node, if any, is ignored)."""
    cfg = OmegaConf.masked_copy(cfg, [k for k in cfg.keys() if k != "hydra"]) if "hydra" in cfg else cfg
    config = OmegaConf.to_object(cfg)
    assert isinstance(config, Config), type(config)
    validate(config)
    return config


def load_config(overrides: Iterable[str] = ()) -> Config:
    """Compose configs/config.yaml with command-line style overrides; for tests and notebooks."""
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base=None):
            cfg = compose(config_name="config", overrides=list(overrides))
    finally:
        GlobalHydra.instance().clear()
    return to_config(cfg)


def experiment_names() -> list[str]:
    return sorted(p.stem for p in (CONFIG_DIR / "experiment").glob("*.yaml"))


def _known_keys(schema=Config, prefix: str = "") -> list[str]:
    """Dotted names of every schema field, for suggesting the nearest valid key."""
    keys = []
    hints = get_type_hints(schema)
    for f in fields(schema):
        name = prefix + f.name
        keys.append(name)
        if is_dataclass(hints[f.name]):
            keys += _known_keys(hints[f.name], name + ".")
    return keys


def _nearest(key: str, candidates: list[str]) -> str:
    close = difflib.get_close_matches(key, candidates, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def explain(exc: BaseException) -> str:
    """One line naming the key, the value and what is allowed, for any config failure."""
    if isinstance(exc, ConfigError):
        return str(exc)
    chain, e = [], exc
    while e is not None:
        chain.append(e)
        e = e.__cause__ or e.__context__
    text = " ".join(str(x) for x in chain)

    m = re.search(r"Could not find '([\w/]+)/([^']+)'", text)
    if m:
        group, name = m.groups()
        options = experiment_names() if group == "experiment" else sorted(
            p.stem for p in (CONFIG_DIR / group).glob("*.yaml"))
        return (f"config error: {group}={name!r} is not allowed; expected one of {options}"
                + _nearest(name, options))
    m = re.search(r"full_key: ([\w.\[\]]+)", text)
    full_key = m.group(1) if m else None
    m = re.search(r"Key '([^']+)' not in '(\w+)'|Key '([^']+)' is not in struct", text)
    if m:
        key = full_key or m.group(1) or m.group(3)
        value = _override_value(text, key)
        parent = key.rsplit(".", 1)[0] + "." if "." in key else ""
        options = [k for k in _known_keys() if k.startswith(parent) and k.count(".") == key.count(".")]
        return (f"config error: {key}{'=' + value if value else ''} is not a known key; expected one of "
                f"the keys under '{parent.rstrip('.') or 'the top level'}'" + _nearest(key, options or _known_keys()))
    m = re.search(r"Value '([^']*)' (?:of type '\w+' )?(?:could not be converted to|is not a valid) (\w+)", text)
    if m:
        value, kind = m.groups()
        return f"config error: {full_key or 'a key'}={value!r} is not allowed; expected a value of type {kind}"
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"config error: {first}"


def _override_value(text: str, key: str) -> str:
    m = re.search(re.escape(key) + r"=([^\s']+)", text)
    return m.group(1) if m else ""
