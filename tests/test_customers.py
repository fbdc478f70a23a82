"""Customer mechanics: ties, initial state, learning, reconsidering, the logit choice, transactions
(the portfolio and balances: tests/test_portfolio.py)."""
from __future__ import annotations

import numpy as np
import pytest

from sim.engine import kernels
from sim.customers import N_SEGMENTS, Customers, Menu
from sim.engine.channels import BRANCH, MOBILE, PC, PLATFORM
from sim.engine.ties import homophilous_ties
from tests.conftest import EVERYONE_HAS_A_SMARTPHONE, make_config


def population(*overrides, size=20000, seed=0):
    cfg = make_config(*overrides, size=size)
    rng = np.random.default_rng(seed)
    banks = list(cfg.banks.values())
    cust = Customers(cfg, np.array([b.initial_share for b in banks]),
                     np.array([b.initial_awareness for b in banks]),
                     np.array([p.initial_awareness for p in cfg.platforms.values()]), rng)
    return cfg, cust, rng


def menu_for(cust, utility, available=None):
    """Two banks x (branch, pc, mobile) + platforms, with given common utilities and no other terms."""
    nb, npl = cust.n_banks, cust.n_platforms
    bank = np.r_[np.repeat(np.arange(nb), 3), -np.ones(npl, int)]
    platform = np.r_[-np.ones(3 * nb, int), np.arange(npl)]
    channel = np.r_[np.tile([BRANCH, PC, MOBILE], nb), np.full(npl, PLATFORM)]
    j = bank.size
    return Menu(bank=bank, platform=platform, channel=channel, provider=np.where(bank >= 0, bank, nb + platform),
                category=np.where(channel == PLATFORM, PLATFORM + platform, channel),
                available=np.ones(j, bool) if available is None else available,
                utility=np.asarray(utility, float), literacy_weight=np.zeros(j), branch_presence=np.zeros(j),
                yield_term=np.zeros(j), bank_switch_cost=0.0, opening_extra=np.zeros(j), leave_cost=np.zeros(nb),
                platform_switch_cost=0.0, platform_partner=-np.ones(npl, int), partnership_discount=0.0)


def neutral(*extra):
    return ("customers.tie_weight=0", "customers.habit=0", "customers.age_branch_preference=[0,0,0,0]",
            "customers.reconsider_prob_by_age=[1,1,1,1]", *EVERYONE_HAS_A_SMARTPHONE, *extra)


def test_ties_are_homophilous_and_never_self():
    rng = np.random.default_rng(1)
    segment = rng.integers(0, 8, 50000)
    ties = homophilous_ties(segment, 6, 0.8, rng)
    assert ties.shape == (50000, 6) and ties.dtype == np.int32
    assert not (ties == np.arange(50000)[:, None]).any()
    same = (segment[ties] == segment[:, None]).mean()
    assert same == pytest.approx(0.8 + 0.2 / 8, abs=0.01)


def test_initial_state_follows_config():
    cfg, cust, _ = population(size=40000)
    shares = np.bincount(cust.channel, minlength=4) / cust.size
    expected = [cfg.population.initial_channel_shares[c] for c in ("branch", "pc", "mobile", "platform")]
    assert np.allclose(shares, expected, atol=0.002)
    bank_shares = np.bincount(cust.bank, minlength=cust.n_banks) / cust.size
    assert np.allclose(bank_shares, [b.initial_share for b in cfg.banks.values()], atol=0.01)
    # the most literate start on digital channels
    assert cust.literacy0[cust.channel == MOBILE].mean() > cust.literacy0[cust.channel == BRANCH].mean() + 0.2
    assert cust.aware[cust.bank, np.arange(cust.size)].all()


def test_customers_are_stored_in_segment_order_with_their_bounds():
    _, cust, _ = population(size=10007)
    assert (np.diff(cust.segment) >= 0).all()
    bounds = cust.segment_bounds
    assert bounds[0] == 0 and bounds[-1] == cust.size and bounds.size == N_SEGMENTS + 1
    for s in range(N_SEGMENTS):
        assert (cust.segment[bounds[s]:bounds[s + 1]] == s).all()


def test_learning_happens_at_each_segments_probability():
    """Unaware customers learn of provider k with prob[k, segment], whatever the word alignment of
    the segment ranges; certain and impossible events are exact; nobody forgets."""
    _, cust, rng = population(size=10007)
    n_providers = cust.aware.shape[0]
    prob = np.tile([0.0, 0.01, 0.05, 0.2, 0.5, 0.9, 1.0, 0.03], (n_providers, 1))
    prob[1] = 0.3
    unaware, learned = np.zeros(prob.shape), np.zeros(prob.shape)
    for _ in range(60):
        cust.aware[:] = rng.random(cust.aware.shape) < 0.4
        before = cust.aware.copy()
        cust.update_awareness(prob, rng)
        assert cust.aware[before].all()
        for s in range(N_SEGMENTS):
            lo, hi = cust.segment_bounds[s], cust.segment_bounds[s + 1]
            was_unaware = ~before[:, lo:hi]
            unaware[:, s] += was_unaware.sum(axis=1)
            learned[:, s] += (cust.aware[:, lo:hi] & was_unaware).sum(axis=1)
    rate = learned / unaware
    assert (rate[prob == 0] == 0).all() and (rate[prob == 1] == 1).all()
    se = np.sqrt(prob * (1 - prob) / unaware)
    inside = (prob > 0) & (prob < 1)
    assert (np.abs(rate - prob)[inside] < 4.5 * se[inside]).all()


def test_reconsidering_happens_at_each_age_bands_probability():
    _, cust, rng = population(size=20011)
    prob_by_age = np.array([0.5, 0.2, 0.03, 0.0])
    picked = np.zeros(4)
    for _ in range(40):
        who = kernels.draw_reconsidering(cust.arrays, prob_by_age, rng)
        assert (np.diff(who) > 0).all()                 # each customer at most once, in index order
        picked += np.bincount(cust.age[who], minlength=4)
    size = 40 * np.bincount(cust.age, minlength=4)
    assert picked[3] == 0
    se = np.sqrt(prob_by_age * (1 - prob_by_age) / size)
    assert (np.abs(picked / size - prob_by_age)[:3] < 4.5 * se[:3]).all()


def test_logit_choice_matches_closed_form_probabilities():
    _, cust, rng = population(*neutral())
    cust.aware[:] = True
    utility = np.zeros(4 * 3 + 3)
    utility[[1, 2, 12]] = [1.0, 2.0, 0.5]
    out = cust.reconsider(menu_for(cust, utility), 0.0, rng)
    assert out.reconsidered == cust.size
    expected = np.exp(utility) / np.exp(utility).sum()
    by_channel = [expected[0::3][:4].sum(), expected[1:12:3].sum(), expected[2:12:3].sum(), expected[12:].sum()]
    observed = np.bincount(cust.channel, minlength=4) / cust.size
    assert np.allclose(observed, by_channel, atol=0.01)


def test_unaware_and_unavailable_alternatives_are_never_chosen():
    _, cust, rng = population(*neutral())
    cust.aware[cust.n_banks:] = False                    # nobody knows a platform
    available = np.ones(15, bool)
    available[1] = False                                 # bank 0 has no PC channel this month
    utility = np.zeros(15)
    utility[[1, 12]] = 10.0
    cust.reconsider(menu_for(cust, utility, available), 0.0, rng)
    assert not (cust.channel == PLATFORM).any()
    assert not ((cust.bank == 0) & (cust.channel == PC)).any()


def test_switching_cost_and_habit_keep_customers_where_they_are():
    churn = []
    for cost in (0.0, 2.0, 5.0):
        _, cust, rng = population(*neutral(), size=10000)
        cust.aware[:] = True
        before = cust.bank.copy()
        menu = menu_for(cust, np.zeros(15))._replace(bank_switch_cost=cost)
        cust.reconsider(menu, 0.0, rng)
        churn.append((cust.bank != before).mean())
    assert churn[0] > churn[1] > churn[2]
    assert churn[0] == pytest.approx(12 / 15 * 3 / 4, abs=0.02)   # 12 of 15 options are bank channels, 3/4 elsewhere
    assert churn[2] < 0.05


def test_partnership_discount_lowers_cost_into_the_partner_bank_only():
    _, cust, rng = population(*neutral(), size=20000)
    cust.aware[:] = True
    cust.platform[:] = 0
    cust.bank[:] = 3
    menu = menu_for(cust, np.r_[np.zeros(12), -50 * np.ones(3)])._replace(
        bank_switch_cost=3.0, platform_partner=np.array([0, -1, -1]), partnership_discount=1.0)
    cust.reconsider(menu, 0.0, rng)
    moved = np.bincount(cust.bank, minlength=4)
    assert moved[0] > 5 * max(moved[1], moved[2], 1)


