"""The work of `python -m experiments.game NAME [KEY=VALUE ...]`: is a strategy still right once rivals answer?

An empirical game (Wellman 2006): players are institutions, each with 2-5 named strategies (lever
settings, {} the status quo); every profile (one strategy a player) is simulated on the same grid
of uncertainty as `optimise` (lab/evaluation.py: draws x scenarios x replicate streams, common
random numbers), and each player's payoff is an objective read from the institutions table. The
institutions that are not players act as the model config says (the shipped config makes them
responsive). Where the payoffs are too noisy to settle whether the profiles that decide the answer
are equilibria (a deviation's paired gain interval straddles zero), replicate streams are added to
those profiles, `refine.step` at a time, until none is unsettled or `refine.runs` extra runs are
spent (progressive sampling). Equilibria and their regret come from lab/equilibria.py;
lab/game_report.py writes payoffs.csv, equilibria.csv and report.html.
"""
from __future__ import annotations

import dataclasses
import itertools
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from lab import evaluation, game_report
from lab.errors import check_name
from lab.evaluation import Uncertainty
from lab.payoffs import by_cell, deviation_gain, payoff_table, profile_name
from lab.objectives import Objective, read_objective
from lab.strategy_config import claim_folder, folder_for, integer, ray_session, read_spec, require_extra
from lab.strategy_space import read_setting, roster_of
from lab.study import BACKENDS
from sim.config import Config, ConfigError

KEYS = {"players", "uncertainty", "model", "focal", "refine", "seed", "backend", "workers"}
COMMAND = "experiments.game"
MAX_PROFILES = 1000


@dataclass(frozen=True)
class Player:
    name: str
    payoff: Objective
    strategies: dict[str, dict]          # strategy name -> {config key: value}


@dataclass
class Game:
    name: str
    folder: Path
    players: list[Player]
    uncertainty: Uncertainty
    bases: dict[str, Config]
    focal: str
    refine_runs: int = 0
    refine_step: int = 1
    seed: int = 0
    backend: str = "local"
    workers: int | None = None
    spec: dict = dataclasses.field(default_factory=dict)

    @property
    def strategies(self) -> dict[str, list[str]]:
        """{player: its strategy names}, in the config's order."""
        return {p.name: list(p.strategies) for p in self.players}

    def profiles(self) -> list[tuple[str, ...]]:
        """Every profile: one strategy a player, in the players' order."""
        return list(itertools.product(*self.strategies.values()))

    def status_quo(self) -> tuple[str, ...]:
        """The profile of each player's `status_quo` strategy (its first where it has none)."""
        return tuple("status_quo" if "status_quo" in p.strategies else next(iter(p.strategies)) for p in self.players)


def _player(config: Config, name: str, spec, where: str) -> Player:
    roster_of(config, name, where)
    if not isinstance(spec, dict) or set(spec) - {"payoff", "strategies"} or "payoff" not in spec:
        raise ConfigError(where, spec, "{payoff: {column, at | sum | mean}, strategies: {name: {lever: value}}}")
    payoff = read_objective(name, spec["payoff"], config, name, f"{where}.payoff", default_sense="max")
    strategies = spec.get("strategies")
    if not isinstance(strategies, dict) or not 2 <= len(strategies) <= 5:
        raise ConfigError(f"{where}.strategies", strategies, "2 to 5 named strategies, e.g. "
                          "{status_quo: {}, price_push: {deposit_rate_premium: 0.3}}")
    settings = {}
    for s, setting in strategies.items():
        check_name(f"{where}.strategies", str(s))
        settings[str(s)] = read_setting(config, name, setting, f"{where}.strategies.{s}")
    distinct = {tuple(sorted(v.items(), key=str)) for v in settings.values()}
    if len(distinct) < len(settings):
        raise ConfigError(f"{where}.strategies", strategies, "strategies that differ (two set the same levers "
                          "to the same values)")
    return Player(name, payoff, settings)


def read_game(name: str, overrides: list[str], out: Path = Path("results/game")) -> Game:
    """The game NAME (configs/game/NAME.yaml) with overrides, checked before anything runs or is written."""
    spec = read_spec("game", name, overrides, KEYS)
    u, model, probe = evaluation.read_grid(spec)
    players_spec = spec.get("players")
    if not isinstance(players_spec, dict) or len(players_spec) < 2:
        raise ConfigError("players", players_spec, "two or more institutions, each with a payoff and strategies")
    players = [_player(probe, str(p), v, f"players.{p}") for p, v in players_spec.items()]
    n = int(np.prod([len(p.strategies) for p in players]))
    if n > MAX_PROFILES:
        raise ConfigError("players", sorted(players_spec), f"at most {MAX_PROFILES} profiles (these make {n})")
    focal = spec.get("focal", players[0].name)
    if focal not in players_spec:
        raise ConfigError("focal", focal, f"one of the players {list(players_spec)}")
    refine = spec.get("refine") or {}
    if not isinstance(refine, dict) or set(refine) - {"runs", "step"}:
        raise ConfigError("refine", refine, "{runs: extra runs allowed (0: none), step: replicates added at a time}")
    backend = spec.get("backend", "local")
    if backend not in BACKENDS:
        raise ConfigError("backend", backend, f"one of {list(BACKENDS)}")
    keys = [k for p in players for s in p.strategies.values() for k in s]
    bases = evaluation.base_configs(u, model, keys)
    return Game(name, folder_for(out, name, overrides), players, u, bases, str(focal),
                integer(refine, "runs", 0, 0, 100_000) if "runs" in refine else 0,
                integer(refine, "step", 1, 1, 100) if "step" in refine else 1,
                integer(spec, "seed", 0, 0, 2 ** 31 - 1), backend, integer(spec, "workers", None, 1, 1_024), spec)


def _changes(game: Game, profile: tuple[str, ...]) -> dict:
    out = {}
    for player, strategy in zip(game.players, profile):
        out.update(player.strategies[strategy])
    return out


def simulate(game: Game, profiles: list[tuple[str, ...]], streams: range, show: bool) -> pd.DataFrame:
    """The profiles on the grid's cells of `streams`: one row per profile and cell, a payoff column a player."""
    candidates = {profile_name(p): _changes(game, p) for p in profiles}
    grid = evaluation.cells(game.uncertainty, streams=streams)
    return evaluation.evaluate(game.name, game.folder, game.uncertainty, game.bases, candidates, grid,
                               [p.payoff for p in game.players], game.backend, game.workers, show)


def unsettled(game: Game, evals: pd.DataFrame) -> list[tuple[str, ...]]:
    """Profiles whose equilibrium status the noise leaves open: each profile that is an equilibrium of the
    means or within noise of one, with every deviation from it whose paired gain interval straddles zero."""
    out, cells = [], by_cell(game, evals)
    for profile in game.profiles():
        gains = [(i, s, deviation_gain(game, cells, profile, i, s)) for i, p in enumerate(game.players)
                 for s in p.strategies if s != profile[i]]
        if any(low > 0 for _, _, (_, low, _) in gains):            # a deviation that surely gains: settled
            continue
        for i, s, (_, low, high) in gains:
            if not (high < 0) and not (low > 0):
                out.extend([profile, profile[:i] + (s,) + profile[i + 1:]])
    return list(dict.fromkeys(out))


def play(game: Game, show_progress: bool = True) -> pd.DataFrame:
    """Every profile on the initial grid, then progressive sampling within the run budget; all evaluations."""
    r = game.uncertainty.replicates
    evals = simulate(game, game.profiles(), range(r), show_progress)
    per_stream = len(game.uncertainty.scenarios) * (game.uncertainty.draws if game.uncertainty.posterior else 1)
    spent, streams = 0, {p: r for p in game.profiles()}
    while spent < game.refine_runs:
        todo = unsettled(game, evals)
        cost = game.refine_step * per_stream
        todo = todo[:max(0, (game.refine_runs - spent) // cost)]
        if not todo:
            break
        for first in sorted({streams[p] for p in todo}):
            group = [p for p in todo if streams[p] == first]
            more = simulate(game, group, range(first, first + game.refine_step), show_progress)
            evals = pd.concat([evals, more], ignore_index=True)
        for p in todo:
            streams[p] += game.refine_step
        spent += cost * len(todo)
    return evals


def run_game(name: str, overrides: list[str], out: Path = Path("results/game"), show_progress: bool = True) -> Path:
    """Simulate the game (or resume it), find its equilibria and write its folder; returns the folder."""
    require_extra("nashpy")
    game = read_game(name, overrides, out)
    claim_folder(game.folder, game.spec, COMMAND)
    with ray_session(game.backend, game.workers):
        evals = play(game, show_progress)
    payoffs = payoff_table(game, evals)
    game_report.write(game, evals, payoffs)
    print(f"game {game.name}: {len(game.profiles())} profiles, {int(payoffs.groupby('player')['runs'].sum().iloc[0])}"
          " runs", file=sys.stderr)
    return game.folder
