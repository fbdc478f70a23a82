"""Bad input is refused with one line naming the key, the value and what is allowed."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lab.compose import explain, load_config
from sim.config import ConfigError, month_index, month_label

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("override, key, value, allowed", [
    ("population.urban_share=1.5", "population.urban_share", "1.5", "[0, 1]"),
    ("customers.reconsider_prob_by_age=[0.1,0.1,1.2,0.1]", "customers.reconsider_prob_by_age[2]", "1.2", "[0, 1]"),
    ("population.initial_channel_shares.branch=0.9", "population.initial_channel_shares", "0.9", "sum to 1"),
    ("banks.large_state.initial_share=0.5", "banks.*.initial_share", "0.5", "sum to 1"),
    ("end=2012-06", "end", "2012-06", "on or after start"),
    ("start=2013-13", "start", "2013-13", "YYYY-MM"),
    ("population.size=10", "population.size", "10", ">= 100"),
    ("banks.joint_stock.strategy.partner_platform=taobao", "banks.joint_stock.strategy.partner_platform",
     "taobao", "alipay"),
    ("banks.joint_stock.strategy.closure_start=2030-01", "banks.joint_stock.strategy.closure_start", "2030-01",
     "up to 2020-12"),
    ("regulation.client_fund_reserve_ratio=2", "regulation.client_fund_reserve_ratio", "2", "[0, 1]"),
    ("transactions.purposes.cash_service.fit.branch=null", "transactions.purposes.cash_service.fit", "None",
     "at least one channel"),
    ("transactions.purposes.small_payment.ticket_rmb=0", "transactions.purposes.small_payment.ticket_rmb", "0",
     "> 0"),
    ("customers.adoption_rate.platform=1.5", "customers.adoption_rate.platform", "1.5", "[0, 1]"),
    ("market.secondary_deposit_share=-0.1", "market.secondary_deposit_share", "-0.1", "[0, 1]"),
    ("platforms.alipay.initial_holders=2", "platforms.alipay.initial_holders", "2", "[0, 1]"),
    ("switching_cost.secondary_account=-1", "switching_cost.secondary_account", "-1", ">= 0"),
    ("transactions.wallet_fund_share=1.2", "transactions.wallet_fund_share", "1.2", "[0, 1]"),
    ("market.corporate_offcounter_value_tn.2018=0", "market.corporate_offcounter_value_tn.2018", "0", "> 0"),
    ("+market.corporate_offcounter_value_tn.late=5", "market.corporate_offcounter_value_tn", "late", "YYYY"),
])
def test_bad_values_name_key_value_and_allowed(override, key, value, allowed):
    with pytest.raises(ConfigError) as err:
        load_config([override])
    message = explain(err.value)
    assert err.value.key == key
    assert key in message and allowed in message
    assert value in message.replace("'", "")
    assert "\n" not in message


def test_timeline_event_outside_period_and_unknown_lever():
    with pytest.raises(ConfigError, match=r"regulation.scenario_events\[0\].date"):
        load_config(["experiment=no_ukey", "end=2014-06"])
    with pytest.raises(ConfigError, match="policy lever"):
        load_config(["+regulation.scenario_events=[{date: '2015-01', set: {ukey: 0}}]"])


@pytest.mark.parametrize("override, expected", [
    ("populaton.size=1000", "did you mean 'population'"),
    ("population.sise=1000", "did you mean 'population.size'"),
    ("banks.joint_stock.strategy.marketing_budget=3", "did you mean 'banks.joint_stock.strategy.marketing_budget_bn'"),
    ("experiment=functonal_regulation", "did you mean 'functional_regulation'"),
])
def test_misspelt_keys_and_names_get_a_suggestion(override, expected):
    with pytest.raises(Exception) as err:
        load_config([override])
    message = explain(err.value, [override])
    assert expected in message, message
    assert override.split("=")[0].split(".")[0] in message
    assert "\n" not in message


def test_month_helpers_round_trip():
    assert month_label(month_index("2017-06")) == "2017-06"
    assert month_index("2014-01") - month_index("2013-12") == 1


@pytest.mark.parametrize("arg", ["population.urban_share=1.5", "experiment=nope",
                                 pytest.param("populaton.size=5", marks=pytest.mark.slow),   # 5.1 s: the suggestion
                                 "end=2010-01"])
def test_cli_refuses_bad_input_in_one_line_without_a_results_folder(tmp_path, arg):
    proc = subprocess.run([sys.executable, "-m", "experiments.run", arg,
                           f"hydra.run.dir={tmp_path}/run"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("config error:"), proc.stderr
    assert arg.split("=")[0] in lines[0]
    assert not (tmp_path / "run").exists()
    assert "Traceback" not in proc.stderr + proc.stdout
