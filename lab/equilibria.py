"""Equilibria of an estimated game (a payoff table over strategy profiles), and their regret.

The game is the table of mean payoffs, one entry a profile and player (lab/game.py). Its equilibria:
  pure         every profile checked by enumeration: no player gains by a unilateral deviation;
  two players  nashpy's support enumeration (MIT) for the mixed ones;
  three+       a documented alternative to Gambit (pygambit is GPL-2+ and has no wheel for CPython
               3.12 here, so it builds from source for minutes): Nash's regret function
               sum_p sum_a max(0, u_p(a, s_-p) - u_p(s))^2, zero exactly at the equilibria, minimised
               from seeded starts (scipy); the minima with regret below a tolerance are kept.
Every equilibrium's regret is then computed again by `table_regret`, which reads the long payoff
table row by row and shares no code with the solvers: the regret a result reports is never the
solver's own claim. An equilibrium of the estimated game is a 2ε-equilibrium of the true one when
every payoff is within ε of its estimate (Tuyls et al. 2020); the report gives the noise beside it.
"""
from __future__ import annotations

import itertools
import warnings

import numpy as np
import pandas as pd
from scipy import optimize

STARTS = 8                  # seeded starting points of the n-player search
TOLERANCE = 1e-6            # regret, as a share of the payoffs' range, below which a point is an equilibrium


def payoff_arrays(table: pd.DataFrame, players: dict[str, list[str]]) -> list[np.ndarray]:
    """u[p][i_1, ..., i_n]: player p's mean payoff in the profile of strategies i (from payoffs.csv rows)."""
    shape = tuple(len(s) for s in players.values())
    names = list(players)
    arrays = [np.full(shape, np.nan) for _ in names]
    index = {p: {s: i for i, s in enumerate(strategies)} for p, strategies in players.items()}
    for row in table.itertuples(index=False):
        r = row._asdict()
        at = tuple(index[p][r[f"strategy_{p}"]] for p in names)
        arrays[names.index(r["player"])][at] = r["payoff"]
    if any(np.isnan(a).any() for a in arrays):
        raise ValueError("the payoff table lacks a profile")
    return arrays


def _expected(u: np.ndarray, sigma: list[np.ndarray], skip: int | None = None) -> np.ndarray | float:
    """u contracted with every player's mixed strategy (but `skip`'s: then a vector over its strategies)."""
    out = u
    for p in reversed(range(len(sigma))):
        if p != skip:
            out = np.tensordot(out, sigma[p], axes=([p], [0]))
    return out


def regrets(u: list[np.ndarray], sigma: list[np.ndarray]) -> np.ndarray:
    """Each player's largest gain by a unilateral deviation from the mixed profile sigma."""
    return np.array([float(np.max(_expected(u[p], sigma, p)) - _expected(u[p], sigma)) for p in range(len(u))])


def pure_equilibria(u: list[np.ndarray], tol: float = 0.0) -> list[tuple[int, ...]]:
    """The profiles at which no player gains more than `tol` by deviating alone."""
    out = []
    for at in itertools.product(*(range(n) for n in u[0].shape)):
        gains = [u[p][at[:p] + (slice(None),) + at[p + 1:]].max() - u[p][at] for p in range(len(u))]
        if max(gains) <= tol:
            out.append(at)
    return out


def _two_player(u: list[np.ndarray]) -> list[list[np.ndarray]]:
    import nashpy
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")          # degenerate games: nashpy warns, and may miss some
        found = list(nashpy.Game(u[0], u[1]).support_enumeration())
    return [[np.asarray(a, float), np.asarray(b, float)] for a, b in found]


def _softmax(z: np.ndarray, sizes: list[int]) -> list[np.ndarray]:
    out, i = [], 0
    for n in sizes:
        e = np.exp(z[i:i + n] - z[i:i + n].max())
        out.append(e / e.sum())
        i += n
    return out


def _n_player(u: list[np.ndarray], seed: int) -> list[list[np.ndarray]]:
    sizes = list(u[0].shape)
    rng = np.random.default_rng(seed)

    def nash_function(z: np.ndarray) -> float:
        """Sum over players and strategies of the squared positive gain of a deviation."""
        sigma = _softmax(z, sizes)
        return float(sum(np.sum(np.maximum(0.0, _expected(u[p], sigma, p) - _expected(u[p], sigma)) ** 2)
                         for p in range(len(u))))
    out = []
    for _ in range(STARTS):
        z = optimize.minimize(nash_function, rng.normal(0, 2, sum(sizes)), method="L-BFGS-B",
                              options={"maxiter": 300, "ftol": 1e-14, "gtol": 1e-9}).x
        out.append(_polish(u, _softmax(z, sizes)))
    return out


def _polish(u: list[np.ndarray], sigma: list[np.ndarray]) -> list[np.ndarray]:
    """The exact equilibrium on the support of an approximate one: every strategy in a player's support
    earns the same against the others (the indifference equations, solved by scipy's root finder);
    sigma unchanged where that fails."""
    support = [np.flatnonzero(s > 1e-3) for s in sigma]
    sizes = [len(k) for k in support]

    def unpack(x: np.ndarray) -> list[np.ndarray]:
        """Full probability vectors from the support's entries."""
        out, i = [], 0
        for n, k, s in zip(sizes, support, sigma):
            full = np.zeros(len(s))
            full[k] = x[i:i + n]
            out.append(full)
            i += n
        return out

    def equations(x: np.ndarray) -> np.ndarray:
        """Indifference on each support, and probabilities summing to one."""
        mixed = unpack(x[:sum(sizes)])
        values = x[sum(sizes):]
        eq = [(_expected(u[p], mixed, p)[k] - values[p]) for p, k in enumerate(support)]
        return np.concatenate([*eq, [m.sum() - 1 for m in mixed]])
    start = np.concatenate([*(s[k] for s, k in zip(sigma, support)),
                            [float(_expected(u[p], sigma)) for p in range(len(u))]])
    x, _, converged, _ = optimize.fsolve(equations, start, full_output=True, xtol=1e-13)
    mixed = unpack(x[:sum(sizes)])
    if converged != 1 or any((m < -1e-9).any() for m in mixed):
        return sigma
    return [np.clip(m, 0, None) / np.clip(m, 0, None).sum() for m in mixed]


def _clean(sigma: list[np.ndarray]) -> list[np.ndarray]:
    """Probabilities below 1e-9 set to zero, renormalised."""
    out = []
    for s in sigma:
        s = np.where(s < 1e-9, 0.0, s)
        out.append(s / s.sum())
    return out


def equilibria(u: list[np.ndarray], seed: int = 0) -> list[list[np.ndarray]]:
    """The equilibria found, pure first, then mixed; each a list of per-player probability vectors.
    Mixed candidates are kept when each player's regret is below TOLERANCE of its payoffs' range (100 times
    that for the numerical n-player search); duplicates dropped."""
    scale = np.array([max(float(np.ptp(x)), 1e-12) for x in u])      # each player's payoffs' range
    found = []
    for at in pure_equilibria(u):
        found.append([np.eye(n)[i] for n, i in zip(u[0].shape, at)])
    mixed = _two_player(u) if len(u) == 2 else _n_player(u, seed)
    tol = TOLERANCE * scale * (1 if len(u) == 2 else 100)     # the n-player search is numerical
    for sigma in mixed:
        sigma = _clean(sigma)
        if (regrets(u, sigma) > tol).any():
            continue
        if not any(all(np.abs(a - b).max() < 1e-3 for a, b in zip(sigma, f)) for f in found):
            found.append(sigma)
    return found


def table_regret(payoffs: pd.DataFrame, mixed: dict[str, dict[str, float]]) -> dict[str, tuple[float, float]]:
    """{player: (expected payoff, regret)} of the mixed profile `mixed` ({player: {strategy: probability}}),
    computed from payoffs.csv's rows alone (long format: strategy_<p> columns, player, payoff)."""
    players = list(mixed)
    out = {}
    for p in players:
        rows = payoffs[payoffs["player"] == p]
        others = np.ones(len(rows))
        for q in players:
            if q != p:
                others = others * rows[f"strategy_{q}"].map(mixed[q]).fillna(0.0).to_numpy()
        own = rows[f"strategy_{p}"].map(mixed[p]).fillna(0.0).to_numpy()
        value = float(np.sum(own * others * rows["payoff"].to_numpy()))
        by_strategy = pd.Series(others * rows["payoff"].to_numpy()).groupby(rows[f"strategy_{p}"].to_numpy()).sum()
        out[p] = (value, max(0.0, float(by_strategy.max()) - value))
    return out
