"""Transactions by purpose, allocated across the channels a customer holds.

Seed 004: "small amounts on mobile, large on PC; simple business on mobile, buying wealth
products on PC". A customer's month is a set of purposes (`transactions.purposes`: small
payments, transfers and bills, wealth products, cash and counter-only services), each
with its own monthly count and ticket. Each purpose is split over the channels the
customer holds (the counter always; PC banking, the bank's app and its wallets if held)
by a logit on how well each channel fits the purpose (`fit`, in utils; null where the
channel cannot serve it), plus `preferred_bonus` for the channel the customer chose as
its preferred one (`kernels.choose`), plus `maturity_fit` on the app and wallets as mobile
payments mature. A purpose no held channel can serve is done in cash (no bank
transaction). So mobile's small share of value beside its large share of count comes
out of which purposes go where, not from a ticket per channel.

The split depends only on what is held (PC, app, any wallet: eight combinations), the
preferred channel, and the age band (whose factor scales every count), so it is tabled
once a month (`purpose_tables`); the compiled portfolio pass looks each customer up.
From the same tables come the chance that each held channel is used at least once in
the month (Poisson counts: 1 - exp(-expected)), the chance of paying by app, and each
customer's main channel of the month: the one with the most expected transactions.

Where it lands: the counter's share goes to counter or machines by the bank's
self-service share; a wallet payment is a bank transaction made through the platform
(`platform_link`) unless paid from the platform's own fund (`wallet_fund_share`).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .config import AGE_BANDS, CHANNELS, TransactionConfig

N_HOLDINGS = 8          # bit 0 PC banking, bit 1 the bank's app, bit 2 any wallet
BRANCH, PC, MOBILE, WALLET = range(4)


class PurposeTables(NamedTuple):
    """This month's per-customer expectations by (holdings, preferred channel, age band)."""
    count: np.ndarray       # (8, 4, age, 4) expected transactions a month on branch, PC, app, wallets
    value: np.ndarray       # (8, 4, age, 4) expected value, RMB at the reference wealth
    used: np.ndarray        # (8, 4, age, 4) chance the channel is used at least once (wallets: all together)
    app_pays: np.ndarray    # (8, 4, age) chance of at least one payment by the bank's app
    app_other: np.ndarray   # (8, 4, age) chance of at least one other use of the app
    main: np.ndarray        # (8, 4) main channel of the month: most expected transactions (ties: preferred)


def holding_key(holds_pc: bool, holds_app: bool, holds_wallet: bool) -> int:
    return int(holds_pc) | int(holds_app) << 1 | int(holds_wallet) << 2


def purpose_tables(t: TransactionConfig, maturity: float) -> PurposeTables:
    """The month's tables at mobile-payment maturity `maturity` in [0, 1] (module docstring)."""
    n_age = len(AGE_BANDS)
    count = np.zeros((N_HOLDINGS, 4, n_age, 4))
    value = np.zeros_like(count)
    paying_on_app = np.zeros((N_HOLDINGS, 4, n_age))
    age_factor = np.asarray(t.age_count_factor, dtype=float)
    for key in range(N_HOLDINGS):
        for preferred in range(4):
            held = np.array([True, bool(key & 1) or preferred == PC, bool(key & 2) or preferred == MOBILE,
                             bool(key & 4) or preferred == WALLET])
            for purpose in t.purposes.values():
                fit = np.array([np.nan if purpose.fit[ch] is None else float(purpose.fit[ch]) for ch in CHANNELS])
                fit[[MOBILE, WALLET]] += t.maturity_fit * maturity
                fit[preferred] += t.preferred_bonus
                open_ = held & ~np.isnan(fit)
                if not open_.any():
                    continue                      # done in cash: no bank transaction
                weight = np.where(open_, np.exp(np.where(open_, fit, 0.0) - np.nanmax(fit[open_])), 0.0)
                share = weight / weight.sum()
                per_adult = purpose.monthly_count * (1 + purpose.maturity_growth * maturity)
                for a in range(n_age):
                    n = per_adult * age_factor[a] * share
                    count[key, preferred, a] += n
                    value[key, preferred, a] += n * purpose.ticket_rmb
                    if purpose.is_payment:
                        paying_on_app[key, preferred, a] += n[MOBILE]
    used = 1.0 - np.exp(-count)
    app_pays = 1.0 - np.exp(-paying_on_app)
    app_other = 1.0 - np.exp(-(count[..., MOBILE] - paying_on_app))
    total = count.sum(axis=2)                                        # (8, 4, channel): age scales all alike
    bonus = np.zeros_like(total)
    bonus[:, np.arange(4), np.arange(4)] = 1e-9                       # ties go to the preferred channel
    main = np.argmax(total + bonus, axis=2).astype(np.int64)
    return PurposeTables(count, value, used, app_pays, app_other, main)
