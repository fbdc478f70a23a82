"""What `experiments.optimise` and `experiments.game` share: their config files, overrides and folders.

A strategy config is a YAML file in configs/optimise/ or configs/game/ named on the command line,
and every key can be overridden as KEY=VALUE (the value read as YAML): `trials=80`,
`uncertainty.replicates=3`, `levers.deposit_rate_premium=[0,1]`; keys under `model` are model
config keys, dotted as on a run's command line (`model.population.size=2000`).

The results go to <out>/<name>[_<override tag>]/, the tag made from the overrides that change what
is computed (never `trials`, `backend` or `workers`, so raising `trials` extends the same study).
The folder records what it was made with (`spec.json`); running again with the same spec resumes
it, and a folder made by something else, or with another spec (an edited file), is refused in one
line rather than mixed or overwritten.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from pathlib import Path
from typing import Any, Callable

import yaml

from lab.compose import CONFIG_DIR, group_options
from lab.errors import CommandError, check_name, read_json, read_yaml, writable_folder
from sim.config import ConfigError
from sim.writers.files import atomic_write
from sim.writers.run_folder import folder_tag

NOT_IN_FOLDER = ("trials", "backend", "workers")      # how much or where it runs, never what
SPEC_FILE = "spec.json"
INSTALL = 'pip install -e ".[strategy]"'


def require_extra(*modules: str) -> None:
    """Refuse in one line, saying how to install it, when the `strategy` extra is missing."""
    import importlib
    missing = []
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append(module)
    if missing:
        raise CommandError(f"error: this command needs {', '.join(missing)} (the strategy extra): {INSTALL}")


def parse_value(text: str) -> Any:
    """An override's value as YAML reads it (numbers, null, lists, mappings; else the text)."""
    try:
        return yaml.safe_load(text) if text.strip() else None
    except yaml.YAMLError:
        return text


def _set(node: dict, path: list[str], value: Any, item: str) -> None:
    for i, part in enumerate(path[:-1]):
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise CommandError(f"error: override {item}: {'.'.join(path[:i + 1])} is not a mapping")
        node = child
    node[path[-1]] = value


def apply_overrides(spec: dict, overrides: list[str]) -> dict:
    """The spec with each KEY=VALUE applied; `model.<key>` sets the model key `<key>` as written."""
    for item in overrides:
        key, eq, text = item.partition("=")
        if not eq or not key or key.startswith(("+", "~")):
            raise CommandError(f"error: {item!r} is not an override; write KEY=VALUE, e.g. trials=80")
        value = parse_value(text)
        if key.startswith("model."):
            model = spec.setdefault("model", {}) or {}
            if not isinstance(model, dict):
                raise ConfigError("model", model, "a mapping of model config keys to values")
            model[key.removeprefix("model.")] = value
            spec["model"] = model
        else:
            _set(spec, key.split("."), value, item)
    return spec


def read_spec(kind: str, name: str, overrides: list[str], keys: set[str]) -> dict:
    """configs/<kind>/<name>.yaml with the overrides applied; ConfigError on an unknown key."""
    check_name(kind, name)
    path = CONFIG_DIR / kind / f"{name}.yaml"
    if not path.is_file():
        shipped = group_options(kind)
        raise ConfigError(kind, name, f"a file in configs/{kind}/: one of {shipped}")
    spec = apply_overrides(read_yaml(path, kind), overrides)
    unknown = sorted(set(spec) - keys)
    if unknown:
        raise ConfigError(unknown[0], spec[unknown[0]], f"one of the keys {sorted(keys)}")
    return spec


def integer(spec: dict, key: str, default: int | None, low: int, high: int) -> int | None:
    """spec[key] (or its default) as an integer in [low, high]; ConfigError naming the key."""
    value = spec.get(key, default)
    if value is None and default is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ConfigError(key, value, f"an integer in [{low}, {high}]")
    return value


def folder_for(out: Path, name: str, overrides: list[str]) -> Path:
    """<out>/<name>[_<tag>]: the tag from the overrides that change results (`trials` and the like never)."""
    kept = [o for o in overrides if o.partition("=")[0] not in NOT_IN_FOLDER]
    seeds = [o for o in kept if o.partition("=")[0] == "seed"]      # folder_tag leaves seed= to the caller
    tag = ",".join([*seeds, folder_tag([o for o in kept if o not in seeds])]).strip(",")
    return Path(out) / (f"{name}_{tag}" if tag else name)


def claim_folder(folder: Path, spec: dict, command: str) -> None:
    """Make sure `folder` is this command's for this spec: new, or made by it with the same spec.
    Refuses in one line a file, a foreign folder, or one made with another spec; checks writability first."""
    folder = Path(folder)
    writable_folder(folder)
    recorded = {k: v for k, v in spec.items() if k not in NOT_IN_FOLDER}
    marker = folder / SPEC_FILE
    if folder.exists():
        if not folder.is_dir():
            raise CommandError(f"error: {folder} is a file, not a results folder")
        if not marker.is_file():
            if any(folder.iterdir()):
                raise CommandError(f"error: {folder} exists and was not made by {command}; name another folder")
        else:
            old = read_json(marker, f"{command} record")
            if old.get("command") != command or old.get("spec") != json.loads(json.dumps(recorded, default=str)):
                differs = sorted(k for k in set(old.get("spec", {})) | set(recorded)
                                 if old.get("spec", {}).get(k) != json.loads(json.dumps(recorded.get(k), default=str)))
                raise CommandError(f"error: {folder} was made by {old.get('command')} with another configuration "
                                   f"(differs in {differs or ['command']}); give this one another name or move "
                                   "that folder away")
            return
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write(marker, lambda p: p.write_text(json.dumps({"command": command, "spec": recorded}, indent=2,
                                                           default=str)))
    print(f"{command}: results in {folder}", file=sys.stderr)


@contextlib.contextmanager
def ray_session(backend: str, workers: int | None):
    """With backend=ray, one local Ray for the whole command (the study runner would start and stop one for
    every batch, its workers loading the kernels again each time); nothing otherwise."""
    if backend != "ray":
        yield
        return
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    try:
        import ray
    except ImportError:
        raise CommandError('error: backend=ray needs the ray extra: pip install -e ".[ray]"') from None
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=workers or os.cpu_count(), include_dashboard=False, log_to_driver=False,
                 configure_logging=False)
    try:
        yield
    finally:
        if started:
            ray.shutdown()


def named_file_command(prog: str, doc: str, kind: str, example: str, out: Path,
                       action: Callable[[str, list[str], Path], Path], argv: list[str] | None) -> int:
    """The command line of `optimise` and `game`: NAME (a file in configs/<kind>/), KEY=VALUE overrides of
    its keys and --out; config failures as one line; the folder printed last."""
    from lab.compose import CONFIG_FAILURES, explain
    from lab.errors import Parser
    parser = Parser(prog=prog, description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", help=f"a file in configs/{kind}/, e.g. {example}")
    parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="overrides of the file's keys")
    parser.add_argument("--out", type=Path, default=out, help=f"where {kind} folders go")
    args = parser.parse_intermixed_args(argv)
    try:
        folder = action(args.name, args.overrides, args.out)
    except CONFIG_FAILURES as e:
        raise CommandError(explain(e, args.overrides)) from None
    print(folder)
    return 0
