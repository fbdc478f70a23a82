"""Social ties for word of mouth: whom each customer listens to.

Each customer has a fixed number of ties; with probability `homophily` a tie is drawn
from the customer's own segment (age band x urban/rural), otherwise from anyone. The
graph is directed and stored as an (N, k) int32 array so that a million customers'
ties take 24 MB and are built in well under a second (networkx's generators hold
Python objects per edge and take minutes at this size).
"""
from __future__ import annotations

import numpy as np

CHUNK = 1 << 18


def homophilous_ties(segment: np.ndarray, k: int, homophily: float, rng: np.random.Generator) -> np.ndarray:
    """(N, k) indices of each customer's ties; no customer is tied to itself."""
    n = segment.size
    if k == 0 or n < 2:
        return np.zeros((n, 0), dtype=np.int32)
    order = np.argsort(segment, kind="stable").astype(np.int32)
    counts = np.bincount(segment, minlength=int(segment.max()) + 1)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    ties = np.empty((n, k), dtype=np.int32)
    for lo in range(0, n, CHUNK):            # bounded temporaries, whatever the population
        hi = min(n, lo + CHUNK)
        seg = segment[lo:hi, None]
        within = rng.random((hi - lo, k), dtype=np.float32) < homophily
        pos = starts[seg] + (rng.random((hi - lo, k)) * counts[seg]).astype(np.int64)
        chunk = np.where(within, order[pos], rng.integers(0, n, size=(hi - lo, k), dtype=np.int32))
        me = np.arange(lo, hi, dtype=np.int32)[:, None]
        ties[lo:hi] = np.where(chunk == me, (me + 1) % n, chunk)
    return ties
