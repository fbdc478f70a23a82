"""What-if sessions behind the dashboard: levers -> Config, a run beside its baseline, saving.

Kept apart from the page (lab/dashboard.py) so that it can be tested without a
browser and used from a notebook.
"""
from __future__ import annotations

import copy
import dataclasses
import functools
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from omegaconf import OmegaConf

from lab.compose import CONFIG_DIR, load_config
from sim.choices import Regime, StrategyKind
from sim.config import BANK_GROUPS, POLICY_NAMES, Config, ConfigError, PolicyEvent, RegulationConfig, validate
from sim.market import MarketModel
from sim.writers.files import atomic_write

GROUPS = [g for g in BANK_GROUPS if g != "direct"]
KINDS = [k.value for k in StrategyKind]        # fixed | adaptive | responsive


def presets() -> list[str]:
    """Scenario presets a user can start from (sweep studies excluded). A file that is not UTF-8
    text is left out with one warning line, so one bad file cannot keep the dashboard from starting."""
    names = []
    for path in sorted((CONFIG_DIR / "experiment").glob("*.yaml")):
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError) as e:
            logging.getLogger("lab.whatif").warning("preset %s left out: not readable UTF-8 text (%s)",
                                                            path, type(e).__name__)
            continue
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
    platform_compliance_cost: float = 0.6      # applied from functional_from; as the functional_regulation preset
    switching_cost_scale: float = 1.0
    ukey_friction: float = RegulationConfig.ukey_friction
    remote_opening_from: str = ""              # "" = as in the preset's history (2016-04)
    partnership: bool = False                  # large state-owned banks x JD Finance, from 2017-06
    marketing_bn: dict = field(default_factory=dict)   # bank group -> RMB bn a year; missing = preset's
    bank_strategy: dict = field(default_factory=dict)  # bank group -> fixed | adaptive | responsive; missing = preset's
    deposit_premium_pp: dict = field(default_factory=dict)  # bank group -> pp over the benchmark; missing = preset's
    platform_strategy: dict = field(default_factory=dict)   # platform -> a kind, as bank_strategy; missing = preset's


PARTNER, PARTNERSHIP_START = "jd_finance", "2017-06"


def _functional(compliance: float) -> dict:
    return {"regime": Regime.FUNCTIONAL.value, "platform_compliance_cost": float(compliance), "mmf_yield_cap": 3.0,
            "client_fund_reserve_ratio": 1.0}


def _lever_event(event: PolicyEvent) -> str | None:
    """Which control a scenario event belongs to: 'functional', 'remote', or None (kept as the preset has it)."""
    if event.set.get("regime") == Regime.FUNCTIONAL:
        return "functional"
    if event.set == {"remote_account_opening": True}:
        return "remote"
    return None


def _preset_config(levers: Levers) -> Config:
    known = presets()
    if levers.preset not in known:
        raise ConfigError("preset", levers.preset, f"a preset in configs/experiment/: one of {known}")
    return load_config([f"experiment={levers.preset}", f"population.size={int(levers.population)}",
                        f"seed={int(levers.seed)}", f"end={levers.end}", "figures=false"])


def levers_from_preset(preset: str, population: int = 100_000, seed: int = 42, end: str = "2020-12") -> Levers:
    """The controls as the preset sets them, so that choosing a preset runs exactly that preset."""
    return copy.deepcopy(_levers_from_preset(preset, population, seed, end))


@functools.lru_cache(maxsize=64)
def _levers_from_preset(preset: str, population: int, seed: int, end: str) -> Levers:
    levers = Levers(preset=preset, population=population, seed=seed, end=end)
    cfg = _preset_config(levers)
    for event in cfg.regulation.scenario_events:
        if _lever_event(event) == "functional":
            levers.functional_from = event.date
            levers.platform_compliance_cost = float(event.set.get("platform_compliance_cost", 0.0))
        elif _lever_event(event) == "remote":
            levers.remote_opening_from = event.date
    strategy = cfg.banks["large_state"].strategy
    groups = [g for g in GROUPS if any(b.group == g for b in cfg.banks.values())]

    def of_group(g: str):      # a group's strategy as its first bank has it (the four-group banks: the group's)
        return next(b.strategy for b in cfg.banks.values() if b.group == g)
    return dataclasses.replace(
        levers, switching_cost_scale=float(cfg.switching_cost.scale), ukey_friction=float(cfg.regulation.ukey_friction),
        partnership=strategy.partner_platform == PARTNER and strategy.partnership_start == PARTNERSHIP_START,
        marketing_bn={g: float(of_group(g).marketing_budget_bn) for g in groups},
        bank_strategy={g: str(of_group(g).kind) for g in groups},
        deposit_premium_pp={g: float(of_group(g).deposit_rate_premium) for g in groups},
        platform_strategy={p: str(platform.strategy.kind) for p, platform in cfg.platforms.items()})


# each control: its name and a one-line explanation with its unit (the page shows both)
LEVER_HELP = {
    "functional_from": ("Functional regulation from", "month (YYYY-MM) platforms come under bank rules: compliance "
                        "cost, a 3 % money-fund yield cap, client funds fully reserved; empty = never"),
    "platform_compliance_cost": ("Platform compliance cost", "share (0–1) of platforms' subsidy and marketing "
                                 "budget spent on compliance under functional regulation"),
    "ukey_friction": ("U-key friction", "utils of mandated security friction on bank PC and mobile channels; "
                      "0 = none, 0.8 = history"),
    "remote_opening_from": ("Remote account opening from", "month (YYYY-MM) bank accounts may be opened remotely; "
                            "empty = history (2016-04)"),
    "switching_cost_scale": ("Switching cost", "multiple (×) of the default cost of changing primary bank"),
    "partnership": ("Partnership", "large state-owned banks open accounts inside JD Finance's app from 2017-06"),
    "marketing_bn": ("Marketing spend", "RMB bn a year, per bank group"),
    "bank_strategy": ("Bank strategy", "how each bank group sets its levers every quarter: fixed = its plan; "
                      "adaptive = more marketing and digital spend after a quarter that lost share; responsive = "
                      "that, plus moving its deposit premium toward rivals' rates (up to 1.5 pp) and cutting spend "
                      "after quarters at a loss"),
    "deposit_premium_pp": ("Deposit premium", "percentage points (pp) over the PBoC one-year benchmark a bank group "
                           "pays on deposits, as far as the ceiling in force allows (0.3 pp until 2014-11, no ceiling "
                           "from 2015-10); a responsive bank starts from it"),
    "platform_strategy": ("Platform strategy", "how the platforms set subsidies, marketing and their fund's yield "
                          "spread every quarter: fixed, adaptive or responsive, as for banks"),
}

# the per-key controls: (how the header names an entry, how its value is written, unit)
_PER_KEY = {"marketing_bn": ("marketing {}", "{:g}", " RMB bn"), "bank_strategy": ("strategy {}", "{}", ""),
            "deposit_premium_pp": ("deposit premium {}", "{:g}", " pp"),
            "platform_strategy": ("strategy {}", "{}", "")}


def changes(levers: Levers) -> list[str]:
    """The controls that differ from the preset's own values, as 'what: now (preset: before)'."""
    base = levers_from_preset(levers.preset, levers.population, levers.seed, levers.end)
    out = []
    for f in dataclasses.fields(Levers):
        now, before = getattr(levers, f.name), getattr(base, f.name)
        if f.name in ("preset", "population", "seed", "end") or now == before:
            continue
        if f.name in _PER_KEY:
            out += _per_key_changes(f.name, now, before)
        else:
            out.append(f"{LEVER_HELP[f.name][0]}: {_shown(now)} (preset: {_shown(before)})")
    return out


def _per_key_changes(name: str, now: dict, before: dict) -> list[str]:
    """'what key: now (preset: before)' for each key whose value differs; the platforms' strategy in one entry
    where all of them had one kind and now have another."""
    what, fmt, unit = _PER_KEY[name]
    changed = {k: now[k] for k in sorted(now) if now[k] != before.get(k)}
    if name == "platform_strategy" and changed and len(set(now.values())) == 1 and len(set(before.values())) == 1 \
            and set(now) == set(before):
        return [f"{LEVER_HELP[name][0]}: {next(iter(now.values()))} (preset: {next(iter(before.values()))})"]
    return [f"{what.format(k)}: {fmt.format(v)} (preset: {fmt.format(before[k]) if k in before else 'none'}){unit}"
            for k, v in changed.items()]


# what is not a change of the preset's own: who it is, how big and how long it runs, what it writes
_NOT_CHANGES = ("scenario", "question", "population", "seed", "end", "figures", "replicates",
                "regulation.scenario_events")


def _flat(tree, prefix: str = "") -> dict[str, object]:
    """A nested mapping as {'dotted.key': value}."""
    if not isinstance(tree, dict):
        return {prefix: tree}
    out = {}
    for k, v in tree.items():
        out.update(_flat(v, f"{prefix}.{k}" if prefix else str(k)))
    return out


def _setting(lever: str, value) -> str:
    return f"{POLICY_NAMES.get(lever, lever)} {_shown(value) if value is not None else 'none'}"


def preset_changes(preset: str) -> list[str]:
    """What a preset changes from the baseline, whether or not a control shows it: its dated events
    ('2015-01: U-key friction 0 — mandated U-key friction removed from bank e-channels'), then each key it
    sets to another value ('banks.joint_stock.strategy.deposit_rate_premium: 0.5 (baseline 0)')."""
    return list(_preset_changes(preset, _stamp(preset)))


def _stamp(preset: str) -> int:
    """When the preset's file last changed: what a preset's cached reading is keyed by, so a save over an
    earlier one is read again while the others stay cached."""
    try:
        return (CONFIG_DIR / "experiment" / f"{preset}.yaml").stat().st_mtime_ns
    except OSError:
        return 0


@functools.lru_cache(maxsize=64)
def _preset_changes(preset: str, stamp: int) -> tuple[str, ...]:
    small = ["population.size=1000", "figures=false"]
    cfg, base = load_config([f"experiment={preset}", *small]), load_config(small)
    events = [f"{e.date}: " + "; ".join(_setting(k, v) for k, v in e.set.items()) + (f" — {e.note}" if e.note else "")
              for e in sorted(cfg.regulation.scenario_events, key=lambda e: e.date)]
    now = _flat(OmegaConf.to_container(OmegaConf.structured(cfg)))
    before = _flat(OmegaConf.to_container(OmegaConf.structured(base)))
    owners = {".".join(k.split(".")[:2]) for k in before if k.startswith(("banks.", "platforms."))}
    added = {".".join(k.split(".")[:2]) for k in now if k.startswith(("banks.", "platforms."))} - owners
    keys = [f"{k}: {_shown(v)} (baseline {_shown(before[k]) if k in before else 'none'})"
            for k, v in now.items() if not k.startswith(_NOT_CHANGES) and before.get(k, _SAME) != v
            and ".".join(k.split(".")[:2]) not in added]
    label = {a: now.get(f"{a}.label") for a in added}
    keys += [f"{a}: added ({label[a]}), not in the baseline" if label[a] else f"{a}: added, not in the baseline"
             for a in sorted(added)]
    return tuple(events + keys)


def dated_settings(preset: str) -> dict[str, list[tuple[str, object]]]:
    """The preset's dated events by lever: {'ukey_friction': [('2015-01', 0.0)]}, in date order."""
    return {k: list(v) for k, v in _dated_settings(preset, _stamp(preset)).items()}


@functools.lru_cache(maxsize=64)
def _dated_settings(preset: str, stamp: int) -> dict[str, tuple[tuple[str, object], ...]]:
    cfg = load_config([f"experiment={preset}", "population.size=1000", "figures=false"])
    out: dict[str, list] = {}
    for e in sorted(cfg.regulation.scenario_events, key=lambda e: e.date):
        for lever, value in e.set.items():
            out.setdefault(lever, []).append((e.date, value))
    return {k: tuple(v) for k, v in out.items()}


def first_change(preset: str) -> str:
    """The month of the preset's first dated event ('' where it has none): before it, it runs as the baseline
    would, unless it also changes keys from the start."""
    dates = [line[:7] for line in preset_changes(preset) if re.match(r"\d{4}-\d{2}: ", line)]
    return min(dates, default="")


def _shown(v) -> str:
    return "yes" if v is True else "no" if v is False else f"{v:g}" if isinstance(v, float) else (v or "none")


def build_config(levers: Levers) -> Config:
    """The Config these levers describe; raises ConfigError on a bad value.

    The preset's own functional-regulation and remote-opening events belong to those
    controls: each is kept where the control still says the same, else replaced by the
    control's event. Its other events (say, no_ukey's 2015 change) are kept as they are.
    """
    cfg = _preset_config(levers)
    cfg.switching_cost.scale = float(levers.switching_cost_scale)
    cfg.regulation.ukey_friction = float(levers.ukey_friction)
    wanted = {}
    if levers.functional_from:
        wanted["functional"] = PolicyEvent(date=levers.functional_from, note="functional regulation (dashboard)",
                                           set=_functional(levers.platform_compliance_cost))
    if levers.remote_opening_from:
        wanted["remote"] = PolicyEvent(date=levers.remote_opening_from, note="remote account opening (dashboard)",
                                       set={"remote_account_opening": True})
    events = []
    for event in cfg.regulation.scenario_events:
        kind = _lever_event(event)
        if kind is None:
            events.append(event)
        elif kind in wanted and (wanted[kind].date, wanted[kind].set) == (event.date, event.set):
            events.append(event)                     # the preset's own event, note and all
            del wanted[kind]
    cfg.regulation.scenario_events = events + list(wanted.values())
    if levers.partnership:
        cfg.banks["large_state"].strategy.partner_platform = PARTNER
        cfg.banks["large_state"].strategy.partnership_start = PARTNERSHIP_START
    for group, budget in levers.marketing_bn.items():
        for bank in cfg.banks.values():
            if bank.group == group:
                bank.strategy.marketing_budget_bn = float(budget)
    for group, kind in levers.bank_strategy.items():
        for bank in cfg.banks.values():
            if bank.group == group:
                bank.strategy.kind = str(kind)
    for group, premium in levers.deposit_premium_pp.items():
        for bank in cfg.banks.values():
            if bank.group == group:
                bank.strategy.deposit_rate_premium = float(premium)
    for name, kind in levers.platform_strategy.items():
        if name not in cfg.platforms:
            raise ConfigError(f"platforms.{name}.strategy.kind", kind,
                              f"a platform of preset '{levers.preset}': {', '.join(cfg.platforms)}")
        cfg.platforms[name].strategy.kind = str(kind)
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


SAVED_HEADER = "# @package _global_\n# Saved from the dashboard"


def is_shipped(path: Path) -> bool:
    """A preset that came with the project (or was written by hand), not one the dashboard saved."""
    return path.is_file() and not path.read_text().startswith(SAVED_HEADER)


def save_experiment(levers: Levers, name: str, directory: Path = CONFIG_DIR / "experiment",
                    overwrite: bool = False) -> Path:
    """Write the levers as an experiment file that `python -m experiments.run experiment=<name>` runs.

    Never replaces a shipped preset, and replaces an earlier dashboard save only with `overwrite`.
    """
    if not re.fullmatch(r"[A-Za-z0-9_\-]{1,64}", name or ""):
        raise ConfigError("experiment name", name, "1 to 64 letters, digits, '_' or '-'")
    path = Path(directory) / f"{name}.yaml"
    if path.is_dir():
        raise ConfigError("experiment name", name, f"a name that is not a folder in {directory}")
    if is_shipped(path):
        raise ConfigError("experiment name", name, "a name that is not a shipped preset (it would be overwritten)")
    if path.exists() and not overwrite:
        raise ConfigError("experiment name", name, "a new name, or tick 'Overwrite' to replace the earlier save")
    cfg = dataclasses.replace(build_config(levers), scenario=name, figures=True)
    cfg.question = f"Saved from the dashboard, starting from '{levers.preset}': {cfg.question}"
    base = load_config([])
    new = OmegaConf.to_container(OmegaConf.structured(cfg))
    old = OmegaConf.to_container(OmegaConf.structured(base))
    diff = _diff(new, old)
    diff = {} if diff is _SAME else diff     # seed and population included: a saved run reproduces
    header = f"{SAVED_HEADER}, starting from preset '{levers.preset}'.\n# Question: {cfg.question}\n"
    atomic_write(path, lambda p: p.write_text(header + OmegaConf.to_yaml(OmegaConf.create(diff))))
    _levers_from_preset.cache_clear()       # an earlier save of this name may be cached
    return path
