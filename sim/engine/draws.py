"""Random draws the compiled kernels share."""
from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def geometric(rng, log_q):
    """A Geometric(p) draw on 1, 2, ..., given log_q = log(1 - p): the trial of the first success.

    floor(E / -log_q) for a standard exponential E is geometric on 0, 1, ...: P(>= k) = q ** k.
    The exponential comes from the ziggurat, cheaper than the logarithm that inversion takes.
    Used to skip over the customers who do not act: one draw per customer who does.
    """
    if log_q == -np.inf:
        return 1
    gap = rng.standard_exponential() / -log_q
    return np.int64(min(gap, 4e18)) + 1
