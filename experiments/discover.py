"""Scenario discovery: under which of a study's parameters does an outcome hold?

  python -m experiments.discover FOLDER --outcome "<column> <op> <value>" [--at YYYY-MM] [--institution NAME]

FOLDER is a design's or sweep's dataset (results/designs/<name>, results/sweeps/<study>). Each run
(point x replicate) is a case; the outcome is a timeseries column, or with --institution an
institutions column of that institution, at --at (default: the last month), e.g.
  python -m experiments.discover results/designs/share_loss --institution large_state \\
      --outcome "customer_share < 0.40" --at 2020-12
PRIM (the EMA Workbench's) finds boxes of parameter ranges where the outcome holds far more often
than overall. Writes FOLDER/discover/ (a second question: FOLDER/discover/<question>/): cases.parquet,
boxes.csv (box, coverage, density, mass, parameter, low, high), tradeoff.png, box_<k>.png and
report.md. The last line printed is that folder. Needs the strategy extra: pip install -e ".[strategy]".
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lab.discovery import discover
from lab.errors import Parser, command


@command
def main(argv: list[str] | None = None) -> int:
    parser = Parser(prog="python -m experiments.discover", description=__doc__,
                    formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path, help="a design's or sweep's study folder")
    parser.add_argument("--outcome", required=True, help='"<column> <op> <value>", e.g. "customer_share < 0.4"')
    parser.add_argument("--at", help="the month the outcome is read at, YYYY-MM (default: the last)")
    parser.add_argument("--institution", help="read the outcome from the institutions table, for this institution")
    args = parser.parse_args(argv)
    print(discover(args.folder, args.outcome, args.at, args.institution))
    return 0


if __name__ == "__main__":
    sys.exit(main())
