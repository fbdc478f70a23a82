"""The work of `python -m experiments.calibrate`: calibration that says how sure it is.

Simulation-based inference (neural posterior estimation, `sbi`; lab/inference.py)
over the free parameters of a calibration file, against every target of
data/targets.csv the runs can produce, each with its standard error:
  1. simulations: parameter sets drawn uniformly from the prior box, one run each with its
     own seed, run as a study (lab/study.py: every core, resumable; a second call
     reuses what is stored), plus `held_out` more kept out of training as synthetic cases;
  2. training: one posterior p(parameters | standardized targets) for all target sets;
  3. for each target set (`seed`: seed 004's 2013 off-counter rate, `cba`: the
     association's): posterior draws, each parameter's median and 90 % interval;
  4. diagnostics: coverage of the known parameters of the held-out cases (does the 90 %
     interval hold the truth 90 % of the time?), posterior predictive runs through every
     target, and what the targets leave open (90 % predictive widths of the 2020 figures
     and of scenario effects, at the runs' end);
  5. outputs in results/calibration/<name>/ (report.md first).

`--write-preset` also writes configs/experiment/<preset>.yaml for each target set with its
best-fitting posterior draw: of `preset_screen` (500) draws run once each, the `preset_candidates`
(10) nearest to meeting every target's tolerance are run on `preset_seeds` (5) seeds of
`preset_population` (100,000) customers and the best seed mean is kept (preset_candidates.csv;
a committed preset is replaced only with --force). Runs draw whole parameter sets from the
posterior with `posterior=<name>`.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
from omegaconf import OmegaConf

from lab import dataset
from lab.compose import CONFIG_DIR, load_config
from lab.errors import CommandError, check_name, read_yaml, refuse_committed
from lab.changes import with_changes
from lab.points import Point
from lab.study import Study, run_study
from lab.target_fit import fit_command_ratio, load_target_set, simulated_vector, tolerance_ratio
from sim.config import ConfigError
from sim.writers.files import atomic_write
from sim.evidence.targets import TARGET_SETS

DEFAULTS = {"question": "", "target_sets": list(TARGET_SETS), "population": 20000, "seed": 7, "simulations": 6000,
            "held_out": 100, "posterior_draws": 2000, "predictive_runs": 100, "max_epochs": 300, "overrides": [],
            "presets": {"seed": "calibrated", "cba": "calibrated_cba"}, "scenarios": [], "effect_draws": 20,
            "preset_screen": 500, "preset_candidates": 10, "preset_seeds": 5, "preset_population": 100_000}
KEYS = {"name", "parameters", *DEFAULTS}
COUNTS = {"population": 100, "simulations": 20, "held_out": 0, "posterior_draws": 100, "predictive_runs": 2,
          "max_epochs": 1, "effect_draws": 2, "preset_screen": 1, "preset_candidates": 1, "preset_seeds": 1,
          "preset_population": 100}


def read_calibration(path: Path) -> dict:
    """Load and check a calibration file; raises ConfigError naming the bad key before any run."""
    c = read_yaml(path, "calibration")
    unknown = sorted(set(c) - KEYS)
    if unknown:
        raise ConfigError(f"calibration.{unknown[0]}", c[unknown[0]], f"one of the keys {sorted(KEYS)}")
    c = {**DEFAULTS, "name": Path(path).stem, **c}
    check_name("calibration.name", c["name"])
    for key, least in COUNTS.items():
        if not isinstance(c[key], int) or isinstance(c[key], bool) or c[key] < least:
            raise ConfigError(f"calibration.{key}", c[key], f"an integer >= {least}")
    if not isinstance(c["seed"], int):
        raise ConfigError("calibration.seed", c["seed"], "an integer")
    sets = c["target_sets"]
    if not (isinstance(sets, list) and sets and all(s in TARGET_SETS for s in sets) and len(set(sets)) == len(sets)):
        raise ConfigError("calibration.target_sets", sets, f"a list of distinct sets from {list(TARGET_SETS)}")
    if not isinstance(c["presets"], dict) or not all(s in TARGET_SETS for s in c["presets"]):
        raise ConfigError("calibration.presets", c["presets"], f"a mapping from a set in {list(TARGET_SETS)} to a name")
    for s, preset in c["presets"].items():
        check_name(f"calibration.presets.{s}", preset)
    for key in ("overrides", "scenarios"):
        if not isinstance(c[key], list) or not all(isinstance(v, str) for v in c[key]):
            raise ConfigError(f"calibration.{key}", c[key], "a list of strings")
    params = c.get("parameters") or {}
    if not isinstance(params, dict) or not params:
        raise ConfigError("calibration.parameters", params, "at least one parameter with [low, high]")
    for key, b in params.items():
        if not (isinstance(b, list) and len(b) == 2 and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                            for v in b) and b[0] < b[1]):
            raise ConfigError(f"calibration.parameters.{key}", b, "[low, high] with low < high")
    base = load_config(_overrides(c))
    for end in (0, 1):   # every parameter must exist and accept both bounds
        with_changes(base, {k: float(v[end]) for k, v in params.items()})
    for scenario in c["scenarios"]:
        load_config([*_overrides(c), f"experiment={scenario}"])
    return c


def _overrides(c: dict) -> list[str]:
    return [f"population.size={c['population']}", f"seed={c['seed']}", "figures=false", *c["overrides"]]


# ----------------------------------------------------------------------------- simulating

READ = {   # what the targets, the predictive checks and the open questions read from each run
    "timeseries": ["tx_total", "tx_offcounter", "value_offcounter", "value_mobile", "corporate_offcounter_value",
                   "mobile_payers_m", "churn_rate", "share_platform", "share_mobile", "users_platform_m",
                   "users_mobile_m", "balance_platform_mmf"],
    "institutions": ["institution", "balance", "holders", "active_users", "account_holders", "mobile_value",
                     "offcounter_value"],
}

def _points(c: dict, thetas: np.ndarray, first_seed: int, extra: tuple[str, ...] = ()) -> list[Point]:
    """One point per parameter set, each with its own seed so that runs differ in their randomness too."""
    base = load_config([*_overrides(c), *extra])
    names = list(c["parameters"])
    points = []
    for i, theta in enumerate(thetas):
        values = {k: float(v) for k, v in zip(names, theta)}
        config = with_changes(base, {**values, "seed": first_seed + i})
        points.append(Point.make(i, config, (*extra, *(f"{k}={v!r}" for k, v in values.items())),
                                 {dataset.column_name(k): v for k, v in values.items()}))
    return points


def simulate(c: dict, root: Path, thetas: np.ndarray, first_seed: int, extra: tuple[str, ...] = (),
             show_progress: bool = True) -> list[tuple[pd.DataFrame, pd.DataFrame]]:
    """Run every parameter set (resuming what `root` holds) and return each one's (timeseries,
    institutions), in order; a failed run gives empty tables."""
    points = _points(c, thetas, first_seed, extra)
    keys = {dataset.column_name(k): k for k in c["parameters"]}
    backend = "local" if (os.cpu_count() or 1) > 1 else "serial"
    run_study(Study(name=root.name, root=root, points=points, config_keys=keys), backend=backend,
              show_progress=show_progress)
    wanted = {p.config_hash: p.index for p in points}
    tables = []
    for table, columns in READ.items():
        df = dataset.load(root, table, columns, hashes=wanted)
        tables.append({wanted[h]: g for h, g in df.groupby("config_hash", sort=False)})
    empty = (pd.DataFrame(), pd.DataFrame())
    return [(tables[0][i], tables[1][i]) if i in tables[0] else empty for i in range(len(points))]


def summaries(targets: pd.DataFrame, runs) -> pd.DataFrame:
    """One row per run, one column per target (NaN where a run failed or cannot produce it)."""
    ok = [i for i, (ts, _) in enumerate(runs) if len(ts)]
    x = simulated_vector(targets, [runs[i] for i in ok])
    return x.set_axis(ok).reindex(range(len(runs)))


# ----------------------------------------------------------------------------- the calibration

def calibrate(path: Path, out_root: Path = Path("results/calibration"), preset_dir: Path = CONFIG_DIR / "experiment",
              write_preset: bool = False, force: bool = False, show_progress: bool = True) -> Path:
    c = read_calibration(path)                  # a bad file is refused, sbi or not
    if write_preset:
        for s in c["target_sets"]:
            refuse_committed(preset_dir / f"{_preset(c, s)}.yaml", force)
    inference = _inference()
    from lab.calibration_report import write_report
    logging.getLogger("MESA").setLevel(logging.WARNING)
    started = time.perf_counter()
    out = out_root / c["name"]
    out.mkdir(parents=True, exist_ok=True)
    names = list(c["parameters"])
    low, high = (np.array([c["parameters"][k][e] for k in names], dtype=float) for e in (0, 1))
    rng = np.random.default_rng(c["seed"])
    thetas = low + (high - low) * rng.random((c["simulations"] + c["held_out"], len(names)))

    reference = c["target_sets"][0]
    prior = _prior_runs(c, out, thetas, reference, show_progress)
    train_rows, held_rows = prior.train_rows, prior.held_rows
    trained = inference.train(thetas[train_rows], prior.standard[train_rows], low, high, c["seed"], c["max_epochs"],
                              out / "training-log", show_progress=show_progress)
    draws, parameters = _posterior_draws(c, out, inference, trained.posterior, prior.usable, low, high)

    cover = inference.coverage(trained.posterior, thetas[held_rows], prior.standard[held_rows], names,
                               min(500, c["posterior_draws"]), c["seed"] + 29, show_progress) if len(held_rows) \
        else pd.DataFrame()
    atomic_write(out / "coverage.csv", lambda p: cover.to_csv(p, index=False))

    predictive, effects, candidates = _predictive_and_presets(c, out, draws, prior.usable.index, show_progress)
    meta = {"name": c["name"], "file": str(path), "parameters": c["parameters"], "target_sets": c["target_sets"],
            "reference_set": reference, "targets_fitted": list(prior.usable.index), "targets_dropped": prior.dropped,
            "simulations": int(len(train_rows)), "held_out": int(len(held_rows)), "epochs": trained.epochs,
            "converged": trained.converged,
            "population": c["population"], "overrides": c["overrides"], "seed": c["seed"],
            "written": dt.datetime.now().isoformat(timespec="seconds")}
    meta["seconds"] = round(time.perf_counter() - started, 1)
    atomic_write(out / "calibration.json", lambda p: p.write_text(json.dumps(meta, indent=2)))
    write_report(out, c, meta, parameters, cover, predictive, effects, candidates)
    if write_preset:
        _write_presets(c, path, candidates, preset_dir)
    return out


def _inference():
    """lab.inference, once sbi is known to be there (a one-line error where it is not)."""
    try:
        from lab import inference
        import sbi  # noqa: F401
    except ImportError:
        raise CommandError("error: calibration needs the sbi package (the calibration extra, with torch): "
                           "make calibrate, or pip install -e \".[calibrate]\"") from None
    return inference


class PriorRuns(NamedTuple):
    """The prior simulations' summaries, as training and the coverage check read them."""
    usable: pd.DataFrame        # the reference set's fitted targets that at least 95 % of the runs produce
    dropped: list[str]          # the reference set's targets left out
    standard: np.ndarray        # (run, usable target) standardized summaries: (simulated - observed) / se
    train_rows: np.ndarray      # runs with every usable summary, among the first `simulations`
    held_rows: np.ndarray       # the same among the `held_out` after them


def _prior_runs(c: dict, out: Path, thetas: np.ndarray, reference: str, show_progress: bool) -> PriorRuns:
    """Run every parameter set drawn from the prior (out/simulations, resumable), standardize the
    summaries against the reference target set and store them with the parameters."""
    n_train = c["simulations"]
    all_targets = load_target_set(reference)
    runs = simulate(c, out / "simulations", thetas, c["seed"] * 1_000_003, show_progress=show_progress)
    x_all = summaries(all_targets, runs)
    usable = all_targets[(all_targets["use"] == "fit") & x_all.notna().mean().gt(0.95).values]
    dropped = sorted(set(all_targets.index) - set(usable.index))
    x = x_all[usable.index]
    keep = x.notna().all(axis=1).to_numpy()
    standard = ((x - usable["value"]) / usable["se"]).to_numpy()
    train_rows = np.flatnonzero(keep[:n_train])
    held_rows = n_train + np.flatnonzero(keep[n_train:])
    atomic_write(out / "simulations.parquet", lambda p: pd.concat(
        [pd.DataFrame(thetas, columns=list(c["parameters"])), x_all.reset_index(drop=True)], axis=1)
        .assign(held_out=np.arange(len(thetas)) >= n_train).to_parquet(p, index=False))
    return PriorRuns(usable, dropped, standard, train_rows, held_rows)


def _posterior_draws(c: dict, out: Path, inference, posterior, usable: pd.DataFrame, low: np.ndarray,
                     high: np.ndarray) -> tuple[dict[str, np.ndarray], pd.DataFrame]:
    """Each target set's posterior draws and each parameter's median and 90 % interval (posterior.parquet,
    parameters.csv)."""
    names = list(c["parameters"])
    draws, table = {}, []
    for s in c["target_sets"]:
        observed = load_target_set(s).loc[usable.index, "value"]
        x_o = ((observed - usable["value"]) / usable["se"]).to_numpy()
        draws[s] = inference.sample(posterior, x_o, c["posterior_draws"], c["seed"] + 17)
        q = np.quantile(draws[s], [0.05, 0.5, 0.95], axis=0)
        for k, name in enumerate(names):
            width = (q[2, k] - q[0, k]) / (0.9 * (high[k] - low[k]))
            table.append({"target_set": s, "parameter": name, "median": q[1, k], "low_5": q[0, k], "high_95": q[2, k],
                          "prior_low": low[k], "prior_high": high[k], "width_vs_prior": width})
    parameters = pd.DataFrame(table)
    post = pd.concat([pd.DataFrame(d, columns=names).assign(target_set=s, draw=np.arange(len(d)))
                      for s, d in draws.items()], ignore_index=True)[["target_set", "draw", *names]]
    atomic_write(out / "posterior.parquet", lambda p: post.to_parquet(p, index=False))
    atomic_write(out / "parameters.csv", lambda p: parameters.to_csv(p, index=False))
    return draws, parameters


def _predictive_and_presets(c: dict, out: Path, draws: dict, fitted: pd.Index, show_progress: bool):
    """The posterior predictive runs, the scenarios' effects and the presets' candidates (preset_candidates.csv)."""
    # the first draws of each set run once each: the predictive check's and the presets' screen
    screened = {s: simulate(c, out / f"predictive_{s}", draws[s][: max(c["preset_screen"], c["predictive_runs"])],
                            c["seed"] * 1_000_003 + 500_000, show_progress=show_progress) for s in c["target_sets"]}
    predictive = {s: runs[: c["predictive_runs"]] for s, runs in screened.items()}
    effects = _scenario_effects(c, out, draws, show_progress) if c["scenarios"] else pd.DataFrame()
    candidates = pd.concat([_best_draw(c, out, s, draws[s], screened[s], fitted, show_progress)
                            for s in c["target_sets"]], ignore_index=True)
    atomic_write(out / "preset_candidates.csv", lambda p: candidates.to_csv(p, index=False))
    return predictive, effects, candidates


def _best_draw(c: dict, out: Path, s: str, draws: np.ndarray, screened: list, fitted: pd.Index,
               show_progress: bool) -> pd.DataFrame:
    """The posterior draw a preset is made of: the one that comes closest to meeting every fitted
    target within the fit command's tolerance. Of the `screened` runs (the first `preset_screen`
    draws, one run each), the `preset_candidates` with the smallest worst error in tolerance units
    are run again on `preset_seeds` seeds of `preset_population` customers (the fit command's
    100,000 by default); the one whose seed mean has the smallest worst error, judged as the fit
    command judges (`fit_command_ratio`), is chosen (ties: the smaller sum of squared standardized
    residuals). A joint draw, unlike the parameters' separate medians, is a parameter set the data
    support together."""
    targets = load_target_set(s).loc[fitted]
    x = summaries(targets, screened)
    single = np.array([tolerance_ratio(targets, x.iloc[i]).max() for i in range(len(x))])
    order = np.argsort(single, kind="stable")[: c["preset_candidates"]]
    k = c["preset_seeds"]
    runs = simulate({**c, "population": c["preset_population"]}, out / f"preset_{s}", np.repeat(draws[order], k, axis=0),
                    c["seed"] * 1_000_003 + 700_000, show_progress=show_progress)
    rows = []
    for i, d in enumerate(order):
        group = [run for run in runs[i * k:(i + 1) * k] if len(run[0])]
        ratio = fit_command_ratio(targets, group) if group else pd.Series(np.inf, index=targets.index)
        mean = summaries(targets, group).mean() if group else pd.Series(np.nan, index=targets.index)
        rows.append({"target_set": s, "draw": int(d), "worst_single_seed": float(single[d]),
                     "worst_seed_mean": float(ratio.max()), "worst_target": str(ratio.idxmax()),
                     "outside_tolerance": int((ratio > 1).sum()),
                     "chi2_seed_mean": float((((mean - targets["value"]) / targets["se"]) ** 2).sum()),
                     **dict(zip(c["parameters"], map(float, draws[d])))})
    table = pd.DataFrame(rows).sort_values(["worst_seed_mean", "chi2_seed_mean"], kind="stable")
    return table.assign(chosen=np.arange(len(table)) == 0)


def _scenario_effects(c: dict, out: Path, draws: dict, show_progress: bool) -> pd.DataFrame:
    """Each scenario's effect on the figures of the last month (2020-12 by default) under `effect_draws`
    posterior draws of the first target set, paired with the baseline run of the same draw and seed."""
    from lab.calibration_report import END_FIGURES, figures_at_end
    s = c["target_sets"][0]
    picks = draws[s][: c["effect_draws"]]
    seed0 = c["seed"] * 1_000_003 + 900_000
    base = [figures_at_end(run) for run in simulate(c, out / "effects_baseline", picks, seed0,
                                                  show_progress=show_progress)]
    rows = []
    for scenario in c["scenarios"]:
        runs = simulate(c, out / f"effects_{scenario}", picks, seed0, (f"experiment={scenario}",), show_progress)
        for i, run in enumerate(runs):
            now = figures_at_end(run)
            rows += [{"scenario": scenario, "draw": i, "figure": f, "effect": now[f] - base[i][f]}
                     for f in END_FIGURES if f in now and f in base[i]]
    return pd.DataFrame(rows)


def _preset(c: dict, target_set: str) -> str:
    """The preset a target set's chosen draw is written to (calibrated_<set> unless the file names one)."""
    return c["presets"].get(target_set, f"calibrated_{target_set}")


def _write_presets(c: dict, path: Path, candidates: pd.DataFrame, preset_dir: Path) -> None:
    for s in c["target_sets"]:
        name = _preset(c, s)
        best = candidates[(candidates["target_set"] == s) & candidates["chosen"]].iloc[0]
        body = OmegaConf.to_yaml(OmegaConf.from_dotlist(
            [f"scenario={name}", f"target_set={s}", *(f"{k}={float(best[k])!r}" for k in c["parameters"])]))
        shown = os.path.relpath(path) if Path(path).is_absolute() else path
        header = (f"# @package _global_\n# Written by `python -m experiments.calibrate {shown} --write-preset` on "
                  f"{dt.date.today()}: posterior draw {best['draw']} of the '{s}' target set, the best of\n"
                  f"# {c['preset_candidates']} candidates each run on {c['preset_seeds']} seeds "
                  f"(worst fitted target at {best['worst_seed_mean']:.2f} of its tolerance; results/calibration/"
                  f"{c['name']}/preset_candidates.csv).\n"
                  f"# For answers that carry parameter uncertainty, run with posterior={c['name']}.\n")
        target = preset_dir / f"{name}.yaml"
        atomic_write(target, lambda p: p.write_text(header + body))
        print(f"wrote {target}", file=sys.stderr)
