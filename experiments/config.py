"""Hydra side of the configuration: the schema, composing configs, and one-line errors.

`sim.config.Config` is registered as the structured schema `base_config`, so Hydra
refuses unknown keys and wrongly typed values when it composes; `to_config` turns a
composed DictConfig into the dataclasses `sim` takes and validates the values.
"""
from __future__ import annotations

import difflib
import functools
import re
import sys
from pathlib import Path
from typing import Callable, Iterable

from hydra import compose, initialize_config_dir
from hydra.core.config_store import ConfigStore
from hydra.core.global_hydra import GlobalHydra
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from sim.config import Config, ConfigError, validate

CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs"

ConfigStore.instance().store(name="base_config", node=Config)

# every way composing or checking a config can fail; commands turn these into one line
CONFIG_FAILURES = (ConfigError, HydraException, OmegaConfBaseException)


def to_config(cfg: DictConfig) -> Config:
    """A validated Config from a composed Hydra config (the `hydra` node, if any, is ignored)."""
    cfg = OmegaConf.masked_copy(cfg, [k for k in cfg.keys() if k != "hydra"]) if "hydra" in cfg else cfg
    config = OmegaConf.to_object(cfg)
    assert isinstance(config, Config), type(config)
    validate(config)
    return config


def run_from_file(path: Path, kind: str, action: Callable[[], Path]) -> int:
    """Shared tail of the file-driven commands: print the output folder, or one error line and exit 2."""
    if not path.is_file():
        print(f"error: no {kind} file at {path}", file=sys.stderr)
        return 2
    try:
        out = action()
    except CONFIG_FAILURES as e:
        print(explain(e), file=sys.stderr)
        return 2
    print(out)
    return 0


def load_config(overrides: Iterable[str] = ()) -> Config:
    """Compose configs/config.yaml with command-line style overrides; for tests and notebooks."""
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base=None):
            cfg = compose(config_name="config", overrides=list(overrides))
    finally:
        GlobalHydra.instance().clear()
    return to_config(cfg)


@functools.lru_cache(maxsize=1)
def _all_keys() -> tuple[str, ...]:
    """Dotted names of every key in the default config, for suggesting the nearest valid key."""
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base=None):
            cfg = OmegaConf.to_container(compose(config_name="config"), resolve=False)
    finally:
        GlobalHydra.instance().clear()
    keys: list[str] = []

    def walk(node, prefix):
        for k, v in node.items():
            keys.append(prefix + str(k))
            if isinstance(v, dict):
                walk(v, prefix + str(k) + ".")
    walk(cfg, "")
    return tuple(keys)


def _nearest(key: str) -> str:
    try:
        candidates = [k for k in _all_keys() if k.count(".") == key.count(".")]
    except Exception:  # noqa: BLE001 - a suggestion is a nicety, never a second error
        return ""
    close = difflib.get_close_matches(key, candidates, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def explain(exc: BaseException, overrides: Iterable[str] = ()) -> str:
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
        options = sorted(p.stem for p in (CONFIG_DIR / group).glob("*.yaml"))
        close = difflib.get_close_matches(name, options, n=1)
        return (f"config error: {group}={name!r} is not allowed; expected one of {options}"
                + (f" (did you mean '{close[0]}'?)" if close else ""))
    m = re.search(r"full_key: ([\w.\[\]]+)", text)
    full_key = m.group(1) if m else None
    m = re.search(r"Key '([^']+)' not in '(\w+)'|Key '([^']+)' is not in struct", text)
    if m:
        key = full_key or m.group(1) or m.group(3)
        given = next((o.lstrip("+~") for o in overrides if o.lstrip("+~").startswith(key)), key)
        return (f"config error: {given} is not allowed; '{key}' is not a known key "
                f"(see them all with --cfg job){_nearest(key)}")
    m = re.search(r"Value '([^']*)' (?:of type '\w+' )?(?:could not be converted to|is not a valid) (\w+)", text)
    if m:
        value, kind = m.groups()
        return f"config error: {full_key or 'a key'}={value!r} is not allowed; expected a value of type {kind}"
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"config error: {first}"


def _override_value(text: str, key: str) -> str:
    m = re.search(re.escape(key) + r"=([^\s']+)", text)
    return m.group(1) if m else ""
