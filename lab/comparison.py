"""The work of `python -m experiments.compare`: scenario versus baseline in one command, with paired replicates and a report for the board.

  python -m experiments.compare no_ukey functional_regulation --replicates 10
  python -m experiments.compare marketing_war population.size=20000 end=2018-12

Runs the baseline and each named preset (configs/experiment/), every override KEY=VALUE
applied to all of them, with the same replicates: replicate r of every scenario draws
from SeedSequence(seed, spawn_key=(r,)), so the scenarios differ only by their settings
(common random numbers) and each effect is paired by replicate. With `posterior=<name>` among
the overrides, replicate r of every scenario also runs draw r of that calibration's posterior
(lab/posterior.py), still paired, and every interval covers seeds and parameters; the
table, effects.csv and the report say which (`interval_covers`).

Prints the headline figures of the last full year, with each scenario's effect and its
95 % interval, and writes a report folder (what it holds: `python -m experiments.compare --help`).
The runs are one study (lab/study.py) in the folder's `runs/`, so a killed compare resumes; the
folder's `compare.json` says what it compares, and an `--out` holding anything else is refused.
"""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import sys
from datetime import datetime
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from lab import dataset
from lab.compose import group_options, load_config
from lab.errors import CommandError, read_json, writable_folder
from lab.report import write
from lab.study import Study, run_study
from lab.points import Point, config_hash, uniform_values
from lab.posterior import check as check_posterior
from lab.posterior import interval_covers, refuse_overlap, replicate_config
from sim.config import Config, ConfigError, month_index
from sim.market import MarketModel
from sim.writers.files import atomic_write
from sim.writers.run_folder import folder_tag, identified, override_tag, unambiguous_shares
from sim.evidence.targets import load_targets

ROOT = Path(__file__).resolve().parents[1]


def configs(scenarios: list[str], overrides: list[str], baseline: str) -> dict[str, Config]:
    """The baseline's and each scenario's config, with the overrides applied to all; raises on bad input."""
    names = [baseline, *[s for s in scenarios if s != baseline]]
    presets = group_options("experiment")
    for name in names:
        if name not in presets:
            raise ConfigError("scenario", name, f"a preset in configs/experiment/: one of {presets}")
    return {name: load_config([f"experiment={name}", *overrides]) for name in names}


def strategies(cfgs: dict[str, Config]) -> dict[str, dict[str, str]]:
    """Each scenario's strategy kind per bank and platform (fixed | adaptive | responsive), for the report."""
    return {name: {**{b: str(bank.strategy.kind) for b, bank in cfg.banks.items()},
                   **{p: str(platform.strategy.kind) for p, platform in cfg.platforms.items()}}
            for name, cfg in cfgs.items()}


def run_all(cfgs: dict[str, Config], replicates: int, overrides: list[str],
            progress: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every scenario's replicates; their tables stacked, each row identified by scenario and replicate."""
    months = {name: month_index(c.end) - month_index(c.start) + 1 for name, c in cfgs.items()}
    series, institutions = [], []
    tag = override_tag(overrides)
    with tqdm(total=replicates * sum(months.values()), unit="month", file=sys.stderr,
              disable=None if progress else True) as bar:
        for name, cfg in cfgs.items():
            chash = config_hash(cfg)
            for r in range(replicates):
                bar.set_description(f"{name} replicate {r + 1}/{replicates}")
                drawn, record = replicate_config(cfg, r)       # draw r of a posterior in every scenario, if any
                model = MarketModel(drawn, replicate=r).run(progress=lambda m: bar.update(1))
                identity = {"scenario": name, "overrides": tag, "seed": cfg.seed, "replicate": r,
                            "config_hash": chash}
                drew = {"posterior": record["posterior"], "posterior_draw": r} if record else {}
                series.append(identified(model.recorder.timeseries(), identity).assign(**drew))
                institutions.append(identified(unambiguous_shares(model.recorder.institutions()), identity)
                                    .assign(**drew))
    return pd.concat(series, ignore_index=True), pd.concat(institutions, ignore_index=True)


def compare(scenarios: list[str], replicates: int = 10, overrides: list[str] | None = None,
            baseline: str = "baseline", out: Path | None = None, progress: bool = True) -> tuple[Path, list[str]]:
    """Run (on the study runner, into `<out>/runs/`), pair and report; returns the report folder and the
    terminal summary. A killed compare resumes into its folder and runs only what is missing."""
    overrides = list(overrides or [])
    cfgs = configs(scenarios, overrides, baseline)
    first = cfgs[baseline]
    for cfg in cfgs.values():       # a posterior's draws must be there for every replicate, before anything runs
        check_posterior(dataclasses.replace(cfg, replicates=replicates))
        refuse_overlap(cfg, overrides)
    if out is None:
        name = "+".join(s for s in cfgs if s != baseline) or baseline
        tag = folder_tag(overrides)
        out = ROOT / "results" / "compare" / (f"{datetime.now():%Y-%m-%d_%H-%M-%S}_{name}" + (f"_{tag}" if tag else ""))
    out = Path(out)
    claim_folder(out, {"baseline": baseline, "scenarios": {n: config_hash(c) for n, c in cfgs.items()},
                       "overrides": overrides})
    ts, inst = run_stored(cfgs, replicates, overrides, out / RUNS, progress)
    plural = "s" if replicates > 1 else ""
    subtitle = (f"{first.population.size:,} simulated customers · {replicates} paired replicate{plural}"
                f" (seed {first.seed})"
                + (f" · overrides: {' '.join(overrides)}" if overrides else "")
                + f" · intervals cover {interval_covers(first.posterior, replicates)}")
    meta = {"subtitle": subtitle, "questions": {s: c.question for s, c in cfgs.items()},
            "strategies": strategies(cfgs), "population": first.population.size}
    staging = out / STAGING
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    atomic_write(staging / "timeseries.parquet", lambda p: ts.to_parquet(p, index=False))
    atomic_write(staging / "institutions.parquet", lambda p: inst.to_parquet(p, index=False))
    _, lines = write(staging, ts, inst, baseline, load_targets(first.target_set), meta)
    publish(staging, out)
    return out, lines


RUNS = "runs"                       # the comparison's study: every run's tables, as they finish
STAGING = ".report-staging"         # the report as it is written; its files move into the folder once whole
IDENTITY_FILE = "compare.json"


def claim_folder(out: Path, identity: dict) -> None:
    """Make `out` this comparison's folder, or resume into it: refused in one line when it holds anything
    else (a run, another comparison, a report of other scenarios or settings, any other file)."""
    out = Path(out)
    writable_folder(out)
    if out.exists() and not out.is_dir():
        raise CommandError(f"error: --out {out} is a file; name a folder for the report")
    if out.is_dir() and any(out.iterdir()):
        stored = out / IDENTITY_FILE
        if not stored.is_file():
            raise CommandError(f"error: --out {out} already holds files this comparison did not write; "
                               "name a new folder (a compare resumes only into its own folder)")
        if read_json(stored, "comparison") != identity:
            raise CommandError(f"error: --out {out} holds another comparison (other scenarios, settings or "
                               f"code: see its {IDENTITY_FILE}); name a new folder")
        return
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / IDENTITY_FILE, lambda p: p.write_text(json.dumps(identity, indent=1, sort_keys=True) + "\n"))


def run_stored(cfgs: dict[str, Config], replicates: int, overrides: list[str], root: Path,
               progress: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every scenario's replicates as one study (lab/study.py): what `root` holds is not run again. The
    tables as `run_all` returns them, each row identified by scenario and replicate."""
    points = [Point.make(i, dataclasses.replace(cfg, replicates=replicates), overrides)
              for i, cfg in enumerate(cfgs.values())]
    study = Study("compare", root, uniform_values(points), command=sys.argv[:1] + list(cfgs))
    run_study(study, backend="local" if (os.cpu_count() or 1) > 1 else "serial", show_progress=progress)
    runs = dataset.load_runs(root)                     # one row per run: its complete attempt, else its failure
    hashes = {name: p.config_hash for name, p in zip(cfgs, points)}
    mine = runs[runs["config_hash"].isin(set(hashes.values())) & (runs["replicate"] < replicates)]
    failed = mine[mine["status"] != "complete"]
    if len(failed) or len(mine) < len(set(hashes.values())) * replicates:
        first = failed["error"].iloc[0] if len(failed) else "runs missing from the dataset"
        raise CommandError(f"error: {len(failed)} runs failed (first: {first}); see {root}/runs.csv")
    drew = mine[["config_hash", "replicate", "posterior", "posterior_draw"]] if "posterior" in mine else None
    return tuple(_by_scenario(dataset.load(root, table, hashes=set(hashes.values())), hashes, replicates, drew)
                 for table in ("timeseries", "institutions"))


def _by_scenario(df: pd.DataFrame, hashes: dict[str, str], replicates: int,
                 drew: pd.DataFrame | None) -> pd.DataFrame:
    """The study's rows under each scenario's name (two scenarios with one config share their runs), with
    the identity columns `run_all` gives, and the posterior and its draw (from the runs table) only where
    replicates ran a posterior's draws."""
    df = df[df["replicate"] < replicates]
    parts = [df[df["config_hash"] == h].assign(scenario=name) for name, h in hashes.items()]
    out = pd.concat(parts, ignore_index=True).drop(columns=["study", "point", "replicate_seed"], errors="ignore")
    if drew is not None and drew["posterior"].fillna("").astype(str).ne("").any():
        out = out.merge(drew, on=["config_hash", "replicate"], how="left", validate="many_to_one")
        out["posterior_draw"] = out["posterior_draw"].astype(int)
    return out.reset_index(drop=True)


def publish(staging: Path, out: Path) -> None:
    """Move the whole report from its staging folder into `out`, report.md last (a folder whose report.md
    is there holds a whole report), and remove the staging folder."""
    names = sorted((p.name for p in staging.iterdir()), key=lambda n: n == "report.md")
    for name in names:
        target = out / name
        if target.is_dir():
            shutil.rmtree(target)
        os.replace(staging / name, target)
    staging.rmdir()
