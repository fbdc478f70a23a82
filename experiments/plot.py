"""Figures from a stored sweep; never re-runs the model.

  python -m experiments.plot SWEEP fan --metric share_mobile
      mean and 90 % band across replicates over time, a line per swept combination
  python -m experiments.plot SWEEP heatmap --metric share_platform --x KEY --y KEY --date 2020-12
      the replicate mean at one month over two swept parameters
  python -m experiments.plot SWEEP diff --metric share_mobile --key experiment --baseline baseline
      each scenario minus the baseline, paired by replicate, with a 95 % confidence interval
  python -m experiments.plot SWEEP institutions --measure customer_share
      who gains: one panel per bank and platform, mean and 90 % band, a line per swept combination
  python -m experiments.plot SWEEP all
      fan charts of the main metrics, institutions, plus a heatmap and differences where the sweep allows

Swept keys may be given as config keys (switching_cost.scale) or as their columns
(switching_cost_scale). Shares are drawn in percent, labels and units come from the
column schema, policy changes are dotted lines, and panels meant to be compared share
their axes.

SWEEP is a study folder (results/sweeps/<study>); its dataset is read (lab/dataset.py:
committed runs only, each once). Figures go to SWEEP/figures/.
Damaged tables and impossible requests get one line and exit 2.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lab import dataset
from lab.errors import Parser, command
from lab.study_plots import INSTITUTION_MEASURES, PlotError, diff, everything, fan, heatmap, institutions


@command
def main(argv: list[str] | None = None) -> int:
    parser = Parser(prog="python -m experiments.plot", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sweep", type=Path, help="sweep folder, e.g. results/sweeps/<study>")
    sub = parser.add_subparsers(dest="kind", required=True)
    p = sub.add_parser("fan", help="mean and 90 %% band over time")
    p.add_argument("--metric", default="share_mobile")
    p = sub.add_parser("heatmap", help="a metric at one month over two swept parameters")
    p.add_argument("--metric", default="share_platform")
    p.add_argument("--x", required=True)
    p.add_argument("--y", required=True)
    p.add_argument("--date", required=True, help="YYYY-MM")
    p = sub.add_parser("diff", help="scenario minus baseline with 95 %% CI")
    p.add_argument("--metric", default="share_mobile")
    p.add_argument("--key", default="experiment")
    p.add_argument("--baseline", default="baseline")
    p = sub.add_parser("institutions", help="who gains: a measure per bank and platform")
    p.add_argument("--measure", default="customer_share", help=f"one of {', '.join(INSTITUTION_MEASURES)}")
    sub.add_parser("all", help="the main figures")
    args = parser.parse_args(argv)
    if not dataset.is_study(args.sweep):
        raise PlotError(f"no study at {args.sweep} (no runs/ or study.json; run a sweep with -m first)")
    if args.kind == "fan":
        paths = [fan(args.sweep, args.metric)]
    elif args.kind == "heatmap":
        paths = [heatmap(args.sweep, args.metric, args.x, args.y, args.date)]
    elif args.kind == "institutions":
        paths = [institutions(args.sweep, args.measure)]
    elif args.kind == "diff":
        paths = [diff(args.sweep, args.metric, args.key, args.baseline)]
    else:
        paths = everything(args.sweep)
    for path in paths:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
