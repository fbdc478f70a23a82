"""The customers' monthly decisions as compiled loops.

Each function walks the customer arrays once, deciding customer by customer, compiled
by numba so that a million customers take milliseconds; `decide_month` runs a month's
steps in one call. Every random number comes from
the model's `numpy.random.Generator`, passed in: numba draws from the same bit
generator and advances its state, so a run stays reproducible from its seed.

Rare events (learning of a provider, reconsidering) are found by geometric skips: the
gap to the next customer who acts is drawn once, instead of one uniform per customer.
Each customer still acts independently with its own probability, so the distribution
is the same as a coin flip per customer, at a cost that grows with the number who act.
Customers are stored in segment order (age band, then area), so the customers of one
segment, whose probabilities are equal, are one range: `bounds[s]` to `bounds[s + 1]`.
"""
from __future__ import annotations

import sys
from typing import NamedTuple

import numba
import numpy as np

from sim.engine.channels import (BRANCH, FIRST_WALLET, MOBILE, MOBILE_ITEM, N_CHANNELS, PC, PLACE_CHANNEL, PLACES,
                                 PLATFORM, bank_alternative, platform_alternative)
from sim.engine.candidates import RECONSIDER, draw_candidates, no_candidates
from sim.engine.draws import geometric
from sim.engine.portfolio import PortfolioTally, fill_categories, portfolio_month
from sim.engine.prefetch import prefetch, prefetch_customer
from sim.engine.records import ChoiceOutcome, Choosers, Menu, MonthTerms, Snapshot, Transactions

jit = numba.njit(cache=True, nogil=True)
inline = numba.njit(cache=True, nogil=True, inline="always")   # called per customer: no copy of its records


class MonthResult(NamedTuple):
    """`decide_month`'s result: the month's choices, portfolio tally, transactions and running counts."""
    choice: ChoiceOutcome
    portfolio: PortfolioTally
    transactions: Transactions      # (bank, place) drawn counts and values (`draw_transactions`)
    snapshot: Snapshot              # the running counts after the month


ONES = np.uint64(0x0101010101010101)      # eight bytes of True; byte j of word w is customer 8w + j
assert sys.byteorder == "little", "sim.engine.kernels reads bytes of awareness as words: little-endian machines only"


@jit
def learn_of_providers(aware, aware_words, bounds, prob, rng):
    """Each customer of segment s unaware of provider k learns of it with probability prob[k, s].

    `aware` is (provider, customer) padded with True to whole 8-byte words, and
    `aware_words` the same memory as uint64: eight customers a word, one bit per unaware
    customer in `~word & ONES`, so that a word's unaware customers are counted, passed
    over and picked with a few integer operations instead of one branch per customer.
    """
    for k in range(aware.shape[0]):
        words = aware_words[k]
        for s in range(prob.shape[1]):
            p, lo, hi = prob[k, s], bounds[s], bounds[s + 1]
            if p <= 0.0 or lo >= hi:
                continue
            log_q = np.log1p(-min(p, 1.0))
            skip = geometric(rng, log_q) - 1      # unaware customers passed over before the next who learns
            w, end = lo // 8, (hi + 7) // 8
            while w < end:
                stop = w + 1
                if 8 * w >= lo and 8 * w + 64 <= hi:    # eight whole words in the segment: count them at once
                    block = np.uint64(0)
                    for j in range(8):
                        block += ~words[w + j] & ONES  # each byte counts to at most 8
                    n = np.int64((block * ONES) >> np.uint64(56))
                    if skip >= n:
                        skip -= n
                        w += 8
                        continue
                    stop = w + 8                  # someone in these eight words learns: word by word
                while w < stop:
                    unaware = ~words[w] & ONES
                    if 8 * w < lo:                # the segment starts inside this word
                        unaware &= ONES << np.uint64(8 * (lo - 8 * w))
                    if 8 * w + 8 > hi:            # and ends inside it
                        unaware &= ONES >> np.uint64(8 * (8 * w + 8 - hi))
                    n = np.int64((unaware * ONES) >> np.uint64(56))
                    while skip < n:
                        for _ in range(skip):     # pass over `skip` unaware customers
                            unaware &= unaware - np.uint64(1)
                        first = unaware & (~unaware + np.uint64(1))
                        words[w] |= first         # this one learns
                        unaware ^= first
                        n -= skip + 1
                        skip = geometric(rng, log_q) - 1
                    skip -= n
                    w += 1


@jit
def awareness_prob(counts, by_marketing, reach, is_open, word_of_mouth, fully_mixed):
    """(provider, segment) probability that an unaware customer learns of the provider this month.

    Marketing, the platform's ecosystem reach and word of mouth are independent chances:
    word of mouth is `word_of_mouth` times the share of the customer's segment (or of
    everyone, `fully_mixed`) who use the provider: as primary bank, or as active platform.
    `counts` is the tally's (channel, platform + 1, bank, segment).
    """
    n_channels, n_slots, n_banks, n_segments = counts.shape
    n_providers = n_banks + n_slots - 1
    users = np.zeros((n_providers, n_segments))
    for ch in range(n_channels):
        for q in range(n_slots):
            for b in range(n_banks):
                for s in range(n_segments):
                    users[b, s] += counts[ch, q, b, s]
                    if ch == PLATFORM and q > 0:
                        users[n_banks + q - 1, s] += counts[ch, q, b, s]
    in_segment = users[:n_banks].sum(axis=0)
    everyone = max(in_segment.sum(), 1.0)
    prob = np.zeros((n_providers, n_segments))
    for k in range(n_providers):
        if not is_open[k]:
            continue
        share_all = users[k].sum() / everyone
        for s in range(n_segments):
            share = share_all if fully_mixed else users[k, s] / max(in_segment[s], 1.0)
            prob[k, s] = 1.0 - (1.0 - by_marketing[k]) * (1.0 - reach[k, s]) * (1.0 - word_of_mouth * share)
    return prob


@jit
def decide_month(rng, customers, counts, institutions, layout, switch_costs, awareness, choice_terms,
                 portfolio_terms, tables, trading):
    """One month of decisions in one call (one hand-over of the generator): the month's menu from the
    `Institutions` (`menu_terms`, with the `Layout` and `SwitchCosts` into a `Menu`), learning of
    providers (`AwarenessTerms`), partnership awareness, preferred-channel choices (`ChoiceTerms`),
    the portfolio (`portfolio.portfolio_month` with its `PortfolioTerms` and the month's
    `PurposeTables`: adoption, transactions by purpose and use, secondary accounts and savings),
    then the month's transactions drawn from what the portfolio pass expects (`draw_transactions`,
    where they land by `Trading`). `customers` are the `CustomerArrays`, updated in place, and
    `counts` the running counts (see `count_all`). Returns a `MonthResult`."""
    terms = menu_terms(institutions)
    prob = awareness_prob(counts, terms.by_marketing, awareness.reach, terms.is_open, awareness.word_of_mouth,
                          awareness.fully_mixed)
    learn_of_providers(customers.aware, customers.aware_words, customers.bounds, prob, rng)
    partner = institutions.banks.partner
    partnership_awareness(customers.aware, customers.bank, customers.platform, partner, partner.size)
    menu = Menu(bank=layout.bank, platform=layout.platform, channel=layout.channel, provider=layout.provider,
                category=layout.category, available=terms.available, utility=terms.utility,
                literacy_weight=layout.literacy_weight, branch_presence=terms.branch_presence,
                yield_term=terms.yield_term, bank_switch_cost=switch_costs.bank, opening_extra=terms.opening_extra,
                leave_cost=layout.leave_cost, platform_switch_cost=switch_costs.platform,
                platform_partner=terms.platform_partner, partnership_discount=layout.partnership_discount)
    choice = choose(rng, customers, menu, choice_terms, counts)
    month = portfolio_month(rng, customers, portfolio_terms, tables, menu)
    return MonthResult(choice=choice, portfolio=month.tally, transactions=draw_transactions(rng, month.expected, trading),
                       snapshot=snapshot(counts))


@jit
def menu_terms(institutions):
    """This month's terms of each alternative: each bank's branch, PC and mobile, then each platform's app,
    from the `Institutions` (their fields say what each term is).

    Returns the `MonthTerms`: available, utility, branch_presence, yield_term and opening_extra per
    alternative (see `Menu`), each platform's partner bank (-1: none), and per provider its monthly
    chance of becoming known through marketing and whether it is open.
    """
    month, tech, banks, platforms = institutions.month, institutions.tech, institutions.banks, institutions.platforms
    bank_fixed, platform_fixed = institutions.bank_fixed, institutions.platform_fixed
    ukey_friction, visit_cost = institutions.ukey_friction, institutions.visit_cost
    w = institutions.weights
    n_banks, n_platforms = banks.marketing.size, platforms.marketing.size
    n_alt = platform_alternative(n_banks, n_platforms)
    c_branch, c_pc, c_mobile, c_platform = w.branch, w.pc, w.mobile, w.platform
    w_marketing, w_subsidy, w_app, w_density, w_yield = w.marketing, w.subsidy, w.app_quality, w.branch_density, w.yield_weight
    spend, aware_per = w.spend_scale, w.awareness_per_reach
    available = np.empty(n_alt, dtype=np.bool_)
    utility, yield_term = np.empty(n_alt), np.empty(n_alt)
    presence, opening_extra = np.zeros(n_alt), np.zeros(n_alt)
    partner = np.full(n_platforms, -1, dtype=np.int64)
    by_marketing, is_open = np.empty(n_banks + n_platforms), np.empty(n_banks + n_platforms, dtype=np.bool_)
    for b in range(n_banks):
        is_open[b] = month >= bank_fixed.launch_month[b]
        reached = np.log1p(banks.marketing[b] * spend)
        marketing = w_marketing * reached
        app_less_friction = w_app * banks.app_quality[b] - ukey_friction - bank_fixed.security_friction[b]
        branch, pc, mobile = bank_alternative(b, BRANCH), bank_alternative(b, PC), bank_alternative(b, MOBILE)
        utility[branch] = c_branch + marketing
        utility[pc] = c_pc + app_less_friction + marketing
        utility[mobile] = c_mobile + app_less_friction + tech + marketing
        has_branches = banks.branches[b] >= 1
        available[branch] = is_open[b] and has_branches
        available[pc] = available[mobile] = is_open[b]
        presence[branch] = w_density * banks.branch_presence[b]
        for x in (branch, pc, mobile):
            yield_term[x] = w_yield * banks.deposit_rate[b]
            if not has_branches:
                opening_extra[x] = visit_cost
        if banks.partner[b] >= 0:
            partner[banks.partner[b]] = b
        by_marketing[b] = min(1.0, aware_per * reached)
    for p in range(n_platforms):
        k, j = n_banks + p, platform_alternative(n_banks, p)
        is_open[k] = month >= platform_fixed.launch_month[p]
        reached = np.log1p(platforms.marketing[p] * spend)
        utility[j] = (c_platform + tech + platform_fixed.payment_convenience[p] + w_marketing * reached
                      + w_subsidy * np.log1p(platforms.subsidy[p] * spend))
        available[j] = is_open[k]
        yield_term[j] = w_yield * platforms.fund_yield[p]
        by_marketing[k] = min(1.0, aware_per * reached)
    return MonthTerms(available=available, utility=utility, branch_presence=presence, yield_term=yield_term,
                      opening_extra=opening_extra, platform_partner=partner, by_marketing=by_marketing,
                      is_open=is_open)


@jit
def snapshot(counts):
    """A copy of the running counts as they stand, with customers by primary bank: a `Snapshot`."""
    n_channels, n_slots, n_banks, n_segments = counts.shape
    customers = np.zeros(n_banks, dtype=np.int64)
    for ch in range(n_channels):
        for q in range(n_slots):
            for b in range(n_banks):
                for s in range(n_segments):
                    customers[b] += counts[ch, q, b, s]
    return Snapshot(counts=counts.copy(), bank_customers=customers)


@jit
def partnership_awareness(aware, bank, platform, bank_partner, n_banks):
    """Customers of a partner platform learn of the bank, and the bank's customers of the platform.
    bank_partner[b] is bank b's partner platform, -1 for none."""
    if bank_partner.max() < 0:
        return
    for i in range(bank.size):
        for b in range(bank_partner.size):
            p = bank_partner[b]
            if p < 0:
                continue
            if platform[i] == p:
                aware[b, i] = True
            if bank[i] == b:
                aware[n_banks + p, i] = True


@jit
def draw_reconsidering(customers, prob_by_age, rng):
    """Customers who reconsider this month, in index order: each with its age band's probability
    (`candidates.draw_candidates`). Segments are age band x area, so age band a is the customers
    from bounds[2a] to bounds[2a + 2]."""
    bounds = customers.bounds
    expected = 0.0
    for a in range(prob_by_age.size):
        expected += min(max(prob_by_age[a], 0.0), 1.0) * (bounds[2 * a + 2] - bounds[2 * a])
    found = no_candidates(np.int64(1.1 * expected) + 64)      # grown if more reconsider
    everything = np.ones(1, dtype=np.bool_)
    for a in range(prob_by_age.size):
        found = draw_candidates(rng, found, bounds[2 * a], bounds[2 * a + 2], prob_by_age[a], RECONSIDER, customers,
                                0, 0.0, everything, 0)
    return found.who[:found.count]


@jit
def alternative_costs(menu, habit, n_categories):
    """Utils lost by taking each alternative of the `Menu`, by where the customer is now.

    Returns (switching[bank, platform + 1, alternative], habit[category, alternative]):
    a customer of bank b holding platform p (p + 1 = 0 for none) pays switching[b, p + 1, j]
    to take j (a bank change costs less into the platform's partner bank), and one whose
    active channel is category c pays habit[c, j] to take an alternative of another category.
    """
    m_bank, m_platform, m_category, leave_cost = menu.bank, menu.platform, menu.category, menu.leave_cost
    bank_switch_cost, opening_extra, platform_switch_cost = menu.bank_switch_cost, menu.opening_extra, menu.platform_switch_cost
    platform_partner, partnership_discount = menu.platform_partner, menu.partnership_discount
    n_banks, n_platforms, n_alt = leave_cost.size, platform_partner.size, m_bank.size
    switching = np.zeros((n_banks, n_platforms + 1, n_alt))
    for b in range(n_banks):
        for q in range(n_platforms + 1):
            partner = platform_partner[q - 1] if q > 0 else -1
            for j in range(n_alt):
                cost = 0.0
                if m_bank[j] >= 0 and m_bank[j] != b:
                    cost = bank_switch_cost + leave_cost[b] + opening_extra[j]
                    if m_bank[j] == partner:
                        cost *= 1.0 - partnership_discount
                if m_platform[j] >= 0 and m_platform[j] != q - 1:
                    cost += platform_switch_cost
                switching[b, q, j] = cost
    habit_cost = np.zeros((n_categories, n_alt))
    for c in range(n_categories):
        for j in range(n_alt):
            if m_category[j] != c:
                habit_cost[c, j] = habit
    return switching, habit_cost


@jit
def choose(rng, customers, menu, terms, counts):
    """Customers who reconsider this month each pick one alternative of the `Menu` by multinomial logit.

    `customers` are the `CustomerArrays`, `terms` the `ChoiceTerms` (reconsider probability by age
    band, years elapsed, branch preference by age band, rural branch multiplier, tie weight, habit,
    number of categories), and `counts` the running counts (see `count_all`).

    Who reconsiders is drawn by `draw_reconsidering`. All choose from the same state: word
    of mouth reads ties' channels as they were before anyone moved (synchronous), so the
    order does not matter. What each chooser is (`gather_choosers`), its logit pick
    (`pick_alternatives`), then the moves (`apply_choices`). Returns the `ChoiceOutcome`;
    updates bank, channel, platform, holds, secondary, accounts and other apps in place, and the
    running counts for those who moved.
    """
    who = draw_reconsidering(customers, terms.reconsider_prob, rng)
    choosers = gather_choosers(customers, who, terms)
    new_bank, new_channel, new_platform = pick_alternatives(rng, choosers, menu, terms)
    return apply_choices(customers, who, new_bank, new_channel, new_platform, counts)


@jit
def gather_choosers(customers, who, terms):
    """The state of the customers `who` that their choice reads, gathered in loops of independent
    loads that do not branch on what they read, so that cache misses overlap: their ties, then each
    tie's category (one byte a customer), what they know of, and their own state. A `Choosers`."""
    ties, aware, age = customers.ties, customers.aware, customers.age
    m, k_ties = who.size, ties.shape[1]
    category_of = fill_categories(customers.channel, customers.platform, customers.choice_category)
    tied = np.empty(m * k_ties, dtype=np.int32)
    for r in range(m):
        if r + 8 < m:                   # the lines of a chooser eight ahead asked for now
            prefetch_customer(customers, who[r + 8])
        for t in range(k_ties):
            tied[r * k_ties + t] = ties[who[r], t]
    tie_category = np.empty((m, k_ties), dtype=np.int8)
    for r in range(m):
        for t in range(k_ties):
            tie_category[r, t] = category_of[tied[r * k_ties + t]]
    knows = np.empty((m, aware.shape[0]), dtype=np.bool_)
    for k in range(aware.shape[0]):
        row = aware[k]
        for r in range(m):
            if r + 16 < m:
                prefetch(row, who[r + 16])
            knows[r, k] = row[who[r]]
    g_age = np.empty(m, dtype=np.int8)
    g_bank, g_channel, g_platform = np.empty(m, dtype=np.int8), np.empty(m, dtype=np.int8), np.empty(m, dtype=np.int8)
    g_holds = np.empty(m, dtype=np.uint8)
    g_literacy, g_presence, g_yield = np.empty(m), np.empty(m), np.empty(m)
    g_phone = np.empty(m, dtype=np.bool_)
    for r in range(m):
        i = who[r]
        g_age[r], g_bank[r], g_channel[r] = age[i], customers.bank[i], customers.channel[i]
        g_platform[r], g_holds[r] = customers.platform[i], customers.holds[i]
        g_literacy[r] = min(1.0, customers.literacy0[i] + customers.literacy_growth[age[i]] * terms.years)
        g_presence[r] = 1.0 + (0.0 if customers.urban[i] else terms.rural_branch_multiplier)
        g_yield[r] = customers.yield_sensitivity[i]
        g_phone[r] = customers.smartphone_year[i] <= terms.years
    return Choosers(tie_category=tie_category, knows=knows, age=g_age, bank=g_bank, channel=g_channel,
                    platform=g_platform, holds=g_holds, literacy=g_literacy, presence=g_presence,
                    sensitivity=g_yield, has_smartphone=g_phone)


@jit
def pick_alternatives(rng, choosers, menu, terms):
    """Each chooser's pick from the `Menu` by multinomial logit (one uniform draw each, in order):
    new primary bank, preferred channel and platform, (m,) each. A chooser with nothing open to it
    stays as it is. A platform whose wallet the customer already holds costs no onboarding; the app
    and wallets need a smartphone."""
    m_bank, m_platform, m_channel, m_provider, m_category = menu.bank, menu.platform, menu.channel, menu.provider, menu.category
    m_utility, m_literacy_weight = menu.utility, menu.literacy_weight
    m_branch_presence, m_yield_term, platform_partner = menu.branch_presence, menu.yield_term, menu.platform_partner
    age_branch_preference, n_categories = terms.age_branch_preference, terms.n_categories
    tie_category, knows = choosers.tie_category, choosers.knows
    m, n_alt, k_ties = choosers.bank.size, m_utility.size, tie_category.shape[1]
    new_bank = np.empty(m, dtype=np.int8)
    new_channel = np.empty(m, dtype=np.int8)
    new_platform = np.empty(m, dtype=np.int8)
    switching, habit_cost = alternative_costs(menu, terms.habit, n_categories)
    base = np.where(menu.available, m_utility, -np.inf)
    is_branch = (m_channel == BRANCH).astype(np.float64)
    first_platform_alt = platform_alternative(menu.leave_cost.size, 0)
    v, cumulative = np.empty(n_alt), np.empty(n_alt)
    tie_share = np.zeros(n_categories)
    tie_unit = terms.tie_weight / max(k_ties, 1)
    for r in range(m):
        b, ch, pl = choosers.bank[r], choosers.channel[r], choosers.platform[r]
        own_category = PLATFORM + pl if ch == PLATFORM else ch
        literacy, presence, sensitivity = choosers.literacy[r], choosers.presence[r], choosers.sensitivity[r]
        branch_preference = age_branch_preference[choosers.age[r]]
        for c in range(n_categories):     # element by element: no array views inside the loop
            tie_share[c] = 0.0
        for t in range(k_ties):
            tie_share[tie_category[r, t]] += 1.0
        for c in range(n_categories):
            tie_share[c] *= tie_unit
        slot = pl + 1                     # platform slot: 0 for none
        for j in range(n_alt):            # plain arithmetic over the alternatives: vectorized by the compiler
            v[j] = (base[j] + literacy * m_literacy_weight[j] + presence * m_branch_presence[j]
                    + sensitivity * m_yield_term[j] + branch_preference * is_branch[j] - switching[b, slot, j]
                    - habit_cost[own_category, j])
        for q in range(platform_partner.size):     # a wallet already held costs no onboarding
            if q != pl and choosers.holds[r] & np.uint8(1 << (FIRST_WALLET + q)):
                v[first_platform_alt + q] += menu.platform_switch_cost
        top = -np.inf
        for j in range(n_alt):            # the app and wallets need a smartphone
            open_to = knows[r, m_provider[j]] and (choosers.has_smartphone[r] or m_channel[j] < MOBILE)
            v[j] = v[j] + tie_share[m_category[j]] if open_to else -np.inf
            top = max(top, v[j])
        pick = -1 if top == -np.inf else _logit_draw(rng, v, top, cumulative)
        if pick < 0:                      # nothing open to this customer: stays as it is
            new_bank[r], new_channel[r], new_platform[r] = b, ch, pl
        else:
            new_bank[r] = m_bank[pick] if m_bank[pick] >= 0 else b
            new_platform[r] = m_platform[pick] if m_platform[pick] >= 0 else pl
            new_channel[r] = m_channel[pick]
    return new_bank, new_channel, new_platform


@inline
def _logit_draw(rng, v, top, cumulative):
    """One draw from the logit over utilities `v` (their largest is `top`, finite); `cumulative` is scratch."""
    n_alt = v.size
    total = 0.0
    for j in range(n_alt):
        if v[j] > -np.inf:                    # exp(-inf) = 0 adds nothing: not computed
            total += np.exp(np.float32(v[j] - top))   # float32: ample for weights
        cumulative[j] = total
    draw = rng.random() * total
    pick = 0
    for j in range(n_alt):            # the first alternative whose cumulative weight exceeds the draw
        pick += cumulative[j] <= draw
    while pick == n_alt or (pick > 0 and cumulative[pick] == cumulative[pick - 1]):
        pick -= 1                     # rounding put the draw at the total: the last with weight
    return pick


@jit
def apply_choices(customers, who, new_bank, new_channel, new_platform, counts):
    """Move each chooser who picked something new: the running counts, its primary bank
    (`_move_primary`), the channel it now holds (`portfolio`), and the month's flows. A `ChoiceOutcome`."""
    bank, channel, platform, holds, segment = customers.bank, customers.channel, customers.platform, customers.holds, customers.segment
    flows = np.zeros((N_CHANNELS, N_CHANNELS), dtype=np.int64)
    bank_switches = platform_switches = 0
    for r in range(who.size):
        i = who[r]
        b0, ch0, p0, b1, ch1, p1 = bank[i], channel[i], platform[i], new_bank[r], new_channel[r], new_platform[r]
        if b1 == b0 and ch1 == ch0 and p1 == p0:
            continue
        s = segment[i]
        counts[ch0, p0 + 1, b0, s] -= 1
        counts[ch1, p1 + 1, b1, s] += 1
        if b1 != b0:
            _move_primary(customers, i, np.int64(b0), np.int64(b1))
        if ch1 != BRANCH:
            holds[i] |= np.uint8(1 << (ch1 - 1 if ch1 != PLATFORM else FIRST_WALLET + p1))
        if ch1 != ch0:
            flows[ch0, ch1] += 1
        bank_switches += b1 != b0
        platform_switches += p1 != p0
        bank[i], channel[i], platform[i] = b1, ch1, p1
    return ChoiceOutcome(reconsidered=who.size, channel_flows=flows, bank_switches=bank_switches,
                         platform_switches=platform_switches)


@jit
def _move_primary(customers, i, b0, b1):
    """Customer i's primary bank moves from b0 to b1. The old primary account stays open as another
    account, and its app, if held, stays registered; the new primary bank's PC banking and app
    are not held until chosen or adopted, unless its app was registered before; a secondary
    account at b1 becomes the primary relationship."""
    holds, accounts, other_apps = customers.holds, customers.accounts, customers.other_apps
    old_app, new_app = np.uint32(1) << np.uint32(b0), np.uint32(1) << np.uint32(b1)
    had_app = holds[i] & np.uint8(1 << MOBILE_ITEM)
    holds[i] &= ~np.uint8(0b11)
    if other_apps[i] & new_app:
        holds[i] |= np.uint8(1 << MOBILE_ITEM)
    other_apps[i] &= ~new_app
    if had_app:
        other_apps[i] |= old_app
    accounts[i] = (accounts[i] | old_app) & ~new_app
    if customers.secondary[i] == b1:
        customers.secondary[i] = -1


@jit
def draw_transactions(rng, expected, trading):
    """This month's bank transactions per bank and place, drawn around the expected ones.

    `expected` are the (bank, channel) expected `Transactions`, counts and values, on the counter
    side of a branch, PC banking, the app and wallets (`portfolio.portfolio_month`). By `Trading`,
    a bank's self_service share of branch transactions is made at machines, and wallet payments
    are bank transactions through the platform (platform link) unless paid from its own fund.
    A sum of independent Poisson counts is Poisson, so each bank's count per place is drawn once
    from the summed mean, valued at the place's mean ticket. Returns the `Transactions`, each
    (bank, place) with places counter, self-service, PC, mobile, platform link.
    """
    count, worth = expected.counts, expected.values
    self_service, wallet_fund_share = trading.self_service, trading.wallet_fund_share
    n_banks = count.shape[0]
    drawn, values = np.zeros((n_banks, len(PLACES))), np.zeros((n_banks, len(PLACES)))
    for b in range(n_banks):
        kept = (1.0 - self_service[b], self_service[b], 1.0, 1.0, 1.0 - wallet_fund_share)   # by place
        for x in range(len(PLACES)):
            c = PLACE_CHANNEL[x]
            mean = count[b, c] * kept[x]
            if mean > 0.0:
                drawn[b, x] = rng.poisson(mean)
                values[b, x] = drawn[b, x] * worth[b, c] / count[b, c]
    return Transactions(counts=drawn, values=values)


@jit
def count_all(bank, channel, platform, segment, n_banks, n_platforms, n_segments):
    """The running counts (channel, platform + 1, bank, segment), platform slot 0 for no platform,
    recounted from the customer arrays in one pass. The engine keeps them running instead
    (`choose`); this recount starts them and checks them.
    """
    counts = np.zeros((N_CHANNELS, n_platforms + 1, n_banks, n_segments), dtype=np.int64)
    for i in range(bank.size):
        counts[channel[i], platform[i] + 1, bank[i], segment[i]] += 1
    return counts
