"""Shared helpers: configs composed exactly as the command line composes them."""
from __future__ import annotations

import logging
import os

import pytest
from hypothesis import settings

settings.register_profile("ci", derandomize=True)   # CI replays a fixed set; local runs explore
if os.environ.get("CI"):
    settings.load_profile("ci")

from lab.compose import load_config
from sim.market import MarketModel

logging.getLogger("MESA").setLevel(logging.WARNING)


# every customer has had a smartphone for ever: for tests of terms that ownership would mask
EVERYONE_HAS_A_SMARTPHONE = ("population.smartphone_ceiling_by_age=[1,1,1,1]",
                             "population.smartphone_mid_year_by_age=[1900,1900,1900,1900]")


def make_config(*overrides: str, size: int = 3000, seed: int = 1):
    return load_config([f"population.size={size}", f"seed={seed}", *overrides])


def run_model(*overrides: str, size: int = 3000, seed: int = 1) -> MarketModel:
    return MarketModel(make_config(*overrides, size=size, seed=seed)).run()


@pytest.fixture(scope="session")
def small_run() -> MarketModel:
    return run_model(size=5000, seed=3)
