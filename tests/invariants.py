"""Invariants that must hold after every month of any valid run."""
from __future__ import annotations

import numpy as np
import pytest

from sim.engine.channels import BRANCH, FIRST_WALLET, PLATFORM
from sim.market import MarketModel


def run_checking_invariants(model: MarketModel) -> MarketModel:
    """Steps the model to its end checking the customers' state after every month, then checks every
    month's row of the market table against that month's state. The rows are read once, at the end
    (a month's row does not change later; reading the whole table each month cost more than the run)."""
    cust = model.customers
    n = cust.size
    wealth = [cust.wealth.sum()]                     # before the first month, then after each month
    while model.running:
        model.step()
        assert cust.bank.size == cust.channel.size == n
        assert ((cust.bank >= 0) & (cust.bank < len(model.banks))).all(), "a primary bank out of range"
        per_bank = np.bincount(cust.bank, minlength=len(model.banks))    # recounted here, apart from the engine
        assert np.array_equal(cust.tally().bank_customers, per_bank), "a bank's running count of customers drifted"
        assert [b.customer_share for b in model.banks] == pytest.approx(per_bank / n, abs=1e-12), \
            "a bank's customer share is not its customers over the population"
        assert (cust.mmf >= 0).all() and (cust.deposits >= -1e-6 * cust.wealth).all()
        wealth.append(cust.wealth.sum())
        assert (cust.platform[cust.channel == 3] >= 0).all()
        portfolio_state_invariants(model)
        assert cust.tally().matches(cust.count()), "running counts drifted from a recount of the customers"
    rows = model.recorder.rows
    assert len(rows) == len(wealth) - 1
    expected_wealth = wealth[0]
    for row, wealth_now in zip(rows, wealth[1:]):
        month = row["date"]
        shares = np.array([row[f"share_{c}"] for c in ("branch", "pc", "mobile", "platform")])
        assert ((shares >= 0) & (shares <= 1)).all() and shares.sum() == pytest.approx(1.0), month
        expected_wealth += row["income_inflow"] * 1e9 / model.adults_per_customer
        assert wealth_now == pytest.approx(expected_wealth, rel=1e-9), month
        assert row["deposits_bank"] + row["balance_platform_mmf"] == pytest.approx(
            wealth_now * model.adults_per_customer / 1e9, rel=1e-9), month
        metrics = {k: v for k, v in row.items() if isinstance(v, float) and not k.startswith("policy_")}
        bad = [k for k, v in metrics.items() if not np.isfinite(v)]
        assert not bad, (month, bad)
        portfolio_row_invariants(model, row)
        assert 0 <= row["off_counter_rate"] <= 1 and 0 <= row["mobile_value_share"] <= 1, month
        assert 0 <= row["churn_rate"] <= 1, month
    inst = model.recorder.institutions()
    for _, month in inst[inst["kind"] == "bank"].groupby("step"):
        assert month["share"].sum() == pytest.approx(1.0)
    return model


def portfolio_state_invariants(model: MarketModel) -> None:
    """Active users are holders; the preferred channel is held; a secondary account is at another bank;
    only held wallets carry fund balances."""
    cust = model.customers
    assert ((cust.active & ~cust.holds) == 0).all(), "an item was used but is not held"
    digital = cust.channel != BRANCH
    preferred_bit = np.where(cust.channel == PLATFORM, FIRST_WALLET + cust.platform, cust.channel - 1)[digital]
    assert ((cust.holds[digital] >> preferred_bit.astype(np.uint8)) & 1).all(), "a preferred channel is not held"
    assert (cust.secondary != cust.bank).all()
    primary_bit = np.left_shift(np.uint32(1), cust.bank.astype(np.uint32))
    assert ((cust.accounts & primary_bit) == 0).all(), "an other account at the primary bank"
    assert ((cust.other_apps & ~cust.accounts) == 0).all(), "another bank's app without an account there"
    has_secondary = cust.secondary >= 0
    assert ((cust.accounts[has_secondary] >> cust.secondary[has_secondary].astype(np.uint32)) & 1).all()
    for p in range(cust.n_platforms):
        assert (cust.funds[(cust.holds >> (FIRST_WALLET + p)) & 1 == 0, p] == 0).all()


def portfolio_row_invariants(model: MarketModel, row: dict) -> None:
    """A month's use columns are consistent: users are holders, multi-homers use both apps."""
    month = row["date"]
    for kind in ("pc", "mobile", "platform"):
        assert 0 <= row[f"users_{kind}_m"] <= row[f"holders_{kind}_m"] + 1e-9, (month, kind)
    assert 0 <= row["multihoming_share"] <= 1, month
    assert row["multihoming_share"] * model.cfg.population.represents_adults / 1e6 <= min(
        row["users_mobile_m"], row["users_platform_m"]) + 1e-6, month
    assert row["mobile_payers_m"] <= model.cfg.population.represents_adults / 1e6, month
