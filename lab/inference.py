"""Neural posterior estimation with `sbi`: train once on prior simulations, then condition on any data.

Why `sbi` (NPE) and not ABC-SMC (`pyabc`): the posterior is amortized, so checking that it
covers known parameters at its nominal rate over many synthetic cases costs no new
simulation, and both target sets (`seed`, `cba`) are answered by one training
(docs/calibration-design.md has the measurements behind the choice).

Summaries enter standardized: (simulated - observed) / se for each target of
data/targets.csv, with the observed values of a reference target set. Training adds
standard normal noise to every standardized summary, so the posterior carries each
target's stated standard error (measurement and model discrepancy), not only the model's
own randomness. Every draw is seeded from the calibration's seed.
"""
from __future__ import annotations

import contextlib
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from lab import progress

LEVEL = 0.90                       # the central interval reported and checked for coverage


def _torch(seed: int):
    import torch
    torch.manual_seed(seed)
    warnings.filterwarnings("ignore", message=".*triangular_solve.*")   # nflows' deprecated call, not ours
    return torch


@dataclass
class Trained:
    """A trained posterior and how long its training ran."""
    posterior: object              # sbi's DirectPosterior
    epochs: int
    converged: bool                # False: stopped at max_epochs with the validation loss still falling


def train(theta: np.ndarray, x: np.ndarray, low: np.ndarray, high: np.ndarray, seed: int,
          max_epochs: int, log_dir: Path, noise: bool = True, show_progress: bool = True) -> Trained:
    """A posterior p(theta | x) trained on (theta, x) pairs: theta (n, parameters) drawn uniformly in
    [low, high], x (n, summaries) standardized; `noise` adds N(0, 1) to x (the targets' se). The
    training's TensorBoard log goes to `log_dir` (sbi writes one; by default into the working folder);
    `show_progress` prints the epochs trained so far on stderr."""
    torch = _torch(seed)
    from sbi.inference import NPE
    from sbi.utils import BoxUniform
    prior = BoxUniform(low=torch.as_tensor(low, dtype=torch.float32), high=torch.as_tensor(high, dtype=torch.float32))
    xs = np.asarray(x, dtype=np.float64)
    if noise:
        xs = xs + np.random.default_rng(seed).standard_normal(xs.shape)
    from sbi.utils.tracking import TensorBoardTracker
    from torch.utils.tensorboard import SummaryWriter
    inference = NPE(prior=prior, density_estimator="nsf", show_progress_bars=show_progress,
                    tracker=TensorBoardTracker(SummaryWriter(log_dir=str(log_dir))))
    inference.append_simulations(torch.tensor(theta, dtype=torch.float32), torch.tensor(xs, dtype=torch.float32))
    with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(sys.stderr):
        warnings.simplefilter("always")                     # sbi prints its epoch count: to stderr
        estimator = inference.train(max_num_epochs=max_epochs, training_batch_size=min(200, max(20, len(xs) // 10)))
    epochs = inference.summary.get("epochs_trained") or [0]
    stopped = any("Maximum number of epochs" in str(w.message) for w in caught)
    return Trained(posterior=inference.build_posterior(estimator), epochs=int(epochs[-1]), converged=not stopped)


def sample(posterior, x_o: np.ndarray, n: int, seed: int) -> np.ndarray:
    """n draws (n, parameters) of the posterior given standardized data x_o."""
    torch = _torch(seed)
    draws = posterior.sample((n,), x=torch.tensor(np.asarray(x_o), dtype=torch.float32), show_progress_bars=False)
    return draws.numpy().astype(np.float64)


def coverage(posterior, theta: np.ndarray, x: np.ndarray, names: list[str], n: int, seed: int,
             show_progress: bool = True) -> pd.DataFrame:
    """For synthetic cases with known parameters `theta` and their simulated, standardized summaries
    `x` (noise added as in training), whether each parameter's central 90 % posterior interval
    covers the truth, and the truth's rank among the draws (uniform if the posterior is calibrated)."""
    noisy = x + np.random.default_rng(seed + 1).standard_normal(x.shape)
    rows = []
    with progress.bar(len(theta), "coverage of known parameters", "case", show=show_progress) as bar:
        for case, (truth, data) in enumerate(zip(theta, noisy)):
            rows += _covered(sample(posterior, data, n, seed + 2 + case), truth, names, case)
            bar.update(1)
    return pd.DataFrame(rows)


def _covered(draws: np.ndarray, truth: np.ndarray, names: list[str], case: int) -> list[dict]:
    low, high = np.quantile(draws, [(1 - LEVEL) / 2, (1 + LEVEL) / 2], axis=0)
    return [{"case": case, "parameter": name, "truth": truth[k], "low": low[k], "high": high[k],
             "covered": bool(low[k] <= truth[k] <= high[k]), "rank": float(np.mean(draws[:, k] < truth[k]))}
            for k, name in enumerate(names)]
