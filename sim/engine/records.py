"""The named records that cross module borders: the compiled kernels' arguments and results.

numba accepts NamedTuples of arrays and numbers (typed by their fields' values at the call),
so every kernel that another module calls takes and returns these records, never positional
tuples: a reader sees each field's name where it is built and where it is read. Arrays must
have the dtypes named here (the kernels are compiled for them); `Customers` and
`MarketModel` build the records with them.

Alternatives are laid out as `channels.bank_alternative` and `channels.platform_alternative`
say: each bank's branch, PC and mobile channels, then each platform's app. Providers are the
banks, then the platforms.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np


class CustomerArrays(NamedTuple):
    """The customer arrays the compiled steps read, and those they update in place (bank, channel,
    platform, holds, active, secondary, accounts, other_apps, funds, aware). Customers are stored in segment order, so
    segment s is customers bounds[s] to bounds[s + 1]."""
    holds: np.ndarray              # uint8 (customer,): bit 0 PC banking, bit 1 the bank's app, bit 2 + p wallet p
    active: np.ndarray             # uint8 (customer,): the same bits, used this month
    secondary: np.ndarray          # int8 (customer,): bank of the secondary account, -1 for none
    accounts: np.ndarray           # uint32 (customer,): bit b, an account at bank b other than the primary one
                                   # (the secondary account, a dormant card, a former primary bank)
    other_apps: np.ndarray         # uint32 (customer,): bit b, bank b's app registered, b not the primary bank
    funds: np.ndarray              # float64 (customer, platform): money-fund balance, RMB
    bank: np.ndarray               # int8: primary bank
    channel: np.ndarray            # int8: preferred channel (channels.CHANNELS), the logit choice
    platform: np.ndarray           # int8: the platform of the preferred channel's choice, -1 for none
    age: np.ndarray                # int8: age band
    urban: np.ndarray              # bool
    literacy0: np.ndarray          # float32: digital literacy at the start
    literacy_growth: np.ndarray    # float32 by age band, per year
    yield_sensitivity: np.ndarray  # float32
    ties: np.ndarray               # int32 (customer, k) indices of the customer's ties
    aware: np.ndarray              # bool (provider, customer padded to whole 8-byte words), padding True
    aware_words: np.ndarray        # the same memory as uint64 (provider, words): eight customers a word
    wealth0: np.ndarray            # float64: wealth at the start (times the common factor: wealth now)
    segment: np.ndarray            # int8: age band x 2 + urban
    bounds: np.ndarray             # int64 (segment + 1,): where each segment starts, then the population
    wealth_power0: np.ndarray      # float64: wealth ** ticket elasticity at the start
    smartphone_year: np.ndarray    # float32: years after the start from which the customer has a smartphone
                                   # (inf: never); the app and wallets need one (sim/customers.py)
    choice_category: np.ndarray    # int8 scratch: the preferred channel's category (channel, 3 + platform
                                   # on a platform's app), refreshed by a kernel before it reads ties'


class Menu(NamedTuple):
    """The alternatives open this month and their institution-level terms (one entry each)."""
    bank: np.ndarray            # int64: bank index, -1 for a platform's app
    platform: np.ndarray        # int64: platform index, -1 for a bank channel
    channel: np.ndarray         # int64: BRANCH, PC, MOBILE or PLATFORM
    provider: np.ndarray        # int64: index into banks followed by platforms
    category: np.ndarray        # int64: channel for bank channels, 3 + platform for platform apps
    available: np.ndarray       # bool: launched, and has branches for a branch alternative
    utility: np.ndarray         # terms common to all customers (constant, app, tech, marketing, friction)
    literacy_weight: np.ndarray
    branch_presence: np.ndarray  # utils from the branch network, branch alternatives only
    yield_term: np.ndarray      # yield weight x yield, before the customer's sensitivity
    bank_switch_cost: float     # utils to change primary bank (scaled)
    opening_extra: np.ndarray   # extra utils to open an account with this alternative's bank
    leave_cost: np.ndarray      # (n_banks,) extra utils to leave each bank (scaled)
    platform_switch_cost: float
    platform_partner: np.ndarray  # int64 (n_platforms,) partner bank index or -1
    partnership_discount: float


class Layout(NamedTuple):
    """The part of the `Menu` that never changes (its fields of the same names), built once a run."""
    bank: np.ndarray
    platform: np.ndarray
    channel: np.ndarray
    provider: np.ndarray
    category: np.ndarray
    literacy_weight: np.ndarray
    leave_cost: np.ndarray
    partnership_discount: float


class SwitchCosts(NamedTuple):
    """This month's utils to change primary bank, and to open a platform account."""
    bank: float
    platform: float


class MenuWeights(NamedTuple):
    """The customers' weights of the institutions' terms in `kernels.menu_terms`, in utils."""
    branch: float               # the channel constants
    pc: float
    mobile: float
    platform: float
    marketing: float            # per log1p of marketing reach
    subsidy: float              # per log1p of subsidy reach
    app_quality: float
    branch_density: float
    yield_weight: float         # per percent of yield
    spend_scale: float          # RMB bn a year to RMB per adult over the reference spend
    awareness_per_reach: float  # monthly chance of becoming known per log1p of marketing reach


class BankTerms(NamedTuple):
    """The banks' state this month, one entry a bank."""
    marketing: np.ndarray        # float64: marketing spend, RMB bn a year
    app_quality: np.ndarray      # float64: 0..1
    branches: np.ndarray         # float64: real branches nationwide
    branch_presence: np.ndarray  # float64: the branch network's pull, before the density weight
    partner: np.ndarray          # int64: partner platform, -1 for none
    deposit_rate: np.ndarray     # float64: what its customers earn on their balances, percent a year: its
                                 # deposit rate, and its balance product's yield where they hold it


class PlatformTerms(NamedTuple):
    """The platforms' state this month, one entry a platform."""
    marketing: np.ndarray        # float64: marketing spend, RMB bn a year
    subsidy: np.ndarray          # float64: user subsidies, RMB bn a year
    fund_yield: np.ndarray       # float64: money-fund yield, percent a year


class BankFixedTerms(NamedTuple):
    """What never changes about the banks in a run, one entry a bank."""
    launch_month: np.ndarray       # float64: months since year 0
    security_friction: np.ndarray  # float64: utils on top of the regulator's mandate


class PlatformFixedTerms(NamedTuple):
    """What never changes about the platforms in a run, one entry a platform."""
    launch_month: np.ndarray         # float64: months since year 0
    payment_convenience: np.ndarray  # float64: utils


class Institutions(NamedTuple):
    """The arguments of `kernels.menu_terms`: the banks' and platforms' state this month, the
    policy's, and what never changes (launch months, frictions, rates, weights)."""
    month: int                  # months since year 0
    tech: float                 # smartphone maturity, utils on mobile and platform apps
    banks: BankTerms
    platforms: PlatformTerms
    bank_fixed: BankFixedTerms
    platform_fixed: PlatformFixedTerms
    weights: MenuWeights
    ukey_friction: float        # utils lost on PC and mobile banking
    visit_cost: float           # utils of the branch visit to open an account at a bank without branches
                                # (0 with remote account opening)


class MonthTerms(NamedTuple):
    """`kernels.menu_terms`'s result: this month's terms per alternative (see `Menu`) and per provider."""
    available: np.ndarray
    utility: np.ndarray
    branch_presence: np.ndarray
    yield_term: np.ndarray
    opening_extra: np.ndarray
    platform_partner: np.ndarray   # each platform's partner bank, -1 for none
    by_marketing: np.ndarray       # (provider,) monthly chance of becoming known through marketing
    is_open: np.ndarray            # (provider,) launched


class AwarenessTerms(NamedTuple):
    """What never changes in `kernels.awareness_prob`: the platforms' ecosystem reach and word of mouth."""
    reach: np.ndarray           # (provider, segment) monthly chance a platform's ecosystem makes it known
    word_of_mouth: float        # times the share of users among the customer's segment (or everyone)
    fully_mixed: bool           # word of mouth from everyone, not the customer's segment


class ChoiceTerms(NamedTuple):
    """The terms of the preferred-channel choice (`kernels.choose`) besides the menu."""
    reconsider_prob: np.ndarray     # (age band,) monthly probability of reconsidering
    years: float                    # since the start, for literacy growth
    age_branch_preference: np.ndarray   # (age band,) utils on branch alternatives
    rural_branch_multiplier: float  # extra weight of branch presence for rural customers
    tie_weight: float               # times the share of one's ties on that category
    habit: float                    # utils to take an alternative of another category
    n_categories: int               # 3 + platforms


class Choosers(NamedTuple):
    """The state of this month's choosers (`kernels.gather_choosers`), one row a chooser."""
    tie_category: np.ndarray    # int8 (chooser, tie): the category of each tie's preferred channel
    knows: np.ndarray           # bool (chooser, provider): aware of the provider
    age: np.ndarray             # int8: age band
    bank: np.ndarray            # int8: primary bank
    channel: np.ndarray         # int8: preferred channel
    platform: np.ndarray        # int8: platform, -1 for none
    holds: np.ndarray           # uint8: holdings (channels.PC_ITEM, MOBILE_ITEM, FIRST_WALLET + p)
    literacy: np.ndarray        # float64: digital literacy now
    presence: np.ndarray        # float64: weight of branch presence (more for rural customers)
    sensitivity: np.ndarray     # float64: yield sensitivity
    has_smartphone: np.ndarray  # bool


class Trading(NamedTuple):
    """Where the month's transactions land (`kernels.draw_transactions`)."""
    self_service: np.ndarray    # (bank,) share of branch transactions made at machines
    wallet_fund_share: float    # share of wallet payments paid from the platform's own fund


class Transactions(NamedTuple):
    """Transactions per bank, counts and values (RMB), by channel or place."""
    counts: np.ndarray
    values: np.ndarray


class ChoiceOutcome(NamedTuple):
    """The month's preferred-channel choices (`kernels.choose`)."""
    reconsidered: int
    channel_flows: np.ndarray   # (channel, channel) customers moving from the preferred channel (row) to another (column)
    bank_switches: int
    platform_switches: int      # changes of platform account, first adoptions included


class Snapshot(NamedTuple):
    """The running counts as they stand (`kernels.snapshot`)."""
    counts: np.ndarray          # (channel, platform + 1, bank, segment); slot 0: no platform account
    bank_customers: np.ndarray  # (bank,) customers whose primary bank it is
