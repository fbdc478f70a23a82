"""Smartphone ownership (population.smartphone_*): who can hold a bank's app or a wallet, and when."""
from __future__ import annotations

import numpy as np
import pytest

from sim.config import CHANNELS
from sim.market import MarketModel
from tests.conftest import make_config, run_model

MOBILE, PLATFORM = CHANNELS.index("mobile"), CHANNELS.index("platform")


def test_nobody_holds_or_prefers_the_app_or_a_wallet_before_having_a_smartphone():
    model = MarketModel(make_config(size=20_000, seed=3))
    for _ in range(48):
        model.step()
        c = model.customers
        no_phone = c.smartphone_year > model.years_elapsed
        assert no_phone.any() and (~no_phone).any()
        assert not (c.holds[no_phone] >> 1).any()                         # bit 1 the app, bits 2+ wallets
        assert not np.isin(c.channel[no_phone], [MOBILE, PLATFORM]).any()


def test_ownership_follows_each_age_bands_curve():
    cfg = make_config(size=200_000, seed=5)
    c = MarketModel(cfg).customers
    p = cfg.population
    for band in range(4):
        for year in (2014.0, 2016.5, 2019.0):
            mid = p.smartphone_mid_year_by_age[band] + p.smartphone_rural_delay_years * ~c.urban
            expected = p.smartphone_ceiling_by_age[band] / (1 + np.exp(-(year - mid) / p.smartphone_width_years))
            owners = c.smartphone_year <= year - 2013.0
            starting = (c.holds >> 1) != 0                               # they have one from the start
            sel = (c.age == band) & ~starting
            assert owners[sel].mean() == pytest.approx(expected[sel].mean(), abs=0.01)
    assert np.isinf(c.smartphone_year[c.age == 3]).mean() == pytest.approx(1 - p.smartphone_ceiling_by_age[3],
                                                                          abs=0.01)


def test_fewer_smartphones_mean_fewer_adults_paying_by_phone_and_the_old_adopt_last():
    few = "population.smartphone_ceiling_by_age=[0.6,0.5,0.3,0.1]"
    gaps = []
    for seed in (1, 2, 3):
        base, fewer = (run_model(*o, "end=2018-12", size=10_000, seed=seed).recorder.timeseries()
                       for o in ([], [few]))
        gaps.append(1 - fewer["mobile_payers_m"].iloc[-1] / base["mobile_payers_m"].iloc[-1])
        assert base["platform_share_age_60plus"].iloc[-1] < base["platform_share_age_18_29"].iloc[-1]
    assert min(gaps) > 0.2                      # about a third fewer owners: a fifth or more fewer payers


def test_bad_ownership_values_are_refused():
    with pytest.raises(Exception, match=r"smartphone_ceiling_by_age\[1\]"):
        make_config("population.smartphone_ceiling_by_age=[0.9,1.5,0.5,0.2]")
    with pytest.raises(Exception, match="smartphone_width_years"):
        make_config("population.smartphone_width_years=0")
    with pytest.raises(Exception, match="smartphone_mid_year_by_age"):
        make_config("population.smartphone_mid_year_by_age=[2013,2014]")
