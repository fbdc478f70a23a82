"""Accounts at banks other than the primary one, and their apps (sim/engine/portfolio.py, step 3).

A bank's registered app users are its primary customers' and those of customers who keep
another account there (`banks.*.account_reach`) and registered its app
(`customers.other_app_adoption_rate`); such apps are rarely used (`other_app_activity`).
"""
from __future__ import annotations

import numpy as np
import pytest

from lab.compose import load_config
from sim.config import ConfigError
from sim.market import MarketModel
from tests.invariants import run_checking_invariants

SMALL = ["banks=named", "population.size=6000", "figures=false"]


def _run(*overrides: str, seed: int = 1):
    model = MarketModel(load_config([*SMALL, *overrides, f"seed={seed}"])).run()
    return model.recorder.timeseries(), model.recorder.institutions()


def _at(inst, bank: str, month: str, column: str) -> float:
    rows = inst[(inst["institution"] == bank) & (inst["date"].astype(str).str[:7] == month)]
    return float(rows[column].iloc[0])


def test_invariants_hold_every_month_with_other_accounts():
    run_checking_invariants(MarketModel(load_config([*SMALL, "end=2016-12", "seed=3"])))


def test_account_holders_start_at_the_reach_share_of_adults():
    cfg = load_config([*SMALL, "end=2013-01", "population.size=20000", "seed=2"])
    model = MarketModel(cfg).run()
    inst = model.recorder.institutions()
    adults = cfg.population.represents_adults / 1e6
    for bank in ("icbc", "boc", "citic"):
        reach = cfg.banks[bank].account_reach
        share = _at(inst, bank, "2013-01", "account_holders") / adults
        assert share == pytest.approx(reach, abs=4 * np.sqrt(reach * (1 - reach) / 20000) + 0.005), bank
    remainder = _at(inst, "other_rural_commercial", "2013-01", "account_holders")
    assert remainder == pytest.approx(_at(inst, "other_rural_commercial", "2013-01", "customers"), rel=0.02)


def test_other_banks_apps_raise_a_banks_registered_users_not_the_adults_with_an_app():
    with_, without = [], []
    for seed in (1, 2, 3):
        ts, inst = _run(seed=seed)
        ts0, inst0 = _run("customers.other_app_adoption_rate=0", seed=seed)
        with_.append((_at(inst, "icbc", "2017-06", "holders"), ts["holders_mobile_m"].iloc[53]))
        without.append((_at(inst0, "icbc", "2017-06", "holders"), ts0["holders_mobile_m"].iloc[53]))
    (icbc, adults), (icbc0, adults0) = np.mean(with_, axis=0), np.mean(without, axis=0)
    assert icbc > 3 * icbc0 and icbc > 150          # ICBC's primary customers alone give ~45 M
    assert adults == pytest.approx(adults0, rel=0.05)


def test_other_apps_are_used_at_their_activity_rate_and_count_as_the_banks_active_users():
    for activity in (0.0, 0.3):
        model = MarketModel(load_config([*SMALL, "end=2018-12", "seed=4", f"customers.other_app_activity={activity}"])).run()
        last = model.customers.tally().portfolio
        held, used = last.other_app_holders.sum(), last.other_app_users.sum()
        assert held > 1000
        assert used / held == pytest.approx(activity, abs=4 * np.sqrt(0.25 / held))
        inst = model.recorder.institutions()
        icbc = list(model.cfg.banks).index("icbc")
        primary_users = last.users[1, icbc] * model.adults_per_customer / 1e6
        assert _at(inst, "icbc", "2018-12", "active_users") == pytest.approx(
            primary_users + last.other_app_users[icbc] * model.adults_per_customer / 1e6)


@pytest.mark.parametrize("override, key", [
    ("banks.icbc.account_reach=0.05", "banks.icbc.account_reach"),      # below its initial share
    ("banks.icbc.account_reach=1.5", "banks.icbc.account_reach"),
    ("customers.other_app_adoption_rate=-0.1", "customers.other_app_adoption_rate"),
    ("customers.other_app_activity=2", "customers.other_app_activity"),
])
def test_bad_values_name_the_key(override, key):
    with pytest.raises(ConfigError) as err:
        load_config(["banks=named", override])
    assert key in str(err.value)
