"""Who acts this month, found by geometric skips: one kernel for every monthly hazard.

A customer reconsiders its preferred channel, considers adopting an item, considers a
secondary account or another bank's app, each with a probability that is the same for every
customer of a range. Instead of one coin per customer, the gap to the next customer who acts
is drawn (`draws.geometric`), so the cost grows with the number who act; each still acts
independently with its probability, so the distribution is that of a coin per customer.

A rule (`RECONSIDER`, `ADOPT`, `SECONDARY`, `OTHER_APP`) says who of those drawn can act
at all (`is_candidate`), and each candidate takes its uniform draws for its decision at once,
in the same order as deciding it there; the decisions come after, from the draws, so that the
reads of many candidates overlap. The draws per candidate are `DRAWS[rule]`.
"""
from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np

from sim.engine.channels import item_alternative, item_provider
from sim.engine.draws import geometric

RECONSIDER, ADOPT, SECONDARY, OTHER_APP = range(4)
DRAWS = (0, 1, 1, 2)     # uniform draws each candidate takes: adoption's odds, the bank's logit, pick and odds
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
def is_candidate(rule, state, i, item, years, available, n_banks):
    """Whether customer i, drawn under `rule`, can act: for ADOPT, item `item` is not held, a phone is
    there for the app and wallets, the item's provider is open and known; for SECONDARY, a digital
    channel or wallet and no secondary account; for OTHER_APP, an account at a bank whose app it lacks,
    and a phone. `state` are the `CustomerArrays`."""
    if rule == ADOPT:
        if state.holds[i] & np.uint8(1 << item):
            return False
        if item > 0 and state.smartphone_year[i] > years:       # the app and wallets need a smartphone
            return False
        b = np.int64(state.bank[i])
        return available[item_alternative(b, n_banks, item)] and state.aware[item_provider(b, n_banks, item), i]
    if rule == SECONDARY:
        return state.secondary[i] < 0 and state.holds[i] != 0
    if rule == OTHER_APP:
        return (state.accounts[i] & ~state.other_apps[i]) != 0 and state.smartphone_year[i] <= years
    return True


@jit
def _grown(found, m):
    who, draws = np.empty(2 * found.who.size, dtype=np.int64), np.empty((2 * found.who.size, 2))
    who[:m], draws[:m] = found.who[:m], found.draws[:m]
    return Candidates(who=who, draws=draws, count=m)


@jit
def draw_candidates(rng, found, lo, hi, p, rule, state, item, years, available, n_banks):
    """`found` with the customers of [lo, hi) who act with probability `p` and can act by `rule` appended,
    each with its draws. Nothing is drawn for p <= 0."""
    if p <= 0.0:
        return found
    log_q = np.log1p(-min(p, 1.0))
    n_draws, m, i = DRAWS[rule], found.count, lo - 1
    while True:
        i += geometric(rng, log_q)
        if i >= hi:
            break
        if not is_candidate(rule, state, i, item, years, available, n_banks):
            continue
        if m == found.who.size:
            found = _grown(found, m)
        found.who[m] = i
        for d in range(n_draws):
            found.draws[m, d] = rng.random()
        m += 1
    return Candidates(who=found.who, draws=found.draws, count=m)
