"""Calibration that says how sure it is: `python -m experiments.calibrate [configs/calibration/main.yaml]`.

Simulation-based inference (neural posterior estimation, `sbi`; lab/inference.py)
over the free parameters of a calibration file, against every target of
data/targets.csv the runs can produce, each with its standard error:
  1. simulations: parameter sets drawn uniformly from the prior box, one run each with its
     own seed, run as a study (lab/study.py: every core, resumable; a second call
     reuses what is stored), plus `held_out` more kept out of training as synthetic cases;
  2. training: one posterior p(parameters | standardized targets) for all target sets;
  3. for each target set (`seed`: seed 004's 2013 off-counter rate, `cba`: the
     association's): posterior draws, each parameter's median and 90 % interval;
  4. diagnostics: coverage of the known parameters of the held-out cases (does the 90 %
     interval hold the truth 90 % of the time?), posterior predictive runs through every
     target, and what the targets leave open (90 % predictive widths of the 2020 figures
     and of scenario effects, at the runs' end);
  5. outputs in results/calibration/<name>/ (report.md first).

`--write-preset` also writes configs/experiment/<preset>.yaml for each target set with its
best-fitting posterior draw: of `preset_screen` (500) draws run once each, the `preset_candidates`
(10) nearest to meeting every target's tolerance are run on `preset_seeds` (5) seeds of
`preset_population` (100,000) customers and the best seed mean is kept (preset_candidates.csv;
a committed preset is replaced only with --force). Runs draw whole parameter sets from the
posterior with `posterior=<name>`.

Needs the calibration extra (sbi, which brings torch): `make calibrate ARGS=...` installs it,
or `pip install -e ".[calibrate]"`; without it the command says so in one line.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lab.calibration import calibrate
from lab.compose import CONFIG_DIR, run_from_file
from lab.errors import Parser, command


@command
def main(argv: list[str] | None = None) -> int:
    parser = Parser(prog="python -m experiments.calibrate", description=__doc__,
                    formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("calibration", type=Path, nargs="?", default=CONFIG_DIR / "calibration" / "main.yaml",
                        help="calibration file (default configs/calibration/main.yaml)")
    parser.add_argument("--out", type=Path, default=Path("results/calibration"), help="folder for the results")
    parser.add_argument("--preset-dir", type=Path, default=CONFIG_DIR / "experiment")
    parser.add_argument("--write-preset", action="store_true",
                        help="write configs/experiment/<preset>.yaml with each target set's best-fitting posterior draw")
    parser.add_argument("--force", action="store_true", help="with --write-preset: replace a committed preset")
    args = parser.parse_args(argv)
    return run_from_file(args.calibration, "calibration",
                         lambda: calibrate(args.calibration, args.out, args.preset_dir, args.write_preset, args.force))


if __name__ == "__main__":
    sys.exit(main())
