"""Fit to every observation: `python -m experiments.fit [--size N] [--seeds K] [KEY=VALUE ...]`.

Runs the model on seeds 1..K (default 5 at 100,000 customers) with the given overrides,
and compares the mean with every row of data/observations.csv that the model can produce
(sim/evidence/observations.py says how each is read and its tolerance). Prints the table and
writes it to results/fit/<tag>/observations.csv. Bank figures (ICBC, BOC, CITIC) need the
named roster: add `banks=named`.
"""
from __future__ import annotations

import argparse
import hashlib
import logging
import sys
import time
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from lab.compose import explain, load_config
from sim.config import ConfigError
from lab.errors import CommandError, Parser, command, writable_folder
from sim.evidence.observations import compare, load_observations
from sim.market import MarketModel
from sim.writers.files import atomic_write


@command
def main(argv: list[str] | None = None) -> int:
    parser = Parser(prog="python -m experiments.fit", description=__doc__,
                    formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=100_000, help="simulated customers (default 100,000)")
    parser.add_argument("--seeds", type=int, default=5, help="seeds 1..K, averaged (default 5)")
    parser.add_argument("--out", type=Path, default=Path("results/fit"), help="folder for the table")
    parser.add_argument("overrides", nargs="*", help="config overrides, e.g. banks=named experiment=calibrated")
    args = parser.parse_args(argv)
    if args.seeds < 1 or args.size < 100:
        raise CommandError(f"error: --seeds={args.seeds} and --size={args.size} are not allowed; expected --seeds >= 1 "
                           "and --size >= 100")
    logging.getLogger("MESA").setLevel(logging.WARNING)
    try:
        configs = [load_config([*args.overrides, f"population.size={args.size}", f"seed={s}", "figures=false"])
                   for s in range(1, args.seeds + 1)]
    except (ConfigError, Exception) as exc:   # noqa: BLE001 - any composition failure is one line
        raise CommandError(explain(exc, args.overrides)) from None
    load_observations()                         # a damaged file is refused before the runs, not after
    writable_folder(args.out)
    runs, start = [], time.perf_counter()
    for cfg in tqdm(configs, desc="seeds", unit="run"):
        model = MarketModel(cfg).run()
        runs.append((model.recorder.timeseries(), model.recorder.institutions()))
    table = compare(runs, target_set=configs[0].target_set)
    shown = table[table["simulated"].notna()]
    with pd.option_context("display.width", 160, "display.max_columns", 20, "display.max_colwidth", 30):
        print(shown[["series", "date", "observed", "simulated", "low", "high", "tolerance", "fitted"]]
              .to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    judged = shown[shown["fitted"].notna()]
    print(f"{int(judged['fitted'].astype(bool).sum())} of {len(judged)} observations within tolerance "
          f"({args.seeds} seeds x {args.size:,} customers, {time.perf_counter() - start:.0f} s)")
    tag = "_".join(o.replace("=", "-").replace("/", "-") for o in args.overrides) or "defaults"
    if len(tag) > 80:                            # a folder name stays short; the hash keeps overrides apart
        tag = tag[:71] + "-" + hashlib.sha256(tag.encode()).hexdigest()[:8]
    path = args.out / tag / "observations.csv"
    atomic_write(path, lambda p: table.to_csv(p, index=False))
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
