"""A game's payoffs as tables: profiles named, payoffs by cell, paired deviation gains, payoffs.csv.

Shared by the game's progressive sampling (lab/game.py) and its report (lab/game_report.py). A `game` here
is anything with `players` (each with `name` and `strategies`) and `profiles()`, as lab.game.Game.
"""
from __future__ import annotations

import pandas as pd

from lab import evaluation


def profile_name(profile: tuple[str, ...]) -> str:
    """A profile as one name, its strategies joined by '/' in the players' order."""
    return "/".join(profile)


def payoff_table(game, evals: pd.DataFrame) -> pd.DataFrame:
    """payoffs.csv: one row per profile and player: strategy_<player> columns, player, payoff, low, high, runs."""
    rows = []
    for profile in game.profiles():
        part = evals[evals["candidate"] == profile_name(profile)]
        for player in game.players:
            mean, low, high = evaluation.t_interval(part[player.name].to_numpy())
            rows.append({**{f"strategy_{p.name}": s for p, s in zip(game.players, profile)}, "player": player.name,
                         "payoff": mean, "low": low, "high": high, "runs": len(part)})
    return pd.DataFrame(rows)


def by_cell(game, evals: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """{player: its payoff with one row a cell and one column a profile}, for paired comparisons."""
    return {p.name: evals.pivot_table(index=evaluation.CELL, columns="candidate", values=p.name, aggfunc="first")
            for p in game.players}


def deviation_gain(game, cells: dict[str, pd.DataFrame], profile: tuple, player: int, strategy: str):
    """(mean, low, high) of what `player` gains by switching to `strategy` from `profile`, paired by the cells
    both profiles ran (`cells` from `by_cell`)."""
    other = profile[:player] + (strategy,) + profile[player + 1:]
    wide = cells[game.players[player].name]
    diff = (wide[profile_name(other)] - wide[profile_name(profile)]).dropna()
    return evaluation.t_interval(diff.to_numpy())
