"""Scenario effects: direction and rough size, across several seeds."""
from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest

from tests.conftest import run_model

pytestmark = pytest.mark.slow            # every check here runs several seeds: over 5 s each

SEEDS = (1, 2, 3, 4)
SIZE = 20_000


@functools.lru_cache(maxsize=None)
def tables(*overrides):
    """Each seed's (timeseries, institutions), run once per worker: the baseline and a scenario serve
    several checks and several metrics (the same seeds give the same tables, so sharing changes no number)."""
    runs = [run_model(*overrides, size=SIZE, seed=seed).recorder for seed in SEEDS]
    return tuple((r.timeseries(), r.institutions()) for r in runs)


def outcome(metric, *overrides):
    return np.array([metric(ts, inst) for ts, inst in tables(*overrides)])


def last(column):
    return lambda ts, inst: ts[column].iloc[-1]


def bank_share(name):
    def metric(ts, inst):
        return inst[(inst["institution"] == name) & (inst["step"] == inst["step"].max())]["share"].item()
    return metric


def test_removing_ukey_friction_raises_bank_app_use_more_than_wallets():
    base = outcome(last("users_mobile_m"))
    no_ukey = outcome(last("users_mobile_m"), "experiment=no_ukey")
    wallets, wallets_no_ukey = outcome(last("users_platform_m")), outcome(last("users_platform_m"), "experiment=no_ukey")
    assert (no_ukey > base).all()
    assert (no_ukey / base).mean() > 1.05                      # about a tenth more monthly app users
    assert (no_ukey / base).mean() - 1 > abs((wallets_no_ukey / wallets).mean() - 1) + 0.03


def test_functional_regulation_slows_platform_growth():
    def growth_since_2017(ts, inst):
        return ts["share_platform"].iloc[-1] - ts.loc[ts["date"] == "2016-12", "share_platform"].item()
    base = outcome(growth_since_2017)
    functional = outcome(growth_since_2017, "experiment=functional_regulation")
    assert (functional < base).all()
    assert (base - functional).mean() > 0.03


def test_higher_switching_cost_lowers_churn():
    churn = lambda ts, inst: ts["churn_rate"].mean()   # noqa: E731
    low = outcome(churn, "switching_cost.scale=0.5")
    mid = outcome(churn)
    high = outcome(churn, "switching_cost.scale=2")
    assert (low > mid).all() and (mid > high).all()
    assert low.mean() > 1.5 * mid.mean()


def test_more_marketing_raises_share_with_diminishing_returns():
    budgets = (10, 20, 30, 40)
    shares = np.array([outcome(bank_share("joint_stock"), f"banks.joint_stock.strategy.marketing_budget_bn={b}")
                       for b in budgets])                       # (budget, seed)
    gains = np.diff(shares.mean(axis=1))                        # each step adds RMB 10 bn a year
    assert (gains > 0).all(), shares.mean(axis=1)
    assert gains[0] > gains[-1] * 1.2, gains


@pytest.mark.parametrize("experiment, check", [
    ("branch_closure", lambda base, s: s["large_state"] < base["large_state"]),
    ("partnership", lambda base, s: s["jd_finance"] > base["jd_finance"]),
    ("direct_bank", lambda base, s: s["direct"] > 0.005),
])
def test_strategy_presets_move_shares_the_expected_way(experiment, check):
    def mean_final_shares(*overrides):
        final = pd.concat(inst[inst["step"] == inst["step"].max()] for _, inst in tables(*overrides))
        return final.groupby("institution")["share"].mean()
    base = mean_final_shares()
    scen = mean_final_shares(f"experiment={experiment}")
    assert check(base, scen), (base, scen)
