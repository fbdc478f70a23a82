"""The portfolio pass (sim/engine/portfolio.py): adoption, use, secondary accounts and savings, tested on
the compiled kernel with hand-made menus, so that each rule is seen alone."""
from __future__ import annotations

import numpy as np
import pytest

from sim.engine.channels import BRANCH, FIRST_WALLET, MOBILE, PLATFORM
from sim.engine.portfolio import portfolio_month
from sim.engine.purposes import purpose_tables
from tests.test_customers import menu_for, neutral, population


def month(cust, menu, rng, years=0.0, mmf_yield=(4.0, 3.0, 2.0), limit=None, secondary_cost=0.0,
          onboarding=0.0, bank_partner=None, tables=None, **terms):
    """One portfolio pass over `cust` with `menu` (and the config's purpose tables at maturity 0.5 unless
    given); `terms` override fields of PortfolioTerms. Returns the PortfolioTally."""
    t = cust.portfolio_terms(years, np.asarray(mmf_yield, float), np.full(cust.n_banks, 0.35), limit,
                             secondary_cost, onboarding,
                             np.full(cust.n_banks, -1) if bank_partner is None else np.asarray(bank_partner))
    t = t._replace(**{k: (np.asarray(v, float) if isinstance(v, (list, tuple)) else v) for k, v in terms.items()})
    tables = purpose_tables(cust.cfg.transactions, 0.5) if tables is None else tables
    return portfolio_month(rng, cust.arrays, t, tables, menu).tally


def wallet_bit(p):
    return np.uint8(1 << (FIRST_WALLET + p))


def clean(cust, channel=BRANCH):
    """Everyone at the counter (or on `channel` of platform 0), knowing every provider, holding nothing."""
    cust.channel[:] = channel
    cust.platform[:] = 0 if channel == PLATFORM else -1
    cust.holds[:] = wallet_bit(0) if channel == PLATFORM else 0
    cust.aware[:] = True
    cust.secondary[:] = -1
    cust.funds[:] = 0.0


def test_adoption_happens_at_the_rate_times_the_odds_of_beating_the_counter():
    _, cust, rng = population(*neutral(), size=40000)
    clean(cust)
    n_alt = 3 * cust.n_banks + cust.n_platforms
    branch = (np.arange(n_alt) % 3 == 0) & (np.arange(n_alt) < 3 * cust.n_banks)
    menu = menu_for(cust, np.where(branch, 0.0, 50.0))     # digital far above the counter
    tally = month(cust, menu, rng, adoption_rate=(0.1, 0.2, 0.3), adoption_threshold=0.0, secondary_rate=0.0)
    n = cust.size
    assert tally.adoptions[0] / n == pytest.approx(0.1, abs=0.006)
    assert tally.adoptions[1] / n == pytest.approx(0.2, abs=0.008)
    assert tally.adoptions[2:] / n == pytest.approx(np.full(cust.n_platforms, 0.3), abs=0.01)
    # at even odds with the counter the hazard halves
    clean(cust)
    tally = month(cust, menu_for(cust, np.zeros(n_alt)), rng, adoption_rate=(0.1, 0.2, 0.3),
                  adoption_threshold=0.0, secondary_rate=0.0)
    assert tally.adoptions[1] / n == pytest.approx(0.1, abs=0.008)
    # a threshold of one util: odds 1 / (1 + e)
    clean(cust)
    tally = month(cust, menu_for(cust, np.zeros(n_alt)), rng, adoption_rate=(0.1, 0.2, 0.3),
                  adoption_threshold=1.0, secondary_rate=0.0)
    assert tally.adoptions[1] / n == pytest.approx(0.2 / (1 + np.e), abs=0.008)


def test_only_open_alternatives_of_known_providers_are_adopted():
    _, cust, rng = population(*neutral(), size=20000)
    clean(cust)
    n_alt = 3 * cust.n_banks + cust.n_platforms
    available = np.ones(n_alt, bool)
    available[3 * cust.n_banks + 1] = False               # platform 1 not launched
    cust.aware[cust.n_banks + 2] = False                  # nobody knows platform 2
    menu = menu_for(cust, np.where(np.arange(n_alt) < 3 * cust.n_banks, 0.0, 50.0), available)
    tally = month(cust, menu, rng, adoption_rate=(0.5, 0.5, 0.5), secondary_rate=0.0)
    assert tally.adoptions[FIRST_WALLET + 0] > 0.4 * cust.size
    assert tally.adoptions[FIRST_WALLET + 1] == 0 and tally.adoptions[FIRST_WALLET + 2] == 0


def test_held_channels_are_used_at_the_chance_of_at_least_one_transaction():
    _, cust, rng = population(size=40000)
    clean(cust, channel=PLATFORM)                          # preferred: platform 0's wallet
    cust.holds[:] |= np.uint8(0b10)                        # everyone also holds the bank's app
    n_alt = 3 * cust.n_banks + cust.n_platforms
    tables = purpose_tables(cust.cfg.transactions, 0.5)
    key = 0b110                                            # app and a wallet
    tally = month(cust, menu_for(cust, np.zeros(n_alt)), rng, adoption_rate=(0.0, 0.0, 0.0), secondary_rate=0.0,
                  tables=tables)
    expected = {name: (tables.used[key, PLATFORM, cust.age, channel]).sum()
                for name, channel in (("app", MOBILE), ("wallet", 3))}
    assert tally.users[1].sum() == pytest.approx(expected["app"], rel=0.02)
    assert tally.users[FIRST_WALLET].sum() == pytest.approx(expected["wallet"], rel=0.02)
    assert tally.wallet_users == tally.users[FIRST_WALLET].sum()
    assert ((cust.active & ~cust.holds) == 0).all()
    paying = tables.app_pays[key, PLATFORM, cust.age]
    wallet = tables.used[key, PLATFORM, cust.age, 3]
    assert tally.mobile_payers == pytest.approx((1 - (1 - paying) * (1 - wallet)).sum(), rel=0.02)
    # the most-used channel of the month is the table's, by segment and bank
    assert tally.most_used_channel.sum() == cust.size
    assert tally.most_used_channel[tables.most_used[key, PLATFORM]].sum() == cust.size


def test_balances_split_by_fund_weight_respect_the_limit_and_conserve_wealth():
    _, cust, rng = population(size=20000)
    clean(cust)
    half = cust.size // 2
    cust.holds[:half] = wallet_bit(0) | wallet_bit(1)
    n_alt = 3 * cust.n_banks + cust.n_platforms
    menu = menu_for(cust, np.zeros(n_alt))
    for _ in range(24):
        tally = month(cust, menu, rng, adoption_rate=(0.0, 0.0, 0.0), secondary_rate=0.0,
                      fund_weight=(3.0, 1.0, 1.0), limit=20000.0, dormant_factor=1.0)
        cust.grow_wealth()
    funds = cust.funds
    assert (funds >= 0).all() and funds.max() <= 20000.0 + 1e-6
    assert funds[half:].sum() == 0 and funds[:half, 2].sum() == 0
    unlimited = funds[:half].max(axis=1) < 19000
    assert np.median(funds[:half][unlimited, 0] / funds[:half][unlimited, 1]) == pytest.approx(3.0, rel=0.01)
    assert (cust.deposits >= 0).all()
    assert tally.deposits.sum() + tally.funds.sum() == pytest.approx(cust.wealth.sum(), rel=1e-9)


def test_secondary_accounts_open_more_cheaply_and_more_at_a_partner_inside_its_wallet():
    _, cust, rng = population(size=40000)
    opened = {}
    for label, cost, partner in (("cheap", 0.0, None), ("dear", 3.0, None), ("partner", 3.0, [0, -1, -1, -1])):
        clean(cust)
        cust.bank[:] = 1
        cust.holds[:] = np.uint8(0b10) | wallet_bit(0)
        n_alt = 3 * cust.n_banks + cust.n_platforms
        tally = month(cust, menu_for(cust, np.zeros(n_alt)), rng, adoption_rate=(0.0, 0.0, 0.0),
                      secondary_rate=0.5, secondary_cost=cost, bank_partner=partner, partnership_discount=1.0)
        opened[label] = tally.secondary
        assert tally.secondary[1] == 0                     # never at one's own primary bank
    assert opened["cheap"].sum() > 2 * opened["dear"].sum()
    assert opened["partner"][0] > 5 * opened["dear"][0]
    others = [2, 3]                                        # the partner draws from the other banks (logit)
    assert opened["partner"][others].sum() < opened["dear"][others].sum()
