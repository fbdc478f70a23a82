"""Invariants that must hold after every month of any valid run."""
from __future__ import annotations

import numpy as np
import pytest

from sim.market import MarketModel


def run_checking_invariants(model: MarketModel) -> MarketModel:
    cust = model.customers
    n = cust.size
    expected_wealth = cust.wealth.sum()
    while model.running:
        model.step()
        row = model.recorder.rows[-1]
        assert cust.bank.size == cust.channel.size == n
        shares = np.array([row[f"share_{c}"] for c in ("branch", "pc", "mobile", "platform")])
        assert ((shares >= 0) & (shares <= 1)).all() and shares.sum() == pytest.approx(1.0)
        assert np.bincount(cust.bank, minlength=len(model.banks)).sum() == n
        assert (cust.mmf >= 0).all() and (cust.deposits >= -1e-6 * cust.wealth).all()
        expected_wealth += row["income_inflow"] * 1e9 / model.scale
        assert cust.wealth.sum() == pytest.approx(expected_wealth, rel=1e-9)
        assert row["deposits_bank"] + row["balance_platform_mmf"] == pytest.approx(
            cust.wealth.sum() * model.scale / 1e9, rel=1e-9)
        metrics = {k: v for k, v in row.items() if isinstance(v, float) and not k.startswith("policy_")}
        bad = [k for k, v in metrics.items() if not np.isfinite(v)]
        assert not bad, bad
        assert (cust.platform[cust.channel == 3] >= 0).all()
        assert cust.tally().matches(cust.count()), "running counts drifted from a recount of the customers"
        assert 0 <= row["off_counter_rate"] <= 1 and 0 <= row["mobile_value_share"] <= 1
        assert 0 <= row["churn_rate"] <= 1
    inst = model.recorder.institutions()
    for _, month in inst[inst["kind"] == "bank"].groupby("step"):
        assert month["share"].sum() == pytest.approx(1.0)
    return model
