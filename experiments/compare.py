"""Scenario versus baseline in one command, with paired replicates and a report for the board.

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
  timeseries.parquet, institutions.parquet   every run's tables, with scenario and replicate
  runs/                    the comparison's study (lab/study.py): each run stored as it finishes, so a
                           killed compare, given the same --out, resumes and runs only what is missing
                           (and --replicates 20 after 10 runs 10 more); runs on every core
  compare.json             what the folder compares (scenarios and their config hashes, overrides):
                           an --out that holds anything else is refused in one line
The report is written to .report-staging/ and moved into the folder when whole, report.md last.
The folder is the last line of output, as `experiments.run` prints its results folder.
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from lab.comparison import compare
from lab.compose import CONFIG_FAILURES, explain
from lab.errors import CommandError, Parser, command


@command
def main(argv: list[str] | None = None) -> int:
    parser = Parser(prog="python -m experiments.compare", description=__doc__,
                    formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("items", nargs="*", metavar="SCENARIO|KEY=VALUE",
                        help="scenario presets to compare with the baseline, and overrides applied to all")
    parser.add_argument("--replicates", type=int, default=10, help="paired replicates per scenario (default 10)")
    parser.add_argument("--baseline", default="baseline", help="the preset the others are compared with")
    parser.add_argument("--out", type=Path, help="report folder (default results/compare/<time>_<scenarios>)")
    args = parser.parse_intermixed_args(argv)
    logging.getLogger("MESA").setLevel(logging.WARNING)
    overrides = [a for a in args.items if "=" in a]
    scenarios = [a for a in args.items if "=" not in a]
    if args.replicates < 1:
        print(f"error: --replicates={args.replicates} is not allowed; expected an integer >= 1", file=sys.stderr)
        return 2
    if any(o.lstrip("+~").startswith("experiment=") for o in overrides):
        print("error: name presets as arguments (python -m experiments.compare no_ukey), not experiment=...",
              file=sys.stderr)
        return 2
    if not scenarios:
        print("error: name at least one scenario preset to compare with the baseline, e.g. no_ukey",
              file=sys.stderr)
        return 2
    try:
        folder, lines = compare(scenarios, args.replicates, overrides, args.baseline, args.out)
    except (*CONFIG_FAILURES, CommandError) as e:
        print(explain(e, overrides), file=sys.stderr)
        return 2
    print("\n".join(lines))
    print(folder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
