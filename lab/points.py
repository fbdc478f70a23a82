"""A study's points: configurations made by typed changes to a composed config, and their hash.

Composing a config with Hydra costs a tenth of a second or more; a study of thousands of
points composes each distinct composition once and makes every point from it with
`with_changes`, which sets dotted keys on the dataclasses with the types the schema
declares (as Hydra would accept them) and validates the result. A change it cannot make
(a list, a mapping, a key the config lacks, a config group) raises NotTyped, and the
caller composes that point instead. `config_hash` identifies what a replicate computes,
for single runs and studies alike.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Iterable

from lab.posterior import content_hash
from sim.config import Config

NOT_HASHED = ("replicates", "study", "figures", "question")   # none changes what one replicate computes


def config_hash(config: Config) -> str:
    """Short hash of everything that determines a replicate's results (the same for a single run).

    Without a posterior the hash is what it was before `posterior` existed; with one it covers the
    posterior file's content (lab/posterior.py), so a re-calibration re-runs on resume."""
    values = dataclasses.asdict(config)
    for key in NOT_HASHED:
        values.pop(key, None)
    if values.get("posterior"):
        values["posterior"] = f"{config.posterior}:{content_hash(config.posterior)}"
    else:
        values.pop("posterior", None)
    return hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Point:
    """One configuration of a study: its config, what sets it apart, and its hash."""
    index: int
    config: Config
    overrides: tuple[str, ...] = ()                 # as typed, e.g. ("switching_cost.scale=0.5",)
    values: dict[str, Any] = field(default_factory=dict)   # swept values under their column names
    config_hash: str = ""

    @staticmethod
    def make(index: int, config: Config, overrides: Iterable[str] = (), values: dict | None = None) -> "Point":
        return Point(index, config, tuple(overrides), dict(values or {}), config_hash(config))


def uniform_values(points: list[Point]) -> list[Point]:
    """Points whose swept values have one type per column (0, 0.5, 1 -> 0.0, 0.5, 1.0), so every part
    of the dataset has the same schema."""
    columns = {k for p in points for k in p.values}
    floats = {k for k in columns
              if any(isinstance(p.values.get(k), float) for p in points)
              and all(isinstance(p.values.get(k), (int, float)) and not isinstance(p.values.get(k), bool)
                      for p in points if p.values.get(k) is not None)}
    texts = {k for k in columns - floats
             if len({type(p.values.get(k)) for p in points if p.values.get(k) is not None}) > 1}
    return [dataclasses.replace(p, values={k: float(v) if k in floats and v is not None else
                                           str(v) if k in texts and v is not None else v
                                           for k, v in p.values.items()}) for p in points]
