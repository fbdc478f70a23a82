"""Social ties for word of mouth: whom each customer listens to.

Each customer has a fixed number of ties; with probability `homophily` a tie is drawn
from the customer's own segment (age band x urban/rural), otherwise from anyone. The
graph is directed and stored as an (N, k) int32 array so that a million customers'
ties take 24 MB and are built in well under a second (networkx's generators hold
Python objects per edge and take minutes at this size).
"""
from __future__ import annotations

import numpy as np


def homophilous_ties(segment: np.ndarray, k: int, homophily: float, rng: np.random.Generator) -> np.ndarray:
    """(N, k) indices of each customer's ties; no customer is tied to itself."""
    n = segment.size
    if k == 0 or n < 2:
        return np.zeros((n, 0), dtype=np.int32)
    order = np.argsort(segment, kind="stable")
    counts = np.bincount(segment, minlength=int(segment.max()) + 1)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    seg = segment[:, None]
    within = rng.random((n, k)) < homophily
    pos = starts[seg] + (rng.random((n, k)) * counts[seg]).astype(np.int64)
    ties = np.where(within, order[pos], rng.integers(0, n, size=(n, k)))
    me = np.arange(n)[:, None]
    ties = np.where(ties == me, (me + 1) % n, ties)
    return ties.astype(np.int32)
