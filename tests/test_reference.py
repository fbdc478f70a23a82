"""The fast engine matches the one-Agent-per-customer Mesa reference in distribution.

Stated test: for each channel share at months 12, 24, 36 and 48, a Welch two-sample
t-test across 8 replicates of each engine (same seeds, so the same initial population);
the engines agree if no p-value falls below 0.01 / 16 (Bonferroni over 16 comparisons).
A negative control changes one decision rule in the reference (no habit) and must be
detected, so the test has the power to fail.
"""
from __future__ import annotations

import functools
import numpy as np
import pytest
from scipy import stats

from sim.banks import Bank
from sim.market import MarketModel
from sim.oracle import CustomerAgent, ReferenceMarketModel
from sim.platforms import Platform
from tests.conftest import make_config

pytestmark = pytest.mark.slow            # the reference model is the slow one (7-41 s each)

SHARES = ["share_branch", "share_pc", "share_mobile", "share_platform"]
MONTHS = [11, 23, 35, 47]
REPLICATES = 8
ALPHA = 0.01 / (len(SHARES) * len(MONTHS))


@functools.lru_cache(maxsize=None)
def shares(model_class, *overrides):
    """(replicate, month, share), the same for every test that asks (the fast engine's once for both)."""
    cfg = make_config("end=2016-12", *overrides, size=1500, seed=21)
    out = []
    for r in range(REPLICATES):
        ts = model_class(cfg, replicate=r).run().recorder.timeseries()
        out.append(ts.loc[MONTHS, SHARES].to_numpy())
    return np.array(out)                          # (replicate, month, share)


def smallest_p(a, b):
    p = stats.ttest_ind(a, b, axis=0, equal_var=False).pvalue
    return np.nanmin(p)


def test_reference_agents_are_real_mesa_agents():
    """One Mesa agent per customer, besides one per bank and platform; after a run the
    customer arrays the shared code reads are the agents' own state."""
    cfg = make_config("end=2013-03", size=300)
    model = ReferenceMarketModel(cfg)
    expected = {CustomerAgent: 300, Bank: len(cfg.banks), Platform: len(cfg.platforms)}
    model.run()
    assert {kind: len(agents) for kind, agents in model.agents_by_type.items()} == expected
    assert len(model.agents) == sum(expected.values())
    assert [b.name for b in model.agents_by_type[Bank]] == list(cfg.banks)
    assert [p.name for p in model.agents_by_type[Platform]] == list(cfg.platforms)
    customers = sorted(model.agents_by_type[CustomerAgent], key=lambda a: a.i)
    assert [a.i for a in customers] == list(range(300))           # each customer exactly once
    assert all(a.model is model for a in customers)
    cust = model.customers
    for field in ("bank", "channel", "platform", "holds", "secondary"):
        assert [getattr(a, field) for a in customers] == getattr(cust, field).tolist(), field


def test_fast_engine_matches_reference_in_distribution():
    fast, ref = shares(MarketModel), shares(ReferenceMarketModel)
    assert smallest_p(fast, ref) > ALPHA
    assert np.abs(fast.mean(axis=0) - ref.mean(axis=0)).max() < 0.03


def test_the_comparison_detects_a_changed_rule():
    fast = shares(MarketModel)
    ref_no_habit = shares(ReferenceMarketModel, "customers.habit=0")
    assert smallest_p(fast, ref_no_habit) < ALPHA
