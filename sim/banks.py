"""Banks: branch networks, apps, deposit rates, balance products, marketing, and a quarterly strategy.

A bank is a Mesa agent. Each quarter its strategy (sim/competition.py) sets marketing spend,
digital investment and its deposit-rate premium, closes or upgrades branches and may enter a
platform partnership (the JD x ICBC pattern). Each month it prices its deposits under the
regulator's benchmark and ceiling, runs its balance product (a T+0 money fund) if it has
launched one, and books a profit and loss (`Books`).

Deposit pricing: `deposit_rate` is what the bank pays on its retail balances on average when it
prices at the benchmark (mostly demand deposits); a premium of p percentage points over the
one-year benchmark, as far as the ceiling in force allows, is paid on top of it. Customers weigh
`rate_weighed`: that rate, raised where its balance product is an option to them.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import mesa

from sim.competition import Answer, PublicQuarter, answer, rival_price
from sim.config import BankConfig, month_index

QUALITY_GAIN = 0.12            # share of the gap to a perfect app closed per quarter at saturating spend
QUALITY_HALF_SATURATION_BN = 8.0
QUALITY_DEPRECIATION = 0.03    # per quarter: competitors' apps and user expectations move on
SMART_UPGRADE_COST_M = 2.0     # RMB m per branch upgraded
PRESENCE_REFERENCE_BRANCHES = 50_000
BALANCE_PRODUCT_FEE = 0.3      # percent a year the bank earns on its balance product: as Yu'ebao's management
                               # fee (0.30 %, its fund's prospectus); approximate
BALANCE_PRODUCT_RUNNING_BN = 0.2   # assumption: RMB bn a year to run a balance product


class Books(NamedTuple):
    """A bank's month, RMB bn: revenue = interest margin + balance-product fees + fee income;
    cost = branches + IT + digital investment + marketing + branch upgrades + the balance product."""
    interest_margin: float      # earned on its deposits (deposit_rate + lending_spread) less what it pays on them
    product_fees: float         # earned on its balance product's assets
    fee_income: float           # fees from its primary customers (fee_income_per_customer_rmb)
    revenue: float
    cost: float


class Bank(mesa.Agent):
    """One bank, or one group of banks acting alike (e.g. all large state-owned banks)."""

    def __init__(self, model: mesa.Model, name: str, index: int, cfg: BankConfig):
        super().__init__(model)
        self.name, self.index, self.cfg = name, index, cfg
        self.launch_month = month_index(cfg.launch)
        self.branches = float(cfg.branches)
        self.smart_branches = 0.0
        self.app_quality = cfg.app_quality
        self.spend_multiplier = 1.0
        self.premium = cfg.strategy.deposit_rate_premium   # percentage points it aims to pay over the benchmark
        self.losing_quarters = 0
        self.premium_paid = 0.0           # of it, what the ceiling in force allows, this month
        self.one_year_rate = 0.0          # its one-year deposit rate this month, percent a year (public)
        self.product_yield = math.nan     # its balance product's yield this month, nan while it has none
        self.product_balance_rmb = 0.0
        self.quarter_profit_bn = 0.0      # booked since the quarter began
        self.partner: str | None = None
        self.share_at_last_review = cfg.initial_share
        self.customer_share = cfg.initial_share
        self.upgrade_cost_bn = 0.0        # spent this quarter, booked monthly
        self.profit_bn = self.revenue_bn = self.cost_bn = 0.0
        self.books = Books(0.0, 0.0, 0.0, 0.0, 0.0)

    # -- what customers see
    def is_open(self, month: int) -> bool:
        return month >= self.launch_month

    @property
    def marketing_bn(self) -> float:
        """Marketing spend now, RMB bn per year."""
        return self.cfg.strategy.marketing_budget_bn * self.spend_multiplier

    @property
    def digital_investment_bn(self) -> float:
        return self.cfg.strategy.digital_investment_bn * self.spend_multiplier

    @property
    def branch_presence(self) -> float:
        """How easy it is to find one of its branches; concave in the branch count."""
        return (self.branches / PRESENCE_REFERENCE_BRANCHES) ** 0.5

    @property
    def self_service_share(self) -> float:
        """Share of in-branch transactions done at machines (off-counter); smart branches do more."""
        if self.branches <= 0:
            return 1.0
        smart = self.smart_branches / self.branches
        return (1 - smart) * self.cfg.self_service_share + smart * self.cfg.smart_self_service_share

    # -- quarterly strategy
    def decide_quarter(self, public: PublicQuarter | None = None) -> None:
        """Set this quarter's spend, premium, branch network and partnership (from last quarter's
        `public` record; None in the first quarter, when nothing has been observed)."""
        st, month = self.cfg.strategy, self.model.month
        if not self.is_open(month):
            return
        lost = self.share_at_last_review - self.customer_share
        rival = rival_price(public, self.index, banks=True) if public is not None else math.nan
        decided = answer(st, Answer(self.spend_multiplier, self.premium, self.losing_quarters), lost,
                         self.quarter_profit_bn, self.one_year_rate, rival, st.deposit_rate_premium,
                         (min(st.deposit_rate_premium, st.premium_max), max(st.deposit_rate_premium, st.premium_max)))
        self.spend_multiplier, self.premium, self.losing_quarters = decided
        self.share_at_last_review = self.customer_share
        self.quarter_profit_bn = 0.0

        gain = QUALITY_GAIN * self.digital_investment_bn / (self.digital_investment_bn + QUALITY_HALF_SATURATION_BN)
        self.app_quality += gain * (1 - self.app_quality) - QUALITY_DEPRECIATION * self.app_quality

        if month >= month_index(st.closure_start) and st.branch_closure_rate > 0:
            keep = 1 - st.branch_closure_rate / 4
            self.branches *= keep
            self.smart_branches *= keep
        upgrades = (self.branches - self.smart_branches) * st.smart_upgrade_rate / 4
        self.smart_branches += upgrades
        self.upgrade_cost_bn = upgrades * SMART_UPGRADE_COST_M / 1000

        if st.partner_platform and month >= month_index(st.partnership_start):
            self.partner = st.partner_platform

    # -- monthly prices
    def set_month(self, policy, market_mmf_yield: float) -> None:
        """This month's deposit rates under the benchmark and ceiling in force, and its balance product."""
        st, benchmark = self.cfg.strategy, policy.deposit_rate_benchmark
        rate = benchmark + self.premium
        if policy.deposit_rate_ceiling is not None:
            rate = min(rate, policy.deposit_rate_ceiling)
        self.one_year_rate, self.premium_paid = rate, rate - benchmark
        launched = st.balance_product is not None and self.model.month >= month_index(st.balance_product)
        if launched:
            product = max(0.0, market_mmf_yield + st.balance_product_spread)
            self.product_yield = product if policy.mmf_yield_cap is None else min(product, policy.mmf_yield_cap)
        else:
            self.product_yield = math.nan

    @property
    def balance_rate(self) -> float:
        """What it pays on its deposits, percent a year."""
        return max(0.0, self.cfg.deposit_rate + self.premium_paid)

    @property
    def rate_weighed(self) -> float:
        """What its customers earn on their balances with it, percent a year, as they weigh it: the deposit
        rate, and the balance product's yield for the share of them to whom it is an option."""
        rate = self.balance_rate
        if not math.isnan(self.product_yield) and self.product_yield > rate:
            rate += self.cfg.strategy.balance_product_reach * (self.product_yield - rate)
        return rate

    def product_share(self, share_per_point: float, max_share: float) -> float:
        """Share of its customers' balances with it held in its balance product: the same rule as a
        platform's fund (a share per point of yield over deposits, capped), for those it reaches."""
        if math.isnan(self.product_yield):
            return 0.0
        spread = max(0.0, self.product_yield - self.balance_rate)
        return self.cfg.strategy.balance_product_reach * min(max_share, share_per_point * spread)

    # -- monthly accounts
    def book_month(self, balances_rmb: float, product_share: float, customers: float) -> None:
        """Profit and loss for one month, RMB bn: `balances_rmb` its customers' balances with it (real
        RMB), `product_share` of them in its balance product, `customers` its primary customers (real)."""
        cfg = self.cfg
        if not self.is_open(self.model.month):     # nothing to book before its launch (as a platform)
            self.books, self.product_balance_rmb = Books(0.0, 0.0, 0.0, 0.0, 0.0), 0.0
            self.revenue_bn = self.cost_bn = self.profit_bn = 0.0
            return
        self.product_balance_rmb = balances_rmb * product_share
        deposits = balances_rmb - self.product_balance_rmb
        launched = not math.isnan(self.product_yield)
        margin = deposits * (cfg.lending_spread - (self.balance_rate - cfg.deposit_rate)) / 100 / 12 / 1e9
        product_fees = self.product_balance_rmb * BALANCE_PRODUCT_FEE / 100 / 12 / 1e9
        fees = customers * cfg.fee_income_per_customer_rmb / 12 / 1e9
        branch_cost = self.branches * cfg.branch_cost_m / 1000 / 12
        cost = (branch_cost + (cfg.it_cost_bn + self.digital_investment_bn + self.marketing_bn) / 12
                + self.upgrade_cost_bn / 3 + (BALANCE_PRODUCT_RUNNING_BN / 12 if launched else 0.0))
        self.books = Books(interest_margin=margin, product_fees=product_fees, fee_income=fees,
                           revenue=margin + product_fees + fees, cost=cost)
        self.revenue_bn, self.cost_bn = self.books.revenue, self.books.cost
        self.profit_bn = self.revenue_bn - self.cost_bn
        self.quarter_profit_bn += self.profit_bn
