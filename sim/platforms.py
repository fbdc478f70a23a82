"""Internet platforms (Alipay-, WeChat-Pay-, JD-Finance-like).

A platform meets customers through its non-financial ecosystem (shopping, messaging),
offers one-password payments, a money-market fund, subsidies and marketing. Regulation
reaches it three ways: compliance cost takes a share of its subsidy and marketing
budget, a reserve requirement on client funds removes the float income that pays for
part of its subsidies, and a yield cap limits what its fund can offer.
"""
from __future__ import annotations

import mesa

from sim.config import PlatformConfig, month_index
from sim.regulation import Policy

FLOAT_FUNDED_SUBSIDY_SHARE = 0.5   # share of subsidies paid from float income on client funds


class Platform(mesa.Agent):
    def __init__(self, model: mesa.Model, name: str, index: int, cfg: PlatformConfig):
        super().__init__(model)
        self.name, self.index, self.cfg = name, index, cfg
        self.launch_month = month_index(cfg.launch)
        self.subsidy_bn = self.marketing_bn = 0.0
        self.mmf_yield = 0.0
        self.compliance_cost_bn = 0.0
        self.profit_bn = self.revenue_bn = self.cost_bn = 0.0

    def is_open(self, month: int) -> bool:
        return month >= self.launch_month

    def set_month(self, policy: Policy, market_mmf_yield: float) -> None:
        """Spend and fund yield this month under the policy in force."""
        cfg = self.cfg
        budget_kept = 1 - policy.platform_compliance_cost
        float_kept = 1 - FLOAT_FUNDED_SUBSIDY_SHARE * policy.client_fund_reserve_ratio
        self.subsidy_bn = cfg.subsidy_bn * budget_kept * float_kept
        self.marketing_bn = cfg.marketing_budget_bn * budget_kept
        self.compliance_cost_bn = (cfg.subsidy_bn + cfg.marketing_budget_bn) * policy.platform_compliance_cost
        offered = max(0.0, market_mmf_yield + cfg.mmf_yield_spread)
        if policy.mmf_yield_cap is not None:
            offered = min(offered, policy.mmf_yield_cap)
        self.mmf_yield = offered

    def book_month(self, fund_balance_rmb: float, policy: Policy) -> None:
        """Profit and loss for one month, RMB bn; fund balance in real RMB."""
        cfg = self.cfg
        client_funds = fund_balance_rmb * 0.1          # payment balances in transit beside the fund
        float_income = client_funds * (1 - policy.client_fund_reserve_ratio) * cfg.float_income_rate / 100
        self.revenue_bn = (fund_balance_rmb * cfg.mmf_fee / 100 + float_income) / 12 / 1e9
        if not self.is_open(self.model.month):
            self.cost_bn = 0.0
        else:
            self.cost_bn = (self.subsidy_bn + self.marketing_bn + self.compliance_cost_bn + cfg.running_cost_bn) / 12
        self.profit_bn = self.revenue_bn - self.cost_bn
