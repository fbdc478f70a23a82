"""Writing a finished run to its folder: tables, config, provenance and figures.

Every file is written to a uniquely named temporary file in the same folder and renamed
into place, so a reader never sees a half-written table; files get the permissions the
user's umask gives (mkstemp alone would make them private). `run.json` is written last
and records the size and SHA-256 of every other file, so `check_run` tells a complete
folder from one whose tables were truncated or edited afterwards.
"""
from __future__ import annotations

import functools
import hashlib
import json
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from omegaconf import OmegaConf

from sim.writers.metrics import fit_to_targets, yearly
from sim.writers.files import atomic_write
from sim.writers.plots import draw_all
from sim.writers.schema import SCHEMA_COLUMNS, columns_table
from sim.evidence.targets import load_targets

if TYPE_CHECKING:
    import pyarrow as pa

    from sim.market import MarketModel

PACKAGE = "bankmarket-sim"
IDENTITY = ("scenario", "overrides", "seed", "replicate", "config_hash")   # first columns of every stored table
NOT_IN_TAG = ("replicates", "study", "figures")                           # overrides that change no result
TABLES = ("timeseries.csv", "timeseries.parquet", "institutions.csv", "institutions.parquet", "yearly.csv",
          "yearly.parquet", "targets_fit.csv")


def _text(path: Path, text: str) -> None:
    atomic_write(path, lambda p: p.write_text(text))


def override_tag(overrides: list[str] | tuple[str, ...]) -> str:
    """The overrides that change results, sorted and comma-joined: 'seed=5,switching_cost.scale=2'."""
    keep = [o.lstrip("+~") for o in overrides or ()
            if not o.lstrip("+~").startswith("hydra") and o.lstrip("+~").partition("=")[0] not in NOT_IN_TAG]
    return ",".join(sorted(keep))


def folder_tag(overrides: list[str] | tuple[str, ...], width: int = 40) -> str:
    """override_tag made safe and short for a folder name: the last part of each key ('size=2000'), and a
    long tag cut, with a hash of the whole so different overrides keep different folders."""
    kept = override_tag([o for o in overrides or () if not o.lstrip("+~").startswith(("experiment=", "seed="))])
    tag = ",".join(item.partition("=")[0].split(".")[-1] + "=" + item.partition("=")[2]
                   for item in kept.split(",") if item)
    tag = "".join(ch if ch.isalnum() or ch in "._=,-" else "-" for ch in tag)
    if len(tag) > width:
        tag = tag[:width - 9] + "-" + hashlib.sha256(kept.encode()).hexdigest()[:8]
    return tag


def folder_suffix(override_dirname: str) -> str:
    """What a run folder's name ends in after its seed (configs/config.yaml's `tag` resolver): '_' and the
    folder_tag of Hydra's override_dirname, or nothing where no override is left in the tag (an
    `experiment=` or `seed=` alone), so a name never ends in a stray '_' ('..._seed42', not '..._seed42_')."""
    tag = folder_tag(override_dirname.split(",")) if override_dirname else ""
    return f"_{tag}" if tag else ""


def unambiguous_shares(inst: pd.DataFrame) -> pd.DataFrame:
    """Add `customer_share` (banks: share of primary-bank customers) and `user_share` (platforms: active
    users over all customers); `share`, which holds either, is kept for compatibility."""
    bank = inst["kind"] == "bank"
    return inst.assign(customer_share=inst["share"].where(bank), user_share=inst["share"].where(~bank))


def identified(df: pd.DataFrame, identity: dict) -> pd.DataFrame:
    """The table as stored: identity columns first (IDENTITY), and `date`, if any, as a date (first of the month)."""
    out = df.assign(date=pd.to_datetime(df["date"], format="%Y-%m")) if "date" in df else df.copy()
    for i, key in enumerate(IDENTITY):
        out.insert(i, key, identity.get(key))
    return out


def stored_columns(model: "MarketModel") -> dict[str, dict[str, np.ndarray]]:
    """The run's timeseries and institutions as {column: array}, with the columns and types write_run
    stores after the identity (`date` a timestamp, institutions' unambiguous shares). A study keeps
    these per run and builds one Arrow table per part (`arrow_table`), without DataFrames."""
    out = {}
    for name in ("timeseries", "institutions"):
        cols = {k: np.asarray(v) for k, v in model.recorder.columns(name).items()}
        cols["date"] = cols["date"].astype("datetime64[M]").astype("datetime64[us]")
        if name == "institutions":
            bank = cols["kind"] == "bank"
            cols["customer_share"] = np.where(bank, cols["share"], np.nan)
            cols["user_share"] = np.where(bank, np.nan, cols["share"])
        out[name] = cols
    return out


def arrow_table(runs: list[tuple[dict, dict[str, np.ndarray]]]) -> "pa.Table":
    """One Arrow table from runs' (keys, columns): the keys (identity first) repeated over each run's
    rows, then the columns, each concatenated across runs."""
    import pyarrow as pa
    lengths = [len(cols["date"]) for _, cols in runs]
    arrays = {}
    for k in runs[0][0]:
        values = [keys.get(k) for keys, _ in runs]
        arrays[k] = pa.array(np.repeat(np.array(values, dtype=object), lengths).tolist())
    for k in runs[0][1]:
        arrays[k] = pa.array(np.concatenate([cols[k] for _, cols in runs]), from_pandas=True)   # NaN text: null
    return pa.table(arrays)


def write_units(folder: Path, renamed: dict[str, str] | None = None) -> None:
    """columns.csv: the schema (sim/writers/schema.py), one row per table and column; `renamed` adds the swept
    config keys a study's tables store (under a name pandas and DuckDB take unquoted)."""
    swept = pd.DataFrame([("study", new, "as configured", f"the config value {old}", old)
                          for old, new in (renamed or {}).items()], columns=SCHEMA_COLUMNS)
    units = pd.concat([columns_table(), swept], ignore_index=True) if len(swept) else columns_table()
    atomic_write(Path(folder) / "columns.csv", lambda p: units.to_csv(p, index=False))


def _table(folder: Path, name: str, df: pd.DataFrame) -> None:
    atomic_write(folder / f"{name}.csv", lambda p: df.to_csv(p, index=False))
    atomic_write(folder / f"{name}.parquet", lambda p: df.to_parquet(p, index=False))


@functools.lru_cache(maxsize=1)
def git_commit() -> str:
    root = Path(__file__).resolve().parents[2]
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
    inst = unambiguous_shares(model.recorder.institutions())
    identity = {"scenario": cfg.scenario, "overrides": override_tag((extra or {}).get("overrides", [])),
                "seed": cfg.seed, "replicate": (extra or {}).get("replicate") or 0,
                "config_hash": (extra or {}).get("config_hash", "")}
    _table(folder, "timeseries", identified(ts, identity))
    _table(folder, "institutions", identified(inst, identity))
    _table(folder, "yearly", identified(yearly(ts), identity))
    fit = fit_to_targets(ts, _targets(cfg.target_set))
    atomic_write(folder / "targets_fit.csv", lambda p: identified(fit, identity).to_csv(p, index=False))
    write_units(folder)
    _text(folder / "config.yaml", config_yaml or OmegaConf.to_yaml(OmegaConf.structured(cfg)))
    if figures:
        tag = f" · {identity['overrides']}" if identity["overrides"] else ""
        draw_all(ts, inst, fit, folder, title=f"{cfg.scenario}{tag} · seed {cfg.seed} · replicate "
                 f"{identity['replicate']} · {cfg.population.size:,} simulated customers")
    info = {
        "scenario": cfg.scenario, "seed": cfg.seed, "population": cfg.population.size,
        "months": len(ts), "start": cfg.start, "end": cfg.end,
        "package": PACKAGE, "version": package_version(), "git_commit": git_commit(),
        "python": platform.python_version(),
        "libraries": {lib: _lib_version(lib) for lib in ("mesa", "numpy", "pandas", "hydra-core")},
        "model_seconds": round(model_seconds, 4), "argv": sys.argv[1:], **(extra or {}),
        "files": {p.name: fingerprint(p) for p in sorted(folder.iterdir())   # not Hydra's growing run.log
                  if p.is_file() and not p.name.startswith(".") and p.suffix in (".csv", ".parquet", ".yaml", ".png")},
    }
    _text(folder / "run.json", json.dumps(info, indent=2, default=str))
    return folder


def discard_unfinished(folder: Path) -> None:
    """Remove what an interrupted or failed plain run left in its folder (no run.json): the tables
    and figures it wrote, temporary files and Hydra's record; the folder too, once empty.
    Files the run did not write are left alone."""
    import shutil
    folder = Path(folder)
    if not folder.is_dir() or (folder / "run.json").exists():
        return
    for p in folder.iterdir():
        if p.is_file() and (p.suffix in (".csv", ".parquet", ".yaml", ".png", ".log") or p.name.endswith(".tmp")):
            p.unlink(missing_ok=True)
    shutil.rmtree(folder / ".hydra", ignore_errors=True)
    try:
        folder.rmdir()
    except OSError:
        pass


def fingerprint(path: Path) -> dict:
    """Size and SHA-256 of a file, as run.json records them."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return {"bytes": path.stat().st_size, "sha256": digest.hexdigest()}


def read_run_info(folder: Path) -> dict:
    """A run folder's run.json; ValueError saying what is wrong when it is missing or damaged."""
    try:
        info = json.loads((Path(folder) / "run.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError("run.json is missing (the run never finished)") from None
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise ValueError(f"run.json is damaged ({type(e).__name__})") from None
    if not isinstance(info, dict) or not isinstance(info.get("files"), dict):
        raise ValueError("run.json is damaged or from an older version (no file checksums)")
    return info


def check_run(folder: Path) -> str | None:
    """None when every file run.json lists is there, unchanged; otherwise what is wrong, in a few words."""
    folder = Path(folder)
    try:
        info = read_run_info(folder)
    except ValueError as e:
        return str(e)
    for name in TABLES:
        if name not in info["files"]:
            return f"run.json does not list {name}"
    for name, recorded in info["files"].items():
        path = folder / name
        if not path.is_file():
            return f"{name} is missing"
        if path.stat().st_size != recorded.get("bytes") or fingerprint(path) != recorded:
            return f"{name} has changed since the run (size or checksum differs from run.json)"
    return None


@functools.lru_cache(maxsize=4)
def _targets(target_set: str) -> pd.DataFrame:
    return load_targets(target_set)


@functools.lru_cache(maxsize=None)
def _lib_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "unknown"
