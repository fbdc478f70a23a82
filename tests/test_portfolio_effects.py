"""Effects of the portfolio (multi-homing, secondary accounts) across seeds: direction and rough size."""
from __future__ import annotations

import functools

import numpy as np
import pytest

from tests.conftest import run_model

SEEDS = (1, 2, 3, 4)
SIZE = 15_000
REMOTE_FROM_START = "+regulation.scenario_events=[{date: '2013-01', set: {remote_account_opening: true}}]"
pytestmark = pytest.mark.slow


@functools.lru_cache(maxsize=None)
def tables(*overrides):
    runs = [run_model(*overrides, size=SIZE, seed=s).recorder for s in SEEDS]
    return [(r.timeseries().set_index("date"), r.institutions()) for r in runs]


def each(metric, *overrides):
    return np.array([metric(ts, inst) for ts, inst in tables(*overrides)])


def at(column, date):
    return lambda ts, inst: ts.loc[date, column]


def institution(name, column, date="2020-12"):
    def metric(ts, inst):
        return inst[(inst["institution"] == name) & (inst["date"] == date)][column].item()
    return metric


def test_multihoming_rises_over_time():
    early, middle, late = (each(at("multihoming_share", d)) for d in ("2014-12", "2016-12", "2018-12"))
    assert (early < middle).all() and (middle < late).all()
    assert late.mean() > early.mean() + 0.1


def test_removing_ukey_friction_raises_bank_app_use_more_than_wallet_use():
    base_app, base_wallet = each(at("users_mobile_m", "2018-12")), each(at("users_platform_m", "2018-12"))
    app, wallet = (each(at(c, "2018-12"), "experiment=no_ukey") for c in ("users_mobile_m", "users_platform_m"))
    assert (app > base_app).all()
    assert ((app - base_app) > (wallet - base_wallet)).all()


def test_functional_regulation_slows_wallet_growth_without_an_abrupt_fall_in_holders():
    growth = lambda ts, inst: ts.loc["2020-12", "holders_platform_m"] - ts.loc["2016-12", "holders_platform_m"]  # noqa: E731
    assert (each(growth, "experiment=functional_regulation") < each(growth)).all()
    for ts, _ in tables("experiment=functional_regulation"):
        holders = ts["holders_platform_m"].to_numpy()
        assert (np.diff(holders) >= 0).all()           # holders never fall: wallets lie dormant instead
        users = ts["users_platform_m"].to_numpy()
        assert (np.diff(users) / users[1:] > -0.05).all()   # no month loses more than 5 % of its users


def test_partnership_raises_the_partner_banks_secondary_accounts_and_the_platforms_users():
    base = each(institution("large_state", "secondary_accounts"))
    partner = each(institution("large_state", "secondary_accounts"), "experiment=partnership")
    assert (partner > base).sum() >= 3 and (partner - base).mean() > 0.03 * base.mean()   # a small effect: JD is small
    base_users = each(institution("jd_finance", "holders"))
    partner_users = each(institution("jd_finance", "holders"), "experiment=partnership")
    assert (partner_users > base_users).all()


def test_remote_opening_raises_secondary_accounts_and_keeps_primary_switching_in_range():
    base = each(at("secondary_accounts_m", "2015-12"))
    remote = each(at("secondary_accounts_m", "2015-12"), REMOTE_FROM_START)
    assert (remote > 1.3 * base).all()
    for ts, _ in tables():
        yearly_churn = ts["churn_rate"].groupby(ts.index.str[:4]).sum()
        assert yearly_churn.between(0.02, 0.08).all(), yearly_churn.to_dict()
        assert yearly_churn["2017"] < 1.5 * yearly_churn["2015"]      # no jump when remote opening starts (2016)
