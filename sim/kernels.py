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

import numba
import numpy as np

from .config import CHANNELS
from .draws import geometric
from .portfolio import FIRST_WALLET, portfolio_month

BRANCH, PLATFORM = CHANNELS.index("branch"), CHANNELS.index("platform")
jit = numba.njit(cache=True, nogil=True)


ONES = np.uint64(0x0101010101010101)      # eight bytes of True; byte j of word w is customer 8w + j
assert sys.byteorder == "little", "sim.kernels reads bytes of awareness as words: little-endian machines only"


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
def decide_month(rng, institutions, layout, switch_costs, awareness, choice, portfolio, trading):
    """One month of decisions in one call (one hand-over of the generator), each step's arguments
    as a tuple: the month's menu from the institutions (`menu_terms`), learning of providers,
    partnership awareness, preferred-channel choices, the portfolio (`portfolio.portfolio_month`:
    adoption, transactions by purpose and use, secondary accounts and savings), then the
    month's transactions drawn from what the portfolio pass expects (`draw_transactions`).
    Returns each step's results and a `snapshot` of the running counts.

    `portfolio` is the month's (`PortfolioState`, `PortfolioTerms`, `PurposeTables`) and
    `trading` each bank's self-service share and the wallet's fund share."""
    banks = institutions[2]
    available, utility, presence, yield_term, opening_extra, platform_partner, by_marketing, is_open = \
        menu_terms(*institutions)
    aware, aware_words, bounds, counts, reach, word_of_mouth, fully_mixed = awareness
    prob = awareness_prob(counts, by_marketing, reach, is_open, word_of_mouth, fully_mixed)
    learn_of_providers(aware, aware_words, bounds, prob, rng)

    choosers, customers, preferences, running = choice
    bank, platform = customers[7], customers[9]
    partnership_awareness(aware, bank, platform, banks[:, 4].astype(np.int64), banks.shape[0])
    m_bank, m_platform, m_channel, m_provider, m_category, m_literacy_weight, leave_cost, discount = layout
    bank_switch_cost, platform_switch_cost = switch_costs
    menu = (m_bank, m_platform, m_channel, m_provider, m_category, available, utility, m_literacy_weight, presence,
            yield_term, bank_switch_cost, opening_extra, leave_cost, platform_switch_cost, platform_partner, discount)
    chosen = choose(rng, choosers, customers, menu, preferences, running)

    state, terms, tables = portfolio
    held, (expected, worth) = portfolio_month(rng, state, terms, tables, available, utility, m_literacy_weight,
                                              presence, yield_term, m_category, preferences[4], bounds.size - 1)
    traded = draw_transactions(rng, expected, worth, *trading)
    return chosen, held, traded, snapshot(counts)


@jit
def savings_rates(month, platforms, bank_fixed, platform_fixed):
    """Each platform's fund yield (0 before its launch) and each bank's deposit rate, %; the
    arrays are `menu_terms`'s."""
    return np.where(month >= platform_fixed[:, 0], platforms[:, 2], 0.0), bank_fixed[:, 2].copy()


@jit
def menu_terms(month, tech, banks, platforms, bank_fixed, platform_fixed, weights, ukey_friction, visit_cost):
    """This month's terms of each alternative: each bank's branch, PC and mobile, then each platform's app.

    banks: (bank, 5) marketing spend (RMB bn a year), app quality, branches, branch presence, partner
        platform (-1: none); platforms: (platform, 3) marketing spend, subsidy (RMB bn a year), fund yield (%);
    bank_fixed: (bank, 3) launch month, security friction, deposit rate (%); platform_fixed:
        (platform, 2) launch month, payment convenience;
    weights: the constants of branch, PC, mobile and platform alternatives, the weights of marketing,
        subsidy, app quality, branch density and yield, the spend scale (RMB bn a year to RMB per adult
        over the reference spend) and awareness per marketing at the reference spend / log 2;
    ukey_friction: utils lost on PC and mobile banking; visit_cost: utils of the branch visit to open
        an account at a bank without branches (0 with remote account opening).

    Returns available, utility, branch_presence, yield_term and opening_extra per alternative (see
    `customers.Menu`), each platform's partner bank (-1: none), and per provider its monthly chance of
    becoming known through marketing and whether it is open.
    """
    n_banks, n_platforms = banks.shape[0], platforms.shape[0]
    n_alt = 3 * n_banks + n_platforms
    c_branch, c_pc, c_mobile, c_platform, w_marketing, w_subsidy, w_app, w_density, w_yield, spend, aware_per = weights
    available = np.empty(n_alt, dtype=np.bool_)
    utility, yield_term = np.empty(n_alt), np.empty(n_alt)
    presence, opening_extra = np.zeros(n_alt), np.zeros(n_alt)
    partner = np.full(n_platforms, -1, dtype=np.int64)
    by_marketing, is_open = np.empty(n_banks + n_platforms), np.empty(n_banks + n_platforms, dtype=np.bool_)
    for b in range(n_banks):
        is_open[b] = month >= bank_fixed[b, 0]
        reached = np.log1p(banks[b, 0] * spend)
        marketing = w_marketing * reached
        app_less_friction = w_app * banks[b, 1] - ukey_friction - bank_fixed[b, 1]
        j = 3 * b
        utility[j] = c_branch + marketing
        utility[j + 1] = c_pc + app_less_friction + marketing
        utility[j + 2] = c_mobile + app_less_friction + tech + marketing
        available[j] = is_open[b] and banks[b, 2] >= 1
        available[j + 1] = available[j + 2] = is_open[b]
        presence[j] = w_density * banks[b, 3]
        for x in range(j, j + 3):
            yield_term[x] = w_yield * bank_fixed[b, 2]
            if banks[b, 2] < 1:
                opening_extra[x] = visit_cost
        if banks[b, 4] >= 0:
            partner[np.int64(banks[b, 4])] = b
        by_marketing[b] = min(1.0, aware_per * reached)
    for p in range(n_platforms):
        k, j = n_banks + p, 3 * n_banks + p
        is_open[k] = month >= platform_fixed[p, 0]
        reached = np.log1p(platforms[p, 0] * spend)
        utility[j] = (c_platform + tech + platform_fixed[p, 1] + w_marketing * reached
                      + w_subsidy * np.log1p(platforms[p, 1] * spend))
        available[j] = is_open[k]
        yield_term[j] = w_yield * platforms[p, 2]
        by_marketing[k] = min(1.0, aware_per * reached)
    return available, utility, presence, yield_term, opening_extra, partner, by_marketing, is_open


@jit
def snapshot(counts):
    """A copy of the running counts as they stand, with customers by primary bank."""
    n_channels, n_slots, n_banks, n_segments = counts.shape
    customers = np.zeros(n_banks, dtype=np.int64)
    for ch in range(n_channels):
        for q in range(n_slots):
            for b in range(n_banks):
                for s in range(n_segments):
                    customers[b] += counts[ch, q, b, s]
    return counts.copy(), customers


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
def draw_reconsidering(bounds, prob_by_age, rng):
    """Customers who reconsider this month, in index order: each with its age band's probability.
    Segments are age band x area, so age band a is the customers from bounds[2a] to bounds[2a + 2]."""
    who = np.empty(bounds[-1], dtype=np.int32)
    m = 0
    for a in range(prob_by_age.size):
        p, i, end = prob_by_age[a], bounds[2 * a] - 1, bounds[2 * a + 2]
        if p <= 0.0:
            continue
        log_q = np.log1p(-min(p, 1.0))
        while True:
            i += geometric(rng, log_q)
            if i >= end:
                break
            who[m] = i
            m += 1
    return who[:m]


@jit
def alternative_costs(m_bank, m_platform, m_category, bank_switch_cost, opening_extra, leave_cost,
                      platform_switch_cost, platform_partner, partnership_discount, habit, n_categories):
    """Utils lost by taking each alternative, by where the customer is now.

    Returns (switching[bank, platform + 1, alternative], habit[category, alternative]):
    a customer of bank b holding platform p (p + 1 = 0 for none) pays switching[b, p + 1, j]
    to take j (a bank change costs less into the platform's partner bank), and one whose
    active channel is category c pays habit[c, j] to take an alternative of another category.
    """
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
def choose(rng, choosers, customers, menu, preferences, running):
    """Customers who reconsider this month each pick one alternative by multinomial logit.

    The arguments are tuples: choosers (segment bounds, reconsider probability by age band,
    years elapsed); the customers' arrays; the menu, in the order of `customers.Menu`'s
    fields; preferences (branch preference by age band, rural branch multiplier, tie weight,
    habit, number of categories); and the running tallies with what updating them takes.

    Who reconsiders is drawn by `draw_reconsidering`. All choose from the same state: word
    of mouth reads ties' channels as they were before anyone moved (synchronous), so the
    order does not matter. A platform whose wallet the customer already holds costs no
    onboarding. The chosen channel is held from then on (`portfolio`); a new primary bank's
    PC banking and app are not held until chosen or adopted, and a secondary account at the
    new primary bank becomes the primary relationship. Returns (number who reconsidered,
    channel flows (4, 4), bank switches, platform switches); updates bank, channel, platform,
    holds and secondary in place, and the running counts (see `count_all`) for those who moved.
    """
    bounds, prob_by_age, years = choosers
    age, urban, literacy0, literacy_growth, yield_sensitivity, ties, aware, bank, channel, platform, holds, secondary = \
        customers
    (m_bank, m_platform, m_channel, m_provider, m_category, m_available, m_utility, m_literacy_weight,
     m_branch_presence, m_yield_term, bank_switch_cost, opening_extra, leave_cost, platform_switch_cost,
     platform_partner, partnership_discount) = menu
    age_branch_preference, rural_branch_multiplier, tie_weight, habit, n_categories = preferences
    segment, counts = running
    who = draw_reconsidering(bounds, prob_by_age, rng)
    m, n_alt = who.size, m_utility.size
    new_bank = np.empty(m, dtype=np.int8)
    new_channel = np.empty(m, dtype=np.int8)
    new_platform = np.empty(m, dtype=np.int8)
    k_ties = ties.shape[1]
    # gather first, in loops of independent loads, so that cache misses overlap
    tie_category = np.empty((m, k_ties), dtype=np.int8)
    for r in range(m):
        i = who[r]
        for t in range(k_ties):
            j = ties[i, t]
            tie_category[r, t] = channel[j] + (platform[j] if channel[j] == PLATFORM else 0)
    knows = np.empty((m, aware.shape[0]), dtype=np.bool_)
    for k in range(aware.shape[0]):
        row = aware[k]
        for r in range(m):
            knows[r, k] = row[who[r]]
    g_age = np.empty(m, dtype=np.int8)
    g_bank, g_channel, g_platform = np.empty(m, dtype=np.int8), np.empty(m, dtype=np.int8), np.empty(m, dtype=np.int8)
    g_holds = np.empty(m, dtype=np.uint8)
    g_literacy, g_presence, g_yield = np.empty(m), np.empty(m), np.empty(m)
    for r in range(m):
        i = who[r]
        g_age[r], g_bank[r], g_channel[r], g_platform[r], g_holds[r] = age[i], bank[i], channel[i], platform[i], holds[i]
        g_literacy[r] = min(1.0, literacy0[i] + literacy_growth[age[i]] * years)
        g_presence[r] = 1.0 + (0.0 if urban[i] else rural_branch_multiplier)
        g_yield[r] = yield_sensitivity[i]

    switching, habit_cost = alternative_costs(m_bank, m_platform, m_category, bank_switch_cost, opening_extra,
                                              leave_cost, platform_switch_cost, platform_partner,
                                              partnership_discount, habit, n_categories)
    base = np.where(m_available, m_utility, -np.inf)
    is_branch = (m_channel == BRANCH).astype(np.float64)
    first_platform_alt = n_alt - platform_partner.size
    v, cumulative = np.empty(n_alt), np.empty(n_alt)
    tie_share = np.zeros(n_categories)
    for r in range(m):
        b, ch, pl = g_bank[r], g_channel[r], g_platform[r]
        own_category = PLATFORM + pl if ch == PLATFORM else ch
        literacy, presence, sensitivity = g_literacy[r], g_presence[r], g_yield[r]
        branch_preference = age_branch_preference[g_age[r]]
        tie_share[:] = 0.0
        for t in range(k_ties):
            tie_share[tie_category[r, t]] += 1.0
        tie_share *= tie_weight / max(k_ties, 1)
        cost, habit_row = switching[b, pl + 1], habit_cost[own_category]
        for j in range(n_alt):            # plain arithmetic over the alternatives: vectorized by the compiler
            v[j] = (base[j] + literacy * m_literacy_weight[j] + presence * m_branch_presence[j]
                    + sensitivity * m_yield_term[j] + branch_preference * is_branch[j] - cost[j] - habit_row[j])
        for q in range(platform_partner.size):     # a wallet already held costs no onboarding
            if q != pl and g_holds[r] & np.uint8(1 << (FIRST_WALLET + q)):
                v[first_platform_alt + q] += platform_switch_cost
        top = -np.inf
        for j in range(n_alt):
            v[j] = v[j] + tie_share[m_category[j]] if knows[r, m_provider[j]] else -np.inf
            top = max(top, v[j])
        pick = -1
        if top > -np.inf:
            total = 0.0
            for j in range(n_alt):
                total += np.exp(np.float32(v[j] - top))   # float32: ample for weights; exp(-inf) = 0
                cumulative[j] = total
            draw = rng.random() * total
            pick = 0
            for j in range(n_alt):            # the first alternative whose cumulative weight exceeds the draw
                pick += cumulative[j] <= draw
            while pick == n_alt or (pick > 0 and cumulative[pick] == cumulative[pick - 1]):
                pick -= 1                     # rounding put the draw at the total: the last with weight
        if pick < 0:                      # nothing open to this customer: stays as it is
            new_bank[r], new_channel[r], new_platform[r] = b, ch, pl
        else:
            new_bank[r] = m_bank[pick] if m_bank[pick] >= 0 else b
            new_platform[r] = m_platform[pick] if m_platform[pick] >= 0 else pl
            new_channel[r] = m_channel[pick]

    flows = np.zeros((4, 4), dtype=np.int64)
    bank_switches = platform_switches = 0
    for r in range(m):
        i = who[r]
        b0, ch0, p0, b1, ch1, p1 = bank[i], channel[i], platform[i], new_bank[r], new_channel[r], new_platform[r]
        if b1 == b0 and ch1 == ch0 and p1 == p0:
            continue
        s = segment[i]
        counts[ch0, p0 + 1, b0, s] -= 1
        counts[ch1, p1 + 1, b1, s] += 1
        if b1 != b0:
            holds[i] &= ~np.uint8(0b11)
            if secondary[i] == b1:
                secondary[i] = -1
        if ch1 != BRANCH:
            holds[i] |= np.uint8(1 << (ch1 - 1 if ch1 != PLATFORM else FIRST_WALLET + p1))
        if ch1 != ch0:
            flows[ch0, ch1] += 1
        bank_switches += b1 != b0
        platform_switches += p1 != p0
        bank[i], channel[i], platform[i] = b1, ch1, p1
    return m, flows, bank_switches, platform_switches


@jit
def draw_transactions(rng, expected, worth, self_service, wallet_fund_share):
    """This month's bank transactions per bank and place, drawn around the expected ones.

    expected and worth are (bank, channel) expected counts and values on the counter side of
    a branch, PC banking, the app and wallets (`portfolio.portfolio_month`). A bank's
    self_service share of branch transactions is made at machines; wallet payments are bank
    transactions through the platform (platform link) unless paid from its own fund. A sum of
    independent Poisson counts is Poisson, so each bank's count per place is drawn once from
    the summed mean, valued at the place's mean ticket. Returns (counts, values), each (bank,
    place) with places counter, self-service, PC, mobile, platform link.
    """
    n_banks = expected.shape[0]
    drawn, values = np.zeros((n_banks, 5)), np.zeros((n_banks, 5))
    for b in range(n_banks):
        kept = (1.0 - self_service[b], self_service[b], 1.0, 1.0, 1.0 - wallet_fund_share)
        for x in range(5):
            c = max(x - 1, 0)
            mean = expected[b, c] * kept[x]
            if mean > 0.0:
                drawn[b, x] = rng.poisson(mean)
                values[b, x] = drawn[b, x] * worth[b, c] / expected[b, c]
    return drawn, values


@jit
def count_all(bank, channel, platform, segment, n_banks, n_platforms, n_segments):
    """The running counts (channel, platform + 1, bank, segment), platform slot 0 for no platform,
    recounted from the customer arrays in one pass. The engine keeps them running instead
    (`choose`); this recount starts them and checks them.
    """
    counts = np.zeros((4, n_platforms + 1, n_banks, n_segments), dtype=np.int64)
    for i in range(bank.size):
        counts[channel[i], platform[i] + 1, bank[i], segment[i]] += 1
    return counts
