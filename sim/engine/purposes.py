"""Transactions by purpose, allocated across the channels a customer holds.

Seed 004: "small amounts on mobile, large on PC; simple business on mobile, buying wealth
products on PC". A customer's month is a set of purposes (`transactions.purposes`: small
payments, transfers and bills, wealth products, cash and counter-only services), each
with its own monthly count and ticket. Each purpose is split over the channels the
customer holds (the counter always; PC banking, the bank's app and its wallets if held)
by a logit on how well each channel fits the purpose (`fit`, in utils; null where the
channel cannot serve it), plus `preferred_bonus` for the channel the customer chose as
its preferred one (`kernels.choose`), plus `maturity_fit` on the app and wallets as mobile
payments mature. Where a purpose has an `outside_fit`, paying in cash or by card at a till
competes in the same logit, and its share makes no bank transaction. A purpose no held
channel can serve is done in cash (no bank transaction). So mobile's small share of value beside its large share of count comes
out of which purposes go where, not from a ticket per channel.

The split depends only on what is held (PC, app, any wallet: eight combinations), the
preferred channel, and the age band (whose factor scales every count), so it is tabled
once a month (`purpose_tables`); the compiled portfolio pass looks each customer up.
From the same tables come the chance that each held channel is used at least once in
the month (Poisson counts: 1 - exp(-expected)), the chance of paying by app, and each
customer's most-used channel of the month: the one with the most expected transactions.

Where it lands: the counter's share goes to counter or machines by the bank's
self-service share; a wallet payment is a bank transaction made through the platform
(`platform_link`) unless paid from the platform's own fund (`wallet_fund_share`).
"""
from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np

from sim.config import TransactionConfig
from sim.engine.channels import CHANNELS, MOBILE, N_CHANNELS, PC, PLATFORM

N_HOLDINGS = 8          # bit 0 PC banking, bit 1 the bank's app, bit 2 any wallet


class PurposeTables(NamedTuple):
    """This month's per-customer expectations by (holdings, preferred channel, age band)."""
    count: np.ndarray       # (8, 4, age, 4) expected transactions a month on branch, PC, app, wallets
    value: np.ndarray       # (8, 4, age, 4) expected value, RMB at the reference wealth
    used: np.ndarray        # (8, 4, age, 4) chance the channel is used at least once (wallets: all together)
    app_pays: np.ndarray    # (8, 4, age) chance of at least one payment by the bank's app
    app_other: np.ndarray   # (8, 4, age) chance of at least one other use of the app
    most_used: np.ndarray   # (8, 4) most-used channel of the month: most expected transactions (ties: preferred)


class PurposeTerms(NamedTuple):
    """The purposes' config packed as arrays, one row a purpose (built once per run)."""
    count: np.ndarray           # (purpose,) per adult a month
    ticket: np.ndarray          # (purpose,) RMB
    fit: np.ndarray             # (purpose, channel) utils, NaN where the channel cannot serve it
    outside: np.ndarray         # (purpose,) utils of doing it in cash or by card at a till, NaN for no such option
    growth: np.ndarray          # (purpose,) count growth at full maturity
    is_payment: np.ndarray      # (purpose,) bool
    age_factor: np.ndarray      # (age band,)
    preferred_bonus: float
    maturity_fit: float


def holding_key(holds_pc: bool, holds_app: bool, holds_wallet: bool) -> int:
    return int(holds_pc) | int(holds_app) << 1 | int(holds_wallet) << 2


def purpose_terms(t: TransactionConfig) -> PurposeTerms:
    purposes = list(t.purposes.values())
    return PurposeTerms(
        count=np.array([p.monthly_count for p in purposes], dtype=np.float64),
        ticket=np.array([p.ticket_rmb for p in purposes], dtype=np.float64),
        fit=np.array([[np.nan if p.fit[ch] is None else float(p.fit[ch]) for ch in CHANNELS] for p in purposes],
                     dtype=np.float64).reshape(len(purposes), len(CHANNELS)),
        outside=np.array([np.nan if p.outside_fit is None else float(p.outside_fit) for p in purposes],
                         dtype=np.float64),
        growth=np.array([p.maturity_growth for p in purposes], dtype=np.float64),
        is_payment=np.array([p.is_payment for p in purposes], dtype=np.bool_),
        age_factor=np.asarray(t.age_count_factor, dtype=np.float64),
        preferred_bonus=float(t.preferred_bonus), maturity_fit=float(t.maturity_fit))


def purpose_tables(t: TransactionConfig, maturity: float) -> PurposeTables:
    """The month's tables at mobile-payment maturity `maturity` in [0, 1] (module docstring)."""
    return tables_at(purpose_terms(t), float(maturity))


@numba.njit(cache=True, nogil=True)
def tables_at(terms, maturity):
    """`purpose_tables` from packed terms, compiled: it runs every month."""
    n_age = terms.age_factor.size
    count = np.zeros((N_HOLDINGS, N_CHANNELS, n_age, N_CHANNELS))
    value = np.zeros((N_HOLDINGS, N_CHANNELS, n_age, N_CHANNELS))
    paying_on_app = np.zeros((N_HOLDINGS, N_CHANNELS, n_age))
    weight = np.zeros(N_CHANNELS)
    for key in range(N_HOLDINGS):
        for preferred in range(N_CHANNELS):
            held = (True, (key & 1) != 0 or preferred == PC, (key & 2) != 0 or preferred == MOBILE,
                    (key & 4) != 0 or preferred == PLATFORM)
            for k in range(terms.count.size):
                top = -np.inf
                for c in range(N_CHANNELS):
                    fit = terms.fit[k, c]
                    if held[c] and fit == fit:           # held, and able to serve the purpose
                        if c == MOBILE or c == PLATFORM:
                            fit += terms.maturity_fit * maturity
                        if c == preferred:
                            fit += terms.preferred_bonus
                        weight[c] = fit
                        top = max(top, fit)
                    else:
                        weight[c] = -np.inf
                if top == -np.inf:
                    continue                              # done in cash: no bank transaction
                outside = terms.outside[k]
                if outside == outside:                    # cash or a card at a till competes
                    top = max(top, outside)
                total = np.exp(outside - top) if outside == outside else 0.0
                for c in range(N_CHANNELS):
                    weight[c] = np.exp(weight[c] - top)
                    total += weight[c]
                per_adult = terms.count[k] * (1.0 + terms.growth[k] * maturity)
                for a in range(n_age):
                    for c in range(N_CHANNELS):
                        n = per_adult * terms.age_factor[a] * weight[c] / total
                        count[key, preferred, a, c] += n
                        value[key, preferred, a, c] += n * terms.ticket[k]
                        if terms.is_payment[k] and c == MOBILE:
                            paying_on_app[key, preferred, a] += n
    used = 1.0 - np.exp(-count)
    app_pays = 1.0 - np.exp(-paying_on_app)
    app_other = 1.0 - np.exp(-(count[:, :, :, MOBILE] - paying_on_app))
    most_used = np.zeros((N_HOLDINGS, N_CHANNELS), dtype=np.int64)
    for key in range(N_HOLDINGS):
        for preferred in range(N_CHANNELS):
            best = preferred                              # ties go to the preferred channel
            for c in range(N_CHANNELS):
                if count[key, preferred, :, c].sum() > count[key, preferred, :, best].sum() * (1 + 1e-12):
                    best = c
            most_used[key, preferred] = best
    return PurposeTables(count, value, used, app_pays, app_other, most_used)
