"""Validation report: `python -m experiments.validate [--replicates 10] [--size 20000] [--out DIR]`.

Writes DIR/report.md (default results/validation/) with figures and tables:
  1. Bass reduction: with only marketing (Bass p) and fully mixed word of mouth (Bass q)
     on, and adoption on awareness, adoption of a new channel against the Bass closed
     form and against its discrete-time (monthly) recursion, at 100,000 customers.
  2. Stylized facts from the seeds, each an effect (scenario minus baseline, paired by
     replicate) with a 95 % confidence interval across replicates.
  3. Out-of-sample behaviour: the calibrated baseline run past the last target year
     (2018) to 2025, its level and trend stated, with no later data used.
The test suite runs the fast parts (tests/test_validate.py).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lab.compose import load_config
from lab.errors import CommandError, Parser, command
from lab.validation import report


@command
def main(argv: list[str] | None = None) -> int:
    parser = Parser(prog="python -m experiments.validate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--replicates", type=int, default=10)
    parser.add_argument("--size", type=int, default=20_000)
    parser.add_argument("--out", type=Path, default=Path("results/validation"))
    args = parser.parse_args(argv)
    if args.replicates < 2 or args.size < 100:
        raise CommandError("error: --replicates must be >= 2 and --size >= 100")
    load_config([f"population.size={args.size}"])       # refuse a size this machine cannot hold, first
    print(report(args.out, args.replicates, args.size))
    return 0


if __name__ == "__main__":
    sys.exit(main())
