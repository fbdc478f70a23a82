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
95 % interval, and writes a report folder,
results/compare/<time>_<scenarios>[_<overrides>]/:
  report.md, report.html   the report (the HTML embeds its figures: one file to send)
  *.png                    levels and scenario − baseline over time, institutions
  effects.csv              headline figures: level and paired effect with intervals
  institution_effects.csv  share, profit and balances per institution, paired
  institution_levers.csv   each institution's strategy and levers in the last month (median over replicates)
  timeseries.parquet, institutions.parquet   every run's tables, with scenario and replicate
The folder is the last line of output, as `experiments.run` prints its results folder.
"""
from __future__ import annotations

import dataclasses
import sys
from datetime import datetime
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from lab.compose import load_config
from lab.report import write
from lab.points import config_hash
from lab.posterior import check as check_posterior
from lab.posterior import interval_covers, refuse_overlap, replicate_config
from sim.config import Config, month_index
from sim.market import MarketModel
from sim.writers.files import atomic_write
from sim.writers.run_folder import folder_tag, identified, override_tag, unambiguous_shares
from sim.evidence.targets import load_targets

ROOT = Path(__file__).resolve().parents[1]


def configs(scenarios: list[str], overrides: list[str], baseline: str) -> dict[str, Config]:
    """The baseline's and each scenario's config, with the overrides applied to all; raises on bad input."""
    names = [baseline, *[s for s in scenarios if s != baseline]]
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
    """Run, pair and report; returns the report folder and the terminal summary."""
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
    ts, inst = run_all(cfgs, replicates, overrides, progress)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / "timeseries.parquet", lambda p: ts.to_parquet(p, index=False))
    atomic_write(out / "institutions.parquet", lambda p: inst.to_parquet(p, index=False))
    plural = "s" if replicates > 1 else ""
    subtitle = (f"{first.population.size:,} simulated customers · {replicates} paired replicate{plural}"
                f" (seed {first.seed})"
                + (f" · overrides: {' '.join(overrides)}" if overrides else "")
                + f" · intervals cover {interval_covers(first.posterior, replicates)}")
    meta = {"subtitle": subtitle, "questions": {s: c.question for s, c in cfgs.items()},
            "strategies": strategies(cfgs), "population": first.population.size}
    return write(out, ts, inst, baseline, load_targets(first.target_set), meta)
