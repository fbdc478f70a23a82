"""The work of `python -m experiments.rerun`: re-run a stored run from its folder and report whether every table matches.

  python -m experiments.rerun results/baseline/<time>_seed42 [--out FOLDER]

Reads the folder's resolved config.yaml and run.json (seed, replicate, config hash, file
checksums), runs the model again (with `posterior`, the replicate's draw of it), writes its
tables to a scratch folder and compares
every stored table (timeseries and institutions as CSV and Parquet, yearly, targets_fit)
with the new one, value for value and type for type. It also checks that config.yaml
still has the hash run.json recorded and that no file changed after the run. Exits 0 when
everything is identical and 1 when anything differs (naming what); a folder that is not
a run folder, or whose files are damaged, gets one line and exit 2. It also checks that
run.json's seed and replicate agree with config.yaml, and names the commit the run was made
at when it is not the code's. With --out the new run is also written there, after the
comparison, into a folder that does not exist yet or is empty (never over another run, nor
over the folder being checked), staged and renamed into place whole.
"""
from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from pathlib import Path

import pandas as pd
from omegaconf import OmegaConf

from lab.errors import CommandError, one_line, read_table, writable_folder
from lab.points import config_hash
from lab.posterior import replicate_config
from sim.config import Config, validate
from sim.market import MarketModel
from sim.writers.run_folder import TABLES, check_run, git_commit, read_run_info, write_run


def stored_config(folder: Path) -> tuple[Config, int, dict]:
    """The Config and replicate a run folder was made with, and its run.json."""
    try:
        info = read_run_info(folder)
    except ValueError as e:
        raise CommandError(f"error: {folder} is not a complete run folder: {e}") from None
    try:
        stored = OmegaConf.load(folder / "config.yaml")
        merged = OmegaConf.merge(OmegaConf.structured(Config), stored)
        config = OmegaConf.to_object(merged)
    except Exception as e:  # noqa: BLE001 - YAML, unknown keys and wrong types alike
        raise CommandError(f"error: {folder / 'config.yaml'} is damaged: {one_line(str(e))}") from None
    validate(config)
    replicate = info.get("replicate") or 0
    if not isinstance(replicate, int) or replicate < 0:
        raise CommandError(f"error: {folder / 'run.json'} is damaged: replicate={replicate!r}")
    return config, replicate, {**info, "stored_hash": config_hash(config)}


def first_difference(stored: pd.DataFrame, fresh: pd.DataFrame) -> str | None:
    """None when the tables hold the same values of the same types exactly (missing values compare equal)."""
    try:
        pd.testing.assert_frame_equal(stored, fresh, check_dtype=True, check_exact=True)
    except AssertionError as e:
        return " ".join(str(e).split())[:300]
    return None


def check_out(folder: Path, out: Path | None) -> None:
    """--out must be a new or empty folder other than the one checked, somewhere writable: checked before the
    run, so nothing is computed only to be refused, and no run or report is ever written over."""
    if out is None:
        return
    if Path(out).resolve() == Path(folder).resolve():
        raise CommandError(f"error: --out {out} is the folder being checked; give a new folder")
    if Path(out).exists() and (not Path(out).is_dir() or any(Path(out).iterdir())):
        raise CommandError(f"error: --out {out} already exists and is not an empty folder; give a new folder "
                           "(a rerun never writes over another run)")
    writable_folder(out)


def identity_problem(config: Config, replicate: int, info: dict) -> str | None:
    """run.json's seed and replicate against config.yaml's (None when they agree)."""
    if "seed" in info and info["seed"] != config.seed:
        return f"run.json records seed {info['seed']}, config.yaml has seed {config.seed} (edited after the run)"
    return None


def code_note(info: dict) -> str | None:
    """The commit the run was made at, when this code is at another one (None when the same or unknown)."""
    made, now = str(info.get("git_commit") or "unknown"), git_commit()
    if "unknown" in (made, now) or made == now:
        return None
    return f"the run was made at commit {made}, this code is at {now}: a difference may come from the code"


def rerun(folder: Path, out: Path | None = None) -> dict[str, str | None]:
    """What differs, per stored file (None where identical), plus the config, run.json's identity and the
    files' checksums. `out`, when given, receives the new run after the comparison."""
    logging.getLogger("MESA").setLevel(logging.WARNING)
    folder = Path(folder)
    check_out(folder, out)
    config, replicate, info = stored_config(folder)
    result: dict[str, str | None] = {
        "config.yaml": None if info.get("config_hash") in (None, info["stored_hash"]) else
        f"its hash is {info['stored_hash']}, run.json recorded {info['config_hash']} (edited after the run)",
        "run.json": identity_problem(config, replicate, info),
        "checksums": check_run(folder)}
    started = time.perf_counter()
    model = MarketModel(replicate_config(config, replicate)[0], replicate=replicate).run()   # its posterior draw
    seconds = time.perf_counter() - started
    same = {k: info[k] for k in ("overrides", "replicate", "config_hash") if k in info}   # the tables' identity
    with tempfile.TemporaryDirectory(prefix="rerun.") as scratch:
        write_run(model, Path(scratch), 0.0, extra=same, figures=False)
        for name in TABLES:
            result[name] = first_difference(read_table(folder / name, "stored table"),
                                            read_table(Path(scratch) / name, "new table"))
    if out is not None:
        _write_whole(model, Path(out), seconds, {"rerun_of": str(folder), **same}, config.figures)
    return result


def _write_whole(model: MarketModel, out: Path, seconds: float, extra: dict, figures: bool) -> None:
    """The new run in a staging folder beside `out`, renamed into place once complete."""
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        write_run(model, staging, seconds, extra=extra, figures=figures)
        if out.exists():
            out.rmdir()                                  # empty, as check_out found it
        os.replace(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
