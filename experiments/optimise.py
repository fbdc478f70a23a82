"""What should one bank (or platform) do? `python -m experiments.optimise NAME [KEY=VALUE ...] [--out FOLDER]`.

NAME is a file in configs/optimise/ (e.g. joint_stock_growth); every key in it can be overridden
as KEY=VALUE (`trials=80`, `uncertainty.replicates=3`, `levers.deposit_rate_premium=[0,1]`,
`model.population.size=20000`). It searches the player's levers for the strategies that do best
on the objectives, robust over the uncertainty grid (posterior draws x scenarios x replicate
streams, the same for every candidate), with the rivals answering as the model config makes them.
The status quo is always a candidate. Writes results/optimise/<name>[_<override tag>]/:
  evaluations.parquet   one row per candidate x draw x scenario x replicate: levers and objectives
  candidates.csv        one row per candidate: levers, each objective with its 95 % interval
  pareto.csv            the non-dominated candidates, with their out-of-sample values and a flag
  pareto.png            the front, the status quo marked
  report.html           the recommended strategies against the status quo, how each rival answered
Running it again runs nothing new; raising `trials` extends the same study; a killed run resumes.
Needs the strategy extra: pip install -e ".[strategy]". The last line is the folder.
"""
from __future__ import annotations

import sys
from pathlib import Path

from lab.errors import command
from lab.strategy_config import named_file_command
from lab.optimise import optimise


@command
def main(argv: list[str] | None = None) -> int:
    return named_file_command("python -m experiments.optimise", __doc__, "optimise", "joint_stock_growth",
                              Path("results/optimise"), optimise, argv)


if __name__ == "__main__":
    sys.exit(main())
