"""Property-based tests: any valid config keeps the invariants; any invalid one gets the clear error."""
from __future__ import annotations

import string

import pytest
from hypothesis import HealthCheck, example, given, settings, strategies as st

from lab.compose import explain, load_config
from sim.config import ConfigError
from sim.market import MarketModel
from tests.invariants import run_checking_invariants

pytestmark = pytest.mark.slow            # each runs tens of examples: 30-60 s

EXPERIMENTS = ["baseline", "functional_regulation", "no_ukey", "partnership", "marketing_war",
               "low_switching_cost", "branch_closure", "direct_bank"]
unit = st.floats(0, 1, allow_nan=False)


def shares(n):
    return st.lists(st.floats(0.01, 1.0), min_size=n, max_size=n).map(lambda xs: [x / sum(xs) for x in xs])


@st.composite
def valid_overrides(draw):
    end_year = draw(st.integers(2018, 2020))   # after every preset's own events (latest: 2017-06)
    o = [f"population.size={draw(st.integers(200, 2500))}", f"seed={draw(st.integers(0, 2**31))}",
         f"experiment={draw(st.sampled_from(EXPERIMENTS))}", f"end={end_year}-{draw(st.integers(1, 12)):02d}",
         f"switching_cost.scale={draw(st.floats(0, 5))}",
         f"regulation.platform_compliance_cost={draw(unit)}",
         f"regulation.client_fund_reserve_ratio={draw(unit)}",
         f"regulation.ukey_friction={draw(st.floats(0, 3))}",
         f"regulation.remote_account_opening={draw(st.booleans())}",
         f"regulation.mmf_yield_cap={draw(st.one_of(st.none(), st.floats(0, 10))) or 'null'}",
         f"banks.joint_stock.strategy.marketing_budget_bn={draw(st.floats(0, 200))}",
         f"banks.rural_commercial.strategy.branch_closure_rate={draw(unit)}",
         f"banks.city_commercial.strategy.kind={draw(st.sampled_from(['fixed', 'adaptive']))}",
         f"platforms.alipay.subsidy_bn={draw(st.floats(0, 100))}",
         f"customers.tie_weight={draw(st.floats(0, 4))}",
         f"population.ties_per_customer={draw(st.integers(0, 10))}"]
    chan = draw(shares(4))
    o += [f"population.initial_channel_shares.{c}={v!r}" for c, v in zip(("branch", "pc", "mobile", "platform"), chan)]
    o.append(f"population.age_shares=[{','.join(repr(v) for v in draw(shares(4)))}]")
    return o


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_overrides())
def test_any_valid_config_keeps_invariants_every_month(overrides):
    run_checking_invariants(MarketModel(load_config(overrides)))


BAD_VALUES = [
    ("population.urban_share", st.one_of(st.floats(1.0001, 1e6), st.floats(-1e6, -0.0001))),
    ("regulation.platform_compliance_cost", st.floats(1.0001, 100)),
    ("customers.awareness_word_of_mouth", st.floats(-100, -0.0001)),
    ("population.size", st.integers(-10**6, 99)),
    ("replicates", st.integers(-100, 0)),
    ("banks.large_state.strategy.branch_closure_rate", st.floats(1.0001, 50)),
    ("population.initial_channel_shares.mobile", st.floats(0.2, 0.9)),
    ("end", st.integers(1990, 2012).map(lambda y: f"{y}-06")),
    ("start", st.text(string.ascii_letters, min_size=1, max_size=8)),
    ("switching_cost.bank", st.floats(-50, -0.001)),
]


@st.composite
def invalid_override(draw):
    key, values = draw(st.sampled_from(BAD_VALUES))
    return key, f"{key}={draw(values)}"


@settings(max_examples=30, deadline=None)
@given(invalid_override())
def test_any_invalid_value_gets_one_clear_line(case):
    key, override = case
    try:
        load_config([override])
    except ConfigError as e:
        message = explain(e)
        assert "\n" not in message and message.startswith("config error:")
        assert key.split(".")[0] in message
        return
    raise AssertionError(f"{override} was accepted")


@settings(max_examples=20, deadline=None)
@example("seed", "")                            # real keys: the config must then hold the value
@example("habit", "customers.")
@example("label", "platforms.alipay.")
@given(st.text(string.ascii_lowercase + "_", min_size=3, max_size=12), st.sampled_from(
    ["", "population.", "customers.", "banks.joint_stock.", "regulation.", "platforms.alipay."]))
def test_any_unknown_key_gets_one_clear_line(name, prefix):
    key = prefix + name
    try:
        cfg = load_config([f"{key}=1"])
    except Exception as e:  # noqa: BLE001 - the point is what explain makes of any failure
        message = explain(e, [f"{key}=1"])
        assert "\n" not in message and message.startswith("config error:") and key in message
        return
    # the name happened to be a real key: then the run config holds the value given
    node = cfg
    for part in key.split("."):
        node = node[part] if isinstance(node, dict) else getattr(node, part)
    assert node in (1, "1"), f"{key}=1 was accepted but the config holds {node!r}"
