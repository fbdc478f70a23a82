"""The codes of channels, places, held items and alternatives, defined once for the whole model.

A customer's preferred channel (its logit choice, `kernels.choose`) and its most-used channel of
the month (`purposes.tables_at`) are both one of CHANNELS. A bank transaction is made at one of
PLACES. What a customer holds is one byte: bit PC_ITEM its bank's PC banking, MOBILE_ITEM its
bank's app, FIRST_WALLET + p platform p's wallet. The menu of alternatives is each bank's
branch, PC and mobile channels, then each platform's app: `bank_alternative(b, channel)` and
`platform_alternative(n_banks, p)` say where each is, and nothing else computes it.
"""
from __future__ import annotations

import numba

CHANNELS = ("branch", "pc", "mobile", "platform")
BRANCH, PC, MOBILE, PLATFORM = range(len(CHANNELS))      # PLATFORM: a platform's app (its wallet)
N_CHANNELS = len(CHANNELS)
BANK_CHANNELS = (BRANCH, PC, MOBILE)                      # the channels every bank offers

PLACES = ("counter", "self_service", "pc", "mobile", "platform_link")
COUNTER, SELF_SERVICE, PC_PLACE, MOBILE_PLACE, PLATFORM_LINK = range(len(PLACES))
OFF_COUNTER = tuple(range(SELF_SERVICE, len(PLACES)))     # every place but the counter
PLACE_CHANNEL = (BRANCH, BRANCH, PC, MOBILE, PLATFORM)   # the channel each place serves: machines are in branches

PC_ITEM, MOBILE_ITEM, FIRST_WALLET = 0, 1, 2              # bit j of a customer's holdings is item j


@numba.njit(cache=True, nogil=True)
def bank_alternative(bank, channel):
    """The menu index of bank `bank`'s `channel` (BRANCH, PC or MOBILE)."""
    return len(BANK_CHANNELS) * bank + channel


@numba.njit(cache=True, nogil=True)
def platform_alternative(n_banks, platform):
    """The menu index of platform `platform`'s app, after every bank's channels."""
    return len(BANK_CHANNELS) * n_banks + platform


@numba.njit(cache=True, nogil=True)
def item_alternative(bank, n_banks, item):
    """The menu index of held item `item` of a customer of bank `bank`: its PC banking, its app or a wallet."""
    if item < FIRST_WALLET:
        return bank_alternative(bank, PC + item)
    return platform_alternative(n_banks, item - FIRST_WALLET)


@numba.njit(cache=True, nogil=True)
def item_provider(bank, n_banks, item):
    """The provider (banks, then platforms) of held item `item` of a customer of bank `bank`."""
    return bank if item < FIRST_WALLET else n_banks + item - FIRST_WALLET
