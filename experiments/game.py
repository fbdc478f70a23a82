"""Is a strategy still right once rivals answer? `python -m experiments.game NAME [KEY=VALUE ...] [--out FOLDER]`.

NAME is a file in configs/game/ (e.g. banks_vs_alipay): players (institutions), each with 2-5
named strategies (lever settings, {} the status quo) and a payoff read from the institutions
table; every key can be overridden as KEY=VALUE (`uncertainty.replicates=5`,
`players.alipay.strategies.subsidy_cut.subsidy_bn=1`, `model.population.size=20000`). Every
profile is simulated on the same grid (common random numbers); where the payoffs are too noisy to
settle an equilibrium, replicates are added to the profiles that decide it, within `refine.runs`.
Writes results/game/<name>[_<override tag>]/:
  payoffs.csv      one row per profile and player: strategy_<player>..., player, payoff, low, high, runs
  equilibria.csv   one row per equilibrium, player and strategy: probability, payoff, regret
  report.html      the equilibria, how far the status quo is from one, the focal player's best responses
Running it again runs nothing new; a killed run resumes. Needs the strategy extra:
pip install -e ".[strategy]". The last line is the folder.
"""
from __future__ import annotations

import sys
from pathlib import Path

from lab.errors import command
from lab.strategy_config import named_file_command
from lab.game import run_game


@command
def main(argv: list[str] | None = None) -> int:
    return named_file_command("python -m experiments.game", __doc__, "game", "banks_vs_alipay", Path("results/game"),
                              run_game, argv)


if __name__ == "__main__":
    sys.exit(main())
