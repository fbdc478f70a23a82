"""The work of `python -m experiments.rerun`: re-run a stored run from its folder and report whether every table matches.

  python -m experiments.rerun results/baseline/<time>_seed42 [--out FOLDER]

Reads the folder's resolved config.yaml and run.json (seed, replicate, config hash, file
checksums), runs the model again (with `posterior`, the replicate's draw of it), writes its
tables to a scratch folder and compares
every stored table (timeseries and institutions as CSV and Parquet, yearly, targets_fit)
with the new one, value for value and type for type. It also checks that config.yaml
still has the hash run.json recorded and that no file changed after the run. Exits 0 when
everything is identical and 1 when anything differs (naming what); a folder that is not
a run folder, or whose files are damaged, gets one line and exit 2. With --out the new
run is also written there (over a committed file only with --force).
"""
from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path

import pandas as pd
from omegaconf import OmegaConf

from lab.errors import CommandError, one_line, read_table
from lab.points import config_hash
from lab.posterior import replicate_config
from sim.config import Config, validate
from sim.market import MarketModel
from sim.writers.run_folder import TABLES, check_run, read_run_info, write_run


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


def rerun(folder: Path, out: Path | None = None) -> dict[str, str | None]:
    """What differs, per stored file (None where identical), plus the config and the files' checksums."""
    logging.getLogger("MESA").setLevel(logging.WARNING)
    folder = Path(folder)
    config, replicate, info = stored_config(folder)
    result: dict[str, str | None] = {
        "config.yaml": None if info.get("config_hash") in (None, info["stored_hash"]) else
        f"its hash is {info['stored_hash']}, run.json recorded {info['config_hash']} (edited after the run)",
        "checksums": check_run(folder)}
    started = time.perf_counter()
    model = MarketModel(replicate_config(config, replicate)[0], replicate=replicate).run()   # its posterior draw
    same = {k: info[k] for k in ("overrides", "replicate", "config_hash") if k in info}   # the tables' identity
    if out is not None:
        write_run(model, out, time.perf_counter() - started, extra={"rerun_of": str(folder), **same},
                  figures=config.figures)
    with tempfile.TemporaryDirectory(prefix="rerun.") as scratch:
        write_run(model, Path(scratch), 0.0, extra=same, figures=False)
        for name in TABLES:
            result[name] = first_difference(read_table(folder / name, "stored table"),
                                            read_table(Path(scratch) / name, "new table"))
    return result
