"""What `experiments.game` writes: payoffs.csv, equilibria.csv and report.html.

  payoffs.csv     one row per profile and player: strategy_<player> for every player, then player,
                  payoff (mean over the profile's cells), low, high (95 % t interval), runs
  equilibria.csv  one row per equilibrium, player and strategy: equilibrium, player, strategy,
                  probability, payoff, regret; payoff and regret recomputed from payoffs.csv's rows
                  alone (lab.equilibria.table_regret), not taken from the solver
  report.html     which profiles are equilibria (or within the payoffs' noise of one), how far the
                  status quo profile is from one, and the focal player's best response to each
                  profile of its rivals
"""
from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from lab import equilibria as eq
from lab.payoffs import by_cell, deviation_gain, profile_name
from lab.report import Report
from sim.writers.files import atomic_write


def equilibrium_rows(game, payoffs: pd.DataFrame) -> pd.DataFrame:
    """equilibria.csv from the payoff table: every equilibrium found, its payoffs and regret per player."""
    strategies = game.strategies
    found = eq.equilibria(eq.payoff_arrays(payoffs, strategies), game.seed)
    rows = []
    for number, sigma in enumerate(found, 1):
        mixed = {p: dict(zip(s, map(float, probs))) for (p, s), probs in zip(strategies.items(), sigma)}
        checked = eq.table_regret(payoffs, mixed)
        for p, s in strategies.items():
            for name in s:
                rows.append({"equilibrium": number, "player": p, "strategy": name, "probability": mixed[p][name],
                             "payoff": checked[p][0], "regret": checked[p][1]})
    return pd.DataFrame(rows, columns=["equilibrium", "player", "strategy", "probability", "payoff", "regret"])


def profile_status(game, evals: pd.DataFrame, payoffs: pd.DataFrame) -> pd.DataFrame:
    """Each pure profile: its regret (from the table), the largest paired deviation gain with its interval, and
    whether it is an equilibrium, within the payoffs' noise of one (no deviation gains beyond its 95 %
    interval), or not."""
    rows, cells = [], by_cell(game, evals)
    for profile in game.profiles():
        mixed = {p.name: {s: float(s == chosen) for s in p.strategies} for p, chosen in zip(game.players, profile)}
        regret = max(r for _, r in eq.table_regret(payoffs, mixed).values())
        gains = [(p.name, s, deviation_gain(game, cells, profile, i, s)) for i, p in enumerate(game.players)
                 for s in p.strategies if s != profile[i]]
        surely = any(g[2][1] > 0 for g in gains)
        player, strategy, (gain, low, high) = max(gains, key=lambda g: g[2][1] if surely else g[2][0])
        status = ("equilibrium" if regret <= 0 else "not an equilibrium" if surely or np.isnan(low)
                  else "within noise of an equilibrium")
        rows.append({"profile": profile_name(profile), "regret": regret, "best deviation": f"{player} -> {strategy}",
                     "its gain [95 % interval]": _ci(gain, low, high), "status": status})
    return pd.DataFrame(rows)


def best_responses(game, evals: pd.DataFrame, payoffs: pd.DataFrame) -> pd.DataFrame:
    """The focal player's best strategy against each profile of the others, and by how much it beats the next."""
    focal = [p.name for p in game.players].index(game.focal)
    others = [p for p in game.players if p.name != game.focal]
    rows, cells = [], by_cell(game, evals)
    for rival in itertools.product(*(list(p.strategies) for p in others)):
        where = np.ones(len(payoffs), dtype=bool)
        for p, s in zip(others, rival):
            where &= (payoffs[f"strategy_{p.name}"] == s).to_numpy()
        mine = payoffs[where & (payoffs["player"] == game.focal).to_numpy()].sort_values("payoff", ascending=False)
        best, second = mine.iloc[0], mine.iloc[1]
        profile = tuple(rival[:focal]) + (second[f"strategy_{game.focal}"],) + tuple(rival[focal:])
        gain = deviation_gain(game, cells, profile, focal, best[f"strategy_{game.focal}"])
        rows.append({**{p.name: s for p, s in zip(others, rival)}, f"best response of {game.focal}":
                     best[f"strategy_{game.focal}"], "payoff": f"{best['payoff']:,.4g}",
                     "over the next best [95 % interval]": _ci(*gain),
                     "settled": "yes" if gain[1] > 0 else "no: within noise"})
    return pd.DataFrame(rows)


def _ci(mean: float, low: float, high: float) -> str:
    if np.isnan(mean):
        return ""
    return f"{mean:+,.4g}" + ("" if np.isnan(low) else f" [{low:+,.4g}, {high:+,.4g}]")


def report(game, evals: pd.DataFrame, payoffs: pd.DataFrame, equilibria: pd.DataFrame) -> Report:
    """The page: equilibria, every profile's status, the status quo's distance, the focal best responses."""
    u = game.uncertainty
    page = Report(f"Game '{game.name}': {', '.join(p.name for p in game.players)}")
    payoffs_text = "; ".join(f"{p.name}: {p.payoff.describe()}" for p in game.players)
    page.text(f"Players and payoffs: {payoffs_text}. Strategies: "
              + "; ".join(f"{p.name}: {', '.join(f'{s} {v or {}}' for s, v in p.strategies.items())}"
                          for p in game.players)
              + f". Every profile ran on the same grid: scenarios {list(u.scenarios)}, "
              + (f"{u.draws} draw(s) of posterior '{u.posterior}', " if u.posterior else "")
              + f"{u.replicates} replicate stream(s) at first"
              + (f", more where the noise left an equilibrium unsettled (up to {game.refine_runs} extra runs)"
                 if game.refine_runs else "") + ".")
    page.heading("Equilibria")
    page.text("Each equilibrium of the estimated game (the table of mean payoffs), pure and mixed; payoff and regret "
              "(what the player gains at most by a unilateral deviation) recomputed from payoffs.csv. An equilibrium "
              "of the estimated game is a 2ε-equilibrium of the true one, ε the payoffs' error.")
    shown = equilibria[equilibria["probability"] > 0]
    page.table(shown.assign(probability=shown["probability"].map(lambda v: f"{v:.3f}"),
                            payoff=shown["payoff"].map(lambda v: f"{v:,.4g}"),
                            regret=shown["regret"].map(lambda v: f"{v:.3g}")))
    status = profile_status(game, evals, payoffs)
    page.heading("Every profile")
    page.table(status.assign(regret=status["regret"].map(lambda v: f"{v:,.4g}")))
    sq = status[status["profile"] == profile_name(game.status_quo())].iloc[0]
    page.heading("How far the status quo is from an equilibrium")
    page.text(f"The status quo profile {sq['profile']} is {sq['status']}: its regret is {sq['regret']:,.4g} (the most "
              f"one player gains by changing alone: {sq['best deviation']}, {sq['its gain [95 % interval]']}).")
    page.heading(f"Best responses of {game.focal}")
    page.table(best_responses(game, evals, payoffs))
    page.heading("What this cannot tell")
    page.text("Only the strategies listed are compared: an equilibrium here may not be one once other strategies are "
              "allowed. Payoffs are the model's (docs/model.md), with the non-players answering by their rules "
              "(sim/competition.py). A profile within noise of an equilibrium needs more replicates to say more.")
    return page


def write(game, evals: pd.DataFrame, payoffs: pd.DataFrame) -> None:
    """Write payoffs.csv, equilibria.csv and report.html, each file whole."""
    folder = game.folder
    atomic_write(folder / "payoffs.csv", lambda p: payoffs.to_csv(p, index=False))
    found = equilibrium_rows(game, payoffs)
    atomic_write(folder / "equilibria.csv", lambda p: found.to_csv(p, index=False))
    page = report(game, evals, payoffs, found)
    atomic_write(folder / "report.html", lambda p: p.write_text(page.html()))
