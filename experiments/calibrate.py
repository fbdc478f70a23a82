"""Fit free parameters to a target set: `python -m experiments.calibrate [configs/calibration/seed.yaml]`.

The calibration file names the target set (`seed`, or `cba` for the association's 2013
figure), the free parameters with bounds, the population, the replicates, and the
optimiser budget. The objective is the weighted squared error (in percentage points) of
the replicate mean against each target; every candidate runs the same replicates with
the same seeds (common random numbers), so the search does not chase noise. The search
is scipy.optimize.minimize (bounded Nelder-Mead by default).

Writes configs/experiment/<preset>.yaml (run it with `experiment=<preset>`; a committed
preset such as baseline.yaml is overwritten only with --force, checked before the search), and
results/calibration/<name>/: fit.csv (every target with fitted value, residual and
replicate spread), history.csv (every candidate and its loss) and fit.png (the fitted
trajectories through the target points).
"""
from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from omegaconf import OmegaConf  # noqa: E402
from scipy.optimize import minimize  # noqa: E402

from experiments import progress  # noqa: E402
from experiments.config import CONFIG_DIR, load_config, run_from_file  # noqa: E402
from experiments.errors import Parser, check_name, command, read_yaml, refuse_committed  # noqa: E402
from experiments.points import with_changes  # noqa: E402
from sim.config import ConfigError  # noqa: E402
from sim.market import MarketModel  # noqa: E402
from sim.metrics import FITTED_SERIES, fit_to_targets, yearly  # noqa: E402
from sim.outputs import atomic_write  # noqa: E402
from sim.targets import load_targets  # noqa: E402

KEYS = {"name", "question", "target_set", "population", "replicates", "seed", "weights", "method",
        "max_evaluations", "parameters", "overrides", "preset"}


def read_calibration(path: Path) -> dict:
    """Load and check a calibration file; raises ConfigError naming the bad key, before any run."""
    c = read_yaml(path, "calibration")
    unknown = sorted(set(c) - KEYS)
    if unknown:
        raise ConfigError(f"calibration.{unknown[0]}", c[unknown[0]], f"one of the keys {sorted(KEYS)}")
    c.setdefault("name", Path(path).stem)
    c.setdefault("preset", "calibrated")
    c.setdefault("target_set", "seed")
    c.setdefault("population", 20000)
    c.setdefault("replicates", 3)
    c.setdefault("seed", 7)
    c.setdefault("weights", {})
    c.setdefault("method", "Nelder-Mead")
    c.setdefault("max_evaluations", 150)
    c.setdefault("overrides", [])
    check_name("calibration.name", c["name"])
    check_name("calibration.preset", c["preset"])
    if not isinstance(c["weights"], dict):
        raise ConfigError("calibration.weights", c["weights"], f"a mapping from a series in {list(FITTED_SERIES)} "
                          "to a weight")
    for series, weight in c["weights"].items():
        if series not in FITTED_SERIES:
            raise ConfigError(f"calibration.weights.{series}", weight, f"a series in {list(FITTED_SERIES)}")
        if not isinstance(weight, (int, float)) or not 0 <= weight < float("inf"):
            raise ConfigError(f"calibration.weights.{series}", weight, "a finite weight >= 0")
    if not isinstance(c["overrides"], list):
        raise ConfigError("calibration.overrides", c["overrides"], "a list of KEY=VALUE overrides")
    for key in ("population", "replicates", "max_evaluations"):
        if not isinstance(c[key], int) or c[key] < 1:
            raise ConfigError(f"calibration.{key}", c[key], "an integer >= 1")
    params = c.get("parameters") or {}
    if not params:
        raise ConfigError("calibration.parameters", params, "at least one parameter with [low, high]")
    for key, b in params.items():
        if not (isinstance(b, list) and len(b) == 2 and all(isinstance(v, (int, float)) for v in b) and b[0] < b[1]):
            raise ConfigError(f"calibration.parameters.{key}", b, "[low, high] with low < high")
    try:
        load_targets(c["target_set"])
    except ValueError as e:
        raise ConfigError("calibration.target_set", c["target_set"], str(e).split("expected ")[-1]) from None
    for end in (0, 1):   # every parameter must exist and accept both bounds
        load_config(_overrides(c, {k: v[end] for k, v in params.items()}))
    return c


def _overrides(c: dict, values: dict) -> list[str]:
    return [f"population.size={c['population']}", f"seed={c['seed']}", f"target_set={c['target_set']}",
            "figures=false", *c["overrides"], *(f"{k}={v!r}" for k, v in values.items())]


class Objective:
    """Weighted squared error of the replicate mean, with common random numbers."""

    def __init__(self, c: dict):
        self.c, self.names = c, list(c["parameters"])
        self.bounds = np.array([c["parameters"][k] for k in self.names], dtype=float)
        self.targets = load_targets(c["target_set"])
        self.history: list[dict] = []
        self.base = None
        self.best_runs: tuple[pd.DataFrame, list[pd.DataFrame]] | None = None
        self.bar = None                     # a progress bar counting evaluations, while calibrate runs

    def values(self, x) -> dict:
        return {k: float(v) for k, v in zip(self.names, x)}

    def simulate(self, x) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
        if self.base is None:                       # composed once; each candidate is typed changes to it
            self.base = load_config(_overrides(self.c, {}))
        cfg = with_changes(self.base, self.values(x))
        runs = [MarketModel(cfg, replicate=r).run().recorder.timeseries() for r in range(self.c["replicates"])]
        fits = pd.concat([fit_to_targets(ts, self.targets).assign(replicate=r) for r, ts in enumerate(runs)])
        return fits, runs

    def __call__(self, x) -> float:
        x = np.clip(x, self.bounds[:, 0], self.bounds[:, 1])
        fits, runs = self.simulate(x)
        mean = fits.groupby(["series", "year"])["simulated"].mean()
        target = fits.groupby(["series", "year"])["target"].first()
        weight = np.array([self.c["weights"].get(s, 1.0) for s, _ in mean.index])
        loss = float((weight * (mean - target) ** 2).sum())
        if not self.history or loss < min(h["loss"] for h in self.history):
            self.best_runs = (fits, runs)            # the report is drawn from these, not from a re-run
        self.history.append({**self.values(x), "loss": loss})
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix(loss=f"{loss:.3g}", best=f"{min(h['loss'] for h in self.history):.3g}")
        return loss


def calibrate(path: Path, out_root: Path = Path("results/calibration"),
              preset_dir: Path = CONFIG_DIR / "experiment", force: bool = False) -> Path:
    logging.getLogger("MESA").setLevel(logging.WARNING)
    c = read_calibration(path)
    refuse_committed(preset_dir / f"{c['preset']}.yaml", force)    # before minutes of search, not after
    f = Objective(c)
    defaults = OmegaConf.structured(load_config(_overrides(c, {})))   # start from the current defaults
    x0 = np.clip([float(OmegaConf.select(defaults, k)) for k in f.names], f.bounds[:, 0], f.bounds[:, 1])
    started = time.perf_counter()
    with progress.bar(c["max_evaluations"], f"calibrate {c['name']}", "evaluation") as f.bar:
        result = minimize(f, x0, method=c["method"], bounds=f.bounds.tolist(),
                          options={"maxfev": c["max_evaluations"], "xatol": 1e-3, "fatol": 1e-3})
    f.bar = None
    start_loss = f.history[0]["loss"]           # Nelder-Mead evaluates the start point first
    best = min(f.history, key=lambda h: h["loss"])
    fits, runs = f.best_runs
    elapsed = time.perf_counter() - started

    out = out_root / c["name"]
    out.mkdir(parents=True, exist_ok=True)
    table = (fits.groupby(["series", "year"]).agg(target=("target", "first"), fitted=("simulated", "mean"),
                                                  replicate_sd=("simulated", "std"),
                                                  replicate_min=("simulated", "min"),
                                                  replicate_max=("simulated", "max")).reset_index())
    table.insert(4, "residual", table["fitted"] - table["target"])
    atomic_write(out / "fit.csv", lambda p: table.to_csv(p, index=False))
    history = pd.DataFrame(f.history)
    atomic_write(out / "history.csv", lambda p: history.to_csv(p, index_label="evaluation"))
    _figure(c, runs, table, out / "fit.png", elapsed, len(f.history))

    preset = OmegaConf.to_yaml(OmegaConf.from_dotlist([f"{k}={v!r}" for k, v in best.items() if k != "loss"]))
    header = (f"# @package _global_\n"
              f"# Written by `python -m experiments.calibrate {path}` on {dt.date.today()}.\n"
              f"# Question: {c.get('question', 'the baseline with parameters fitted to the ' + c['target_set'] + ' targets')}\n"
              f"# Fit: target set '{c['target_set']}', {c['population']:,} customers, {c['replicates']} replicates "
              f"(seed {c['seed']}), loss {start_loss:.3g} -> {best['loss']:.3g} (sum of squared pp) "
              f"in {len(f.history)} evaluations, {elapsed:.0f} s; {result.message}\n")
    body = OmegaConf.to_yaml(OmegaConf.create({"scenario": c["preset"], "target_set": c["target_set"]})) + preset
    atomic_write(preset_dir / f"{c['preset']}.yaml", lambda p: p.write_text(header + body))
    print(table.to_string(index=False, float_format=lambda v: f"{v:.2f}"), file=sys.stderr)
    print(f"loss {start_loss:.3g} -> {best['loss']:.3g} in {len(f.history)} evaluations, {elapsed:.0f} s; "
          f"preset: experiment={c['preset']}", file=sys.stderr)
    return out


def _figure(c: dict, runs: list[pd.DataFrame], table: pd.DataFrame, path: Path, seconds: float, evals: int) -> None:
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    for ax, series, title in ((axes[0], "off_counter_rate", "Off-counter rate"),
                              (axes[1], "mobile_value_share", "Mobile share of off-counter value")):
        for r, ts in enumerate(runs):
            yr = yearly(ts)
            ax.plot(yr["year"], 100 * yr[series], color="#264653", alpha=0.5, lw=1,
                    label="Replicates, fitted parameters" if r == 0 else None)
        t = table[table["series"] == series]
        ax.errorbar(t["year"], t["target"], yerr=3, fmt="D", color="#e76f51", capsize=4,
                    label=f"Targets ('{c['target_set']}' set) ± 3 pp")
        ax.set_title(title)
        ax.set_xlabel("Year")
        ax.set_ylabel("Percent")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.text(0.01, 0.005, f"calibration '{c['name']}' · {c['population']:,} customers · {c['replicates']} "
             f"replicates · {evals} evaluations in {seconds:.0f} s", fontsize=8, color="0.35")
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    atomic_write(path, lambda p: fig.savefig(p, dpi=130, format="png"))
    plt.close(fig)


@command
def main(argv: list[str] | None = None) -> int:
    parser = Parser(prog="python -m experiments.calibrate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("calibration", type=Path, nargs="?", default=CONFIG_DIR / "calibration" / "seed.yaml")
    parser.add_argument("--out", type=Path, default=Path("results/calibration"))
    parser.add_argument("--preset-dir", type=Path, default=CONFIG_DIR / "experiment")
    parser.add_argument("--force", action="store_true", help="overwrite a committed preset file")
    args = parser.parse_args(argv)
    return run_from_file(args.calibration, "calibration",
                         lambda: calibrate(args.calibration, args.out, args.preset_dir, args.force))


if __name__ == "__main__":
    sys.exit(main())
