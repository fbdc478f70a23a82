"""The work of `python -m experiments.design`: designs beyond the grid: `python -m experiments.design configs/design/<name>.yaml [--jobs N]`.

A design file names parameter ranges, a method and the outputs to study:
  lhs     Latin hypercube over the ranges (scipy.stats.qmc); index = Spearman rank
          correlation of each output with each parameter
  morris  Morris elementary effects (SALib); indices mu*, sigma with confidence
  sobol   Sobol first-order and total indices (SALib, Saltelli sampling)
Every design point runs `replicates` replicates (common random numbers across points)
and each output is its replicate mean at `date`. The runs are a study (lab/study.py)
stored in results/designs/<name>/ as one dataset (timeseries/, institutions/, runs/), so a
design that is run again, or stopped and restarted, runs only what is missing. From that
dataset it writes points.parquet (one row per point and replicate), indices.csv and
indices.png.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from omegaconf import OmegaConf  # noqa: E402
from scipy import stats  # noqa: E402
from scipy.stats import qmc  # noqa: E402
from lab import dataset  # noqa: E402
from lab.compose import load_config  # noqa: E402
from lab.posterior import check as check_posterior  # noqa: E402
from lab.posterior import refuse_overlap  # noqa: E402
from lab.dataset import column_name  # noqa: E402
from lab.errors import CommandError, check_name, read_yaml  # noqa: E402
from lab.changes import with_changes  # noqa: E402
from lab.points import Point  # noqa: E402
from lab.study import Study, run_study  # noqa: E402
from sim.writers import plots  # noqa: E402
from sim.checks import integer  # noqa: E402
from sim.config import ConfigError  # noqa: E402
from sim.market import MarketModel  # noqa: E402
from sim.writers.files import atomic_write  # noqa: E402

METHODS = ("lhs", "morris", "sobol")
DESIGN_KEYS = {"name", "question", "method", "samples", "replicates", "outputs", "date", "overrides",
               "parameters", "seed", "num_levels"}


def read_design(path: Path) -> dict:
    """Load and check a design file; raises ConfigError naming the bad key, before any point runs."""
    d = read_yaml(path, "design")
    unknown = set(d) - DESIGN_KEYS
    if unknown:
        raise ConfigError(f"design.{sorted(unknown)[0]}", d[sorted(unknown)[0]], f"one of the keys {sorted(DESIGN_KEYS)}")
    d.setdefault("name", Path(path).stem)
    check_name("design.name", d["name"])
    d.setdefault("replicates", 1)
    d.setdefault("overrides", [])
    d.setdefault("seed", 42)
    d.setdefault("num_levels", 4)
    if d.get("method") not in METHODS:
        raise ConfigError("design.method", d.get("method"), f"one of {list(METHODS)}")
    for key in ("samples", "replicates"):
        if not isinstance(d.get(key), int) or d[key] < 1:
            raise ConfigError(f"design.{key}", d.get(key), "an integer >= 1")
    integer(2, 100)("design.num_levels", d["num_levels"])     # SALib's Morris grid: 2 levels at least
    integer(0, 2 ** 32 - 1)("design.seed", d["seed"])         # what SALib and numpy take as a seed
    params = d.get("parameters") or {}
    if len(params) < 2:
        raise ConfigError("design.parameters", params, "at least two parameters, each with [low, high]")
    for key, bounds in params.items():
        if not (isinstance(bounds, list) and len(bounds) == 2 and all(isinstance(b, (int, float)) for b in bounds)
                and bounds[0] < bounds[1]):
            raise ConfigError(f"design.parameters.{key}", bounds, "[low, high] with low < high")
    if not isinstance(d.get("outputs"), list) or not d["outputs"]:
        raise ConfigError("design.outputs", d.get("outputs"), "a list of timeseries columns, e.g. [share_platform]")
    if not isinstance(d["overrides"], list):
        raise ConfigError("design.overrides", d["overrides"], "a list of KEY=VALUE overrides")
    for item in d["overrides"]:
        key = str(item).lstrip("+~").partition("=")[0]
        if key in params:                       # the sampled value would silently replace the override
            raise ConfigError(f"design.overrides.{key}", item, "a key not also among the design's parameters "
                              "(drop one or the other)")
    # every parameter and override must compose and validate at the low and high ends
    for end in (0, 1):
        cfg = load_config([*d["overrides"], *(f"{k}={v[end]}" for k, v in params.items())])
    defaults = OmegaConf.structured(cfg)
    d["integers"] = [k for k in params if isinstance(OmegaConf.select(defaults, k), int)
                     and not isinstance(OmegaConf.select(defaults, k), bool)]
    columns = _columns(cfg)
    for out in d["outputs"]:
        if out not in columns:
            numeric = [c for c in columns if c not in ("date", "step")]
            raise ConfigError("design.outputs", out, f"a timeseries column, e.g. one of {numeric[:12]} ...")
    months = pd.period_range(cfg.start, cfg.end, freq="M").strftime("%Y-%m")
    d.setdefault("date", months[-1])
    if d["date"] not in set(months):
        raise ConfigError("design.date", d["date"], f"a month between {cfg.start} and {cfg.end}")
    return d


def _columns(cfg) -> list[str]:
    """The timeseries columns a run of this config writes (from a one-month run of 100 customers)."""
    from dataclasses import replace
    tiny = replace(cfg, population=replace(cfg.population, size=100), end=cfg.start)
    return list(MarketModel(tiny).run().recorder.timeseries().columns)


def sample(d: dict) -> np.ndarray:
    """The design points, with integer parameters (e.g. ties_per_customer) rounded."""
    x = _sample(d)
    for i, name in enumerate(d["parameters"]):
        if name in d.get("integers", ()):
            x[:, i] = np.round(x[:, i])
    return x


def _sample(d: dict) -> np.ndarray:
    names = list(d["parameters"])
    bounds = np.array([d["parameters"][k] for k in names], dtype=float)
    problem = {"num_vars": len(names), "names": names, "bounds": bounds.tolist()}
    if d["method"] == "lhs":
        unit = qmc.LatinHypercube(d=len(names), seed=d["seed"]).random(d["samples"])
        return qmc.scale(unit, bounds[:, 0], bounds[:, 1])
    if d["method"] == "morris":
        from SALib.sample import morris
        return morris.sample(problem, d["samples"], num_levels=d["num_levels"], seed=d["seed"])
    from SALib.sample import sobol
    return sobol.sample(problem, d["samples"], calc_second_order=False, seed=d["seed"])


def indices(d: dict, x: np.ndarray, y: pd.DataFrame) -> pd.DataFrame:
    names = list(d["parameters"])
    problem = {"num_vars": len(names), "names": names, "bounds": [d["parameters"][k] for k in names]}
    rows = []
    for out in d["outputs"]:
        yv = y[out].to_numpy()
        if d["method"] == "lhs":
            for i, name in enumerate(names):
                rho, p = stats.spearmanr(x[:, i], yv)
                rows.append({"output": out, "parameter": name, "spearman_rho": rho, "p_value": p})
        elif d["method"] == "morris":
            from SALib.analyze import morris
            si = morris.analyze(problem, x, yv, num_levels=d["num_levels"], seed=d["seed"])
            for i, name in enumerate(names):
                rows.append({"output": out, "parameter": name, "mu": si["mu"][i], "mu_star": si["mu_star"][i],
                             "sigma": si["sigma"][i], "mu_star_conf": si["mu_star_conf"][i]})
        else:
            from SALib.analyze import sobol
            si = sobol.analyze(problem, yv, calc_second_order=False, seed=d["seed"])
            for i, name in enumerate(names):
                rows.append({"output": out, "parameter": name, "S1": si["S1"][i], "S1_conf": si["S1_conf"][i],
                             "ST": si["ST"][i], "ST_conf": si["ST_conf"][i]})
    return pd.DataFrame(rows)


def figure(d: dict, table: pd.DataFrame, path: Path) -> None:
    outs = d["outputs"]
    fig, axes = plt.subplots(len(outs), 1, figsize=(10, (0.45 * len(d["parameters"]) + 1.6) * len(outs)),
                             squeeze=False)
    for ax, out in zip(axes[:, 0], outs):
        t = table[table["output"] == out].iloc[::-1]
        pos = np.arange(len(t))
        if d["method"] == "lhs":
            ax.barh(pos, t["spearman_rho"], color="#2a9d8f")
            ax.set_xlabel("Spearman rank correlation with the output")
            ax.axvline(0, color="black", lw=0.8)
        elif d["method"] == "morris":
            ax.barh(pos, t["mu_star"], xerr=t["mu_star_conf"], color="#2a9d8f", label="μ* (mean |effect|)")
            ax.plot(t["sigma"], pos, "D", color="#e76f51", label="σ (interaction / non-linearity)")
            label, unit = plots.describe(out)
            ax.set_xlabel(f"Elementary effect on: {label} ({unit})")
            plots.legend_outside(ax, fontsize=8)
        else:
            ax.barh(pos - 0.2, t["S1"], 0.4, xerr=t["S1_conf"], color="#2a9d8f", label="First order S1")
            ax.barh(pos + 0.2, t["ST"], 0.4, xerr=t["ST_conf"], color="#e76f51", label="Total ST")
            ax.set_xlabel("Share of output variance")
            plots.legend_outside(ax, fontsize=8)
        ax.set_yticks(pos, t["parameter"])
        ax.set_title(f"{plots.describe(out)[0]}, {d['date']}")
        ax.grid(alpha=0.3, axis="x")
    plots.save(fig, path, f"design '{d['name']}' · {d['method']} · {d['n_points']} points × "
               f"{d['replicates']} replicates")


def design_study(d: dict, x: np.ndarray, root: Path) -> Study:
    """The design's points as a study: the overrides composed once, each point's values typed changes."""
    names = list(d["parameters"])
    base = load_config([*d["overrides"], f"replicates={d['replicates']}"])
    check_posterior(base)                             # draws there and enough; none sets a design's parameter
    refuse_overlap(base, [*d["overrides"], *(f"{k}=" for k in names)])
    points = []
    for i, row in enumerate(x):
        values = {k: int(v) if k in d["integers"] else float(v) for k, v in zip(names, row)}
        points.append(Point.make(i, with_changes(base, values), [f"{k}={v!r}" for k, v in values.items()],
                                 {column_name(k): v for k, v in values.items()}))
    return Study(d["name"], root, points, {column_name(k): k for k in names})


def run_design(path: Path, jobs: int = -1, out_root: Path = Path("results/designs")) -> Path:
    """Run the design as a study stored in results/designs/<name>/ (runs already stored are skipped),
    then write its points table, indices and figure from the stored dataset."""
    d = read_design(path)
    x = sample(d)
    d["n_points"] = len(x)
    out = out_root / d["name"]
    study = design_study(d, x, out)
    workers = os.cpu_count() or 1 if jobs < 1 else jobs
    result = run_study(study, backend="serial" if workers == 1 else "local", workers=workers)
    runs = dataset.load_runs(out)
    wanted = {(p.config_hash, r) for p in study.points for r in range(d["replicates"])}
    stored = runs[[(h, r) in wanted for h, r in zip(runs["config_hash"], runs["replicate"])]]
    failed = stored[stored["status"] != "complete"]
    if len(failed):
        raise CommandError(f"error: {len(failed)} of {len(wanted)} runs of design '{d['name']}' failed "
                           f"(first: {failed['error'].iloc[0]}); see {out}/runs.csv")
    ts = dataset.load(out, "timeseries", columns=d["outputs"])
    at = ts[ts["date"] == pd.Timestamp(d["date"] + "-01")].set_index("config_hash")
    names = list(d["parameters"])
    rows = []
    for p in study.points:          # a point that repeats another (Morris, Saltelli) reads the same runs
        runs_of_point = at.loc[[p.config_hash]]
        for _, run in runs_of_point.iterrows():
            rows.append({"point": p.index, "replicate": int(run["replicate"]),
                         **{k: float(x[p.index, i]) for i, k in enumerate(names)},
                         **{o: float(run[o]) for o in d["outputs"]}})
    points = pd.DataFrame(rows)
    points = points.sort_values(["point", "replicate"]).reset_index(drop=True)
    atomic_write(out / "points.parquet", lambda p: points.to_parquet(p, index=False))
    y = points.groupby("point")[d["outputs"]].mean().sort_index()
    table = indices(d, x, y)
    atomic_write(out / "indices.csv", lambda p: table.to_csv(p, index=False))
    figure(d, table, out / "indices.png")
    print(f"design {d['name']}: {result['complete']} runs done, {result['skipped']} already stored",
          file=sys.stderr)
    return out
