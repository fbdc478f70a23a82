"""Designs beyond the grid: `python -m experiments.design configs/design/<name>.yaml [--jobs N]`.

A design file names parameter ranges, a method and the outputs to study:
  lhs     Latin hypercube over the ranges (scipy.stats.qmc); index = Spearman rank
          correlation of each output with each parameter
  morris  Morris elementary effects (SALib); indices mu*, sigma with confidence
  sobol   Sobol first-order and total indices (SALib, Saltelli sampling)
Every design point runs `replicates` replicates (common random numbers across points)
and each output is its replicate mean at `date`. The runs are a study (lab/study.py)
stored in results/designs/<name>/ as one dataset (timeseries/, institutions/, runs/), so a
design that is run again, or stopped and restarted, runs only what is missing. From that
dataset it writes points.parquet (one row per point and replicate), indices.csv and
indices.png.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lab.compose import run_from_file
from lab.designs import run_design
from lab.errors import Parser, command


def jobs(text: str) -> int:
    """--jobs: a whole number of processes, at least 1 (-1, the default, is every core)."""
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1 and n != -1:
        raise argparse.ArgumentTypeError(f"--jobs={text} is not allowed; expected an integer >= 1")
    return n


@command
def main(argv: list[str] | None = None) -> int:
    parser = Parser(prog="python -m experiments.design", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("design", type=Path, help="a design file, e.g. configs/design/morris_levers.yaml")
    parser.add_argument("--jobs", type=jobs, default=-1, help="parallel processes, 1 or more (default: every core)")
    parser.add_argument("--out", type=Path, default=Path("results/designs"), help="where design folders go")
    args = parser.parse_args(argv)
    return run_from_file(args.design, "design", lambda: run_design(args.design, args.jobs, args.out))


if __name__ == "__main__":
    sys.exit(main())
