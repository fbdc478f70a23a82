"""Typed configuration of one simulation run, and its validation.

Everything the model reads comes from a `Config`. The dataclasses double as the
strict schema that `experiments/` registers with Hydra, so a misspelt key is refused
when the config is composed; `validate` then checks values (ranges, sums, dates,
names) and raises `ConfigError`, whose message is one line naming the key, the
value and what is allowed.
"""
from __future__ import annotations

import fnmatch
import functools
import math
import re
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any, Dict, Iterator, List, Optional, Tuple

import numpy as np

AGE_BANDS = ("18-29", "30-44", "45-59", "60+")
CHANNELS = ("branch", "pc", "mobile", "platform")      # a customer's main channel
HOLDING_KINDS = ("pc", "mobile", "platform")           # what a customer can hold besides the counter:
                                                       # its bank's PC banking and app, and platform wallets
MAX_PLATFORMS = 6                                      # holdings are one byte: PC, mobile, then one bit a wallet
MAX_BANKS = 32                                         # other accounts and apps are one bit a bank in 32 bits
BANK_GROUPS = ("large_state", "joint_stock", "city_commercial", "rural_commercial", "direct")
REGIMES = ("asymmetric", "functional")
STRATEGY_KINDS = ("fixed", "adaptive")


class ConfigError(ValueError):
    """A config value that the model cannot run with."""

    def __init__(self, key: str, value: Any, allowed: str):
        self.key, self.value, self.allowed = key, value, allowed
        super().__init__(f"config error: {key}={value!r} is not allowed; expected {allowed}")


# ----------------------------------------------------------------------------- calendar

def month_index(date: str, key: str = "date") -> int:
    """'YYYY-MM' -> months since year 0 (raises ConfigError naming `key`)."""
    try:
        year_s, month_s = str(date).split("-")
        year, month = int(year_s), int(month_s)
        if len(year_s) != 4 or not 1 <= month <= 12:
            raise ValueError
    except ValueError:
        raise ConfigError(key, date, "a month written YYYY-MM, e.g. 2017-01") from None
    return year * 12 + month - 1


def replicate_seed(seed: int, replicate: int) -> "np.random.SeedSequence":
    """The random stream of one replicate: child `replicate` of the base seed's SeedSequence."""
    return np.random.SeedSequence(seed, spawn_key=(replicate,))


def month_label(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


# ----------------------------------------------------------------------------- customers

@dataclass
class PopulationConfig:
    """Who the customers are at the start (January of the start year)."""
    size: int = 100_000
    represents_adults: float = 1.0e9           # real adults the simulated population stands for
    age_shares: List[float] = field(default_factory=lambda: [0.22, 0.30, 0.28, 0.20])
    urban_share: float = 0.54
    literacy_mean_by_age: List[float] = field(default_factory=lambda: [0.70, 0.55, 0.35, 0.15])
    literacy_urban_bonus: float = 0.12
    literacy_sd: float = 0.15
    literacy_growth_by_age: List[float] = field(default_factory=lambda: [0.04, 0.04, 0.035, 0.025])
    wealth_median_urban: float = 40_000.0        # RMB
    wealth_median_rural: float = 12_000.0        # RMB
    wealth_sigma: float = 1.0                    # log-normal spread
    wealth_growth: float = 0.08                  # per year, recorded as an inflow
    ties_per_customer: int = 6
    tie_homophily: float = 0.8                   # share of ties inside one's own age band and area
    initial_channel_shares: Dict[str, float] = field(
        default_factory=lambda: {"branch": 0.62, "pc": 0.28, "mobile": 0.10, "platform": 0.0})
    # Smartphone ownership (sim/customers.py): a bank's app and a wallet need one. The share of an age
    # band owning one by year t is ceiling / (1 + exp(-(t - mid) / width)), a year later in rural areas.
    # Assumptions, shaped so that adults who pay by phone level off as CNNIC's counts do (2013-2018)
    # and the old and rural come last; no seed gives ownership by age.
    smartphone_mid_year_by_age: List[float] = field(default_factory=lambda: [2012.3, 2013.2, 2014.5, 2016.0])
    smartphone_ceiling_by_age: List[float] = field(default_factory=lambda: [0.90, 0.80, 0.55, 0.25])
    smartphone_width_years: float = 0.9
    smartphone_rural_delay_years: float = 1.0


@dataclass
class CustomerBehaviourConfig:
    """Random-utility (multinomial logit) choice of provider and channel; terms in utils."""
    reconsider_prob_by_age: List[float] = field(default_factory=lambda: [0.06, 0.05, 0.035, 0.025])
    channel_constant: Dict[str, float] = field(
        default_factory=lambda: {"branch": 0.0, "pc": 0.0, "mobile": -2.0, "platform": -3.9})
    literacy_weight: Dict[str, float] = field(
        default_factory=lambda: {"branch": 0.0, "pc": 2.5, "mobile": 3.0, "platform": 3.0})
    age_branch_preference: List[float] = field(default_factory=lambda: [0.0, 0.2, 0.5, 1.0])
    branch_density_weight: float = 1.0
    rural_branch_multiplier: float = 0.5         # rural customers weigh branch presence this much more
    app_quality_weight: float = 1.5
    mobile_tech_max: float = 3.5                 # smartphone and 4G maturity, a logistic in time
    mobile_tech_mid_year: float = 2015.5
    mobile_tech_width_years: float = 1.2
    yield_weight: float = 0.35                   # per percentage point, times the customer's yield sensitivity
    marketing_weight: float = 0.6
    marketing_reference_rmb: float = 10.0        # RMB per adult per year at which log1p(spend/ref) = log 2
    subsidy_weight: float = 0.6
    tie_weight: float = 1.0                      # times the share of one's ties on that channel
    habit: float = 1.5                           # cost of changing channel type
    awareness_per_marketing: float = 0.02        # monthly awareness prob. at the reference spend
    awareness_word_of_mouth: float = 0.05        # monthly awareness prob. times users' share in one's segment
    word_of_mouth_scope: str = "segment"         # segment (age band x area) | population (fully mixed)
    # the portfolio (sim/engine/portfolio.py): channels and wallets held besides the main channel
    adoption_rate: Dict[str, float] = field(     # assumption, fitted by hand to CNNIC and Yu'ebao users:
        default_factory=lambda: {"pc": 0.010, "mobile": 0.040, "platform": 0.080})
                                                 # monthly hazard of adopting a channel or wallet not held,
                                                 # times the chance it beats the counter (binary logit)
    adoption_threshold: float = 1.0              # assumption, fitted with the rates: utils by which a channel
                                                 # or wallet must beat the counter to be even odds
    secondary_account_rate: float = 0.006        # assumption: monthly hazard of opening a secondary
                                                 # (Class II) account, times the chance it beats the cost
    other_app_adoption_rate: float = 0.12        # fitted (banks=named) to ICBC Mobile's 267 M registered customers
                                                 # (seed 001, mid-2017): monthly hazard that a smartphone owner
                                                 # registers the app of another bank it has an account at, times
                                                 # the chance that app beats its counter (sim/engine/portfolio.py)
    other_app_activity: float = 0.005            # assumption: monthly chance that an app registered at a bank other
                                                 # than the primary one is used (bank-level active users only); low,
                                                 # as BOC's monthly active users (seed 004) are about what its
                                                 # primary customers' use of its app gives


@dataclass
class SwitchingCostConfig:
    """Costs (utils) of changing provider; `scale` multiplies all of them."""
    scale: float = 1.0
    bank: float = 2.2                    # changing primary bank (assumption: switching stays 2-8 % a year)
    branch_visit_to_open: float = 1.0    # added when accounts cannot be opened remotely
    platform: float = 0.8                # onboarding to a platform not used before
    partnership_discount: float = 0.6    # share of the bank switching cost waived inside a partner platform
    secondary_account: float = 1.5       # assumption: utils to open a secondary account (the visit cost
                                         # is added while accounts cannot be opened remotely)


# ----------------------------------------------------------------------------- institutions

@dataclass
class StrategyConfig:
    """What a bank decides each quarter."""
    kind: str = "fixed"                  # fixed | adaptive
    marketing_budget_bn: float = 5.0     # RMB bn per year on retail marketing
    digital_investment_bn: float = 5.0   # RMB bn per year on apps and e-channels
    branch_closure_rate: float = 0.0     # share of branches closed per year
    closure_start: str = "2013-01"
    smart_upgrade_rate: float = 0.05     # share of remaining ordinary branches made smart per year
    partner_platform: str = ""           # platform name, or "" for none
    partnership_start: str = "2017-06"
    adaptive_trigger: float = 0.001      # share lost in a quarter that triggers a response
    adaptive_step: float = 0.3           # spend multiplier step per triggered quarter
    adaptive_max_multiplier: float = 3.0


@dataclass
class BankConfig:
    group: str = "large_state"
    label: str = ""
    launch: str = "2013-01"
    initial_share: float = 0.25          # of customers' primary accounts at the start
    initial_awareness: float = 0.9
    account_reach: Optional[float] = None  # share of adults with any account here in 2013 (primary or a dormant
                                           # other account); null: its initial_share (primary customers only)
    branches: int = 10_000               # real branches nationwide
    app_quality: float = 0.4             # 0..1
    self_service_share: float = 0.10     # share of in-branch transactions made at machines (2013)
    smart_self_service_share: float = 0.75
    deposit_rate: float = 0.35           # percent per year on retail balances
    lending_spread: float = 2.5          # percent per year earned on deposits
    branch_cost_m: float = 3.0           # RMB m per branch per year
    it_cost_bn: float = 2.0              # RMB bn per year of running cost
    security_friction: float = 0.0       # utils on top of the regulator's mandate
    switching_cost_extra: float = 0.0    # utils a customer pays to leave this bank
    strategy: StrategyConfig = field(default_factory=StrategyConfig)


@dataclass
class PlatformConfig:
    label: str = ""
    launch: str = "2013-06"
    initial_awareness: float = 0.3
    ecosystem_reach: float = 0.03        # monthly prob. of meeting an unaware urban customer via shopping or chat
    rural_reach_factor: float = 0.5
    payment_convenience: float = 1.0     # utils
    mmf_yield_spread: float = 0.0        # percent over the market money-fund yield
    mmf_fee: float = 0.3                 # percent per year on fund balances
    subsidy_bn: float = 5.0              # RMB bn per year of user subsidies (red packets, cash-back)
    marketing_budget_bn: float = 5.0
    float_income_rate: float = 1.5       # percent per year earned on unreserved client funds
    running_cost_bn: float = 3.0
    fund_weight: float = 1.0             # assumption: pull of its fund among the wallets a customer holds
    initial_holders: float = 0.0         # share of adults holding its wallet at the start, the most
                                         # digitally literate first (its fund opens at `launch`)


@dataclass
class MarketConfig:
    """Economy-wide paths that no agent controls."""
    mmf_yield_by_year: Dict[str, float] = field(default_factory=lambda: {
        "2013": 4.5, "2014": 5.0, "2015": 3.7, "2016": 2.5, "2017": 3.9,
        "2018": 3.2, "2019": 2.4, "2020": 1.8})
    mmf_base_share: float = 0.0035       # assumption, fitted to Yu'ebao's assets with mmf_share_per_point: share of wealth a platform user keeps in its fund at zero spread
                                         # (fitted by hand to Yu'ebao's assets 2013-2017)
    mmf_share_per_point: float = 0.03    # extra share per percentage point of spread, times sensitivity
    mmf_max_share: float = 0.4
    mmf_dormant_factor: float = 0.5      # holders who stopped using the platform keep this much of the target
    mmf_adjust_rate: float = 0.2         # share of the gap to the target closed each month
    secondary_deposit_share: float = 0.15  # assumption: share of deposits kept at a secondary account
    # Corporate off-counter value (RMB tn a year), which no simulated customer makes: seed 004's
    # off-counter value (RMB 1,091 tn in 2013, 1,936 tn in 2018) and its mobile share count corporate
    # e-banking too (BOC 2018: RMB 190 tn of its 234 tn e-channel value). Fitted: each is the seed's
    # total less the defaults' simulated retail value that year (README, Transaction value); other
    # years follow the log-linear path through the given ones. It adds to the denominator of
    # `mobile_value_share` and to `offcounter_value_tn`, never to a customer's transactions.
    corporate_offcounter_value_tn: Dict[str, float] = field(default_factory=lambda: {"2013": 744.0, "2018": 1093.0})


# ----------------------------------------------------------------------------- regulation

POLICY_LEVERS = ("regime", "platform_compliance_cost", "mmf_yield_cap", "mmf_purchase_limit",
                 "client_fund_reserve_ratio", "remote_account_opening", "ukey_friction")


@dataclass
class PolicyEvent:
    date: str = "2017-01"
    set: Dict[str, Any] = field(default_factory=dict)
    note: str = ""


@dataclass
class RegulationConfig:
    regime: str = "asymmetric"
    platform_compliance_cost: float = 0.0   # 0..1 share of platform subsidy and marketing spent on compliance
    kyc_friction: float = 1.5               # utils of platform onboarding at full compliance cost
    mmf_yield_cap: Optional[float] = None   # percent per year, or null for none
    mmf_purchase_limit: Optional[float] = None  # RMB per customer, or null for none
    client_fund_reserve_ratio: float = 0.0  # 0..1 of client funds held at the central bank
    remote_account_opening: bool = False
    ukey_friction: float = 0.8              # utils of mandated security friction on bank e-channels
    timeline: List[PolicyEvent] = field(default_factory=list)          # history, in the regime file
    scenario_events: List[PolicyEvent] = field(default_factory=list)   # what-if changes, in experiment files


# ----------------------------------------------------------------------------- transactions

@dataclass
class PurposeConfig:
    """One reason to transact (sim/engine/purposes.py): how often, how much, and which channels suit it."""
    monthly_count: float = 1.0           # per adult a month, before the age factor
    ticket_rmb: float = 1000.0           # mean ticket at the starting population's mean wealth power
    fit: Dict[str, Optional[float]] = field(      # utils of serving it on each channel; null: cannot
        default_factory=lambda: {"branch": 0.0, "pc": 0.0, "mobile": 0.0, "platform": None})
    maturity_growth: float = 0.0         # the count grows by this factor at full mobile-payment maturity
    is_payment: bool = False             # paying for goods or services (counts for mobile payers)
    outside_fit: Optional[float] = None  # utils of doing it outside every bank channel and wallet (cash, or
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
    preferred_bonus: float = 0.28         # assumption: utils for the customer's preferred channel
    maturity_fit: float = 3.42            # assumption: utils added to app and wallets at full mobile maturity
    wallet_fund_share: float = 0.3       # assumption: share of wallet payments paid from the platform's fund
    age_count_factor: List[float] = field(default_factory=lambda: [1.2, 1.1, 0.9, 0.7])
    wealth_ticket_elasticity: float = 0.5


# ----------------------------------------------------------------------------- the run

@dataclass
class Config:
    scenario: str = "baseline"
    study: str = "adhoc"                 # a sweep's name: its results go to results/sweeps/<study>/
    question: str = ""
    seed: int = 42
    replicates: int = 1                  # independent runs of this config; replicate r draws from
                                         # SeedSequence(seed, spawn_key=(r,))
    start: str = "2013-01"
    end: str = "2020-12"
    target_set: str = "seed"
    posterior: str = ""                  # a calibration's name: replicate r runs draw r of its posterior
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

def _prob(key: str, value: Any) -> None:
    if not isinstance(value, (int, float)) or not 0.0 <= float(value) <= 1.0 or value != value:
        raise ConfigError(key, value, "a probability or share in [0, 1]")


def _nonneg(key: str, value: Any) -> None:
    if not isinstance(value, (int, float)) or not float(value) >= 0.0:
        raise ConfigError(key, value, "a number >= 0")


def _by_year(key: str, values: dict, check, example: str) -> None:
    """A yearly path {'YYYY': value}: at least one year, years written YYYY, each value checked."""
    if not values:
        raise ConfigError(key, {}, f"at least one year's value, e.g. {{'2018': {example}}}")
    for year, v in values.items():
        if not str(year).isdigit():
            raise ConfigError(key, year, "years written YYYY")
        check(f"{key}.{year}", v)


def _positive(key: str, value: Any) -> None:
    if not isinstance(value, (int, float)) or not float(value) > 0.0:
        raise ConfigError(key, value, "a number > 0")


def _finite(key: str, value: Any) -> None:
    if not isinstance(value, (int, float)) or not abs(float(value)) < float("inf"):
        raise ConfigError(key, value, "a finite number")


def _sums_to_one(key: str, values: Any) -> None:
    total = sum(float(v) for v in values)
    if abs(total - 1.0) > 1e-6:
        raise ConfigError(key, list(values), f"shares that sum to 1 (these sum to {total:.6g})")


def _length(key: str, values: List[Any], n: int) -> None:
    if len(values) != n:
        raise ConfigError(key, list(values), f"{n} values, one per age band {list(AGE_BANDS)}")


def _exact_keys(key: str, mapping: Dict[str, Any], allowed: tuple) -> None:
    if set(mapping) != set(allowed):
        raise ConfigError(key, sorted(mapping), f"exactly the keys {list(allowed)}")


def _in_period(key: str, date: str, first: Optional[int], last: int) -> int:
    """The month of `date`, which must fall in the period (or anywhere up to its end with first=None)."""
    idx = month_index(date, key)
    if first is None and idx > last:
        raise ConfigError(key, date, f"a month up to {month_label(last)}")
    if first is not None and not first <= idx <= last:
        raise ConfigError(key, date, f"a month between {month_label(first)} and {month_label(last)}")
    return idx


def validate(cfg: Config) -> None:
    """Check every value the model reads; raise ConfigError on the first bad one."""
    numbers = list(_numbers(cfg, ""))           # refuses keys the schema does not know first
    check_name("scenario", cfg.scenario)
    first, last = month_index(cfg.start, "start"), month_index(cfg.end, "end")
    if last < first:
        raise ConfigError("end", cfg.end, f"a month on or after start={cfg.start}")
    if not isinstance(cfg.seed, int) or cfg.seed < 0:
        raise ConfigError("seed", cfg.seed, "an integer >= 0")
    check_name("study", cfg.study)
    if not isinstance(cfg.replicates, int) or not 1 <= cfg.replicates <= 10_000:
        raise ConfigError("replicates", cfg.replicates, "an integer in [1, 10000]")
    if cfg.target_set not in ("seed", "cba"):
        raise ConfigError("target_set", cfg.target_set, "one of ['seed', 'cba']")
    if cfg.posterior != "":
        check_name("posterior", cfg.posterior)

    p = cfg.population
    if not isinstance(p.size, int) or p.size < 100:
        raise ConfigError("population.size", p.size, "an integer >= 100")
    _positive("population.represents_adults", p.represents_adults)
    _length("population.age_shares", p.age_shares, len(AGE_BANDS))
    for i, s in enumerate(p.age_shares):
        _prob(f"population.age_shares[{i}]", s)
    _sums_to_one("population.age_shares", p.age_shares)
    _prob("population.urban_share", p.urban_share)
    for name in ("literacy_mean_by_age", "literacy_growth_by_age"):
        values = getattr(p, name)
        _length(f"population.{name}", values, len(AGE_BANDS))
        for i, v in enumerate(values):
            _prob(f"population.{name}[{i}]", v)
    _length("population.smartphone_mid_year_by_age", p.smartphone_mid_year_by_age, len(AGE_BANDS))
    _length("population.smartphone_ceiling_by_age", p.smartphone_ceiling_by_age, len(AGE_BANDS))
    for i, v in enumerate(p.smartphone_ceiling_by_age):
        _prob(f"population.smartphone_ceiling_by_age[{i}]", v)
    _positive("population.smartphone_width_years", p.smartphone_width_years)
    _nonneg("population.smartphone_rural_delay_years", p.smartphone_rural_delay_years)
    _prob("population.literacy_urban_bonus", p.literacy_urban_bonus)
    _nonneg("population.literacy_sd", p.literacy_sd)
    _positive("population.wealth_median_urban", p.wealth_median_urban)
    _positive("population.wealth_median_rural", p.wealth_median_rural)
    _nonneg("population.wealth_sigma", p.wealth_sigma)
    if not -0.5 < p.wealth_growth < 1.0:
        raise ConfigError("population.wealth_growth", p.wealth_growth, "a yearly rate in (-0.5, 1)")
    if not isinstance(p.ties_per_customer, int) or not 0 <= p.ties_per_customer <= 64:
        raise ConfigError("population.ties_per_customer", p.ties_per_customer, "an integer in [0, 64]")
    _prob("population.tie_homophily", p.tie_homophily)
    _exact_keys("population.initial_channel_shares", p.initial_channel_shares, CHANNELS)
    for ch, s in p.initial_channel_shares.items():
        _prob(f"population.initial_channel_shares.{ch}", s)
    _sums_to_one("population.initial_channel_shares", p.initial_channel_shares.values())

    c = cfg.customers
    _length("customers.reconsider_prob_by_age", c.reconsider_prob_by_age, len(AGE_BANDS))
    for i, v in enumerate(c.reconsider_prob_by_age):
        _prob(f"customers.reconsider_prob_by_age[{i}]", v)
    _length("customers.age_branch_preference", c.age_branch_preference, len(AGE_BANDS))
    for name in ("channel_constant", "literacy_weight"):
        _exact_keys(f"customers.{name}", getattr(c, name), CHANNELS)
        for ch, v in getattr(c, name).items():
            _finite(f"customers.{name}.{ch}", v)
    for name in ("branch_density_weight", "rural_branch_multiplier", "app_quality_weight",
                 "mobile_tech_max", "yield_weight", "marketing_weight", "subsidy_weight",
                 "tie_weight", "habit"):
        _nonneg(f"customers.{name}", getattr(c, name))
    _positive("customers.mobile_tech_width_years", c.mobile_tech_width_years)
    _positive("customers.marketing_reference_rmb", c.marketing_reference_rmb)
    _prob("customers.awareness_per_marketing", c.awareness_per_marketing)
    _prob("customers.awareness_word_of_mouth", c.awareness_word_of_mouth)
    if c.word_of_mouth_scope not in ("segment", "population"):
        raise ConfigError("customers.word_of_mouth_scope", c.word_of_mouth_scope, "one of ['segment', 'population']")
    _exact_keys("customers.adoption_rate", c.adoption_rate, HOLDING_KINDS)
    for kind, v in c.adoption_rate.items():
        _prob(f"customers.adoption_rate.{kind}", v)
    _finite("customers.adoption_threshold", c.adoption_threshold)
    _prob("customers.secondary_account_rate", c.secondary_account_rate)
    _prob("customers.other_app_adoption_rate", c.other_app_adoption_rate)
    _prob("customers.other_app_activity", c.other_app_activity)

    s = cfg.switching_cost
    for name in ("scale", "bank", "branch_visit_to_open", "platform", "secondary_account"):
        _nonneg(f"switching_cost.{name}", getattr(s, name))
    _prob("switching_cost.partnership_discount", s.partnership_discount)

    if not cfg.banks:
        raise ConfigError("banks", {}, "at least one bank")
    if not cfg.platforms:
        raise ConfigError("platforms", {}, "at least one platform (set a late launch to keep it out)")
    if len(cfg.platforms) > MAX_PLATFORMS:
        raise ConfigError("platforms", sorted(cfg.platforms), f"at most {MAX_PLATFORMS} platforms")
    if len(cfg.banks) > MAX_BANKS:
        raise ConfigError("banks", sorted(cfg.banks), f"at most {MAX_BANKS} banks")
    _sums_to_one("banks.*.initial_share", [b.initial_share for b in cfg.banks.values()])
    for name, b in cfg.banks.items():
        k = f"banks.{name}"
        if b.group not in BANK_GROUPS:
            raise ConfigError(f"{k}.group", b.group, f"one of {list(BANK_GROUPS)}")
        month_index(b.launch, f"{k}.launch")      # a launch after the end simply never happens
        for f in ("initial_share", "initial_awareness", "app_quality", "self_service_share",
                  "smart_self_service_share"):
            _prob(f"{k}.{f}", getattr(b, f))
        if not isinstance(b.branches, int) or b.branches < 0:
            raise ConfigError(f"{k}.branches", b.branches, "an integer >= 0")
        if b.account_reach is not None:
            _prob(f"{k}.account_reach", b.account_reach)
            if b.account_reach < b.initial_share:
                raise ConfigError(f"{k}.account_reach", b.account_reach,
                                  f"null or a share of adults in [initial_share ({b.initial_share:g}), 1]")
        for f in ("deposit_rate", "lending_spread", "branch_cost_m", "it_cost_bn",
                  "security_friction", "switching_cost_extra"):
            _nonneg(f"{k}.{f}", getattr(b, f))
        if month_index(b.launch, f"{k}.launch") > first and b.initial_share > 0:
            raise ConfigError(f"{k}.initial_share", b.initial_share,
                              f"0 for a bank launched after the start ({b.launch})")
        st = b.strategy
        if st.kind not in STRATEGY_KINDS:
            raise ConfigError(f"{k}.strategy.kind", st.kind, f"one of {list(STRATEGY_KINDS)}")
        for f in ("marketing_budget_bn", "digital_investment_bn", "adaptive_trigger", "adaptive_step"):
            _nonneg(f"{k}.strategy.{f}", getattr(st, f))
        for f in ("branch_closure_rate", "smart_upgrade_rate"):
            _prob(f"{k}.strategy.{f}", getattr(st, f))
        if st.adaptive_max_multiplier < 1:
            raise ConfigError(f"{k}.strategy.adaptive_max_multiplier", st.adaptive_max_multiplier, "a number >= 1")
        _in_period(f"{k}.strategy.closure_start", st.closure_start, None, last)   # earlier: from the start
        if st.partner_platform:
            if st.partner_platform not in cfg.platforms:
                raise ConfigError(f"{k}.strategy.partner_platform", st.partner_platform,
                                  f"'' or one of {sorted(cfg.platforms)}")
            _in_period(f"{k}.strategy.partnership_start", st.partnership_start, first, last)
    for name, pl in cfg.platforms.items():
        k = f"platforms.{name}"
        if name in cfg.banks:
            raise ConfigError(k, name, "a name not also used by a bank")
        month_index(pl.launch, f"{k}.launch")
        for f in ("initial_awareness", "ecosystem_reach", "rural_reach_factor", "initial_holders"):
            _prob(f"{k}.{f}", getattr(pl, f))
        for f in ("payment_convenience", "mmf_fee", "subsidy_bn", "marketing_budget_bn",
                  "float_income_rate", "running_cost_bn", "fund_weight"):
            _nonneg(f"{k}.{f}", getattr(pl, f))
        _finite(f"{k}.mmf_yield_spread", pl.mmf_yield_spread)

    m = cfg.market
    _by_year("market.mmf_yield_by_year", m.mmf_yield_by_year, _nonneg, "4.5")
    _by_year("market.corporate_offcounter_value_tn", m.corporate_offcounter_value_tn, _positive, "1093")
    for f in ("mmf_base_share", "mmf_share_per_point", "mmf_max_share", "mmf_dormant_factor",
              "mmf_adjust_rate", "secondary_deposit_share"):
        _prob(f"market.{f}", getattr(m, f))

    _validate_policy("regulation", {k: getattr(cfg.regulation, k) for k in POLICY_LEVERS})
    _nonneg("regulation.kyc_friction", cfg.regulation.kyc_friction)
    # history may run past a shortened period; a scenario's own changes must fall inside it
    for list_name in ("timeline", "scenario_events"):
        for i, ev in enumerate(getattr(cfg.regulation, list_name)):
            k = f"regulation.{list_name}[{i}]"
            if list_name == "scenario_events":
                _in_period(f"{k}.date", ev.date, first, last)
            else:
                month_index(ev.date, f"{k}.date")
            for lever, value in ev.set.items():
                if lever not in POLICY_LEVERS:
                    raise ConfigError(f"{k}.set.{lever}", value, f"a policy lever, one of {list(POLICY_LEVERS)}")
                _validate_policy(f"{k}.set", {lever: value})

    t = cfg.transactions
    if not t.purposes:
        raise ConfigError("transactions.purposes", {}, "at least one purpose")
    for name, pu in t.purposes.items():
        k = f"transactions.purposes.{name}"
        _nonneg(f"{k}.monthly_count", pu.monthly_count)
        _positive(f"{k}.ticket_rmb", pu.ticket_rmb)
        _nonneg(f"{k}.maturity_growth", pu.maturity_growth)
        _exact_keys(f"{k}.fit", pu.fit, CHANNELS)
        for ch, v in pu.fit.items():
            if v is not None:
                _finite(f"{k}.fit.{ch}", v)
        if all(v is None for v in pu.fit.values()):
            raise ConfigError(f"{k}.fit", dict(pu.fit), "a number for at least one channel")
        if pu.outside_fit is not None:
            _finite(f"{k}.outside_fit", pu.outside_fit)
    _finite("transactions.preferred_bonus", t.preferred_bonus)
    _finite("transactions.maturity_fit", t.maturity_fit)
    _prob("transactions.wallet_fund_share", t.wallet_fund_share)
    _length("transactions.age_count_factor", t.age_count_factor, len(AGE_BANDS))
    for i, v in enumerate(t.age_count_factor):
        _nonneg(f"transactions.age_count_factor[{i}]", v)
    _nonneg("transactions.wealth_ticket_elasticity", t.wealth_ticket_elasticity)
    for key, value in numbers:                  # last, so the specific checks above speak first
        _in_range(key, value)


def _validate_policy(prefix: str, levers: Dict[str, Any]) -> None:
    for lever, value in levers.items():
        key = f"{prefix}.{lever}"
        if lever == "regime" and value not in REGIMES:
            raise ConfigError(key, value, f"one of {list(REGIMES)}")
        if lever in ("platform_compliance_cost", "client_fund_reserve_ratio"):
            _prob(key, value)
        if lever in ("mmf_yield_cap", "mmf_purchase_limit") and value is not None:
            _nonneg(key, value)
        if lever == "remote_account_opening" and not isinstance(value, bool):
            raise ConfigError(key, value, "true or false")
        if lever == "ukey_friction":
            _nonneg(key, value)


# ----------------------------------------------------------------------------- every key at once

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
KNOWN_KEY = "a known key (see them all with --cfg job)"

# Physical range of every numeric key, first matching pattern wins; no key documents infinity,
# so every number must also be finite. Patterns follow the naming conventions (*_bn, *_rmb, ...)
# so that keys added later are covered; utils, rates and counts get room far beyond any
# plausible scenario but stop absurd values (1e308 RMB, 1e9 utils) before they reach the model.
RANGES: Tuple[Tuple[str, float, float, str], ...] = (
    ("seed", 0, 2 ** 63 - 1, "an integer seed in [0, 2**63)"),
    ("population.size", 100, 2_000_000_000, "an integer in [100, 2e9] customers"),
    ("population.represents_adults", 1, 1e10, "a number of adults in [1, 1e10]"),
    ("population.wealth_median_*", 1, 1e9, "RMB in [1, 1e9]"),
    ("population.wealth_sigma", 0, 10, "a log-normal spread in [0, 10]"),
    ("*ticket_rmb*", 1, 1e8, "RMB per transaction in [1, 1e8]"),
    ("transactions.monthly_count.*", 0, 1e4, "transactions a month in [0, 10000]"),
    ("customers.mobile_tech_mid_year", 1900, 2200, "a year in [1900, 2200]"),
    ("population.smartphone_mid_year_by_age*", 1900, 2200, "a year in [1900, 2200]"),
    ("population.smartphone_width_years", 0, 100, "years in (0, 100]"),
    ("population.smartphone_rural_delay_years", 0, 100, "years in [0, 100]"),
    ("customers.mobile_tech_width_years", 0, 100, "years in (0, 100]"),
    ("customers.marketing_reference_rmb", 0, 1e6, "RMB per adult in (0, 1e6]"),
    ("*_rmb", 0, 1e9, "RMB in [0, 1e9]"),
    ("*_bn", 0, 1e5, "RMB bn a year in [0, 1e5]"),
    ("*.branches", 0, 10_000_000, "branches in [0, 1e7]"),
    ("*.branch_cost_m", 0, 1e4, "RMB m per branch in [0, 1e4]"),
    ("*mmf_purchase_limit", 0, 1e12, "RMB in [0, 1e12]"),
    ("*marketing_budget*", 0, 1e5, "RMB bn a year in [0, 1e5]"),
    ("*", -1e6, 1e6, "a number in [-1e6, 1e6]"),
)


def check_name(key: str, value: Any) -> str:
    """A name used to build a folder or file name: letters, digits, '-', '_', '.', never a path."""
    if not isinstance(value, str) or not NAME.match(value) or ".." in value:
        raise ConfigError(key, value, "a name of letters, digits, '-', '_' or '.' (not a path)")
    return value


def _numbers(node: Any, key: str) -> Iterator[Tuple[str, float]]:
    """Every number in a config as (dotted key, value); refuses attributes the schema does not have.

    OmegaConf turns a `+key=value` addition into an attribute on the dataclass, so this is
    where a misspelt addition is caught.
    """
    join = (lambda k: f"{key}.{k}") if key else (lambda k: str(k))
    if is_dataclass(node):
        names = [f.name for f in fields(node)]
        for extra in vars(node):
            if extra not in names:
                stray, value = join(extra), getattr(node, extra)
                while isinstance(value, dict) and len(value) == 1:   # name the whole +a.b.c=value
                    (k, value), = value.items()
                    stray += f".{k}"
                raise ConfigError(stray, value, KNOWN_KEY)
        for name in names:
            yield from _numbers(getattr(node, name), join(name))
    elif isinstance(node, dict):
        for k, v in node.items():
            yield from _numbers(v, join(k))
    elif isinstance(node, (list, tuple)):
        for i, v in enumerate(node):
            yield from _numbers(v, f"{key}[{i}]")
    elif isinstance(node, (int, float)) and not isinstance(node, bool):
        yield key, node


@functools.lru_cache(maxsize=None)
def _range_for(key: str) -> Tuple[float, float, str]:
    """The first rule of RANGES whose pattern the key matches (kept: a sweep validates every job)."""
    return next((low, high, allowed) for pattern, low, high, allowed in RANGES if fnmatch.fnmatchcase(key, pattern))


def _in_range(key: str, value: float) -> None:
    low, high, allowed = _range_for(key)
    if not (math.isfinite(value) and low <= value <= high):
        raise ConfigError(key, value, allowed if math.isfinite(value) else f"a finite number, {allowed}")
