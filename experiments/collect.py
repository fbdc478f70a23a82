"""Summarise a stored study: `python -m experiments.collect results/sweeps/<study>`.

A study's runs are already one Parquet dataset (lab/dataset.py): every run's tables
are streamed into <study>/timeseries/ and <study>/institutions/ as it finishes, and the runs
table into <study>/runs/. This command tidies and summarises it, as the end of every study
does: it removes parts a crash left uncommitted, and rewrites
  runs.csv      one row per run (config hash and replicate): status (complete or failed),
                error, model seconds, the swept values
  columns.csv   unit and meaning of every column; swept keys with their config key
  study.json    what was swept, and how many runs are complete and failed
Parts found unreadable (truncated, overwritten) are moved to <study>/damaged/ and listed;
their runs count as not done, so running the study again re-runs them.
Swept config keys are columns with '.' as '_' (switching_cost.scale -> switching_cost_scale), so
pandas `query` and DuckDB take them unquoted.
Query with pandas (`pd.read_parquet("<study>/timeseries")`), DuckDB
(`SELECT ... FROM '<study>/timeseries/*.parquet'`) or `lab.dataset.load`.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lab import dataset
from lab.collection import collect, summary
from lab.errors import CommandError, Parser, command


@command
def main(argv: list[str] | None = None) -> int:
    parser = Parser(prog="python -m experiments.collect", description=__doc__,
                    formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("study", type=Path, help="a study folder, e.g. results/sweeps/<study>")
    args = parser.parse_args(argv)
    if not dataset.is_study(args.study):
        raise CommandError(f"error: no study at {args.study} (no runs/ or study.json)")
    collect(args.study)
    print(summary(args.study), file=sys.stderr)
    print(args.study)
    return 0


if __name__ == "__main__":
    sys.exit(main())
