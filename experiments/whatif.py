"""What-if sessions behind the dashboard: levers -> Config, a run beside its baseline, saving.

Kept apart from the page (experiments/dashboard.py) so that it can be tested without a
browser and used from a notebook.
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from omegaconf import OmegaConf

from experiments.config import CONFIG_DIR, load_config
from sim.config import BANK_GROUPS, Config, ConfigError, PolicyEvent, validate
from sim.market import MarketModel

GROUPS = [g for g in BANK_GROUPS if g != "direct"]


def presets() -> list[str]:
    """Scenario presets a user can start from (sweep studies excluded)."""
    names = []
    for path in sorted((CONFIG_DIR / "experiment").glob("*.yaml")):
        text = path.read_text()
        if "hydra:" not in text:
            names.append(path.stem)
    return names


@dataclass
class Levers:
    """Everything the dashboard lets a user set."""
    preset: str = "baseline"
    population: int = 100_000
    seed: int = 42
    end: str = "2020-12"
    functional_from: str = ""                  # "" = never; else YYYY-MM
    platform_compliance_cost: float = 0.6      # applied from functional_from
    switching_cost_scale: float = 1.0
    ukey_friction: float = 0.8
    remote_opening_from: str = ""              # "" = as in the preset's history (2016-04)
    partnership: bool = False                  # large state-owned banks x JD Finance, from 2017-06
    marketing_bn: dict = field(default_factory=dict)   # bank group -> RMB bn a year; missing = preset's


def build_config(levers: Levers) -> Config:
    """The Config these levers describe; raises ConfigError on a bad value."""
    cfg = load_config([f"experiment={levers.preset}", f"population.size={int(levers.population)}",
                       f"seed={int(levers.seed)}", f"end={levers.end}", "figures=false"])
    cfg.switching_cost.scale = float(levers.switching_cost_scale)
    cfg.regulation.ukey_friction = float(levers.ukey_friction)
    events = list(cfg.regulation.scenario_events)
    if levers.functional_from:
        events.append(PolicyEvent(date=levers.functional_from, note="functional regulation (dashboard)", set={
            "regime": "functional", "platform_compliance_cost": float(levers.platform_compliance_cost),
            "mmf_yield_cap": 3.0, "client_fund_reserve_ratio": 1.0}))
    if levers.remote_opening_from:
        events.append(PolicyEvent(date=levers.remote_opening_from, note="remote account opening (dashboard)",
                                  set={"remote_account_opening": True}))
    cfg.regulation.scenario_events = events
    if levers.partnership:
        cfg.banks["large_state"].strategy.partner_platform = "jd_finance"
        cfg.banks["large_state"].strategy.partnership_start = "2017-06"
    for group, budget in levers.marketing_bn.items():
        for bank in cfg.banks.values():
            if bank.group == group:
                bank.strategy.marketing_budget_bn = float(budget)
    validate(cfg)
    return cfg


class Session:
    """A model for the chosen levers and a baseline with the same population and seed, in lockstep."""

    def __init__(self, levers: Levers):
        self.levers = levers
        self.config = build_config(levers)
        base = load_config([f"population.size={int(levers.population)}", f"seed={int(levers.seed)}",
                            f"end={levers.end}", "figures=false"])
        self.model, self.baseline = MarketModel(self.config), MarketModel(base)

    @property
    def done(self) -> bool:
        return not self.model.running

    def step(self) -> None:
        if self.model.running:
            self.model.step()
            self.baseline.step()

    def tables(self) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        return (self.model.recorder.timeseries(), self.baseline.recorder.timeseries(),
                self.model.recorder.institutions())


def _diff(new, old):
    """The parts of `new` that differ from `old` (nested dicts; lists compared whole)."""
    if isinstance(new, dict) and isinstance(old, dict):
        out = {}
        for k, v in new.items():
            d = _diff(v, old.get(k)) if k in old else v
            if d is not _SAME:
                out[k] = d
        return out or _SAME
    return _SAME if new == old else new


_SAME = object()


def save_experiment(levers: Levers, name: str, directory: Path = CONFIG_DIR / "experiment") -> Path:
    """Write the levers as an experiment file that `python -m experiments.run experiment=<name>` runs."""
    if not re.fullmatch(r"[A-Za-z0-9_\-]+", name or ""):
        raise ConfigError("experiment name", name, "letters, digits, '_' or '-'")
    cfg = dataclasses.replace(build_config(levers), scenario=name, figures=True)
    cfg.question = f"Saved from the dashboard, starting from '{levers.preset}': {cfg.question}"
    base = load_config([])
    new = OmegaConf.to_container(OmegaConf.structured(cfg))
    old = OmegaConf.to_container(OmegaConf.structured(base))
    changes = _diff(new, old)
    changes = {} if changes is _SAME else changes     # seed and population included: a saved run reproduces
    header = (f"# @package _global_\n# Saved from the dashboard, starting from preset '{levers.preset}'.\n"
              f"# Question: {cfg.question}\n")
    path = Path(directory) / f"{name}.yaml"
    path.write_text(header + OmegaConf.to_yaml(OmegaConf.create(changes)))
    return path
