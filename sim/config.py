"""Typed configuration of one simulation run, and its validation.

Everything the model reads comes from a `Config`. The dataclasses double as the
strict schema that `lab/compose.py` registers with Hydra, so a misspelt key is refused
when the config is composed. Each field carries its own check, and its physical bounds
where its unit's default range (sim/checks.py) does not fit, in its metadata (`param`);
`validate` runs them, then the few rules that relate several fields, and raises
`ConfigError`, whose message is one line naming the key, the value and what is allowed.
"""
from __future__ import annotations

import copy
import functools
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any, Dict, List, Optional

import numpy as np

from sim import checks as c
from sim.checks import KNOWN_KEY, ConfigError, check_name, month_index, month_label  # noqa: F401 - the config API
from sim.choices import BankGroup, Regime, StrategyKind, TargetSet, WordOfMouthScope

AGE_BANDS = ("18-29", "30-44", "45-59", "60+")
CHANNELS = ("branch", "pc", "mobile", "platform")      # a customer's preferred channel
HOLDING_KINDS = ("pc", "mobile", "platform")           # what a customer can hold besides the counter:
                                                       # its bank's PC banking and app, and platform wallets
MAX_PLATFORMS = 6                                      # holdings are one byte: PC, mobile, then one bit a wallet
MAX_BANKS = 32                                         # other accounts and apps are one bit a bank in 32 bits
BANK_GROUPS = tuple(g.value for g in BankGroup)

per_band = functools.partial(c.per_name, AGE_BANDS, "age band")
per_channel = functools.partial(c.keyed, CHANNELS)
YEAR: c.Bounds = (1900, 2200, "a year in [1900, 2200]")


def param(default: Any, check: Optional[c.Check] = None, bounds: Optional[c.Bounds] = None,
          lever: str = "") -> Any:
    """A field with its default, its check and physical bounds, and, for a policy lever, the
    name the figures give it: everything about the field in one place."""
    metadata = {k: v for k, v in (("check", check), ("bounds", bounds), ("lever", lever)) if v}
    if isinstance(default, (list, dict)):
        return field(default_factory=functools.partial(copy.deepcopy, default), metadata=metadata)
    return field(default=default, metadata=metadata)


def replicate_seed(seed: int, replicate: int) -> "np.random.SeedSequence":
    """The random stream of one replicate: child `replicate` of the base seed's SeedSequence."""
    return np.random.SeedSequence(seed, spawn_key=(replicate,))


# ----------------------------------------------------------------------------- customers

@dataclass
class PopulationConfig:
    """Who the customers are at the start (January of the start year)."""
    size: int = param(100_000, c.integer(100), (100, 2_000_000_000, "an integer in [100, 2e9] customers"))
    represents_adults: float = param(1.0e9, c.positive, (1, 1e10, "a number of adults in [1, 1e10]"))
                                                 # real adults the simulated population stands for
    age_shares: List[float] = param([0.22, 0.30, 0.28, 0.20], per_band(c.prob, shares=True))
    urban_share: float = param(0.54, c.prob)
    literacy_mean_by_age: List[float] = param([0.70, 0.55, 0.35, 0.15], per_band(c.prob))
    literacy_urban_bonus: float = param(0.12, c.prob)
    literacy_sd: float = param(0.15, c.nonneg)
    literacy_growth_by_age: List[float] = param([0.04, 0.04, 0.035, 0.025], per_band(c.prob))
    wealth_median_urban: float = param(40_000.0, c.positive, (1, 1e9, "RMB in [1, 1e9]"))      # RMB
    wealth_median_rural: float = param(12_000.0, c.positive, (1, 1e9, "RMB in [1, 1e9]"))      # RMB
    wealth_sigma: float = param(1.0, c.nonneg, (0, 10, "a log-normal spread in [0, 10]"))
    wealth_growth: float = param(0.08, c.inside(-0.5, 1.0, "a yearly rate in (-0.5, 1)"))
                                                 # per year, recorded as an inflow
    ties_per_customer: int = param(6, c.integer(0, 64))
    tie_homophily: float = param(0.8, c.prob)   # share of ties inside one's own age band and area
    initial_channel_shares: Dict[str, float] = param(
        {"branch": 0.62, "pc": 0.28, "mobile": 0.10, "platform": 0.0}, per_channel(c.prob, shares=True))
    # Smartphone ownership (sim/customers.py): a bank's app and a wallet need one. The share of an age
    # band owning one by year t is ceiling / (1 + exp(-(t - mid) / width)), a year later in rural areas.
    # Assumptions, shaped so that adults who pay by phone level off as CNNIC's counts do (2013-2018)
    # and the old and rural come last; no seed gives ownership by age.
    smartphone_mid_year_by_age: List[float] = param([2012.3, 2013.2, 2014.5, 2016.0], per_band(), YEAR)
    smartphone_ceiling_by_age: List[float] = param([0.90, 0.80, 0.55, 0.25], per_band(c.prob))
    smartphone_width_years: float = param(0.9, c.positive, (0, 100, "years in (0, 100]"))
    smartphone_rural_delay_years: float = param(1.0, c.nonneg, (0, 100, "years in [0, 100]"))


@dataclass
class CustomerBehaviourConfig:
    """Random-utility (multinomial logit) choice of provider and channel; terms in utils."""
    reconsider_prob_by_age: List[float] = param([0.06, 0.05, 0.035, 0.025], per_band(c.prob))
    channel_constant: Dict[str, float] = param(
        {"branch": 0.0, "pc": 0.0, "mobile": -2.0, "platform": -3.9}, per_channel(c.finite))
    literacy_weight: Dict[str, float] = param(
        {"branch": 0.0, "pc": 2.5, "mobile": 3.0, "platform": 3.0}, per_channel(c.finite))
    age_branch_preference: List[float] = param([0.0, 0.2, 0.5, 1.0], per_band())
    branch_density_weight: float = param(1.0, c.nonneg)
    rural_branch_multiplier: float = param(0.5, c.nonneg)  # rural customers weigh branch presence this much more
    app_quality_weight: float = param(1.5, c.nonneg)
    mobile_tech_max: float = param(3.5, c.nonneg)          # smartphone and 4G maturity, a logistic in time
    mobile_tech_mid_year: float = param(2015.5, None, YEAR)
    mobile_tech_width_years: float = param(1.2, c.positive, (0, 100, "years in (0, 100]"))
    yield_weight: float = param(0.35, c.nonneg)   # per percentage point, times the customer's yield sensitivity
    marketing_weight: float = param(0.6, c.nonneg)
    marketing_reference_rmb: float = param(10.0, c.positive, (0, 1e6, "RMB per adult in (0, 1e6]"))
                                                 # RMB per adult per year at which log1p(spend/ref) = log 2
    subsidy_weight: float = param(0.6, c.nonneg)
    tie_weight: float = param(1.0, c.nonneg)     # times the share of one's ties on that channel
    habit: float = param(1.5, c.nonneg)          # cost of changing channel type
    awareness_per_marketing: float = param(0.02, c.prob)   # monthly awareness prob. at the reference spend
    awareness_word_of_mouth: float = param(0.05, c.prob)   # monthly awareness prob. times users' share in
                                                           # one's segment
    word_of_mouth_scope: str = param(WordOfMouthScope.SEGMENT.value, c.one_of(WordOfMouthScope))
                                                 # segment (age band x area) | population (fully mixed)
    # the portfolio (sim/engine/portfolio.py): channels and wallets held besides the preferred channel
    adoption_rate: Dict[str, float] = param(     # assumption, fitted by hand to CNNIC and Yu'ebao users:
        {"pc": 0.010, "mobile": 0.040, "platform": 0.080}, c.keyed(HOLDING_KINDS, c.prob))
                                                 # monthly hazard of adopting a channel or wallet not held,
                                                 # times the chance it beats the counter (binary logit)
    adoption_threshold: float = param(1.0, c.finite)  # assumption, fitted with the rates: utils by which a
                                                 # channel or wallet must beat the counter to be even odds
    secondary_account_rate: float = param(0.006, c.prob)  # assumption: monthly hazard of opening a secondary
                                                 # (Class II) account, times the chance it beats the cost
    other_app_adoption_rate: float = param(0.12, c.prob)
                                                 # fitted (banks=named) to ICBC Mobile's 267 M registered customers
                                                 # (seed 001, mid-2017): monthly hazard that a smartphone owner
                                                 # registers the app of another bank it has an account at, times
                                                 # the chance that app beats its counter (sim/engine/portfolio.py)
    other_app_activity: float = param(0.005, c.prob)
                                                 # assumption: monthly chance that an app registered at a bank other
                                                 # than the primary one is used (bank-level active users only); low,
                                                 # as BOC's monthly active users (seed 004) are about what its
                                                 # primary customers' use of its app gives


@dataclass
class SwitchingCostConfig:
    """Costs (utils) of changing provider; `scale` multiplies all of them."""
    scale: float = param(1.0, c.nonneg)
    bank: float = param(2.2, c.nonneg)           # changing primary bank (assumption: switching stays 2-8 % a year)
    branch_visit_to_open: float = param(1.0, c.nonneg)  # added when accounts cannot be opened remotely
    platform: float = param(0.8, c.nonneg)       # onboarding to a platform not used before
    partnership_discount: float = param(0.6, c.prob)    # share of the bank switching cost waived inside a
                                                        # partner platform
    secondary_account: float = param(1.5, c.nonneg)     # assumption: utils to open a secondary account (the visit
                                                        # cost is added while accounts cannot be opened remotely)


# ----------------------------------------------------------------------------- institutions

@dataclass
class ResponseConfig:
    """How an adaptive or responsive institution reacts each quarter (sim/competition.py), to what it
    could see last quarter. Assumptions: no source gives Chinese banks' or platforms' reaction functions."""
    kind: str = param(StrategyKind.FIXED.value, c.one_of(StrategyKind))   # fixed | adaptive | responsive
    adaptive_trigger: float = param(0.001, c.nonneg)   # share lost in a quarter that triggers more spend
    adaptive_step: float = param(0.3, c.nonneg)        # spend multiplier step per triggered quarter
    adaptive_max_multiplier: float = param(3.0, c.at_least(1))
    price_match: float = param(0.5, c.prob)      # responsive: share of the gap to rivals' price it aims to close
    price_speed: float = param(0.5, c.prob)      # responsive: share of the way to that aim moved per quarter
    loss_quarters: int = param(2, c.integer(1, 40))    # responsive: quarters in a row at a loss before spend is cut
    spend_cut: float = param(0.2, c.prob)        # responsive: share of spend cut per further losing quarter
    spend_floor: float = param(0.2, c.prob)      # responsive: spend never falls below this share of the plan


@dataclass
class StrategyConfig(ResponseConfig):
    """What a bank decides each quarter."""
    marketing_budget_bn: float = param(5.0, c.nonneg)    # RMB bn per year on retail marketing
    digital_investment_bn: float = param(5.0, c.nonneg)  # RMB bn per year on apps and e-channels
    branch_closure_rate: float = param(0.0, c.prob)      # share of branches closed per year
    closure_start: str = param("2013-01", c.month)       # up to the end; earlier: from the start
    smart_upgrade_rate: float = param(0.05, c.prob)      # share of remaining ordinary branches made smart per year
    partner_platform: str = ""                           # platform name, or "" for none
    partnership_start: str = "2017-06"                   # inside the period, when a partner is named
    deposit_rate_premium: float = param(0.0, c.finite, (-3, 5, "percentage points in [-3, 5]"))
                                     # percentage points over the regulated benchmark it pays on deposits,
                                     # never more than the ceiling in force allows (sim/banks.py)
    premium_max: float = param(1.5, c.finite, (-3, 5, "percentage points in [-3, 5]"))
                                     # responsive: the highest premium it will answer rivals with
    balance_product: Optional[str] = param(None, c.optional(c.month))
                                     # launch month of its own balance product (a T+0 money fund), or null
    balance_product_spread: float = param(0.0, c.finite, (-10, 10, "percentage points in [-10, 10]"))
                                     # its yield over the market money-fund yield, percentage points
    balance_product_reach: float = param(0.3, c.prob)
                                     # assumption: share of its customers to whom the product is an option


@dataclass
class BankConfig:
    group: str = param(BankGroup.LARGE_STATE.value, c.one_of(BankGroup))
    label: str = ""
    launch: str = param("2013-01", c.month)      # a launch after the end simply never happens
    initial_share: float = param(0.25, c.prob)   # of customers' primary accounts at the start
    initial_awareness: float = param(0.9, c.prob)
    account_reach: Optional[float] = param(None, c.optional(c.prob))
                                           # share of adults with any account here in 2013 (primary or a dormant
                                           # other account); null: its initial_share (primary customers only)
    branches: int = param(10_000, c.integer(0), (0, 10_000_000, "branches in [0, 1e7]"))  # real branches nationwide
    app_quality: float = param(0.4, c.prob)      # 0..1
    self_service_share: float = param(0.10, c.prob)  # share of in-branch transactions made at machines (2013)
    smart_self_service_share: float = param(0.75, c.prob)
    deposit_rate: float = param(0.35, c.nonneg)  # percent per year on retail balances
    lending_spread: float = param(2.5, c.nonneg)  # percent per year earned on deposits over deposit_rate
    fee_income_per_customer_rmb: float = param(0.0, c.nonneg)
                                         # assumption: RMB a year of fees per primary customer (cards, transfers,
                                         # wealth-product sales); 0, left out unless a preset says
    branch_cost_m: float = param(3.0, c.nonneg, (0, 1e4, "RMB m per branch in [0, 1e4]"))  # RMB m per branch a year
    it_cost_bn: float = param(2.0, c.nonneg)     # RMB bn per year of running cost
    security_friction: float = param(0.0, c.nonneg)     # utils on top of the regulator's mandate
    switching_cost_extra: float = param(0.0, c.nonneg)  # utils a customer pays to leave this bank
    strategy: StrategyConfig = field(default_factory=StrategyConfig)


@dataclass
class PlatformStrategyConfig(ResponseConfig):
    """What a platform decides each quarter: its subsidies and marketing are the plan's (PlatformConfig)
    times a spend multiplier; its fund's spread is the plan's plus what it answers rivals with."""
    spread_min: float = param(-2.0, c.finite, (-10, 10, "percentage points in [-10, 10]"))
                                     # responsive: the band within which it moves its fund's spread
    spread_max: float = param(1.0, c.finite, (-10, 10, "percentage points in [-10, 10]"))


@dataclass
class PlatformConfig:
    label: str = ""
    launch: str = param("2013-06", c.month)
    initial_awareness: float = param(0.3, c.prob)
    ecosystem_reach: float = param(0.03, c.prob)  # monthly prob. of meeting an unaware urban customer via
                                                  # shopping or chat
    rural_reach_factor: float = param(0.5, c.prob)
    payment_convenience: float = param(1.0, c.nonneg)   # utils
    mmf_yield_spread: float = param(0.0, c.finite)      # percent over the market money-fund yield
    mmf_fee: float = param(0.3, c.nonneg)               # percent per year on fund balances
    subsidy_bn: float = param(5.0, c.nonneg)     # RMB bn per year of user subsidies (red packets, cash-back)
    marketing_budget_bn: float = param(5.0, c.nonneg)
    float_income_rate: float = param(1.5, c.nonneg)     # percent per year earned on unreserved client funds
    running_cost_bn: float = param(3.0, c.nonneg)
    fund_weight: float = param(1.0, c.nonneg)    # assumption: pull of its fund among the wallets a customer holds
    initial_holders: float = param(0.0, c.prob)  # share of adults holding its wallet at the start, the most
                                                 # digitally literate first (its fund opens at `launch`)
    payment_fee_rate: float = param(0.05, c.nonneg, (0, 10, "percent in [0, 10]"))
                                     # percent of wallet payment value it earns (approximate: Ant's 2019 digital
                                     # payments revenue, about RMB 52 bn, over about RMB 111 tn paid through Alipay)
    other_income_per_user_rmb: float = param(0.0, c.nonneg)
                                     # assumption: RMB a year per monthly active user from lines the model leaves
                                     # out (credit, insurance and wealth-platform tech fees); 0 unless a preset says
    strategy: PlatformStrategyConfig = field(default_factory=PlatformStrategyConfig)


@dataclass
class MarketConfig:
    """Economy-wide paths that no agent controls."""
    mmf_yield_by_year: Dict[str, float] = param({
        "2013": 4.5, "2014": 5.0, "2015": 3.7, "2016": 2.5, "2017": 3.9,
        "2018": 3.2, "2019": 2.4, "2020": 1.8}, c.by_year(c.nonneg, "4.5"))
    mmf_base_share: float = param(0.0035, c.prob)   # assumption, fitted by hand to Yu'ebao's assets 2013-2017 with
                                         # mmf_share_per_point: share of wealth a platform user keeps in its fund
                                         # at zero spread
    mmf_share_per_point: float = param(0.03, c.prob)  # extra share per percentage point of spread, times sensitivity
    mmf_max_share: float = param(0.4, c.prob)
    mmf_dormant_factor: float = param(0.5, c.prob)  # holders who stopped using the platform keep this much of the
                                                    # target
    mmf_adjust_rate: float = param(0.2, c.prob)     # share of the gap to the target closed each month
    secondary_deposit_share: float = param(0.15, c.prob)  # assumption: share of deposits kept at a secondary
                                                          # account
    # Corporate off-counter value (RMB tn a year), which no simulated customer makes: seed 004's
    # off-counter value (RMB 1,091 tn in 2013, 1,936 tn in 2018) and its mobile share count corporate
    # e-banking too (BOC 2018: RMB 190 tn of its 234 tn e-channel value). Fitted: each is the seed's
    # total less the defaults' simulated retail value that year (docs/model.md, Transaction value); other
    # years follow the log-linear path through the given ones. It adds to the denominator of
    # `mobile_value_share` and to `offcounter_value_tn`, never to a customer's transactions.
    corporate_offcounter_value_tn: Dict[str, float] = param({"2013": 744.0, "2018": 1093.0},
                                                            c.by_year(c.positive, "1093"))


# ----------------------------------------------------------------------------- regulation

@dataclass
class PolicyLevers:
    """The regulator's levers: in force from the start, and what a timeline event may set."""
    regime: str = param(Regime.ASYMMETRIC.value, c.one_of(Regime), lever="regime")
    platform_compliance_cost: float = param(0.0, c.prob, lever="platform compliance cost")
                                            # 0..1 share of platform subsidy and marketing spent on compliance
    mmf_yield_cap: Optional[float] = param(None, c.optional(c.nonneg), lever="money-fund yield cap")
                                            # percent per year, or null for none
    mmf_purchase_limit: Optional[float] = param(None, c.optional(c.nonneg), (0, 1e12, "RMB in [0, 1e12]"),
                                                lever="money-fund purchase limit")   # RMB per customer, or null
    client_fund_reserve_ratio: float = param(0.0, c.prob, lever="client-fund reserve ratio")
                                            # 0..1 of client funds held at the central bank
    remote_account_opening: bool = param(False, c.boolean, lever="remote account opening")
    ukey_friction: float = param(0.8, c.nonneg, lever="U-key friction")
                                            # utils of mandated security friction on bank e-channels
    deposit_rate_benchmark: float = param(3.0, c.nonneg, (0, 100, "percent a year in [0, 100]"),
                                          lever="deposit-rate benchmark")
                                            # the PBoC's one-year time-deposit benchmark, percent a year
                                            # (3.00 from 2012-07-06; the timeline has its cuts)
    deposit_rate_ceiling: Optional[float] = param(3.3, c.optional(c.nonneg), (0, 100, "percent a year in [0, 100]"),
                                                  lever="deposit-rate ceiling")
                                            # the most a bank may pay on a one-year deposit, percent a year
                                            # (1.1x the benchmark from 2012-06-08), or null for none


LEVER_FIELDS = {f.name: f for f in fields(PolicyLevers)}
POLICY_LEVERS = tuple(LEVER_FIELDS)
POLICY_NAMES = {name: f.metadata["lever"] for name, f in LEVER_FIELDS.items()}   # as figures name them


def _lever_settings(key: str, settings: Dict[str, Any]) -> None:
    """What an event sets: policy levers only, each value as its lever allows."""
    for lever, value in settings.items():
        if lever not in LEVER_FIELDS:
            raise ConfigError(f"{key}.{lever}", value, f"a policy lever, one of {list(POLICY_LEVERS)}")
        LEVER_FIELDS[lever].metadata["check"](f"{key}.{lever}", value)


def _lever_bounds(lever: str) -> Optional[c.Bounds]:
    return LEVER_FIELDS[lever].metadata.get("bounds") if lever in LEVER_FIELDS else None


@dataclass
class PolicyEvent:
    date: str = param("2017-01", c.month)   # history may run past a shortened period; a scenario's own
                                            # changes must fall inside it (cross_field_rules)
    set: Dict[str, Any] = field(default_factory=dict, metadata={"check": _lever_settings, "bounds_of": _lever_bounds})
    note: str = ""


@dataclass
class RegulationConfig(PolicyLevers):
    kyc_friction: float = param(1.5, c.nonneg)   # utils of platform onboarding at full compliance cost
    timeline: List[PolicyEvent] = field(default_factory=list)          # history, in the regime file
    scenario_events: List[PolicyEvent] = field(default_factory=list)   # what-if changes, in experiment files


# ----------------------------------------------------------------------------- transactions

def _fit(key: str, fit: Dict[str, Optional[float]]) -> None:
    per_channel(c.optional(c.finite))(key, fit)
    if all(v is None for v in fit.values()):
        raise ConfigError(key, dict(fit), "a number for at least one channel")


@dataclass
class PurposeConfig:
    """One reason to transact (sim/engine/purposes.py): how often, how much, and which channels suit it."""
    monthly_count: float = param(1.0, c.nonneg, (0, 1e4, "transactions a month in [0, 10000]"))
                                         # per adult a month, before the age factor
    ticket_rmb: float = param(1000.0, c.positive, (1, 1e8, "RMB per transaction in [1, 1e8]"))
                                         # mean ticket at the starting population's mean wealth power
    fit: Dict[str, Optional[float]] = param(      # utils of serving it on each channel; null: cannot
        {"branch": 0.0, "pc": 0.0, "mobile": 0.0, "platform": None}, _fit)
    maturity_growth: float = param(0.0, c.nonneg)  # the count grows by this factor at full mobile-payment maturity
    is_payment: bool = False             # paying for goods or services (counts for mobile payers)
    outside_fit: Optional[float] = param(None, c.optional(c.finite))
                                         # utils of doing it outside every bank channel and wallet (cash, or
                                         # a card at a till): no bank transaction; null for no such option


def _purposes() -> Dict[str, PurposeConfig]:
    # assumptions, shaped by seed 004's "small amounts on mobile, large on PC; simple business on
    # mobile, buying wealth products on PC" and fitted by hand to its figures and CNNIC's users.
    # The transfer and wealth tickets and their fit on mobile are fitted (2 seeds x 50,000, banks=named)
    # to the mobile value share (4.01 % in 2015, 14.62 % in 2018, over retail and corporate value),
    # BOC's mobile value (RMB 20.03 tn in 2018) and BOC's retail e-channel value (234 - 190 = RMB 44 tn)
    return {
        "small_payment": PurposeConfig(monthly_count=1.64, ticket_rmb=150.0, maturity_growth=4.61, is_payment=True,
                                       fit={"branch": None, "pc": 0.0, "mobile": 0.5, "platform": 1.0}),
        "transfer_bill": PurposeConfig(monthly_count=1.5, ticket_rmb=13000.0, maturity_growth=0.5,
                                       fit={"branch": 0.0, "pc": 1.0, "mobile": -1.9, "platform": -0.5}),
        "wealth_product": PurposeConfig(monthly_count=0.3, ticket_rmb=190000.0,
                                        fit={"branch": 0.5, "pc": 1.0, "mobile": -1.5, "platform": None}),
        "cash_service": PurposeConfig(monthly_count=0.53, ticket_rmb=2500.0,
                                      fit={"branch": 0.0, "pc": None, "mobile": None, "platform": None}),
    }


@dataclass
class TransactionConfig:
    """Bank transactions a customer makes each month, by purpose, over the channels it holds."""
    purposes: Dict[str, PurposeConfig] = field(default_factory=_purposes)
    preferred_bonus: float = param(0.28, c.finite)   # assumption: utils for the customer's preferred channel
    maturity_fit: float = param(3.42, c.finite)      # assumption: utils added to app and wallets at full mobile
                                                     # maturity
    wallet_fund_share: float = param(0.3, c.prob)    # assumption: share of wallet payments paid from the fund
    age_count_factor: List[float] = param([1.2, 1.1, 0.9, 0.7], per_band(c.nonneg))
    wealth_ticket_elasticity: float = param(0.5, c.nonneg)


# ----------------------------------------------------------------------------- the run

@dataclass
class Config:
    scenario: str = param("baseline", c.name)
    study: str = param("adhoc", c.name)  # a sweep's name: its results go to results/sweeps/<study>/
    question: str = ""
    seed: int = param(42, c.integer(0), (0, 2 ** 63 - 1, "an integer seed in [0, 2**63)"))
    replicates: int = param(1, c.integer(1, 10_000))  # independent runs of this config; replicate r draws from
                                                      # SeedSequence(seed, spawn_key=(r,))
    start: str = param("2013-01", c.month)
    end: str = param("2020-12", c.month)
    target_set: str = param(TargetSet.SEED.value, c.one_of(TargetSet))
    posterior: str = param("", c.optional_name)
                                         # a calibration's name: replicate r runs draw r of its posterior
                                         # (lab/posterior.py); "" runs this config's own values
    figures: bool = True                 # draw PNG figures into each run folder
    population: PopulationConfig = field(default_factory=PopulationConfig)
    customers: CustomerBehaviourConfig = field(default_factory=CustomerBehaviourConfig)
    switching_cost: SwitchingCostConfig = field(default_factory=SwitchingCostConfig)
    banks: Dict[str, BankConfig] = field(default_factory=dict)
    platforms: Dict[str, PlatformConfig] = field(default_factory=dict)
    market: MarketConfig = field(default_factory=MarketConfig)
    regulation: RegulationConfig = field(default_factory=RegulationConfig)
    transactions: TransactionConfig = field(default_factory=TransactionConfig)


# ----------------------------------------------------------------------------- validation

ROSTERS = {"banks": BankConfig, "platforms": PlatformConfig}    # the entry type of an empty roster


def allowed_for(key: str) -> str:
    """What a key allows, in words, from its field's bounds or check (for messages about a value
    that never reached the check, e.g. null for a field that is not optional)."""
    unknown = "a value (see them all with --cfg job)"
    node: Any = Config()
    f = None
    for part in key.split("."):
        if isinstance(node, dict):          # banks.<name>, purposes.<name>, ...: any entry stands for all
            node = next(iter(node.values()), None) if node else ROSTERS.get(f.name, type(None))()
            continue
        f = next((x for x in fields(node) if x.name == part), None) if is_dataclass(node) else None
        if f is None:
            return unknown
        node = getattr(node, part)
    if "bounds" in f.metadata:
        return f.metadata["bounds"][2]
    try:
        f.metadata.get("check", c.finite)(key, None)
    except ConfigError as e:
        return e.allowed
    except (TypeError, ValueError):         # a check of a whole list or mapping: nothing to say of one entry
        pass
    return unknown


def validate(cfg: Config) -> None:
    """Check every value the model reads; raise ConfigError on the first bad one.

    Unknown keys first, then each field's own check, then the rules between fields, and
    last every number's physical range, so that the specific checks speak first."""
    numbers = list(c.numbers(cfg))
    c.check_fields(cfg)
    cross_field_rules(cfg)
    for key, value, bounds in numbers:
        c.in_range(key, value, bounds)


def cross_field_rules(cfg: Config) -> None:
    """The rules that relate several fields: the period, the roster, shares, dates inside the period."""
    first, last = month_index(cfg.start, "start"), month_index(cfg.end, "end")
    if last < first:
        raise ConfigError("end", cfg.end, f"a month on or after start={cfg.start}")
    if not cfg.banks:
        raise ConfigError("banks", {}, "at least one bank")
    if not cfg.platforms:
        raise ConfigError("platforms", {}, "at least one platform (set a late launch to keep it out)")
    for roster, most in ((cfg.platforms, MAX_PLATFORMS), (cfg.banks, MAX_BANKS)):
        if len(roster) > most:
            what = "platforms" if roster is cfg.platforms else "banks"
            raise ConfigError(what, sorted(roster), f"at most {most} {what}")
    c.sums_to_one("banks.*.initial_share", [b.initial_share for b in cfg.banks.values()])
    for name, b in cfg.banks.items():
        k, st = f"banks.{name}", b.strategy
        if b.account_reach is not None and b.account_reach < b.initial_share:
            raise ConfigError(f"{k}.account_reach", b.account_reach,
                              f"null or a share of adults in [initial_share ({b.initial_share:g}), 1]")
        if month_index(b.launch) > first and b.initial_share > 0:
            raise ConfigError(f"{k}.initial_share", b.initial_share,
                              f"0 for a bank launched after the start ({b.launch})")
        c.in_period(f"{k}.strategy.closure_start", st.closure_start, None, last)
        if st.partner_platform:
            if st.partner_platform not in cfg.platforms:
                raise ConfigError(f"{k}.strategy.partner_platform", st.partner_platform,
                                  f"'' or one of {sorted(cfg.platforms)}")
            c.in_period(f"{k}.strategy.partnership_start", st.partnership_start, first, last)
    for name in cfg.platforms:
        if name in cfg.banks:
            raise ConfigError(f"platforms.{name}", name, "a name not also used by a bank")
    for list_name in ("timeline", "scenario_events"):
        setting: Dict[tuple, Any] = {}
        for i, ev in enumerate(getattr(cfg.regulation, list_name)):
            k = f"regulation.{list_name}[{i}]"
            if list_name == "scenario_events":
                c.in_period(f"{k}.date", ev.date, first, last)
            for lever, value in ev.set.items():
                when = (month_index(ev.date), lever)
                if when in setting and setting[when] != value:
                    raise ConfigError(f"{k}.set.{lever}", value, f"one value per lever and month: an earlier event "
                                      f"of {ev.date} sets it to {setting[when]!r}")
                setting[when] = value
    if not cfg.transactions.purposes:
        raise ConfigError("transactions.purposes", {}, "at least one purpose")
