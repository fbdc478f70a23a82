"""Run one scenario, or sweep many: `python -m experiments.run [-m] [experiment=<name>] [key=value ...]`.

A Hydra application over configs/config.yaml. A run does `replicates` independent
replicates of its config (replicate r draws from SeedSequence(seed, spawn_key=(r,)); with
`posterior=<name>` it also runs draw r of that calibration's posterior, lab/posterior.py),
writes each as a run folder (tables as CSV and Parquet, resolved config, provenance,
figures) and prints the folder as its last line.

A sweep (`-m`) is a study (lab/sweep.py, lab/study.py): its jobs are
expanded as Hydra's basic sweeper does, each distinct composition is composed once, and
every run streams its tables into one Parquet dataset, results/sweeps/<study>/
(timeseries/, institutions/, runs/, runs.csv, columns.csv). Runs the dataset already
holds complete (same config hash and replicate) are skipped, so an interrupted or
extended sweep resumes; a run that fails is a row of the runs table with its error, the
sweep goes on, then exits 1. It runs on every local core (forked processes) unless
`hydra/launcher=basic` (serial, in this process), `hydra/launcher=joblib` (its n_jobs) or
`hydra/launcher=ray` (Ray, local or by address) says otherwise. Per-run folders (CSV, figures) are written in a sweep only
when the command line says figures=true.

Every value, swept ones included, is checked before anything is written; bad input,
a folder that cannot be written and Ctrl-C each end with one line (lab/errors.py).

Examples:
  python -m experiments.run                                   # baseline, 100,000 customers
  python -m experiments.run experiment=functional_regulation seed=7 replicates=5
  python -m experiments.run -m switching_cost.scale=0.5,1,2 replicates=3 study=switching
  python -m experiments.run -m hydra/launcher=joblib experiment=baseline,no_ukey
  python -m experiments.run --cfg job                         # print the full config
"""
from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from lab.compose import explain, load_config
from lab.errors import BAD_INPUT, CommandError, command, describe
from lab.headline import run_summary
from lab.posterior import check as check_posterior
from lab.posterior import refuse_overlap
from lab.runs import check_writable, replicate_folder, run_job
from sim.evidence.targets import read_targets
from sim.writers.run_folder import discard_unfinished, folder_suffix

log = logging.getLogger("experiments.run")
# hydra.run.dir ends in a short tag of the overrides (configs/config.yaml), so runs with overrides are told apart
OmegaConf.register_new_resolver("tag", folder_suffix, replace=True)












@hydra.main(version_base=None, config_path="../configs", config_name="config")
def app(cfg: DictConfig) -> dict:
    logging.getLogger("MESA").setLevel(logging.WARNING)   # Mesa logs every step at INFO
    hc = HydraConfig.get()
    job_dir = Path(hc.runtime.output_dir)
    try:
        status = run_job(cfg, job_dir, list(hc.overrides.task))
    except OSError as e:             # Hydra would print a traceback; one line, as for any bad input
        discard_unfinished(job_dir)
        print(describe(e), file=sys.stderr)
        sys.exit(BAD_INPUT)
    except KeyboardInterrupt:        # finished replicates stay; the unfinished one leaves nothing half-made
        discard_unfinished(job_dir)
        raise
    if status["failed"]:
        print(f"run failed: see {job_dir}/error.json", file=sys.stderr)
        sys.exit(1)
    n = int(cfg.get("replicates", 1))
    print("\n".join(run_summary([replicate_folder(job_dir, r, n) for r in range(n)], str(cfg.get("posterior") or ""))))
    print(job_dir)
    return status


HYDRA_FLAGS = {"-m", "--multirun", "--run", "-r", "--resolve", "-h", "--help", "--hydra-help", "--version",
               "-sc", "--shell-completion"}
HYDRA_OPTIONS = {"-c", "--cfg", "-p", "--package", "-cp", "--config-path", "-cn", "--config-name",
                 "-cd", "--config-dir", "--experimental-rerun", "-i", "--info"}     # these take a value
PRINT_ONLY = {"-c", "--cfg", "-p", "--package", "-i", "--info", "--resolve"}      # Hydra prints, runs nothing
OTHER_CONFIG = HYDRA_OPTIONS - PRINT_ONLY                                          # another config or a rerun
INFO_TOPICS = {"all", "config", "defaults", "defaults-tree", "plugins", "searchpath"}


def _overrides(argv: list[str]) -> list[str] | None:
    """The overrides of a run, a sweep or --cfg/--info, or None for help, which Hydra prints itself.

    An option Hydra does not know is refused here in one line (Hydra would print its usage)."""
    overrides, i = [], 0
    while i < len(argv):
        a = argv[i]
        if a in ("-h", "--help", "--hydra-help", "--version", "-sc", "--shell-completion"):
            return None
        if a in HYDRA_OPTIONS:
            takes_value = a not in ("-i", "--info") or (i + 1 < len(argv) and argv[i + 1] in INFO_TOPICS)
            i += 2 if takes_value else 1
            continue
        if a.startswith("-") and a not in HYDRA_FLAGS and a.split("=", 1)[0] not in HYDRA_OPTIONS:
            raise CommandError(f"error: unknown option {a} (see python -m experiments.run --help)")
        if not a.startswith("-"):
            overrides.append(a)
        i += 1
    return overrides


def check_overrides(overrides: list[str], multirun: bool) -> None:
    """Refuse bad input before any folder is made: every value of a sweep, and Hydra's own settings."""
    from lab import sweep
    for item in overrides:
        if item.startswith("~"):                 # Hydra would delete the key, and fail later with a traceback
            key = item[1:].split("=", 1)[0]
            raise CommandError(f"config error: {item} is not allowed; every key the model reads needs a value "
                               f"(set it instead, e.g. {key}=...)")
    try:
        if multirun:
            sweep.plan(overrides)
        else:
            config = load_config(overrides, hydra=True)
            check_posterior(config)
            refuse_overlap(config, overrides)
        read_targets()                           # a damaged targets file is refused now, not after the runs
    except Exception as e:  # noqa: BLE001 - every composition failure becomes one line
        raise CommandError(explain(e, overrides)) from None
    check_writable(overrides, multirun)




@command
def main() -> int:
    argv = sys.argv[1:]
    overrides = _overrides(argv)
    multirun = "-m" in argv or "--multirun" in argv
    if multirun and set(argv) & OTHER_CONFIG:
        raise CommandError(f"error: a sweep (-m) runs over configs/config.yaml; {sorted(set(argv) & OTHER_CONFIG)[0]} "
                           "is for single runs only")
    if multirun and overrides is not None and not set(argv) & PRINT_ONLY:
        return run_sweep(overrides, argv)
    if overrides is not None:
        check_overrides(overrides, multirun)
    app()
    return 0


def run_sweep(overrides: list[str], argv: list[str]) -> int:
    """A multirun as one study (lab/sweep.py, lab/study.py): every job validated first,
    runs already in the study's dataset skipped, failures recorded; exit 1 if any run failed."""
    from lab import study as study_module
    from lab import sweep
    try:
        spec, settings = sweep.plan(overrides, ["experiments.run", *argv])
        kind, workers, address = sweep.backend(settings, overrides)
    except Exception as e:  # noqa: BLE001 - every composition failure becomes one line
        raise CommandError(explain(e, overrides)) from None
    check_writable(overrides, multirun=True)
    started = time.perf_counter()
    result = study_module.run_study(spec, backend=kind, workers=workers, address=address)
    root = result["root"]
    print(f"study {spec.name}: {result['complete']} runs done, {result['failed']} failed, {result['skipped']} "
          f"already stored, in {time.perf_counter() - started:.1f} s ({kind}"
          + (f", {workers} workers" if kind != "serial" else "") + ")", file=sys.stderr)
    print(root)
    if result["failed"]:
        print(f"sweep: {result['failed']} of {result['expected']} runs failed; see {root}/runs.csv", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
