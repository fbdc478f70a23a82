"""Transaction value: retail simulated by purpose, corporate exogenous (sim/writers/metrics.py).

Seed 004's mobile share is mobile value over all off-counter value, corporate e-banking
included; the model adds `market.corporate_offcounter_value_tn` to the denominator only."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.writers.metrics import corporate_offcounter_value_bn, yearly
from tests.conftest import run_model

DATES = [f"{y}-{m:02d}-01" for y in range(2011, 2022) for m in range(1, 13)]


def _yearly_tn(by_year: dict) -> pd.Series:
    monthly = corporate_offcounter_value_bn(by_year, DATES)
    return pd.Series(monthly, index=[int(d[:4]) for d in DATES]).groupby(level=0).sum() / 1e3


def test_corporate_value_meets_the_given_years_and_is_log_linear_between_and_beyond():
    tn = _yearly_tn({"2013": 744.0, "2018": 1093.0})
    assert tn[2013] == pytest.approx(744.0) and tn[2018] == pytest.approx(1093.0)
    growth = tn.pct_change().dropna()
    assert np.allclose(growth, (1093 / 744) ** (1 / 5) - 1)          # one rate before, between and after
    flat = _yearly_tn({"2015": 500.0})
    assert np.allclose(flat, 500.0)
    kinked = _yearly_tn({"2013": 100.0, "2015": 400.0, "2018": 400.0})
    assert kinked[2014] == pytest.approx(200.0) and kinked[2017] == pytest.approx(400.0)
    assert kinked[2020] == pytest.approx(400.0) and kinked[2011] == pytest.approx(25.0)


@pytest.fixture(scope="module")
def runs():
    base = run_model("end=2016-12", size=3000, seed=5)
    doubled = run_model("end=2016-12", "market.corporate_offcounter_value_tn.2013=1488",
                        "market.corporate_offcounter_value_tn.2018=2186", size=3000, seed=5)
    return base.recorder, doubled.recorder


def test_the_mobile_share_adds_corporate_value_to_the_denominator_only(runs):
    base, doubled = (r.timeseries() for r in runs)
    assert np.allclose(base["mobile_value_share"],
                       base["value_mobile"] / (base["value_offcounter"] + base["corporate_offcounter_value"]))
    assert np.allclose(base["retail_mobile_value_share"], base["value_mobile"] / base["value_offcounter"])
    # corporate value touches no customer: the same seed makes the same retail transactions
    for column in ("tx_total", "tx_mobile", "value_offcounter", "value_mobile", "off_counter_rate"):
        assert np.array_equal(base[column], doubled[column]), column
    assert np.allclose(doubled["corporate_offcounter_value"], 2 * base["corporate_offcounter_value"])
    assert (doubled["mobile_value_share"] < base["mobile_value_share"]).all()
    yb = yearly(base).set_index("year")
    assert np.allclose(yb["offcounter_value_tn"] - yb["retail_offcounter_value_tn"],
                       base.groupby(base["date"].astype(str).str[:4].astype(int))["corporate_offcounter_value"].sum() / 1e3)


def test_banks_retail_offcounter_values_add_up_to_the_market_and_hold_their_mobile_value(runs):
    ts, inst = runs[0].timeseries(), runs[0].institutions()
    banks = inst[inst["kind"] == "bank"]
    by_month = banks.groupby("date")[["offcounter_value", "mobile_value"]].sum()
    assert np.allclose(by_month["offcounter_value"].to_numpy(), ts["value_offcounter"].to_numpy())
    assert np.allclose(by_month["mobile_value"].to_numpy(), ts["value_mobile"].to_numpy())
    assert (banks["mobile_value"] <= banks["offcounter_value"] + 1e-9).all()
    assert inst.loc[inst["kind"] == "platform", "offcounter_value"].isna().all()
