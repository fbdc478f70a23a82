"""Run one scenario, or sweep many: `python -m experiments.run [-m] [experiment=<name>] [key=value ...]`.

A Hydra application over configs/config.yaml. Each job runs `replicates` independent
replicates of its config (replicate r draws from SeedSequence(seed, spawn_key=(r,))),
writes each as a run folder (tables as CSV and Parquet, resolved config, provenance,
figures) and prints the job's folder as its last line.

In a sweep (`-m`), jobs go to results/sweeps/<study>/<swept values>/. A replicate whose
folder already holds complete results for the same config hash is skipped, so an
interrupted or extended sweep resumes; a replicate that fails writes error.json and the
sweep goes on. At the end the sweep is collected into one Parquet table
(experiments/collect.py).

Examples:
  python -m experiments.run                                   # baseline, 100,000 customers
  python -m experiments.run experiment=functional_regulation seed=7 replicates=5
  python -m experiments.run -m switching_cost.scale=0.5,1,2 replicates=3 study=switching
  python -m experiments.run -m hydra/launcher=joblib experiment=baseline,no_ukey
  python -m experiments.run --cfg job                         # print the full config
"""
from __future__ import annotations

import hashlib
import json
import logging
import sys
import time
import traceback
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf
from tqdm import tqdm

from experiments.config import explain, load_config, to_config
from experiments.headline import run_summary
from sim.config import ConfigError, month_index, replicate_seed
from sim.market import MarketModel
from sim.outputs import atomic_write, folder_tag, write_run

log = logging.getLogger("experiments.run")
# hydra.run.dir ends in a short tag of the overrides (configs/config.yaml), so runs with overrides are told apart
OmegaConf.register_new_resolver("tag", lambda dirname: ("_" + folder_tag(dirname.split(","))) if dirname else "",
                                replace=True)
NOT_HASHED = ("replicates", "study", "figures")   # none changes what one replicate computes


def config_hash(cfg: DictConfig) -> str:
    """Short hash of everything that determines a replicate's results."""
    container = OmegaConf.to_container(cfg, resolve=True)
    for key in ("hydra", *NOT_HASHED):
        container.pop(key, None)
    return hashlib.sha256(json.dumps(container, sort_keys=True, default=str).encode()).hexdigest()[:16]


def replicate_folder(job_dir: Path, replicate: int, replicates: int) -> Path:
    return job_dir if replicates == 1 else job_dir / f"rep_{replicate:03d}"


def is_complete(folder: Path, chash: str) -> bool:
    """Complete results for this config: run.json (written last) with the same hash."""
    try:
        return json.loads((folder / "run.json").read_text()).get("config_hash") == chash
    except (OSError, ValueError):
        return False


def _record_failure(folder: Path, info: dict, exc: BaseException) -> None:
    info = {**info, "status": "failed", "error": explain(exc) if isinstance(exc, ConfigError) else repr(exc),
            "traceback": traceback.format_exc()}
    atomic_write(folder / "error.json", lambda p: p.write_text(json.dumps(info, indent=2, default=str)))


def run_job(cfg: DictConfig, job_dir: Path, overrides: list[str], show_progress: bool = True) -> dict:
    """Run every replicate of one job; returns counts of done, skipped and failed replicates."""
    job_dir.mkdir(parents=True, exist_ok=True)
    chash = config_hash(cfg)
    base = {"config_hash": chash, "overrides": overrides, "study": cfg.get("study", "")}
    status = {"done": 0, "skipped": 0, "failed": 0}
    try:
        config = to_config(cfg)
    except ConfigError as e:
        print(explain(e), file=sys.stderr)
        _record_failure(job_dir, {**base, "replicate": None, "seed": cfg.get("seed")}, e)
        status["failed"] = int(cfg.get("replicates", 1)) if isinstance(cfg.get("replicates"), int) else 1
        return status
    config_yaml = OmegaConf.to_yaml(OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"]))
    n = config.replicates
    months = month_index(config.end) - month_index(config.start) + 1
    with tqdm(total=n * months, desc=f"{config.scenario} seed {config.seed} x{n}", unit="month",
              disable=None if show_progress else True, file=sys.stderr) as bar:
        for r in range(n):
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
                    started = time.perf_counter()
                    model = MarketModel(config, replicate=r).run(progress=lambda m: bar.update(1))
                    model_seconds = time.perf_counter() - started
                    write_run(model, folder, model_seconds, extra=info, figures=config.figures,
                              config_yaml=config_yaml)
                    status["done"] += 1
                except Exception as e:  # noqa: BLE001 - one failed replicate must not stop a sweep
                    log.error("replicate %d failed: %r", r, e)
                    _record_failure(folder, {**info, "seed": config.seed}, e)
                    status["failed"] += 1
    return status


@hydra.main(version_base=None, config_path="../configs", config_name="config")
def app(cfg: DictConfig) -> dict:
    logging.getLogger("MESA").setLevel(logging.WARNING)   # Mesa logs every step at INFO
    hc = HydraConfig.get()
    job_dir = Path(hc.runtime.output_dir)
    status = run_job(cfg, job_dir, list(hc.overrides.task))
    if hc.mode == RunMode.RUN:
        if status["failed"]:
            print(f"run failed: see {job_dir}/error.json", file=sys.stderr)
            sys.exit(1)
        n = int(cfg.get("replicates", 1))
        print("\n".join(run_summary([replicate_folder(job_dir, r, n) for r in range(n)])))
        print(job_dir)
    return status


def _overrides(argv: list[str]) -> list[str] | None:
    """The config overrides on a plain run, or None where Hydra should handle the arguments itself."""
    if any(a in ("-m", "--multirun", "-h", "--help", "--hydra-help", "-c", "--cfg", "--info",
                 "-i", "--shell-completion", "-sc") or a.startswith(("--cfg", "--info")) for a in argv):
        return None
    return [a for a in argv if not a.startswith("-") and not a.lstrip("+~").startswith("hydra")]


def main() -> None:
    overrides = _overrides(sys.argv[1:])
    if overrides is not None:
        try:
            load_config(overrides)   # refuse bad input before any folder is made
        except Exception as e:  # noqa: BLE001 - every composition failure becomes one line
            print(explain(e, overrides), file=sys.stderr)
            sys.exit(2)
    app()


if __name__ == "__main__":
    main()
