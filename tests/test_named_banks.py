"""`banks=named`: the banks the seeds name, as a disaggregation of `banks=four_groups`.

The named roster must compose and validate like the command line composes it, carry the
seeds' figures, add up per group to four_groups.yaml (so it is the same market), and run.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from lab.compose import load_config
from sim.config import BANK_GROUPS, ConfigError, month_index, month_label
from sim.market import MarketModel

NAMED = {  # key -> group (seed 004's maturity matrix)
    "icbc": "large_state", "ccb": "large_state", "abc": "large_state", "boc": "large_state",
    "other_large_state": "large_state",
    "cmb": "joint_stock", "citic": "joint_stock", "minsheng": "joint_stock", "other_joint_stock": "joint_stock",
    "jiangsu": "city_commercial", "bank_of_beijing": "city_commercial", "other_city_commercial": "city_commercial",
    "other_rural_commercial": "rural_commercial",
}
# The named roster splits each group exactly: the `other_*` remainders absorb every rounding,
# so sums may differ from four_groups.yaml only by floating-point addition (1e-9 is far below
# the smallest value written there, 0.0044). Branches are integers and must match exactly.
SUM_TOL = 1e-9
# Share-weighted mean app quality and the chance of considering some bank of the group are
# kept at the group's value with the remainder's value rounded to 3 decimals; a rounding of at
# most 0.0005 moves them by less than 0.0005, so 0.001 passes it and fails a real change (0.01).
MEAN_TOL = 1e-3


@pytest.fixture(scope="module")
def named():
    return load_config(["banks=named", "experiment=baseline"])


@pytest.fixture(scope="module")
def groups():
    return load_config(["banks=four_groups", "experiment=baseline"]).banks


def _members(named, group):
    return [b for b in named.banks.values() if b.group == group]


def test_named_roster_composes_with_every_seed_named_bank_and_a_remainder_per_group(named):
    assert set(named.banks) == set(NAMED)
    for key, bank in named.banks.items():
        assert bank.group == NAMED[key] and bank.group in BANK_GROUPS
        assert bank.label and bank.label != key
    assert "ICBC" in named.banks["icbc"].label and "Merchants" in named.banks["cmb"].label
    assert math.isclose(sum(b.initial_share for b in named.banks.values()), 1.0, abs_tol=1e-12)


def test_seed_figures(named):
    icbc = named.banks["icbc"]
    assert icbc.branches == 16000                         # seed 002: 16,000 physical branches
    # 550 M customers of any kind (seed 002) are not 550 / 1,100 of primary accounts: the share
    # assumes 1 in 5 of them bank primarily with ICBC, and must stay well below half
    assert icbc.initial_share == pytest.approx(550 / 5 / 1100)
    assert icbc.initial_share < 550 / 1100 / 2
    # seed 001: ICBC leads in customers; seed 004: CMB and CITIC are digital pioneers, BOC
    # e-channels substitute 93.99 % of branch business, above its group
    largest = max((b for k, b in named.banks.items() if not k.startswith("other_")), key=lambda b: b.initial_share)
    assert largest is icbc
    for key, group in (("cmb", "joint_stock"), ("citic", "joint_stock"), ("boc", "large_state"),
                       ("icbc", "large_state")):
        others = named.banks[f"other_{group}"]
        assert named.banks[key].app_quality > others.app_quality


@pytest.mark.parametrize("group", ["large_state", "joint_stock", "city_commercial", "rural_commercial"])
def test_each_group_adds_up_to_four_groups(named, groups, group):
    members, whole = _members(named, group), groups[group]
    assert sum(b.branches for b in members) == whole.branches
    for total, expected in [
        (sum(b.initial_share for b in members), whole.initial_share),
        (sum(b.it_cost_bn for b in members), whole.it_cost_bn),
        (sum(b.strategy.marketing_budget_bn for b in members), whole.strategy.marketing_budget_bn),
        (sum(b.strategy.digital_investment_bn for b in members), whole.strategy.digital_investment_bn),
    ]:
        assert total == pytest.approx(expected, abs=SUM_TOL)
    share = sum(b.initial_share for b in members)
    mean_app = sum(b.initial_share * b.app_quality for b in members) / share
    assert mean_app == pytest.approx(whole.app_quality, abs=MEAN_TOL)
    # a customer considers at least one bank of the group as often as the single group
    considers_any = 1 - np.prod([1 - b.initial_awareness for b in members])
    assert considers_any == pytest.approx(whole.initial_awareness, abs=MEAN_TOL)
    for f in ("deposit_rate", "lending_spread", "branch_cost_m", "self_service_share"):
        assert {getattr(b, f) for b in members} == {getattr(whole, f)}, f
    assert {b.strategy.smart_upgrade_rate for b in members} == {whole.strategy.smart_upgrade_rate}


def test_named_shares_are_checked_like_any_roster():
    with pytest.raises(ConfigError) as err:
        load_config(["banks=named", "banks.icbc.initial_share=0.2"])
    assert err.value.key == "banks.*.initial_share"


def test_a_small_run_reports_every_named_bank_every_month():
    cfg = load_config(["banks=named", "experiment=baseline", "population.size=3000", "seed=5",
                       "end=2014-12", "figures=false"])
    model = MarketModel(cfg).run()
    table = model.recorder.institutions()
    banks = table[table["kind"] == "bank"]
    months = [month_label(m) for m in range(month_index(cfg.start), month_index(cfg.end) + 1)]
    assert len(months) == 24
    assert sorted(banks["institution"].unique()) == sorted(NAMED)
    for key, rows in banks.groupby("institution"):
        assert list(rows["date"]) == months, key                  # one row per month, in order
        assert set(rows["group"]) == {NAMED[key]} and set(rows["label"]) == {cfg.banks[key].label}
        assert rows["share"].between(0, 1).all(), key
    by_month = banks.groupby("date")["share"].sum()
    assert list(by_month.index) == months
    np.testing.assert_allclose(by_month.to_numpy(), 1.0, atol=1e-9)
    # after one month each bank holds about its starting share (3,000 draws: sd <= 0.008)
    first = banks[banks["date"] == months[0]].set_index("institution")["share"]
    for key, bank in cfg.banks.items():
        assert first[key] == pytest.approx(bank.initial_share, abs=0.035), key
    assert (first > 0).all()
