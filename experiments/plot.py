"""Figures from a stored sweep; never re-runs the model.

  python -m experiments.plot SWEEP fan --metric share_mobile
      mean and 90 % band across replicates over time, a line per swept combination
  python -m experiments.plot SWEEP heatmap --metric share_platform --x KEY --y KEY --date 2020-12
      the replicate mean at one month over two swept parameters
  python -m experiments.plot SWEEP diff --metric share_mobile --key experiment --baseline baseline
      each scenario minus the baseline, paired by replicate, with a 95 % confidence interval
  python -m experiments.plot SWEEP all
      fan charts of the main metrics, plus a heatmap and differences where the sweep allows

SWEEP is a sweep folder (results/sweeps/<study>); its collected/ tables are read, and
made from the stored runs first if missing or older than a run. Figures go to SWEEP/figures/.
Damaged collected tables and impossible requests get one line and exit 2.
"""
from __future__ import annotations

import argparse
import fnmatch
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy import stats  # noqa: E402

from experiments.collect import OUT, collect  # noqa: E402
from experiments.errors import CommandError, Parser, command, read_json, read_table  # noqa: E402
from sim.metrics import COLUMN_UNITS  # noqa: E402
from sim.outputs import atomic_write  # noqa: E402

MAIN_METRICS = ("share_mobile", "share_platform", "share_branch", "off_counter_rate", "churn_rate")


class PlotError(CommandError):
    """A figure that cannot be drawn from these tables; one line for the user."""

    def __init__(self, message: str):
        super().__init__(f"error: {message}")


def _stale(sweep: Path, folder: Path) -> bool:
    """Whether collected/ is missing, or older than a file of a run (finished, failed, or changed since)."""
    marker = folder / "sweep.json"
    if not (folder / "timeseries.parquet").exists() or not marker.exists():
        return True
    made = marker.stat().st_mtime_ns
    return any(p.stat().st_mtime_ns > made for p in Path(sweep).rglob("*")
               if p.is_file() and not {OUT, "figures"} & set(p.relative_to(sweep).parts))


def load(sweep: Path) -> tuple[pd.DataFrame, list[str]]:
    folder = Path(sweep) / OUT
    if _stale(sweep, folder):
        collect(sweep)
    ts = read_table(folder / "timeseries.parquet", "collected table")
    if ts.empty:
        raise PlotError(f"no complete runs stored under {sweep}")
    swept = read_json(folder / "sweep.json", "sweep summary").get("swept")
    if not isinstance(swept, list) or not {"date", "config_hash", "replicate", "study"} <= set(ts.columns):
        raise PlotError(f"{folder} is damaged: run `python -m experiments.collect {sweep}` again")
    varying = [k for k in swept if k in ts and ts[k].nunique() > 1]
    ts["month"] = pd.to_datetime(ts["date"], format="%Y-%m")
    return ts, varying


def unit(metric: str) -> str:
    for pattern, (u, _) in COLUMN_UNITS.items():
        if fnmatch.fnmatch(metric, pattern):
            return u
    return ""


def _check_metric(ts: pd.DataFrame, metric: str) -> None:
    if metric not in ts:
        numeric = [c for c in ts.select_dtypes("number").columns if c not in ("step", "replicate", "seed")]
        raise PlotError(f"metric {metric!r} is not in the stored tables; choose one of {numeric[:40]} ...")


def _subtitle(ts: pd.DataFrame, sweep: Path) -> str:
    reps = ts.groupby("config_hash")["replicate"].nunique()
    study = ts["study"].iloc[0] or Path(sweep).name
    rep_text = f"{reps.min()}" if reps.min() == reps.max() else f"{reps.min()}–{reps.max()}"
    return f"study '{study}' · {reps.size} configurations · {rep_text} replicates each"


def _label(values: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in values.items()) or "all runs"


def _save(fig, ax_list, sweep: Path, name: str, subtitle: str) -> Path:
    for ax in ax_list:
        if ax.get_xlabel() == "Month":
            ax.xaxis.set_major_locator(mdates.YearLocator())
            ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))
        ax.grid(alpha=0.3)
    fig.text(0.01, 0.005, subtitle, fontsize=8, color="0.35")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    out = Path(sweep) / "figures" / f"{name}.png"
    atomic_write(out, lambda p: fig.savefig(p, dpi=130, format="png"))
    plt.close(fig)
    return out


def fan(sweep: Path, metric: str) -> Path:
    ts, varying = load(sweep)
    _check_metric(ts, metric)
    panel_key = varying[0] if len(varying) > 1 else None
    panels = sorted(ts[panel_key].unique(), key=str) if panel_key else [None]
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels) + 1, 4.5), squeeze=False, sharey=True)
    line_keys = [k for k in varying if k != panel_key]
    for ax, pv in zip(axes[0], panels):
        part = ts if pv is None else ts[ts[panel_key] == pv]
        groups = part.groupby(line_keys, sort=True) if line_keys else [((), part)]
        for values, g in groups:
            values = values if isinstance(values, tuple) else (values,)
            by_month = g.groupby("month")[metric]
            mean, lo, hi = by_month.mean(), by_month.quantile(0.05), by_month.quantile(0.95)
            line, = ax.plot(mean.index, mean.values, label=_label(dict(zip(line_keys, values))))
            ax.fill_between(mean.index, lo.values, hi.values, color=line.get_color(), alpha=0.2)
        ax.set_title(f"{panel_key}={pv}" if panel_key else metric)
        ax.set_xlabel("Month")
        ax.legend(fontsize=7)
    axes[0][0].set_ylabel(f"{metric} ({unit(metric)})")
    fig.suptitle(f"{metric}: mean and 90 % band across replicates", fontsize=11)
    return _save(fig, axes[0], sweep, f"fan_{metric}", _subtitle(ts, sweep))


def heatmap(sweep: Path, metric: str, x: str, y: str, date: str) -> Path:
    ts, varying = load(sweep)
    _check_metric(ts, metric)
    if x == y:
        raise PlotError(f"--x and --y are both {x!r}; a heatmap needs two different swept parameters")
    for key in (x, y):
        if key not in varying:
            raise PlotError(f"--x/--y {key!r} is not a swept parameter; swept: {varying}")
    at = ts[ts["date"] == date]
    if at.empty:
        raise PlotError(f"--date {date!r} is not a simulated month; the runs cover {ts['date'].min()}..{ts['date'].max()}")
    grid = at.groupby([y, x])[metric].mean().unstack(x).sort_index(ascending=False)
    fig, ax = plt.subplots(figsize=(1.4 * grid.shape[1] + 3, 1.0 * grid.shape[0] + 2.5))
    im = ax.imshow(grid.values, cmap="viridis", aspect="auto")
    ax.set_xticks(range(grid.shape[1]), [str(v) for v in grid.columns])
    ax.set_yticks(range(grid.shape[0]), [str(v) for v in grid.index])
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    for (i, j), v in np.ndenumerate(grid.values):
        ax.text(j, i, f"{v:.3g}", ha="center", va="center", color="white", fontsize=8)
    fig.colorbar(im, ax=ax, label=f"{metric} ({unit(metric)})")
    others = [k for k in varying if k not in (x, y)]
    ax.set_title(f"{metric} in {date}, replicate mean" + (f" (averaged over {others})" if others else ""))
    return _save(fig, [ax], sweep, f"heatmap_{metric}_{date}", _subtitle(ts, sweep))


def diff(sweep: Path, metric: str, key: str, baseline) -> Path:
    ts, varying = load(sweep)
    _check_metric(ts, metric)
    if key not in varying:
        raise PlotError(f"--key {key!r} is not a swept parameter; swept: {varying}")
    values = [str(v) for v in ts[key].unique()]
    if str(baseline) not in values:
        raise PlotError(f"--baseline {baseline!r} is not a value of {key}; values: {sorted(values)}")
    ts = ts.assign(_k=ts[key].astype(str))
    pair_on = [k for k in varying if k != key] + ["replicate", "month"]
    base = ts[ts["_k"] == str(baseline)].set_index(pair_on)[metric]
    fig, ax = plt.subplots(figsize=(9, 4.8))
    for value in sorted(v for v in values if v != str(baseline)):
        other = ts[ts["_k"] == value].set_index(pair_on)[metric]
        d = (other - base).dropna().groupby(level="month")
        mean, n, sd = d.mean(), d.count(), d.std()
        half = stats.t.ppf(0.975, np.maximum(n - 1, 1)) * sd / np.sqrt(n)
        line, = ax.plot(mean.index, mean.values, label=f"{key}={value} − {baseline}")
        ax.fill_between(mean.index, (mean - half).values, (mean + half).values, color=line.get_color(), alpha=0.2)
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xlabel("Month")
    ax.set_ylabel(f"Difference in {metric} ({unit(metric)})")
    ax.set_title(f"{metric}: scenario minus {key}={baseline}, paired by replicate, 95 % CI")
    ax.legend(fontsize=8)
    return _save(fig, [ax], sweep, f"diff_{metric}_vs_{baseline}", _subtitle(ts, sweep))


def everything(sweep: Path) -> list[Path]:
    ts, varying = load(sweep)
    paths = [fan(sweep, m) for m in MAIN_METRICS if m in ts]
    if len(varying) >= 2:
        paths += [heatmap(sweep, m, varying[0], varying[1], ts["date"].max()) for m in ("share_platform", "churn_rate")]
    if "experiment" in varying and "baseline" in set(ts["experiment"].astype(str)):
        paths += [diff(sweep, m, "experiment", "baseline") for m in ("share_mobile", "share_platform")]
    return paths


@command
def main(argv: list[str] | None = None) -> int:
    parser = Parser(prog="python -m experiments.plot", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sweep", type=Path, help="sweep folder, e.g. results/sweeps/<study>")
    sub = parser.add_subparsers(dest="kind", required=True)
    p = sub.add_parser("fan", help="mean and 90 %% band over time")
    p.add_argument("--metric", default="share_mobile")
    p = sub.add_parser("heatmap", help="a metric at one month over two swept parameters")
    p.add_argument("--metric", default="share_platform")
    p.add_argument("--x", required=True)
    p.add_argument("--y", required=True)
    p.add_argument("--date", required=True, help="YYYY-MM")
    p = sub.add_parser("diff", help="scenario minus baseline with 95 %% CI")
    p.add_argument("--metric", default="share_mobile")
    p.add_argument("--key", default="experiment")
    p.add_argument("--baseline", default="baseline")
    sub.add_parser("all", help="the main figures")
    args = parser.parse_args(argv)
    if not args.sweep.is_dir():
        raise PlotError(f"no sweep folder at {args.sweep}")
    if args.kind == "fan":
        paths = [fan(args.sweep, args.metric)]
    elif args.kind == "heatmap":
        paths = [heatmap(args.sweep, args.metric, args.x, args.y, args.date)]
    elif args.kind == "diff":
        paths = [diff(args.sweep, args.metric, args.key, args.baseline)]
    else:
        paths = everything(args.sweep)
    for path in paths:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
