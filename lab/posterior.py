"""Parameter sets drawn from a calibration's posterior: replicate r of a run, a study's point or a
comparison's scenario runs draw r, so replicates span parameter uncertainty as well as seeds.

`python -m experiments.calibrate` writes results/calibration/<name>/posterior.parquet, one row per
draw: `target_set` ("seed" or "cba"), `draw` (0, 1, 2, ... within each target set) and one float
column per calibrated parameter, named by its dotted config key. A config with `posterior=<name>`
runs, as replicate r, its own values with draw r of its `target_set` applied as typed changes
(`lab.changes.with_changes`, validated); replicate r keeps its own random stream,
SeedSequence(seed, spawn_key=(r,)). The draws are read from the folder named by the environment
variable SIM_POSTERIOR_DIR, else results/calibration (relative to the working folder, where
`calibrate` writes by default); tests point it at their own folder. A name with no calibration
there is looked up in the draws committed with the code, data/posterior/<name>/posterior.parquet.

A run's config hash (`lab.points.config_hash`) includes `content_hash` of the posterior
file, so a re-calibration makes resuming re-run what the old draws made. Every interval shown to a
user says what it covers (`interval_covers`): seeds only, or seeds and parameters.
"""
from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path
from typing import Any

import pandas as pd

from lab.changes import NotTyped, with_changes
from lab.errors import CommandError, read_table
from sim.config import Config, ConfigError

ROOT_ENV = "SIM_POSTERIOR_DIR"
DEFAULT_ROOT = Path("results/calibration")
COMMITTED_ROOT = Path(__file__).resolve().parents[1] / "data" / "posterior"   # draws shipped with the code
ID_COLUMNS = ("target_set", "draw")


def root() -> Path:
    """The folder holding calibrations: $SIM_POSTERIOR_DIR, else results/calibration."""
    return Path(os.environ.get(ROOT_ENV) or DEFAULT_ROOT)


def posterior_file(name: str, folder: Path | None = None) -> Path:
    """Where posterior `name` lives: the calibration's folder, else (when no folder is given) the draws
    committed with the code, data/posterior/<name>/posterior.parquet, so `posterior=<name>` works on a fresh
    clone; CommandError saying how to make it when neither is there."""
    path = Path(folder if folder is not None else root()) / name / "posterior.parquet"
    if path.is_file():
        return path
    committed = COMMITTED_ROOT / name / "posterior.parquet"
    if folder is None and committed.is_file():
        return committed
    raise CommandError(f"error: no posterior '{name}' at {path}" + (f" or {committed}" if folder is None else "")
                       + f": run python -m experiments.calibrate configs/calibration/{name}.yaml first")


@functools.lru_cache(maxsize=32)
def _file_hash(path: str, size: int, mtime_ns: int) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def content_hash(name: str, folder: Path | None = None) -> str:
    """Short SHA-256 of posterior `name`'s file (re-read whenever its size or time changes)."""
    path = posterior_file(name, folder)
    stat = path.stat()
    return _file_hash(str(path.resolve()), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=32)
def _draws(path: str, digest: str, name: str, target_set: str) -> pd.DataFrame:
    table = read_table(Path(path), "posterior")
    missing = [c for c in ID_COLUMNS if c not in table]
    parameters = [c for c in table if c not in ID_COLUMNS]
    if missing or not parameters:
        raise CommandError(f"error: posterior {path} is damaged: it needs columns {list(ID_COLUMNS)} and one "
                           f"per parameter (missing {missing or 'parameters'})")
    bad = [c for c in parameters if not pd.api.types.is_numeric_dtype(table[c])]
    if bad:
        raise CommandError(f"error: posterior {path} is damaged: parameter column {bad[0]!r} is not numeric")
    rows = table[table["target_set"] == target_set]
    if rows.empty:
        raise ConfigError("target_set", target_set, f"a target set posterior '{name}' has draws for "
                          f"({sorted(map(str, table['target_set'].unique()))})")
    if rows["draw"].duplicated().any():
        raise CommandError(f"error: posterior {path} is damaged: draw numbers repeat for target set {target_set}")
    return rows.set_index("draw").sort_index()[parameters]


def load_posterior(name: str, target_set: str, folder: Path | None = None) -> pd.DataFrame:
    """The draws of `target_set` in posterior `name`, indexed by draw, one column per dotted config key.

    A missing or damaged file raises CommandError, a target set without draws ConfigError; both one line."""
    path = posterior_file(name, folder)
    return _draws(str(path.resolve()), content_hash(name, folder), name, target_set)


def draw_values(config: Config, replicate: int, draws: pd.DataFrame) -> dict[str, float]:
    """Draw `replicate`'s parameter values; ConfigError naming `replicates` when there is no such draw."""
    if replicate not in draws.index:
        raise ConfigError("replicates", config.replicates,
                          f"at most {len(draws)}, the draws posterior '{config.posterior}' holds for "
                          f"target_set={config.target_set}")
    row = draws.loc[replicate]
    return {key: float(row[key]) for key in draws.columns}


def config_for(config: Config, replicate: int, draws: pd.DataFrame) -> Config:
    """`config` with draw `replicate`'s values applied as typed, validated changes."""
    values = draw_values(config, replicate, draws)
    try:
        return with_changes(config, values)
    except NotTyped as e:
        key = str(e)
        raise ConfigError(key, values.get(key), f"a number this config has (posterior '{config.posterior}' sets "
                          f"it, but {key} is a list, a mapping or a key of a bank or platform not in the run)") \
            from None


def draws_for(config: Config) -> pd.DataFrame | None:
    """The draws a config runs (None without `posterior`), checked: enough for its replicates, each applicable."""
    if not config.posterior:
        return None
    draws = load_posterior(config.posterior, config.target_set)
    for r in range(config.replicates):
        config_for(config, r, draws)
    return draws


def check(config: Config) -> None:
    """Refuse, in one line, a posterior that is missing, lacks the target set, or has too few or unusable draws."""
    draws_for(config)


def refuse_overlap(config: Config, overrides: list[str]) -> None:
    """Refuse an override of a key the posterior sets: each replicate's draw would silently replace it."""
    if not config.posterior:
        return
    sets = set(load_posterior(config.posterior, config.target_set).columns)
    for item in overrides:
        key, _, value = item.lstrip("+~").partition("=")
        if key in sets:
            raise ConfigError(key, value, f"no value while posterior={config.posterior} draws it for each replicate "
                              "(drop one or the other)")


def replicate_config(config: Config, replicate: int) -> tuple[Config, dict[str, Any]]:
    """The config replicate `replicate` runs and what records it: the posterior's name, the draw and its values
    (empty without a posterior)."""
    if not config.posterior:
        return config, {}
    draws = load_posterior(config.posterior, config.target_set)
    return config_for(config, replicate, draws), {
        "posterior": config.posterior, "posterior_draw": replicate,
        "posterior_values": draw_values(config, replicate, draws)}


def interval_covers(posterior: str, replicates: int) -> str:
    """What an interval over replicates covers: random streams alone, or parameter draws as well."""
    if not posterior:
        return "seeds"
    return f"seeds and parameters (posterior '{posterior}', {replicates} draws)"


def replicates_note(posterior: str, replicates: int) -> str:
    """How a mean over replicates is described: '(mean of N replicates: seeds only)' or with the posterior."""
    what = f"seeds and parameter draws from posterior '{posterior}'" if posterior else "seeds only"
    return f"(mean of {replicates} replicates: {what})"
