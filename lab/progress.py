"""Progress with time left, for every command that runs longer than a few seconds.

`bar` is a tqdm bar on stderr showing elapsed time and time left. On a terminal it
redraws twice a second; in a log (stderr not a terminal) it still reports, every 30 s,
so a long job is never silent. `tracking` makes one bar the current one while a command
runs, and `run` runs a model counting its customer-months on it, so time left is weighed
by the work each run does (a 100,000-customer run counts five times a 20,000 one).
"""
from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Iterator

from tqdm import tqdm

from sim.config import Config, month_index
from sim.market import MarketModel

_current: list[tqdm] = []


def bar(total: float, desc: str, unit: str, show: bool = True) -> tqdm:
    """A bar with elapsed time and time left, visible on a terminal and in a log (unless show is false)."""
    terminal = sys.stderr.isatty()
    return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, mininterval=0.5 if terminal else 30,
                ascii=not terminal, unit_scale=unit == "customer-month", dynamic_ncols=terminal, disable=not show)


@contextmanager
def tracking(total: float, desc: str) -> Iterator[tqdm]:
    """Make a customer-months bar the current one for `run` while the block runs."""
    with bar(total, desc, "customer-month") as b:
        _current.append(b)
        try:
            yield b
        finally:
            _current.pop()


def work(cfg: Config, runs: int = 1) -> int:
    """Customer-months of `runs` runs of cfg: what `run` counts."""
    return runs * cfg.population.size * (month_index(cfg.end) - month_index(cfg.start) + 1)


def run(cfg: Config, replicate: int = 0) -> MarketModel:
    """MarketModel(cfg, replicate).run(), its months counted on the current bar, if any."""
    tick = (lambda model, b=_current[-1], n=cfg.population.size: b.update(n)) if _current else None
    return MarketModel(cfg, replicate=replicate).run(progress=tick)
