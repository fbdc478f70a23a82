"""Internet platforms (Alipay-, WeChat-Pay-, JD-Finance-like).

A platform meets customers through its non-financial ecosystem (shopping, messaging),
offers one-password payments, a money-market fund, subsidies and marketing. Regulation
reaches it three ways: compliance cost takes a share of its subsidy and marketing
budget, a reserve requirement on client funds removes the float income that pays for
part of its subsidies, and a yield cap limits what its fund can offer.

Each quarter its strategy (sim/competition.py) sets a spend multiplier on the plan's subsidies and
marketing and, for a responsive platform, its fund's spread in answer to rivals' yields. Its books
(`Books`): payment fees on wallet payment value, fund management fees, float income on client
funds not reserved, other income (a stated assumption per active user), less subsidies,
marketing, compliance and running cost.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import mesa

from sim.competition import Answer, PublicQuarter, answer, rival_price
from sim.config import PlatformConfig, month_index
from sim.regulation import Policy

FLOAT_FUNDED_SUBSIDY_SHARE = 0.5   # share of subsidies paid from float income on client funds


class Books(NamedTuple):
    """A platform's month, RMB bn: revenue = payment fees + fund fees + float income + other income;
    cost = subsidies + marketing + compliance + running cost."""
    payment_fees: float
    fund_fees: float
    float_income: float
    other_income: float
    revenue: float
    cost: float


class Platform(mesa.Agent):
    def __init__(self, model: mesa.Model, name: str, index: int, cfg: PlatformConfig):
        super().__init__(model)
        self.name, self.index, self.cfg = name, index, cfg
        self.launch_month = month_index(cfg.launch)
        self.subsidy_bn = self.marketing_bn = 0.0
        self.mmf_yield = 0.0
        self.compliance_cost_bn = 0.0
        self.profit_bn = self.revenue_bn = self.cost_bn = 0.0
        self.books = Books(0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
        self.spend_multiplier, self.spread = 1.0, cfg.mmf_yield_spread
        self.losing_quarters, self.quarter_profit_bn = 0, 0.0
        self.user_share = self.share_at_last_review = 0.0

    def decide_quarter(self, public: PublicQuarter | None = None) -> None:
        """Set this quarter's spend multiplier and fund spread from last quarter's `public` record."""
        st = self.cfg.strategy
        if not self.is_open(self.model.month):
            return
        lost = self.share_at_last_review - self.user_share
        rival = rival_price(public, len(self.model.banks) + self.index, banks=False) if public is not None else math.nan
        band = (min(st.spread_min, self.cfg.mmf_yield_spread), max(st.spread_max, self.cfg.mmf_yield_spread))
        decided = answer(st, Answer(self.spend_multiplier, self.spread, self.losing_quarters), lost,
                         self.quarter_profit_bn, self.mmf_yield, rival, self.cfg.mmf_yield_spread, band)
        self.spend_multiplier, self.spread, self.losing_quarters = decided
        self.share_at_last_review = self.user_share
        self.quarter_profit_bn = 0.0

    def is_open(self, month: int) -> bool:
        return month >= self.launch_month

    def set_month(self, policy: Policy, market_mmf_yield: float) -> None:
        """Spend and fund yield this month under the policy in force."""
        cfg = self.cfg
        budget_kept = 1 - policy.platform_compliance_cost
        float_kept = 1 - FLOAT_FUNDED_SUBSIDY_SHARE * policy.client_fund_reserve_ratio
        subsidy, marketing = cfg.subsidy_bn * self.spend_multiplier, cfg.marketing_budget_bn * self.spend_multiplier
        self.subsidy_bn = subsidy * budget_kept * float_kept
        self.marketing_bn = marketing * budget_kept
        self.compliance_cost_bn = (subsidy + marketing) * policy.platform_compliance_cost
        offered = max(0.0, market_mmf_yield + self.spread)
        if policy.mmf_yield_cap is not None:
            offered = min(offered, policy.mmf_yield_cap)
        self.mmf_yield = offered

    def book_month(self, fund_balance_rmb: float, payment_value_rmb: float, active_users: float,
                   policy: Policy) -> None:
        """Profit and loss for one month, RMB bn: its fund balance and wallet payment value this month in
        real RMB, its monthly active users (real)."""
        cfg = self.cfg
        client_funds = fund_balance_rmb * 0.1          # payment balances in transit beside the fund
        float_income = client_funds * (1 - policy.client_fund_reserve_ratio) * cfg.float_income_rate / 100
        fund_fees = fund_balance_rmb * cfg.mmf_fee / 100
        payment_fees = payment_value_rmb * cfg.payment_fee_rate / 100 / 1e9
        other = active_users * cfg.other_income_per_user_rmb / 12 / 1e9
        revenue = (fund_fees + float_income) / 12 / 1e9 + payment_fees + other
        if not self.is_open(self.model.month):
            cost = 0.0
        else:
            cost = (self.subsidy_bn + self.marketing_bn + self.compliance_cost_bn + cfg.running_cost_bn) / 12
        self.books = Books(payment_fees=payment_fees, fund_fees=fund_fees / 12 / 1e9,
                           float_income=float_income / 12 / 1e9, other_income=other, revenue=revenue, cost=cost)
        self.revenue_bn, self.cost_bn = revenue, cost
        self.profit_bn = self.revenue_bn - self.cost_bn
        self.quarter_profit_bn += self.profit_bn
