"""Banks: branch networks, apps, deposit rates, marketing, and a quarterly strategy.

A bank is a Mesa agent. Each quarter its strategy sets marketing spend and digital
investment, closes or upgrades branches and may enter a platform partnership (the
JD x ICBC pattern). A fixed strategy follows its plan; an adaptive one raises spend
when it lost share over the last quarter and relaxes back when it did not. Each month
the bank books a profit and loss: margin on deposits less branch, IT and marketing cost.
"""
from __future__ import annotations

import mesa

from sim.choices import StrategyKind
from sim.config import BankConfig, month_index

QUALITY_GAIN = 0.12            # share of the gap to a perfect app closed per quarter at saturating spend
QUALITY_HALF_SATURATION_BN = 8.0
QUALITY_DEPRECIATION = 0.03    # per quarter: competitors' apps and user expectations move on
SMART_UPGRADE_COST_M = 2.0     # RMB m per branch upgraded
PRESENCE_REFERENCE_BRANCHES = 50_000


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
        self.partner: str | None = None
        self.share_at_last_review = cfg.initial_share
        self.customer_share = cfg.initial_share
        self.upgrade_cost_bn = 0.0        # spent this quarter, booked monthly
        self.profit_bn = self.revenue_bn = self.cost_bn = 0.0

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
    def decide_quarter(self) -> None:
        """Set this quarter's spend, branch network and partnership."""
        st, month = self.cfg.strategy, self.model.month
        if not self.is_open(month):
            return
        if st.kind == StrategyKind.ADAPTIVE:
            lost = self.share_at_last_review - self.customer_share
            if lost > st.adaptive_trigger:
                self.spend_multiplier = min(st.adaptive_max_multiplier, self.spend_multiplier + st.adaptive_step)
            else:
                self.spend_multiplier = max(1.0, self.spend_multiplier - st.adaptive_step / 2)
        self.share_at_last_review = self.customer_share

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

    # -- monthly accounts
    def book_month(self, deposits_rmb: float) -> None:
        """Profit and loss for one month, RMB bn; deposits in real RMB."""
        cfg = self.cfg
        self.revenue_bn = deposits_rmb * cfg.lending_spread / 100 / 12 / 1e9
        branch_cost = self.branches * cfg.branch_cost_m / 1000 / 12
        self.cost_bn = (branch_cost + (cfg.it_cost_bn + self.digital_investment_bn + self.marketing_bn) / 12
                        + self.upgrade_cost_bn / 3)
        self.profit_bn = self.revenue_bn - self.cost_bn
