"""The customer's portfolio: what it holds besides its preferred channel, what it uses, where its savings sit.

Real customers multi-home (domain.md, "How customers really behave"): they keep a
primary bank, may use its PC banking *and* its app, hold several platform wallets, open a
secondary (Class II) account at another bank, and keep money-fund balances at the
platforms whose wallets they hold. The preferred channel and primary bank
(`kernels.choose`) are one choice; this module is everything else a customer does in a
month, customer by customer, in this order:

1. **Adoption.** Each channel or wallet not held (PC banking and the app of the primary
   bank, each platform's wallet) is adopted with a monthly hazard
   `customers.adoption_rate[kind]` times the chance that it beats the counter in a binary
   logit: the same utility terms as the preferred-channel choice (`kernels.menu_terms`:
   constant, literacy, smartphone maturity, app quality, U-key friction, marketing,
   subsidies, yield, ties) against the customer's branch utility (branch presence, age's
   branch preference) plus `customers.adoption_threshold`. A wallet also costs its
   onboarding (`switching_cost.platform`, plus KYC friction under compliance). Only open
   providers the customer knows of can be adopted. What is adopted stays held
   (registered users); it may lie dormant.
2. **Secondary account.** A customer with a digital channel and no secondary account
   opens one with hazard `customers.secondary_account_rate` times the logit chance that
   another bank's app beats its own less the opening cost (`switching_cost.secondary_account`,
   plus `branch_visit_to_open` while remote opening is not allowed); inside a partner
   platform's wallet the cost is cut by `switching_cost.partnership_discount`.
3. **Other banks' apps.** A customer with a smartphone may register the app of another bank
   it has an account at (a dormant card, a secondary account, a former primary bank:
   `records.CustomerArrays.accounts`): with hazard `customers.other_app_adoption_rate`, one
   such bank at random, with the odds that its app beats the customer's counter (the terms
   of step 1 without ties and without the threshold). This lets a bank's registered app
   users outnumber its primary customers, as they do: ICBC Mobile had 267 M registered
   customers in mid-2017 (seed 001), half of ICBC's 550 M customers (seed 002). Such an app is used in
   a month with chance `customers.other_app_activity`; it counts in that bank's app holders
   and active users, and its transactions stay with the primary bank's channels.
4. **Use.** The customer's month of transactions by purpose is split over what it holds
   (`sim/engine/purposes.py`); a held channel is used if it gets at least one of them (Poisson
   counts), a wallet user has paid by phone, and so has an app user with a payment among
   its app transactions. The channel with the most transactions is the most-used channel of
   the month.
5. **Savings.** A wallet holder's money-fund target is a share of its wealth that rises
   with the best fund spread over its deposit rate (`market.mmf_*`), split over the
   wallets it holds by each fund's `fund_weight`, cut by `mmf_dormant_factor` for a wallet
   not used this month, and capped by the purchase limit. Balances move a share of the
   gap each month. The rest is deposits: `market.secondary_deposit_share` of them at the
   secondary bank, the remainder at the primary bank. Changing platform moves no balance.

Every draw comes from the model's generator. Those who consider adopting an item or
opening an account are found by geometric skips and thinned by their odds, and each
held item's use is one uniform, so the pass is exact in distribution and reproducible
from the seed.
"""
from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np

from sim.engine.candidates import ADOPT, OTHER_APP, SECONDARY, Candidates, draw_candidates, no_candidates
from sim.engine.channels import (BRANCH, FIRST_WALLET, MOBILE, MOBILE_ITEM, N_CHANNELS, PC, PC_ITEM, PLATFORM,
                                 bank_alternative, item_alternative, platform_alternative)
from sim.engine.prefetch import prefetch, prefetch_customer
from sim.engine.records import Transactions

BANK_ITEMS = np.uint8((1 << PC_ITEM) | (1 << MOBILE_ITEM))
jit = numba.njit(cache=True, nogil=True)
inline = numba.njit(cache=True, nogil=True, inline="always")   # called per customer: no copy of its records


class PortfolioTerms(NamedTuple):
    """This month's terms of the pass (the menu's per-alternative terms come beside them)."""
    years: float                   # since the start, for literacy growth
    wealth_factor: float           # common wealth growth since the start
    growth: float                  # this month's wealth growth rate
    adoption_rate: np.ndarray      # (3,) pc, mobile, platform
    adoption_threshold: float      # utils by which an item must beat the counter to be even odds
    wealth_power_scale: float      # tickets scale with wealth power times this (growth over the reference)
    secondary_rate: float
    secondary_cost: float          # utils to open a secondary account this month (visit cost included)
    partnership_discount: float
    bank_partner: np.ndarray       # (bank,) partner platform, -1 none
    wallet_onboarding: float       # utils to open a platform wallet this month
    age_branch_preference: np.ndarray
    rural_branch_multiplier: float
    tie_weight: float
    mmf_yield: np.ndarray          # (platform,) percent, 0 before launch
    deposit_rate: np.ndarray       # (bank,) percent
    base_share: float
    share_per_point: float
    max_share: float
    dormant_factor: float
    purchase_limit: float          # RMB per customer and fund; inf for none
    adjust_rate: float
    fund_weight: np.ndarray        # (platform,)
    secondary_deposit_share: float
    other_app_rate: float          # monthly hazard of registering another bank's app (step 3)
    other_app_activity: float      # monthly chance such an app is used


class PortfolioTally(NamedTuple):
    """The month's counts and balances after the pass, per simulated customer scale."""
    holders: np.ndarray            # (item, bank) holders of each item by primary bank
    users: np.ndarray              # (item, bank) of them, used this month
    adoptions: np.ndarray          # (item,) adopted this month
    secondary: np.ndarray          # (bank,) secondary accounts held at each bank
    secondary_opened: int
    accounts: np.ndarray           # (bank,) customers with an account there besides their primary one
    other_app_holders: np.ndarray  # (bank,) customers with the bank's app registered, not their primary bank
    other_app_users: np.ndarray    # (bank,) of them, used this month
    wallet_holders: int            # customers holding at least one wallet
    wallet_users: int              # customers who used at least one wallet this month
    multihoming: int               # used both the bank's app and a wallet this month
    mobile_payers: int             # paid by phone this month (a wallet, or the bank's app)
    most_used_channel: np.ndarray       # (channel, bank, segment) customers by most-used channel of the month
    deposits: np.ndarray           # (bank,) RMB, after this month's growth
    funds: np.ndarray              # (platform,) RMB


class PortfolioMonth(NamedTuple):
    """`portfolio_month`'s result."""
    tally: PortfolioTally
    expected: Transactions      # (bank, channel) expected transactions and their value on the counter side of
                                # a branch, PC banking, the app and wallets, for `kernels.draw_transactions`


@jit
def _logistic(x):
    return 1.0 / (1.0 + np.exp(-x)) if x > -700.0 else 0.0


@jit
def portfolio_month(rng, state, terms, tables, menu):
    """One month of adoption, use, secondary accounts and savings for every customer (module docstring).

    `state` are the `records.CustomerArrays`, `terms` the month's `PortfolioTerms`, `menu` the
    month's `records.Menu` (its alternatives as `channels.bank_alternative` and
    `platform_alternative` lay them out), and `tables` the month's `purposes.PurposeTables`.
    Updates the state in place; returns the `PortfolioMonth`: the `PortfolioTally` and the month's
    expected transactions and their value per bank and channel (branch, PC, app, wallets).
    """
    n_platforms = state.funds.shape[1]
    adoptions = np.zeros(FIRST_WALLET + n_platforms, dtype=np.int64)
    _adopt(rng, state, terms, menu, adoptions)
    opened = _open_secondaries(rng, state, terms, menu)
    _adopt_other_apps(rng, state, terms, menu)
    use = _use_and_save(rng, state, terms, tables, menu.available, _wallet_tables(terms, tables, menu.available))
    items = _count_items(use.holding, use.using, n_platforms)
    expected = _expected_transactions(use.in_cell, use.power_in_cell, tables, terms.wealth_power_scale)
    tally = PortfolioTally(holders=items.holders, users=items.users, adoptions=adoptions, secondary=use.secondary_at,
                           secondary_opened=opened, accounts=use.accounts_at, other_app_holders=use.other_holders,
                           other_app_users=use.other_users, wallet_holders=items.wallet_holders,
                           wallet_users=items.wallet_users, multihoming=items.multihoming, mobile_payers=use.payers,
                           most_used_channel=expected.most_used, deposits=use.deposits, funds=use.funds)
    return PortfolioMonth(tally=tally, expected=Transactions(counts=expected.counts, values=expected.values))


class WalletTables(NamedTuple):
    """What depends only on the wallets a customer holds (a mask of platforms), tabled once a month."""
    each_used: np.ndarray      # (8, channel, age, wallets held + 1) each wallet's chance of use by how many are held
    best_spread: np.ndarray    # (bank, mask) the best open fund's yield over the bank's deposit rate
    weight_of: np.ndarray      # (mask,) the open funds' weights summed
    wallets_in: np.ndarray     # (mask,) wallets in the mask


@jit
def _wallet_tables(terms, tables, available):
    n_banks, n_platforms = terms.deposit_rate.size, terms.fund_weight.size
    n_masks = 1 << n_platforms
    each_used = np.zeros((8, N_CHANNELS, tables.count.shape[2], n_platforms + 1))
    for w in range(1, n_platforms + 1):
        each_used[:, :, :, w] = 1.0 - np.exp(-tables.count[:, :, :, PLATFORM] / w)
    best_spread, weight_of = np.full((n_banks, n_masks), -np.inf), np.zeros(n_masks)
    wallets_in = np.zeros(n_masks, dtype=np.int64)
    for mask in range(n_masks):
        for p in range(n_platforms):
            if mask >> p & 1:
                wallets_in[mask] += 1
                if available[platform_alternative(n_banks, p)]:
                    weight_of[mask] += terms.fund_weight[p]
                    for b in range(n_banks):
                        best_spread[b, mask] = max(best_spread[b, mask], terms.mmf_yield[p] - terms.deposit_rate[b])
    return WalletTables(each_used=each_used, best_spread=best_spread, weight_of=weight_of, wallets_in=wallets_in)


class MonthUse(NamedTuple):
    """`_use_and_save`'s sums over the customers."""
    in_cell: np.ndarray          # (holdings key, preferred channel, bank, segment) customers
    power_in_cell: np.ndarray    # the same cells' wealth power at the start
    holding: np.ndarray          # (byte of what is held, bank) customers
    using: np.ndarray            # (byte of what was used, bank) customers
    deposits: np.ndarray         # (bank,) RMB
    funds: np.ndarray            # (platform,) RMB
    secondary_at: np.ndarray     # (bank,) secondary accounts
    accounts_at: np.ndarray      # (bank,) other accounts
    other_holders: np.ndarray    # (bank,) other banks' apps registered
    other_users: np.ndarray      # (bank,) of them, used
    payers: int                  # paid by phone


@jit
def _no_use(n_banks, n_platforms, n_segments):
    """A `MonthUse` of zeros."""
    return MonthUse(in_cell=np.zeros((8, N_CHANNELS, n_banks, n_segments), dtype=np.int64),
                    power_in_cell=np.zeros((8, N_CHANNELS, n_banks, n_segments)),
                    holding=np.zeros((256, n_banks), dtype=np.int64), using=np.zeros((256, n_banks), dtype=np.int64),
                    deposits=np.zeros(n_banks), funds=np.zeros(n_platforms),
                    secondary_at=np.zeros(n_banks, dtype=np.int64), accounts_at=np.zeros(n_banks, dtype=np.int64),
                    other_holders=np.zeros(n_banks, dtype=np.int64), other_users=np.zeros(n_banks, dtype=np.int64),
                    payers=0)


@jit
def _use_and_save(rng, state, terms, tables, available, wallets):
    """Steps 4 and 5 of the module docstring, customer by customer: what each uses this month (one
    uniform per held item, the wallets sharing the payments), its fund balances (a share of the way
    to their targets) and deposits, and its other banks' accounts and apps; counted into a `MonthUse`
    (cells of holdings key, preferred channel, bank and segment are summed after the loop).
    Updates `state.active` and `state.funds`. One loop, its steps written out: it runs for every
    customer every month."""
    n, n_platforms = state.funds.shape
    n_banks = terms.deposit_rate.size
    use = _no_use(n_banks, n_platforms, state.bounds.size - 1)
    in_cell, power_in_cell, holding, using = use.in_cell, use.power_in_cell, use.holding, use.using
    deposits, funds_by_platform = use.deposits, use.funds
    wallet_bits = np.uint8(((1 << n_platforms) - 1) << FIRST_WALLET)
    payers = 0
    for i in range(n):
        ahead = min(i + 16, n - 1)                  # a wallet holder's balances, asked for ahead of their use
        if state.holds[ahead] & wallet_bits:
            prefetch(state.funds, ahead)
            prefetch(state.yield_sensitivity, ahead)
        b, a = np.int64(state.bank[i]), state.age[i]
        held, used = state.holds[i], np.uint8(0)
        mask = np.int64(held >> FIRST_WALLET)
        key = (held & BANK_ITEMS) | (4 if held & wallet_bits else 0)
        pref, seg = state.channel[i], state.segment[i]
        in_cell[key, pref, b, seg] += 1
        power_in_cell[key, pref, b, seg] += state.wealth_power0[i]
        if held & (1 << PC_ITEM) and rng.random() < tables.used[key, pref, a, PC]:
            used |= np.uint8(1 << PC_ITEM)
        paid = False
        if held & (1 << MOBILE_ITEM):
            paid = rng.random() < tables.app_pays[key, pref, a]
            if paid or rng.random() < tables.app_other[key, pref, a]:
                used |= np.uint8(1 << MOBILE_ITEM)
        if mask:
            each = wallets.each_used[key, pref, a, wallets.wallets_in[mask]]      # the wallets share the payments
            for p in range(n_platforms):
                bit = np.uint8(1 << (FIRST_WALLET + p))
                if held & bit and rng.random() < each:
                    used |= bit
        sec = np.int64(state.secondary[i])
        wealth = state.wealth0[i] * terms.wealth_factor
        in_funds = 0.0
        if mask:
            weights = wallets.weight_of[mask]
            share = 0.0 if weights == 0 else min(max(terms.base_share + terms.share_per_point * state.yield_sensitivity[i]
                                                     * wallets.best_spread[b, mask], 0.0), terms.max_share)
            for p in range(n_platforms):
                bit = np.uint8(1 << (FIRST_WALLET + p))
                if held & bit and available[platform_alternative(n_banks, p)]:
                    target = share * wealth * terms.fund_weight[p] / weights
                    if not used & bit:
                        target *= terms.dormant_factor
                    target = min(target, terms.purchase_limit)
                    state.funds[i, p] += terms.adjust_rate * (target - state.funds[i, p])
                in_funds += state.funds[i, p]
                funds_by_platform[p] += state.funds[i, p]
        kept = wealth * (1.0 + terms.growth) - in_funds
        if sec >= 0:
            deposits[sec] += kept * terms.secondary_deposit_share
            deposits[b] += kept * (1.0 - terms.secondary_deposit_share)
            use.secondary_at[sec] += 1
        else:
            deposits[b] += kept
        if state.accounts[i]:
            _other_banks(rng, state.accounts[i], state.other_apps[i], terms.other_app_activity,
                         use.accounts_at, use.other_holders, use.other_users)
        holding[held, b] += 1                       # counted per item after the loop
        using[used, b] += 1
        payers += ((used & wallet_bits) != 0) | paid
        state.active[i] = used
    return MonthUse(in_cell=in_cell, power_in_cell=power_in_cell, holding=holding, using=using, deposits=deposits,
                    funds=funds_by_platform, secondary_at=use.secondary_at, accounts_at=use.accounts_at,
                    other_holders=use.other_holders, other_users=use.other_users, payers=payers)


class ItemCounts(NamedTuple):
    """Holders and users of each item by primary bank, and of the wallets altogether."""
    holders: np.ndarray      # (item, bank)
    users: np.ndarray        # (item, bank)
    wallet_holders: int
    wallet_users: int
    multihoming: int         # used the bank's app and a wallet


@jit
def _count_items(holding, using, n_platforms):
    n_banks = holding.shape[1]
    n_items = FIRST_WALLET + n_platforms
    holders, users = np.zeros((n_items, n_banks), dtype=np.int64), np.zeros((n_items, n_banks), dtype=np.int64)
    wallet_bits = np.uint8(((1 << n_platforms) - 1) << FIRST_WALLET)
    wallet_holders = wallet_users = multihoming = 0
    for pattern in range(1, 256):
        for b in range(n_banks):
            for j in range(n_items):
                if pattern >> j & 1:
                    holders[j, b] += holding[pattern, b]
                    users[j, b] += using[pattern, b]
            if pattern & wallet_bits:
                wallet_holders += holding[pattern, b]
                wallet_users += using[pattern, b]
                if pattern & (1 << MOBILE_ITEM):
                    multihoming += using[pattern, b]
    return ItemCounts(holders=holders, users=users, wallet_holders=wallet_holders, wallet_users=wallet_users,
                      multihoming=multihoming)


class Expected(NamedTuple):
    """The month's expected transactions by (bank, channel), and customers by most-used channel."""
    counts: np.ndarray       # (bank, channel)
    values: np.ndarray       # (bank, channel) RMB
    most_used: np.ndarray    # (channel, bank, segment) customers


@jit
def _expected_transactions(in_cell, power_in_cell, tables, wealth_power_scale):
    """Expectations per cell (holdings, preferred channel, bank, segment) from the month's tables."""
    n_banks, n_segments = in_cell.shape[2], in_cell.shape[3]
    expected, worth = np.zeros((n_banks, N_CHANNELS)), np.zeros((n_banks, N_CHANNELS))
    most_used_channel = np.zeros((N_CHANNELS, n_banks, n_segments), dtype=np.int64)
    for key in range(8):
        for pref in range(N_CHANNELS):
            most_used = tables.most_used[key, pref]
            for b in range(n_banks):
                for seg in range(n_segments):
                    people = in_cell[key, pref, b, seg]
                    if people == 0:
                        continue
                    power = power_in_cell[key, pref, b, seg] * wealth_power_scale
                    for c in range(N_CHANNELS):
                        expected[b, c] += people * tables.count[key, pref, seg // 2, c]
                        worth[b, c] += power * tables.value[key, pref, seg // 2, c]
                    most_used_channel[most_used, b, seg] += people
    return Expected(counts=expected, values=worth, most_used=most_used_channel)


@jit
def _adopt(rng, state, terms, menu, adoptions):
    """Adoption of the items not held, before the month's use: each customer considers each item
    with probability `adoption_rate[kind]` and adopts it with the odds that it beats the counter.

    Those who consider an item are drawn by `candidates.draw_candidates` (each with its thinning
    draw), item by item; then their state and ties are gathered (`_gather`) and their odds
    computed (`_adoption_odds`). The odds read nothing the draws or adoptions of the same item
    change, so the outcome is that of deciding each candidate as it is drawn.
    """
    n = state.holds.size
    n_banks = terms.deposit_rate.size
    capacity = 64
    for j in range(adoptions.size):
        capacity = max(capacity, np.int64(1.25 * n * min(terms.adoption_rate[min(j, FIRST_WALLET)], 1.0)) + 64)
    found = no_candidates(capacity)
    ties_category = fill_categories(state.channel, state.platform, state.choice_category)
    for j in range(adoptions.size):
        found = draw_candidates(rng, Candidates(found.who, found.draws, 0), 0, n, terms.adoption_rate[min(j, FIRST_WALLET)],
                                ADOPT, state, j, terms.years, menu.available, n_banks)
        gathered = _gather(state, found.who, found.count)
        bit = np.uint8(1 << j)
        for r in range(found.count):
            if found.draws[r, 0] < _adoption_odds(state, terms, menu, gathered, r, j, ties_category):
                state.holds[found.who[r]] |= bit
                adoptions[j] += 1


class Gathered(NamedTuple):
    """Candidates' state and ties, read in loops of independent loads that do not branch on what they
    read, so that the cache misses of many candidates overlap."""
    tied: np.ndarray           # int32 (candidate * tie,)
    bank: np.ndarray           # int64
    age: np.ndarray            # int64
    urban: np.ndarray          # bool
    literacy0: np.ndarray      # float64: literacy at the start
    sensitivity: np.ndarray    # float64


@jit
def _gather(state, who, m):
    k_ties = state.ties.shape[1]
    tied = np.empty(m * k_ties, dtype=np.int32)
    bank, age, urban = np.empty(m, dtype=np.int64), np.empty(m, dtype=np.int64), np.empty(m, dtype=np.bool_)
    literacy, sensitivity = np.empty(m), np.empty(m)
    for r in range(m):
        i = who[r]
        if r + 8 < m:                   # the lines of a candidate eight ahead asked for now
            prefetch_customer(state, who[r + 8])
        for t in range(k_ties):
            tied[r * k_ties + t] = state.ties[i, t]
        bank[r], age[r], urban[r] = state.bank[i], state.age[i], state.urban[i]
        literacy[r], sensitivity[r] = state.literacy0[i], state.yield_sensitivity[i]
    return Gathered(tied=tied, bank=bank, age=age, urban=urban, literacy0=literacy, sensitivity=sensitivity)


@inline
def _adoption_odds(state, terms, menu, gathered, r, item, ties_category):
    """The odds that candidate r's item beats its counter (1 where its bank has no branch), with ties on
    the counter's category and on the item's, and a wallet's onboarding cost."""
    n_banks, k_ties = terms.deposit_rate.size, state.ties.shape[1]
    b, a = gathered.bank[r], gathered.age[r]
    alt, branch = item_alternative(b, n_banks, item), bank_alternative(b, BRANCH)
    if not menu.available[branch]:
        return 1.0
    on_branch = on_alt = 0.0
    c_branch, c_alt = menu.category[branch], menu.category[alt]
    for t in range(r * k_ties, (r + 1) * k_ties):
        c = ties_category[gathered.tied[t]]
        on_branch += c == c_branch
        on_alt += c == c_alt
    tie_unit = terms.tie_weight / max(k_ties, 1)
    lit = min(1.0, gathered.literacy0[r] + state.literacy_growth[a] * terms.years)
    sensitivity = gathered.sensitivity[r]
    counter = _counter_utility(menu, terms, branch, a, gathered.urban[r], lit, sensitivity) + on_branch * tie_unit
    wallet_cost = terms.wallet_onboarding if item >= FIRST_WALLET else 0.0
    v = _app_utility(menu, alt, lit, sensitivity) + on_alt * tie_unit - wallet_cost
    return _logistic(v - counter - terms.adoption_threshold)


@jit
def _counter_utility(menu, terms, branch, age, urban, literacy, sensitivity):
    """A customer's utility of its bank's counter (alternative `branch`), without ties: the term an
    item must beat to be adopted."""
    presence = 1.0 + (0.0 if urban else terms.rural_branch_multiplier)
    return (menu.utility[branch] + literacy * menu.literacy_weight[branch] + presence * menu.branch_presence[branch]
            + terms.age_branch_preference[age] + sensitivity * menu.yield_term[branch])


@jit
def _app_utility(menu, alt, literacy, sensitivity):
    """A customer's utility of alternative `alt` (an app or a wallet), without ties."""
    return menu.utility[alt] + literacy * menu.literacy_weight[alt] + sensitivity * menu.yield_term[alt]


@jit
def fill_categories(channel, platform, out):
    """Each customer's preferred channel's category, channel or PLATFORM + platform on a platform's app
    (as `records.Menu.category`), written into `out` and returned: one byte a customer, so that a
    tie's category is one read."""
    for i in range(channel.size):
        ch = channel[i]
        out[i] = ch + (platform[i] if ch == PLATFORM else np.int8(0))
    return out


@jit
def _open_secondaries(rng, state, terms, menu):
    """Secondary accounts opened this month: each customer with a digital channel or wallet and
    no secondary account considers one with probability `secondary_rate` (drawn by
    `candidates.draw_candidates`, each with the draw of its bank) and opens it where
    `_open_secondary` says. Returns how many opened."""
    n, n_banks = state.holds.size, terms.deposit_rate.size
    if terms.secondary_rate <= 0.0:
        return 0
    found = draw_candidates(rng, no_candidates(np.int64(1.25 * n * min(terms.secondary_rate, 1.0)) + 64), 0, n,
                            terms.secondary_rate, SECONDARY, state, 0, terms.years, menu.available, n_banks)
    weights = np.zeros(n_banks)
    opened = 0
    for r in range(found.count):
        i = found.who[r]
        if r + 8 < found.count:              # the lines of a candidate eight ahead asked for now
            prefetch_customer(state, found.who[r + 8])
        b, a = np.int64(state.bank[i]), state.age[i]
        literacy = min(1.0, state.literacy0[i] + state.literacy_growth[a] * terms.years)
        k = _open_secondary(state, terms, menu, i, b, state.holds[i], literacy, state.yield_sensitivity[i],
                            found.draws[r, 0], weights)
        if k >= 0:
            state.secondary[i] = k
            state.accounts[i] |= np.uint32(1) << np.uint32(k)
            opened += 1
    return opened


@jit
def _open_secondary(state, terms, menu, i, b, held, literacy, sensitivity, u, weights):
    """The bank at which customer i opens a secondary account this month, or -1 (it stays as it is),
    given its uniform draw u; `weights` is scratch, one entry a bank.

    A logit over staying (its own bank's app) and each other open bank it knows of (that
    bank's app less the opening cost, cut inside a partner platform's wallet)."""
    available = menu.available
    stay = _app_utility(menu, bank_alternative(b, MOBILE), literacy, sensitivity)
    total = 1.0
    for k in range(weights.size):
        weights[k] = 0.0
        alt = bank_alternative(k, MOBILE)
        if k == b or not available[alt] or not state.aware[k, i]:
            continue
        cost = terms.secondary_cost
        partner = terms.bank_partner[k]
        if partner >= 0 and held & np.uint8(1 << (FIRST_WALLET + partner)):
            cost *= 1.0 - terms.partnership_discount
        v = _app_utility(menu, alt, literacy, sensitivity) - cost
        weights[k] = np.exp(min(v - stay, 700.0))
        total += weights[k]
    draw = u * total
    for k in range(weights.size):
        draw -= weights[k]
        if weights[k] > 0 and draw < 0:
            return k
    return -1


@jit
def _other_banks(rng, accounts, other_apps, activity, accounts_at, holders, users):
    """Count one customer's other accounts and other banks' apps by bank, and draw the apps' use."""
    for k in range(accounts_at.size):
        bit = np.uint32(1) << np.uint32(k)
        if accounts & bit:
            accounts_at[k] += 1
            if other_apps & bit:
                holders[k] += 1
                if rng.random() < activity:
                    users[k] += 1


@jit
def _adopt_other_apps(rng, state, terms, menu):
    """Step 3 of the module docstring: customers with a smartphone register the apps of other banks
    they have accounts at. Those who consider it are drawn by `candidates.draw_candidates`, each
    with two draws: which such bank whose app it lacks (at random), and whether it registers it,
    with the odds that the app beats its counter (without `adoption_threshold`: an assumption,
    registering an app being less than making it a habit). Returns how many registered."""
    if terms.other_app_rate <= 0.0:
        return 0
    n, n_banks = state.holds.size, terms.deposit_rate.size
    found = draw_candidates(rng, no_candidates(64), 0, n, terms.other_app_rate, OTHER_APP, state, 0, terms.years,
                            menu.available, n_banks)
    registered = 0
    for r in range(found.count):
        i = found.who[r]
        lacking = state.accounts[i] & ~state.other_apps[i]
        pick = np.int64(found.draws[r, 0] * _bits(lacking))
        k = 0
        while True:                          # the pick-th bank among those lacking
            if lacking & (np.uint32(1) << np.uint32(k)):
                if pick == 0:
                    break
                pick -= 1
            k += 1
        alt, b, a = bank_alternative(k, MOBILE), np.int64(state.bank[i]), state.age[i]
        if not menu.available[alt]:
            continue
        odds = 1.0
        branch = bank_alternative(b, BRANCH)
        if menu.available[branch]:
            lit = min(1.0, state.literacy0[i] + state.literacy_growth[a] * terms.years)
            sens = state.yield_sensitivity[i]
            odds = _logistic(_app_utility(menu, alt, lit, sens)
                             - _counter_utility(menu, terms, branch, a, state.urban[i], lit, sens))
        if found.draws[r, 1] < odds:
            state.other_apps[i] |= np.uint32(1) << np.uint32(k)
            registered += 1
    return registered


@jit
def _bits(x):
    """How many bits of x are set."""
    count = 0
    while x:
        x &= x - np.uint32(1)
        count += 1
    return count


class Recount(NamedTuple):
    """`recount`'s result: what the pass's `PortfolioTally` keeps running, counted again."""
    holders: np.ndarray            # (item, bank)
    secondary: np.ndarray          # (bank,) secondary accounts
    accounts: np.ndarray           # (bank,) other accounts
    other_app_holders: np.ndarray  # (bank,)
    deposits: np.ndarray           # (bank,) RMB
    funds: np.ndarray              # (platform,) RMB


@jit
def recount(holds, secondary, accounts, other_apps, funds, bank, wealth, secondary_deposit_share, n_banks):
    """Holders by item and bank, secondary and other accounts and other banks' app holders by bank,
    deposits by bank and funds by platform, recounted from the arrays (`wealth` as it stands now),
    to check the pass's tally: a `Recount`."""
    n, n_platforms = funds.shape
    n_items = FIRST_WALLET + n_platforms
    holders = np.zeros((n_items, n_banks), dtype=np.int64)
    secondary_at, accounts_at = np.zeros(n_banks, dtype=np.int64), np.zeros(n_banks, dtype=np.int64)
    other_holders = np.zeros(n_banks, dtype=np.int64)
    deposits, by_platform = np.zeros(n_banks), np.zeros(n_platforms)
    for i in range(n):
        b = bank[i]
        for k in range(n_banks):
            bit = np.uint32(1) << np.uint32(k)
            accounts_at[k] += (accounts[i] & bit) != 0
            other_holders[k] += (other_apps[i] & bit) != 0
        for j in range(n_items):
            if holds[i] & np.uint8(1 << j):
                holders[j, b] += 1
        kept = wealth[i]
        for p in range(n_platforms):
            kept -= funds[i, p]
            by_platform[p] += funds[i, p]
        s = secondary[i]
        if s >= 0:
            secondary_at[s] += 1
            deposits[s] += kept * secondary_deposit_share
            deposits[b] += kept * (1.0 - secondary_deposit_share)
        else:
            deposits[b] += kept
    return Recount(holders=holders, secondary=secondary_at, accounts=accounts_at, other_app_holders=other_holders,
                   deposits=deposits, funds=by_platform)
