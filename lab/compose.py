"""Hydra side of the configuration: the schema, composing configs, and one-line errors.

`sim.config.Config` is registered as the structured schema `base_config`, so Hydra
refuses unknown keys and wrongly typed values when it composes; `to_config` turns a
composed DictConfig into the dataclasses `sim` takes and validates the values.
"""
from __future__ import annotations

import difflib
import functools
import os
import re
from pathlib import Path
from typing import Callable, Iterable

from hydra import compose, initialize_config_dir
from hydra.core.config_store import ConfigStore
from hydra.core.global_hydra import GlobalHydra
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf, open_dict
from omegaconf.errors import OmegaConfBaseException

from lab.errors import CommandError
from sim.config import KNOWN_KEY, Config, ConfigError, allowed_for, validate

CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs"

ConfigStore.instance().store(name="base_config", node=Config)

# every way composing or checking a config can fail; commands turn these into one line
CONFIG_FAILURES = (ConfigError, HydraException, OmegaConfBaseException)


def to_config(cfg: DictConfig) -> Config:
    """A validated Config from a composed Hydra config (the `hydra` node, if any, is ignored)."""
    if "hydra" in cfg:
        cfg = cfg.copy()
        with open_dict(cfg):
            cfg.pop("hydra")
    config = OmegaConf.to_object(cfg)
    assert isinstance(config, Config), type(config)
    validate(config)
    check_memory(config.population.size)
    return config


# Peak bytes per customer measured by bench_engine (docs/performance.md: 131-226), with room to spare,
# and what the interpreter, libraries and tables need besides.
BYTES_PER_CUSTOMER = 400
BYTES_BESIDES = 1 << 30


def available_memory() -> int:
    """Bytes this machine can still give a run (MemAvailable, or physical memory where unknown)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 1 << 62


def check_memory(size: int) -> None:
    """Refuse a population this machine cannot hold, before a single customer is built."""
    need, have = size * BYTES_PER_CUSTOMER + BYTES_BESIDES, available_memory()
    if need > have:
        raise ConfigError("population.size", size, f"at most {(have - BYTES_BESIDES) // BYTES_PER_CUSTOMER:,} "
                          f"customers on this machine (about {BYTES_PER_CUSTOMER} bytes each; "
                          f"{have / 2**30:.1f} GiB available)")


def run_from_file(path: Path, kind: str, action: Callable[[], Path]) -> int:
    """Shared tail of the file-driven commands: print the output folder; a config failure becomes
    the one line of CommandError (lab.errors.command prints it and exits 2)."""
    if not path.is_file():
        raise CommandError(f"error: no {kind} file at {path}")
    try:
        out = action()
    except CONFIG_FAILURES as e:
        raise CommandError(explain(e)) from None
    print(out)
    return 0


def load_config(overrides: Iterable[str] = (), hydra: bool = False) -> Config:
    """Compose configs/config.yaml with command-line style overrides; for tests and notebooks.

    With hydra=True, Hydra's own settings are composed too, so `hydra/launcher=...` and
    `hydra.*` overrides are checked as well.
    """
    overrides = list(overrides)
    for item in overrides:
        key, _, value = item.partition("=")
        if value.strip() == "{}" and not key.startswith(("~", "hydra")):   # a list is replaced; a mapping merged
            raise ConfigError(key.lstrip("+"), value.strip(), "a non-empty mapping: an empty one changes nothing "
                              "(delete an entry with ~KEY)")
    return to_config(_compose(overrides, hydra))


def _compose(overrides: Iterable[str] = (), hydra: bool = False) -> DictConfig:
    """configs/config.yaml composed with overrides, outside any Hydra application."""
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base=None):
            return compose(config_name="config", overrides=list(overrides), return_hydra_config=hydra)
    finally:
        GlobalHydra.instance().clear()


@functools.lru_cache(maxsize=1)
def _all_keys() -> tuple[str, ...]:
    """Dotted names of every key in the default config, for suggesting the nearest valid key."""
    cfg = OmegaConf.to_container(_compose(), resolve=False)
    keys: list[str] = []

    def walk(node, prefix):
        for k, v in node.items():
            keys.append(prefix + str(k))
            if isinstance(v, dict):
                walk(v, prefix + str(k) + ".")
    walk(cfg, "")
    return tuple(keys)


def group_options(group: str) -> list[str]:
    """The files of a config group (configs/<group>/*.yaml) by name, sorted: what `<group>=NAME` accepts."""
    return sorted(p.stem for p in (CONFIG_DIR / group).glob("*.yaml"))


def _nearest(key: str) -> str:
    try:
        candidates = [k for k in _all_keys() if k.count(".") == key.count(".")]
    except Exception:  # noqa: BLE001 - a suggestion is a nicety, never a second error
        return ""
    close = difflib.get_close_matches(key, candidates, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _empty_preset(given: str) -> Path | None:
    """The preset file `experiment=NAME` names, if it holds nothing but blank lines and comments (Hydra
    then reads its name as a key: "'experiment' is not a known key")."""
    name = given.partition("=")[2].strip().strip("'\"")
    path = CONFIG_DIR / "experiment" / f"{name}.yaml"
    try:
        lines = path.read_text(encoding="utf-8").splitlines() if name and path.is_file() else ["x"]
    except (OSError, UnicodeDecodeError):
        return None
    return path if all(not line.strip() or line.lstrip().startswith("#") for line in lines) else None


def explain(exc: BaseException, overrides: Iterable[str] = ()) -> str:
    """One line naming the key, the value and what is allowed, for any config failure."""
    if isinstance(exc, ConfigError):
        return str(exc) + (_nearest(exc.key) if exc.allowed == KNOWN_KEY else "")
    if isinstance(exc, CommandError):       # already the one line (e.g. a posterior that is not there)
        return str(exc).strip().splitlines()[0]
    chain, e = [], exc
    while e is not None:
        chain.append(e)
        e = e.__cause__ or e.__context__
    text = " ".join(str(x) for x in chain)

    m = re.search(r'in "([^"]+)", line (\d+)', text)              # a YAML syntax error in a config file
    if m:
        return f"config error: {m.group(1)} is not valid YAML (line {m.group(2)}): {str(chain[-1]).splitlines()[0]}"
    if any(isinstance(x, UnicodeDecodeError) for x in chain):
        return f"config error: {_undecodable() or 'a file under ' + str(CONFIG_DIR)} is not UTF-8 text"

    m = re.search(r"Could not find '([\w/]+)/([^']+)'", text)
    if m:
        group, name = m.groups()
        options = (group_options(group)
                   or re.findall(r"^\t(\S+)$", text.split("Available options", 1)[-1].split("Config search path")[0],
                                 re.M))
        close = difflib.get_close_matches(name, options, n=1)
        if group == "hydra/launcher" and name == "ray":     # the optional extra is not installed
            return 'config error: hydra/launcher=ray needs the ray extra: pip install -e ".[ray]"'
        return (f"config error: {group}={name!r} is not allowed; expected one of {options}"
                + (f" (did you mean '{close[0]}'?)" if close else ""))
    m = re.search(r"full_key: ([\w.\[\]]+)", text)
    full_key = m.group(1) if m else None
    m = re.search(r"Key '([^']+)' not in '(\w+)'|Key '([^']+)' is not in struct", text)
    if m:
        key = full_key or m.group(1) or m.group(3)
        given = next((o.lstrip("+~") for o in overrides if o.lstrip("+~").startswith(key)), key)
        empty = _empty_preset(given) if key == "experiment" else None
        if empty:
            return (f"config error: {empty} is empty; a preset holds '# @package _global_' and the keys it "
                    "changes (see configs/experiment/no_ukey.yaml)")
        return (f"config error: {given} is not allowed; '{key}' is not a known key "
                f"(see them all with --cfg job){_nearest(key)}")
    m = re.search(r"Value '([^']*)' (?:of type '\w+' )?(?:could not be converted to|is not a valid) (\w+)", text)
    if m:
        value, kind = m.groups()
        return f"config error: {full_key or 'a key'}={value!r} is not allowed; expected a value of type {kind}"
    m = re.search(r"field '([\w.\[\]]+)' is not Optional", text)
    if m:
        return f"config error: {m.group(1)}=null is not allowed; expected {allowed_for(m.group(1))}"
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"config error: {first}"


def _undecodable() -> str:
    """The first config file that is not UTF-8 (Hydra's error does not name it)."""
    for path in sorted(CONFIG_DIR.rglob("*.yaml")):
        try:
            path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            return str(path)
    return ""


def _override_value(text: str, key: str) -> str:
    m = re.search(re.escape(key) + r"=([^\s']+)", text)
    return m.group(1) if m else ""
