"""`experiments.game` at tiny sizes, and the equilibrium solvers on games whose answers are known
(lab/game.py, lab/equilibria.py). Every equilibrium's regret is checked here by a third computation:
a loop over payoffs.csv's profiles that shares no code with the solvers or with table_regret."""
from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("nashpy")

from experiments import game as command  # noqa: E402
from lab import equilibria  # noqa: E402

TINY = ["model.population.size=1000", "model.end=2014-06", "backend=serial", "uncertainty.replicates=2",
        "players={joint_stock: {payoff: {column: profit, sum: [2014-01, 2014-06]}, strategies: {status_quo: {}, "
        "price_push: {deposit_rate_premium: 0.6}}}, alipay: {payoff: {column: user_share, at: 2014-06}, "
        "strategies: {status_quo: {}, subsidy_push: {subsidy_bn: 30}}}}", "focal=joint_stock"]


def independent_regret(payoffs: pd.DataFrame, mixed: dict[str, dict[str, float]]) -> dict[str, float]:
    """Each player's largest gain by a unilateral deviation, by brute force over the table's profiles."""
    players = list(mixed)
    table = {(tuple(r[f"strategy_{p}"] for p in players), r["player"]): r["payoff"] for _, r in payoffs.iterrows()}

    def value(player: str, fixed: dict[str, str]) -> float:
        total = 0.0
        for profile in itertools.product(*(list(mixed[p]) for p in players)):
            weight = 1.0
            for p, s in zip(players, profile):
                weight *= (1.0 if fixed[p] == s else 0.0) if p in fixed else mixed[p][s]
            total += weight * table[(profile, player)]
        return total
    return {p: max(value(p, {p: s}) for s in mixed[p]) - value(p, {}) for p in players}


def mixed_of(found: pd.DataFrame) -> dict[int, dict[str, dict[str, float]]]:
    out: dict = {}
    for r in found.itertuples():
        out.setdefault(r.equilibrium, {}).setdefault(r.player, {})[r.strategy] = r.probability
    return out


@pytest.mark.slow
def test_game_equilibria_have_regret_within_noise_of_the_payoff_table(tmp_path, capsys):
    assert command.main(["banks_vs_alipay", *TINY, "refine={runs: 4, step: 1}", "--out", str(tmp_path)]) == 0
    folder = Path(capsys.readouterr().out.strip().splitlines()[-1])
    payoffs = pd.read_csv(folder / "payoffs.csv")
    assert list(payoffs.columns) == ["strategy_joint_stock", "strategy_alipay", "player", "payoff", "low", "high",
                                     "runs"]
    assert len(payoffs) == 4 * 2 and (payoffs["runs"] >= 2).all() and payoffs["runs"].sum() <= 2 * (4 * 2 + 4)
    found = pd.read_csv(folder / "equilibria.csv")
    assert list(found.columns) == ["equilibrium", "player", "strategy", "probability", "payoff", "regret"]
    assert len(found) and np.allclose(found.groupby(["equilibrium", "player"])["probability"].sum(), 1.0)
    noise = ((payoffs["high"] - payoffs["low"]) / 2).groupby(payoffs["player"]).max()
    for number, mixed in mixed_of(found).items():
        regret = independent_regret(payoffs, mixed)
        for player, r in regret.items():
            assert r <= noise[player] + 1e-9
            assert found[(found["equilibrium"] == number) & (found["player"] == player)]["regret"].iloc[0] == \
                pytest.approx(r, abs=1e-9)
    options = {"joint_stock": ("status_quo", "price_push"), "alipay": ("status_quo", "subsidy_push")}
    pure = [p for p in itertools.product(*options.values())
            if max(independent_regret(payoffs, {q: {s: float(s == chosen) for s in options[q]}
                                                for q, chosen in zip(options, p)}).values()) <= 0]
    reported = {tuple(m[p] and max(m[p], key=m[p].get) for p in ("joint_stock", "alipay"))
                for m in mixed_of(found).values() if all(max(v.values()) == 1.0 for v in m.values())}
    assert set(pure) == reported                   # every pure equilibrium, and only those
    page = (folder / "report.html").read_text()
    assert "How far the status quo is from an equilibrium" in page and "Best responses of joint_stock" in page
    runs = sum(1 for _ in (folder / "runs").glob("part-*.parquet"))
    assert command.main(["banks_vs_alipay", *TINY, "refine={runs: 4, step: 1}", "--out", str(tmp_path)]) == 0
    assert sum(1 for _ in (folder / "runs").glob("part-*.parquet")) == runs        # nothing ran again


def test_two_player_solver_finds_the_known_equilibria():
    pennies = np.array([[1.0, -1.0], [-1.0, 1.0]])
    found = equilibria.equilibria([pennies, -pennies])
    assert len(found) == 1 and np.allclose(found[0][0], [0.5, 0.5]) and np.allclose(found[0][1], [0.5, 0.5])
    coordination = np.array([[2.0, 0.0], [0.0, 1.0]])       # two pure equilibria and a mixed one (1/3, 2/3)
    found = equilibria.equilibria([coordination, coordination])
    assert len(found) == 3
    assert any(np.allclose(f[0], [1 / 3, 2 / 3]) and np.allclose(f[1], [1 / 3, 2 / 3]) for f in found)


@pytest.mark.slow
def test_n_player_solver_returns_equilibria_whose_table_regret_is_zero():
    """Random 3-player games: every equilibrium returned has (independently computed) regret near zero, and
    the pure ones are exactly the brute-force pure equilibria."""
    rng = np.random.default_rng(5)
    strategies = {"a": ["x", "y"], "b": ["x", "y"], "c": ["x", "y", "z"]}
    for _ in range(3):
        u = [rng.normal(size=(2, 2, 3)) for _ in range(3)]
        rows = [{**{f"strategy_{p}": strategies[p][i] for p, i in zip(strategies, at)}, "player": p,
                 "payoff": float(u[k][at])} for at in itertools.product(range(2), range(2), range(3))
                for k, p in enumerate(strategies)]
        table = pd.DataFrame(rows)
        found = equilibria.equilibria(equilibria.payoff_arrays(table, strategies), seed=1)
        assert found
        for sigma in found:
            mixed = {p: dict(zip(s, map(float, probs))) for (p, s), probs in zip(strategies.items(), sigma)}
            assert max(independent_regret(table, mixed).values()) <= 1e-4 * max(np.ptp(x) for x in u)
            assert max(r for _, r in equilibria.table_regret(table, mixed).values()) == \
                pytest.approx(max(independent_regret(table, mixed).values()), abs=1e-9)
        brute = {at for at in itertools.product(range(2), range(2), range(3))
                 if all(u[k][at] >= max(u[k][at[:k] + (j,) + at[k + 1:]] for j in range(u[k].shape[k]))
                        for k in range(3))}
        pure = {tuple(int(np.argmax(s)) for s in sigma) for sigma in found if all(s.max() == 1.0 for s in sigma)}
        assert pure == brute


def test_progressive_sampling_picks_only_the_profiles_the_noise_leaves_open():
    """Two players, two strategies. Row player: b beats a by 1 everywhere except against column y, where they
    tie within noise; column player: y beats x by 1 for sure. The profiles whose status is open are (a, y)
    and (b, y), and only those."""
    from types import SimpleNamespace

    from lab import game as game_module
    players = [SimpleNamespace(name="row", strategies={"a": {}, "b": {}}),
               SimpleNamespace(name="col", strategies={"x": {}, "y": {}})]
    fake = SimpleNamespace(players=players, profiles=lambda: [("a", "x"), ("a", "y"), ("b", "x"), ("b", "y")])
    noise = [0.3, -0.3, 0.2]
    rows = []
    for profile in fake.profiles():
        for stream, e in enumerate(noise):
            row = {"a": 0.0, "b": 1.0}[profile[0]] if profile[1] == "x" else {"a": 0.0, "b": e}[profile[0]]
            col = {"x": 0.0, "y": 1.0}[profile[1]]
            rows.append({"candidate": "/".join(profile), "scenario": "baseline", "draw": 0, "stream": stream,
                         "row": row, "col": col})
    open_ = game_module.unsettled(fake, pd.DataFrame(rows))
    assert set(open_) == {("a", "y"), ("b", "y")}
