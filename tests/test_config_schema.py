"""One place per fact: each field's check and bounds sit beside it, the policy levers come
from one definition, and the commands' defaults are the config's."""
from __future__ import annotations

import dataclasses

import pytest

from lab.compose import load_config
from lab.whatif import Levers, levers_from_preset
from sim import checks, config
from sim.config import POLICY_LEVERS, ConfigError, RegulationConfig
from sim.market import MarketModel
from sim.regulation import Policy
from sim.writers import plots

# fields that are free text or whose only rule relates them to other fields (config.cross_field_rules)
UNCHECKED = {"label", "question", "figures", "note", "partner_platform", "partnership_start", "is_payment"}


def _config_classes():
    seen, todo = [], [config.Config]
    while todo:
        cls = todo.pop()
        seen.append(cls)
        for f in dataclasses.fields(cls):
            value = getattr(cls(), f.name)
            inner = next(iter(value.values())) if isinstance(value, dict) and value else value
            if dataclasses.is_dataclass(inner) and type(inner) not in seen + todo:
                todo.append(type(inner))
    return seen + [config.BankConfig, config.PlatformConfig, config.StrategyConfig, config.PolicyEvent]


def _holds_configs(f: dataclasses.Field) -> bool:
    """A nested config, or a list or map of them (their own fields are checked)."""
    return any(cls.__name__ in str(f.type) for cls in _config_classes())


def test_every_field_a_run_reads_declares_its_check_or_bounds():
    missing = [f"{cls.__name__}.{f.name}" for cls in set(_config_classes()) for f in dataclasses.fields(cls)
               if f.name not in UNCHECKED and not _holds_configs(f)
               and not ({"check", "bounds"} & set(f.metadata))]
    assert missing == [], f"fields without a check or bounds beside them: {missing}"


def _bounded_keys():
    cfg = load_config([])
    return [(key, bounds) for key, _, bounds in checks.numbers(cfg) if bounds and "[" not in key]


@pytest.mark.parametrize("key, bounds", _bounded_keys(), ids=lambda v: v if isinstance(v, str) else "")
def test_a_fields_bounds_are_the_ones_enforced(key, bounds):
    low, high, allowed = bounds
    too_big = int(high) * 10 if float(high).is_integer() else high * 10
    with pytest.raises(ConfigError) as err:
        load_config([f"{key}={too_big}"])
    assert err.value.key == key and err.value.allowed == allowed


def test_the_dead_pattern_is_gone_a_purposes_count_has_its_bounds():
    with pytest.raises(ConfigError, match=r"transactions a month in \[0, 10000\]"):
        load_config(["transactions.purposes.small_payment.monthly_count=50000"])
    assert load_config(["transactions.purposes.small_payment.monthly_count=9000"]).transactions.purposes[
        "small_payment"].monthly_count == 9000


def test_an_events_setting_takes_its_levers_bounds():
    event = "+regulation.scenario_events=[{{date: '2015-01', set: {{mmf_purchase_limit: {}}}}}]"
    with pytest.raises(ConfigError, match=r"RMB in \[0, 1e12\]"):
        load_config([event.format("1e13")])
    # a limit of RMB 10 m is above the default range of an unnamed number (1e6): the lever's bounds apply
    assert load_config([event.format("1e7")]).regulation.scenario_events[0].set["mmf_purchase_limit"] == 1e7


@pytest.mark.parametrize("key, allowed", [
    ("banks.joint_stock.strategy.kind", "['fixed', 'adaptive', 'responsive']"),
    ("platforms.alipay.strategy.kind", "['fixed', 'adaptive', 'responsive']"),
    ("regulation.regime", "['asymmetric', 'functional']"),
    ("customers.word_of_mouth_scope", "['segment', 'population']"),
    ("target_set", "['seed', 'cba']"),
    ("banks.joint_stock.group", "['large_state', 'joint_stock', 'city_commercial', 'rural_commercial', 'direct']"),
])
def test_string_choices_list_their_enums_values(key, allowed):
    with pytest.raises(ConfigError) as err:
        load_config([f"{key}=nonsense"])
    assert err.value.allowed == f"one of {allowed}"


def test_policy_levers_are_one_definition_read_everywhere():
    assert tuple(f.name for f in dataclasses.fields(Policy)) == POLICY_LEVERS
    assert set(POLICY_LEVERS) <= {f.name for f in dataclasses.fields(RegulationConfig)}
    ts = MarketModel(load_config(["population.size=200", "end=2013-03", "figures=false"])).run().recorder.timeseries()
    columns = [c for c in ts.columns if c.startswith("policy_")]
    assert columns == [f"policy_{lever}" for lever in POLICY_LEVERS]
    assert list(plots.POLICY_NAMES) == columns


def test_the_dashboards_defaults_are_the_configs_and_the_presets():
    assert Levers().ukey_friction == RegulationConfig.ukey_friction == load_config([]).regulation.ukey_friction
    functional = levers_from_preset("functional_regulation")
    assert functional.functional_from and Levers().platform_compliance_cost == functional.platform_compliance_cost


def test_two_events_of_one_month_may_not_set_one_lever_two_ways():
    event = "{{date: '2015-01', set: {{ukey_friction: {}}}}}"
    with pytest.raises(ConfigError, match=r"scenario_events\[1\]\.set\.ukey_friction=0\.5 .* one value per lever"):
        load_config([f"+regulation.scenario_events=[{event.format(0)}, {event.format(0.5)}]"])
    same = load_config([f"+regulation.scenario_events=[{event.format(0)}, {event.format(0)}]"])
    assert len(same.regulation.scenario_events) == 2
    # a scenario may still change what the history sets that month: the later list wins
    load_config(["+regulation.scenario_events=[{date: '2017-01', set: {client_fund_reserve_ratio: 0.9}}]"])
