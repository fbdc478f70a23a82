"""Banks, platforms and the regulator: strategies, accounts and the policy timeline."""
from __future__ import annotations

import pytest

from sim.config import month_index
from sim.market import MarketModel
from sim.regulation import Regulator
from tests.conftest import make_config


def test_timeline_applies_in_date_order_and_scenarios_override_history():
    cfg = make_config("experiment=no_ukey").regulation
    reg = Regulator(cfg)
    assert reg.policy_at(month_index("2013-05")).ukey_friction == 0.8
    assert reg.policy_at(month_index("2015-01")).ukey_friction == 0.0
    assert reg.policy_at(month_index("2016-03")).remote_account_opening is False
    assert reg.policy_at(month_index("2016-04")).remote_account_opening is True
    assert reg.policy_at(month_index("2018-03")).client_fund_reserve_ratio == 0.5
    assert reg.policy_at(month_index("2020-12")).client_fund_reserve_ratio == 1.0


def test_functional_regime_adds_platform_onboarding_friction():
    reg = Regulator(make_config("experiment=functional_regulation").regulation)
    before, after = reg.policy_at(month_index("2016-12")), reg.policy_at(month_index("2017-01"))
    assert reg.platform_onboarding_friction(before) == 0.0
    assert after.functional and reg.platform_onboarding_friction(after) > 0.5


def test_platform_budgets_and_yields_follow_regulation():
    model = MarketModel(make_config("experiment=functional_regulation"))
    alipay = model.platforms[0]
    base = model.regulator.policy_at(month_index("2016-06"))
    alipay.set_month(base, 4.0)
    free_subsidy, free_yield = alipay.subsidy_bn, alipay.mmf_yield
    alipay.set_month(model.regulator.policy_at(month_index("2017-06")), 4.0)
    assert free_yield == pytest.approx(4.3)
    assert alipay.mmf_yield == 3.0                       # capped
    assert alipay.subsidy_bn < 0.5 * free_subsidy        # compliance cost and reserve requirement


def test_branch_closures_and_smart_upgrades():
    model = MarketModel(make_config("experiment=branch_closure"))
    big = model.banks[0]
    start = big.branches
    for _ in range(8 * 12):
        model.step()
    years_closing = 6
    assert big.branches == pytest.approx(start * (1 - 0.08 / 4) ** (4 * years_closing), rel=1e-9)
    assert 0 < big.smart_branches < big.branches
    assert big.self_service_share > big.cfg.self_service_share


def test_adaptive_bank_raises_spend_after_losing_share_and_relaxes_after():
    model = MarketModel(make_config("banks.city_commercial.strategy.kind=adaptive"))
    bank = model.banks[2]
    model.month = model.first_month
    bank.customer_share = bank.share_at_last_review - 0.01
    bank.decide_quarter()
    assert bank.spend_multiplier == pytest.approx(1.3)
    assert bank.marketing_bn == pytest.approx(1.3 * bank.cfg.strategy.marketing_budget_bn)
    bank.decide_quarter()                                  # no further loss
    assert bank.spend_multiplier == pytest.approx(1.15)


def test_app_quality_stays_in_unit_interval_and_rises_with_investment():
    lo = MarketModel(make_config("banks.joint_stock.strategy.digital_investment_bn=0"))
    hi = MarketModel(make_config("banks.joint_stock.strategy.digital_investment_bn=500"))
    for model in (lo, hi):
        model.month = model.first_month
        for _ in range(40):
            model.banks[1].decide_quarter()
    assert 0 <= lo.banks[1].app_quality < 0.6 < hi.banks[1].app_quality <= 1


def test_bank_profit_is_margin_less_costs():
    model = MarketModel(make_config())
    bank = model.banks[0]
    bank.set_month(model.policy, model.market_mmf_yield)
    bank.book_month(1e12, product_share=0.0, customers=1e8)
    margin = 1e12 * bank.cfg.lending_spread / 100 / 12 / 1e9
    assert bank.books.interest_margin == pytest.approx(margin)
    assert bank.revenue_bn == pytest.approx(margin + bank.books.fee_income)
    assert bank.profit_bn == pytest.approx(margin - bank.cost_bn)
    assert bank.cost_bn > bank.branches * bank.cfg.branch_cost_m / 1000 / 12
