"""Writing a finished run to its folder: tables, config, provenance and figures.

Every file is written to a temporary name in the same folder and renamed into place,
so a reader never sees a half-written table; `run.json` is written last and marks
the folder complete.
"""
from __future__ import annotations

import functools
import json
import os
import platform
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import pandas as pd
from omegaconf import OmegaConf

from .metrics import fit_to_targets, yearly
from .schema import columns_table
from .targets import load_targets

if TYPE_CHECKING:
    from .market import MarketModel

PACKAGE = "bankmarket-sim"


def atomic_write(path: Path, write: Callable[[Path], Any]) -> None:
    """Call write(tmp) on a temporary file beside `path`, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _text(path: Path, text: str) -> None:
    atomic_write(path, lambda p: p.write_text(text))


def _table(folder: Path, name: str, df: pd.DataFrame) -> None:
    atomic_write(folder / f"{name}.csv", lambda p: df.to_csv(p, index=False))
    atomic_write(folder / f"{name}.parquet", lambda p: df.to_parquet(p, index=False))


@functools.lru_cache(maxsize=1)
def git_commit() -> str:
    root = Path(__file__).resolve().parents[1]
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                             timeout=5).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (sha + ("-dirty" if dirty else "")) if sha else "unknown"


@functools.lru_cache(maxsize=1)
def package_version() -> str:
    try:
        return metadata.version(PACKAGE)
    except metadata.PackageNotFoundError:
        return "unknown"


def write_run(model: "MarketModel", folder: Path, model_seconds: float, extra: dict | None = None,
              figures: bool = True, config_yaml: str | None = None) -> Path:
    """Write all outputs of a finished run into `folder`; returns the folder.

    `config_yaml` is the resolved config as text when the caller has it (a sweep job
    writes the same text for every replicate); otherwise it is made from `model.cfg`.
    """
    folder = Path(folder)
    cfg = model.cfg
    ts = model.recorder.timeseries()
    inst = model.recorder.institutions()
    _table(folder, "timeseries", ts)
    _table(folder, "institutions", inst)
    _table(folder, "yearly", yearly(ts))
    fit = fit_to_targets(ts, _targets(cfg.target_set))
    atomic_write(folder / "targets_fit.csv", lambda p: fit.to_csv(p, index=False))
    atomic_write(folder / "columns.csv", lambda p: columns_table().to_csv(p, index=False))
    _text(folder / "config.yaml", config_yaml or OmegaConf.to_yaml(OmegaConf.structured(cfg)))
    if figures:
        from .plots import draw_all
        draw_all(ts, inst, fit, folder, title=f"{cfg.scenario} · seed {cfg.seed} · "
                 f"{cfg.population.size:,} simulated customers")
    info = {
        "scenario": cfg.scenario, "seed": cfg.seed, "population": cfg.population.size,
        "months": len(ts), "start": cfg.start, "end": cfg.end,
        "package": PACKAGE, "version": package_version(), "git_commit": git_commit(),
        "python": platform.python_version(),
        "libraries": {lib: _lib_version(lib) for lib in ("mesa", "numpy", "pandas", "hydra-core")},
        "model_seconds": round(model_seconds, 4), "argv": sys.argv[1:], **(extra or {}),
    }
    _text(folder / "run.json", json.dumps(info, indent=2, default=str))
    return folder


@functools.lru_cache(maxsize=4)
def _targets(target_set: str) -> pd.DataFrame:
    return load_targets(target_set)


@functools.lru_cache(maxsize=None)
def _lib_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "unknown"
