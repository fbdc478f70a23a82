"""The string choices of a config, one enum each: the allowed values are defined here once.

The config fields stay plain strings (Hydra overrides and the config hash read them as
text); a `StrEnum` member equals its value, so code compares against the member and the
check lists the members' values as what is allowed.
"""
from __future__ import annotations

from enum import StrEnum


class Regime(StrEnum):
    """How platforms are regulated: outside bank rules, or "same business, same rules"."""
    ASYMMETRIC = "asymmetric"
    FUNCTIONAL = "functional"


class StrategyKind(StrEnum):
    """How an institution sets its levers each quarter (sim/competition.py): its plan; more spend
    after lost share; or that and an answer to rivals' prices, within a budget."""
    FIXED = "fixed"
    ADAPTIVE = "adaptive"
    RESPONSIVE = "responsive"


class WordOfMouthScope(StrEnum):
    """Whose use a customer hears of: its own segment (age band x area) or everyone's."""
    SEGMENT = "segment"
    POPULATION = "population"


class TargetSet(StrEnum):
    """Which 2013 off-counter figure the fit judges: the seed's or the banking association's."""
    SEED = "seed"
    CBA = "cba"


class BankGroup(StrEnum):
    """The supervisory groups of Chinese banks (plus direct banks, launched online only)."""
    LARGE_STATE = "large_state"
    JOINT_STOCK = "joint_stock"
    CITY_COMMERCIAL = "city_commercial"
    RURAL_COMMERCIAL = "rural_commercial"
    DIRECT = "direct"
