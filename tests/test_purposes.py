"""Transactions by purpose (sim/engine/purposes.py) and their draw (kernels.draw_transactions)."""
from __future__ import annotations

import numpy as np
import pytest

from sim.engine import kernels
from sim.engine.channels import BRANCH, MOBILE, PC, PLATFORM
from sim.engine.purposes import holding_key, purpose_tables
from sim.engine.records import Trading, Transactions
from tests.conftest import make_config

NOTHING, PC_ONLY = holding_key(False, False, False), holding_key(True, False, False)
EVERYTHING = holding_key(True, True, True)


def tables(*overrides, maturity=0.5):
    return purpose_tables(make_config(*overrides).transactions, maturity)


def test_a_customer_holding_nothing_digital_pays_small_amounts_in_cash_and_banks_at_the_branch():
    t = tables()
    cfg = make_config().transactions
    counts = t.count[NOTHING, BRANCH, 0]
    assert counts[[PC, MOBILE, PLATFORM]].sum() == 0
    served = sum(p.monthly_count * (1 + p.maturity_growth * 0.5) for p in cfg.purposes.values()
                 if p.fit["branch"] is not None)
    assert counts[BRANCH] == pytest.approx(served * cfg.age_count_factor[0])
    assert t.most_used[NOTHING, BRANCH] == BRANCH


def test_every_purpose_is_fully_allocated_over_the_channels_held():
    cfg = make_config().transactions
    t = tables()
    total = sum(p.monthly_count * (1 + p.maturity_growth * 0.5) for p in cfg.purposes.values())
    for preferred in range(4):
        assert t.count[EVERYTHING, preferred, 1].sum() == pytest.approx(total * cfg.age_count_factor[1])


def test_mobile_tickets_are_smaller_than_pc_tickets_because_of_what_each_is_used_for():
    t = tables()
    for preferred in (PC, MOBILE):
        count, value = t.count[EVERYTHING, preferred, 1], t.value[EVERYTHING, preferred, 1]
        assert value[MOBILE] / count[MOBILE] * 3 < value[PC] / count[PC]
    # with one ticket for every purpose, the gap disappears: it is not a constant per channel
    flat = [f"transactions.purposes.{p}.ticket_rmb=1000" for p in
            ("small_payment", "transfer_bill", "wealth_product", "cash_service")]
    t = tables(*flat)
    count, value = t.count[EVERYTHING, MOBILE, 1], t.value[EVERYTHING, MOBILE, 1]
    assert value[MOBILE] / count[MOBILE] == pytest.approx(value[PC] / count[PC])


def test_the_preferred_channel_gets_more_and_maturity_moves_business_to_the_phone():
    t = tables()
    assert t.count[EVERYTHING, MOBILE, 1, MOBILE] > t.count[EVERYTHING, PC, 1, MOBILE]
    early, late = tables(maturity=0.0), tables(maturity=1.0)
    share = lambda tb: tb.count[EVERYTHING, PC, 1, MOBILE] / tb.count[EVERYTHING, PC, 1].sum()  # noqa: E731
    assert share(late) > share(early)


def test_most_used_channel_is_the_one_with_most_expected_transactions():
    t = tables()
    for key in range(8):
        for preferred in range(4):
            counts = t.count[key, preferred].sum(axis=0)
            assert counts[t.most_used[key, preferred]] == pytest.approx(counts.max())


def test_use_probabilities_follow_poisson_counts():
    t = tables()
    assert t.used[PC_ONLY, PC, 2, PC] == pytest.approx(1 - np.exp(-t.count[PC_ONLY, PC, 2, PC]))
    assert (t.app_pays <= t.used[..., MOBILE] + 1e-12).all()


def test_draws_are_poisson_around_the_expected_split_by_self_service_and_fund_share():
    rng = np.random.default_rng(4)
    expected = np.array([[1000.0, 400.0, 300.0, 500.0], [10.0, 0.0, 5.0, 0.0]])
    worth = expected * np.array([3000.0, 9000.0, 500.0, 150.0])
    draws = [kernels.draw_transactions(rng, Transactions(counts=expected, values=worth),
                                       Trading(self_service=np.array([0.25, 1.0]), wallet_fund_share=0.4))
             for _ in range(400)]
    counts = np.mean([d.counts for d in draws], axis=0)
    assert counts[0] == pytest.approx([750, 250, 400, 300, 300], rel=0.02)
    assert counts[1, 0] == 0 and counts[1, 1] == pytest.approx(10, rel=0.1) and counts[1, 4] == 0
    values, drawn = draws[0].values, draws[0].counts
    assert values[0, 2] == pytest.approx(drawn[0, 2] * 9000.0)
    assert np.var([d.counts[0, 3] for d in draws]) == pytest.approx(300, rel=0.3)


def test_an_outside_option_takes_its_logit_share_of_a_purpose_and_makes_no_bank_transaction():
    key = "transactions.purposes.small_payment"
    base, cash = tables(), tables(f"{key}.outside_fit=1.0")
    app_only = holding_key(False, True, False)
    cfg = make_config().transactions.purposes["small_payment"]
    per_adult = cfg.monthly_count * (1 + cfg.maturity_growth * 0.5) * make_config().transactions.age_count_factor[0]
    # an app holder preferring the app: the app's small payments shrink by the outside option's logit share
    app_fit = cfg.fit["mobile"] + make_config().transactions.maturity_fit * 0.5 + \
        make_config().transactions.preferred_bonus
    share = np.exp(app_fit) / (np.exp(app_fit) + np.exp(1.0))
    lost = base.count[app_only, MOBILE, 0, MOBILE] - cash.count[app_only, MOBILE, 0, MOBILE]
    assert lost == pytest.approx(per_adult * (1 - share))
    assert (cash.app_pays <= base.app_pays + 1e-12).all() and (cash.app_pays < base.app_pays).any()
    # a purpose without the option is untouched, and no held channel means cash as before
    assert cash.count[NOTHING, BRANCH, 0, BRANCH] == pytest.approx(base.count[NOTHING, BRANCH, 0, BRANCH])
    with pytest.raises(Exception, match=r"outside_fit"):
        make_config(f"{key}.outside_fit=.nan")
