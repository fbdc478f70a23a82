"""One run's replicates, each written to its run folder: the work of `python -m experiments.run`
(the Hydra application, experiments/run.py) for a single run; a sweep is a study (lab/sweep.py,
lab/study.py)."""
from __future__ import annotations

import contextlib
import json
import logging
import sys
import time
import traceback
from pathlib import Path

from omegaconf import DictConfig, OmegaConf
from tqdm import tqdm

from lab.compose import explain, to_config
from lab.errors import BetweenMonths, CommandError, describe, interrupted_during, writable_folder
from lab.points import config_hash
from lab.posterior import replicate_config
from sim.config import ConfigError, month_index, replicate_seed
from sim.market import MarketModel
from sim.writers.files import atomic_write
from sim.writers.run_folder import check_run, discard_unfinished, write_run

log = logging.getLogger("experiments.run")


def replicate_folder(job_dir: Path, replicate: int, replicates: int) -> Path:
    """A replicate's folder: the run's own for one replicate, rep_NNN under it for several."""
    return job_dir if replicates == 1 else job_dir / f"rep_{replicate:03d}"


def is_complete(folder: Path, chash: str) -> bool:
    """Complete results for this config: run.json (written last) with the same hash, and every
    file it lists present with the size and checksum it recorded."""
    if check_run(folder) is not None:
        return False
    return json.loads((folder / "run.json").read_text()).get("config_hash") == chash


class Interrupted(KeyboardInterrupt):
    """Ctrl-C that arrived while compiled code ran and surfaced as another exception."""


def record_failure(folder: Path, info: dict, exc: BaseException) -> None:
    info = {**info, "status": "failed", "error": explain(exc) if isinstance(exc, ConfigError) else repr(exc),
            "traceback": traceback.format_exc()}
    try:
        atomic_write(folder / "error.json", lambda p: p.write_text(json.dumps(info, indent=2, default=str)))
    except OSError as e:   # a full or read-only disk: the log line is all that can be kept
        log.error("could not record the failure in %s: %s", folder, describe(e))


def run_job(cfg: DictConfig, job_dir: Path, overrides: list[str], show_progress: bool = True) -> dict:
    """Run every replicate of one run; returns counts of done, skipped and failed replicates.

    Ctrl-C stops the run (it is never recorded as a failed replicate), and a folder that cannot
    be written raises OSError. (Sweeps are studies: lab/sweep.py.)
    """
    job_dir.mkdir(parents=True, exist_ok=True)
    base = {"config_hash": "", "overrides": overrides, "study": cfg.get("study", "")}
    status = {"done": 0, "skipped": 0, "failed": 0}
    try:
        config = to_config(cfg)
        chash = base["config_hash"] = config_hash(config)
    except ConfigError as e:
        print(explain(e), file=sys.stderr)
        record_failure(job_dir, {**base, "replicate": None, "seed": cfg.get("seed")}, e)
        status["failed"] = int(cfg.get("replicates", 1)) if isinstance(cfg.get("replicates"), int) else 1
        return status
    config_yaml = OmegaConf.to_yaml(OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"]))
    n = config.replicates
    months = month_index(config.end) - month_index(config.start) + 1
    with tqdm(total=n * months, desc=f"{config.scenario} seed {config.seed} x{n}", unit="month",
              disable=None if show_progress else True, file=sys.stderr) as bar, BetweenMonths() as interrupt:
        def month_done(_month) -> None:
            bar.update(1)
            interrupt.check()

        for r in range(n):
            interrupt.check()
            folder = replicate_folder(job_dir, r, n)
            stream = int(replicate_seed(config.seed, r).generate_state(1)[0])
            info = {**base, "replicate": r, "replicates": n, "replicate_seed": stream}
            if is_complete(folder, chash):
                status["skipped"] += 1
                bar.update(months)
            else:
                for stale in ("run.json", "error.json"):
                    (folder / stale).unlink(missing_ok=True)
                try:
                    drawn, posterior = replicate_config(config, r)     # draw r of a posterior, if any
                    info.update(posterior)
                    started = time.perf_counter()
                    model = MarketModel(drawn, replicate=r).run(progress=month_done)
                    model_seconds = time.perf_counter() - started
                    write_run(model, folder, model_seconds, extra=info, figures=config.figures,
                              config_yaml=config_yaml)
                    status["done"] += 1
                except KeyboardInterrupt:
                    discard_unfinished(folder)        # finished replicates stay; this one leaves nothing
                    raise
                except Exception as e:  # noqa: BLE001 - one failed replicate must not stop the others
                    if interrupted_during(e):
                        discard_unfinished(folder)
                        raise Interrupted() from e
                    if isinstance(e, OSError):            # a full disk: this replicate leaves nothing half-written
                        with contextlib.suppress(OSError):
                            discard_unfinished(folder)
                        raise
                    log.error("replicate %d failed: %r", r, e)
                    record_failure(folder, {**info, "seed": config.seed}, e)
                    status["failed"] += 1
        interrupt.check()
    return status


REPOSITORY = Path(__file__).resolve().parents[1]
SOURCE_FOLDERS = ("configs", "sim", "lab", "experiments", "tests", "data", "docs", ".git", ".ci", ".venv")


def check_destination(key: str, value: str) -> None:
    """A results folder given on the command line is never the repository itself, one of its source
    folders (a run writes config.yaml, which would replace configs/config.yaml) or empty."""
    if not value.strip():
        raise CommandError(f"error: {key}= is empty; give a folder for the results, e.g. {key}=results/mine")
    target = Path(value).resolve()
    for folder in (REPOSITORY, *(REPOSITORY / name for name in SOURCE_FOLDERS)):
        if target == folder or (folder != REPOSITORY and folder in target.parents):
            raise CommandError(f"error: {key}={value} is not allowed; results never go into the repository's "
                               f"own files ({folder.name or folder}); use a folder under results/ or outside")


def check_writable(overrides: list[str], multirun: bool) -> None:
    """The results folder (or the nearest folder that exists above it) must be writable, and not
    the repository's own files."""
    key = "hydra.sweep.dir" if multirun else "hydra.run.dir"
    given = next((o.split("=", 1)[1] for o in overrides if o.lstrip("+").startswith(key + "=")), None)
    if given is not None:
        check_destination(key, given)
    writable_folder(Path(given or "results"))
