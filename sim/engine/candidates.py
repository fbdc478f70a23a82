"""Who acts this month, found by geometric skips: one kernel for every monthly hazard.

A customer reconsiders its preferred channel, considers adopting an item, considers a
secondary account or another bank's app, each with a probability that is the same for every
customer of a range. Instead of one coin per customer, the gap to the next customer who acts
is drawn (`draws.geometric`), so the cost grows with the number who act; each still acts
independently with its probability, so the distribution is that of a coin per customer.

A rule (`RECONSIDER`, `ADOPT`, `SECONDARY`, `OTHER_APP`) says who of those drawn can act
at all, and each candidate takes its uniform draws for its decision at once (none to
reconsider, one for adoption's odds or a secondary account's bank, two for another bank's
app: which bank, and the odds), in the same order as deciding it there; the decisions come
after, from the draws, so that the reads of many candidates overlap.
"""
from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np

from sim.engine.channels import item_alternative, item_provider
from sim.engine.draws import geometric

RECONSIDER, ADOPT, SECONDARY, OTHER_APP = range(4)
jit = numba.njit(cache=True, nogil=True)


class Candidates(NamedTuple):
    """The customers found so far, in index order, and their uniform draws."""
    who: np.ndarray          # int64 (capacity,): the first `count` are the candidates
    draws: np.ndarray        # float64 (capacity, 2): their draws, DRAWS[rule] of them each
    count: int


@jit
def no_candidates(capacity):
    """An empty `Candidates` with room for `capacity` (it grows when more are found)."""
    return Candidates(who=np.empty(capacity, dtype=np.int64), draws=np.empty((capacity, 2)), count=0)


@jit
def draw_candidates(rng, found, lo, hi, p, rule, state, item, years, available, n_banks):
    """`found` with the customers of [lo, hi) who act with probability `p` and can act by `rule` appended,
    each with its DRAWS[rule] uniform draws. Nothing is drawn for p <= 0. Who can act: for ADOPT,
    item `item` is not held, a phone is there for the app and wallets, the item's provider is open
    and known; for SECONDARY, a digital channel or wallet and no secondary account; for OTHER_APP,
    an account at a bank whose app it lacks, and a phone; for RECONSIDER, everyone. `state` are the
    `CustomerArrays`; the loop reads its arrays directly (it runs once per customer drawn)."""
    if p <= 0.0:
        return found
    holds, smartphone_year, bank, aware = state.holds, state.smartphone_year, state.bank, state.aware
    secondary, accounts, other_apps = state.secondary, state.accounts, state.other_apps
    log_q = np.log1p(-min(p, 1.0))
    n_draws = 0 if rule == RECONSIDER else 2 if rule == OTHER_APP else 1
    bit = np.uint8(1 << item)
    who, draws, m, i = found.who, found.draws, found.count, lo - 1
    while True:
        i += geometric(rng, log_q)
        if i >= hi:
            break
        if rule == ADOPT:
            if holds[i] & bit or (item > 0 and smartphone_year[i] > years):     # the app and wallets need a phone
                continue
            b = np.int64(bank[i])
            if not (available[item_alternative(b, n_banks, item)] and aware[item_provider(b, n_banks, item), i]):
                continue
        elif rule == SECONDARY:
            if secondary[i] >= 0 or holds[i] == 0:
                continue
        elif rule == OTHER_APP:
            if (accounts[i] & ~other_apps[i]) == 0 or smartphone_year[i] > years:
                continue
        if m == who.size:
            grown_who, grown_draws = np.empty(2 * m, dtype=np.int64), np.empty((2 * m, 2))
            grown_who[:m], grown_draws[:m] = who[:m], draws[:m]
            who, draws = grown_who, grown_draws
        who[m] = i
        for d in range(n_draws):
            draws[m, d] = rng.random()
        m += 1
    return Candidates(who=who, draws=draws, count=m)
