"""The work of `python -m experiments.plot`: figures from a stored sweep; never re-runs the model.

  python -m experiments.plot SWEEP fan --metric share_mobile
      mean and 90 % band across replicates over time, a line per swept combination
  python -m experiments.plot SWEEP heatmap --metric share_platform --x KEY --y KEY --date 2020-12
      the replicate mean at one month over two swept parameters
  python -m experiments.plot SWEEP diff --metric share_mobile --key experiment --baseline baseline
      each scenario minus the baseline, paired by replicate, with a 95 % confidence interval
  python -m experiments.plot SWEEP institutions --measure customer_share
      who gains: one panel per bank and platform, mean and 90 % band, a line per swept combination
  python -m experiments.plot SWEEP all
      fan charts of the main metrics, institutions, plus a heatmap and differences where the sweep allows

Swept keys may be given as config keys (switching_cost.scale) or as their columns
(switching_cost_scale). Shares are drawn in percent, labels and units come from the
column schema, policy changes are dotted lines, and panels meant to be compared share
their axes.

SWEEP is a study folder (results/sweeps/<study>); its dataset is read (lab/dataset.py:
committed runs only, each once). Figures go to SWEEP/figures/.
Damaged tables and impossible requests get one line and exit 2.
"""
from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy import stats  # noqa: E402

from lab import dataset  # noqa: E402
from lab.dataset import column_name  # noqa: E402
from lab.errors import CommandError, one_line  # noqa: E402
from lab.posterior import interval_covers  # noqa: E402
from sim.writers import plots  # noqa: E402

MAIN_METRICS = ("share_mobile", "share_platform", "share_branch", "off_counter_rate", "churn_rate")
INSTITUTION_MEASURES = ("customer_share", "user_share", "profit", "balance")


class PlotError(CommandError):
    """A figure that cannot be drawn from these tables; one line for the user."""

    def __init__(self, message: str):
        super().__init__(f"error: {message}")


def load(sweep: Path) -> tuple[pd.DataFrame, list[str]]:
    """The study's timeseries (committed runs, each once) and the swept columns that vary."""
    if not dataset.is_study(sweep):
        raise PlotError(f"no study at {sweep} (no runs/ or study.json; run a sweep with -m first)")
    swept = dataset.read_meta(sweep).get("swept", [])
    try:
        ts = dataset.load(sweep, "timeseries")
    except Exception as e:  # noqa: BLE001 - pyarrow raises many kinds for a damaged file
        raise PlotError(f"a stored table under {sweep} is damaged: {one_line(str(e))}") from None
    if ts.empty:
        raise PlotError(f"no complete runs stored under {sweep}")
    left_out = dataset.damaged(sweep)
    if left_out:
        print(f"warning: {len(left_out)} unreadable part(s) left out ({next(iter(left_out.values()))}); "
              f"run the study again to re-run their runs", file=sys.stderr)
    if not isinstance(swept, list) or not {"date", "config_hash", "replicate", "study"} <= set(ts.columns):
        raise PlotError(f"{sweep}/study.json or its tables are damaged")
    swept = [column_name(k) for k in swept]
    varying = [k for k in swept if k in ts and ts[k].nunique() > 1]
    ts["month"] = plots.dates(ts)
    ts["date"] = ts["month"].dt.strftime("%Y-%m")
    return ts, varying


def load_institutions(sweep: Path) -> pd.DataFrame:
    try:
        return dataset.load(sweep, "institutions")
    except Exception as e:  # noqa: BLE001
        raise PlotError(f"a stored table under {sweep} is damaged: {one_line(str(e))}") from None


def _axis_label(metric: str) -> str:
    label, unit = plots.describe(metric)
    return label if plots.is_share(metric) else f"{label} ({unit})"


def _y(ax, metric: str) -> None:
    """Percent axis for a share, else the unit in the label."""
    if plots.is_share(metric):
        plots.percent_axis(ax)
    else:
        ax.set_ylabel(plots.describe(metric)[1])


def _events(ts: pd.DataFrame):
    first = ts[ts["config_hash"] == ts["config_hash"].iloc[0]]
    return plots.policy_events(first[first["replicate"] == first["replicate"].min()])


def _check_metric(ts: pd.DataFrame, metric: str) -> None:
    if metric not in ts:
        numeric = [c for c in ts.select_dtypes("number").columns if c not in ("step", "replicate", "seed")]
        raise PlotError(f"metric {metric!r} is not in the stored tables; choose one of {numeric[:40]} ...")


def _subtitle(ts: pd.DataFrame, sweep: Path) -> str:
    reps = ts.groupby("config_hash")["replicate"].nunique()
    study = ts["study"].iloc[0] or Path(sweep).name
    rep_text = f"{reps.min()}" if reps.min() == reps.max() else f"{reps.min()}–{reps.max()}"
    return (f"study '{study}' · {reps.size} configurations · {rep_text} replicates each · "
            f"{_covers(sweep, reps.max())}")


def _covers(sweep: Path, replicates: int) -> str:
    """What bands and intervals across replicates cover: seeds, or seeds and a posterior's parameter draws."""
    runs = dataset.load_runs(sweep)
    names = sorted({str(n) for n in runs.get("posterior", pd.Series(dtype=str)).dropna() if n})
    return "bands and intervals cover " + interval_covers(", ".join(names), replicates)


def _label(values: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in values.items()) or "all runs"


def _save(fig, ax_list, sweep: Path, name: str, subtitle: str, events=()) -> Path:
    for ax in ax_list:
        if ax.get_xlabel() == "Month":
            ax.set_xlabel("")
            plots.year_axis(ax)
            plots.mark_events(ax, events)
        else:
            ax.grid(alpha=0.3)
    note = f"{subtitle}. {plots.events_note(events)}" if events else subtitle
    return plots.save(fig, Path(sweep) / "figures" / f"{name}.png", note)


def _bands(ax, part: pd.DataFrame, line_keys: list[str], metric: str) -> None:
    """A line per combination of line_keys: the mean over replicates and the 90 % band."""
    groups = part.groupby(line_keys, sort=True) if line_keys else [((), part)]
    for values, g in groups:
        values = values if isinstance(values, tuple) else (values,)
        by_month = g.groupby("month")[metric]
        mean, lo, hi = by_month.mean(), by_month.quantile(0.05), by_month.quantile(0.95)
        line, = ax.plot(mean.index, mean.values, label=_label(dict(zip(line_keys, values))))
        ax.fill_between(mean.index, lo.values, hi.values, color=line.get_color(), alpha=0.2, lw=0)
    ax.set_xlabel("Month")


def fan(sweep: Path, metric: str) -> Path:
    ts, varying = load(sweep)
    _check_metric(ts, metric)
    panel_key = varying[0] if len(varying) > 1 else None
    panels = sorted(ts[panel_key].unique(), key=str) if panel_key else [None]
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels) + 2.5, 4.5), squeeze=False, sharey=True)
    line_keys = [k for k in varying if k != panel_key]
    for ax, pv in zip(axes[0], panels):
        _bands(ax, ts if pv is None else ts[ts[panel_key] == pv], line_keys, metric)
        ax.set_title(f"{panel_key} = {pv}" if panel_key else "")
        _y(ax, metric)
    plots.legend_outside(axes[0][-1])
    fig.suptitle(f"{plots.describe(metric)[0]}: mean and 90 % band across replicates")
    return _save(fig, axes[0], sweep, f"fan_{metric}", _subtitle(ts, sweep), _events(ts))


def institutions(sweep: Path, measure: str) -> Path:
    """Who gains: one panel per institution, a line per swept combination (mean, 90 % band), shared axes."""
    ts, varying = load(sweep)
    inst = load_institutions(sweep)
    if measure not in inst:
        raise PlotError(f"measure {measure!r} is not in the institutions table; choose one of "
                        f"{[c for c in INSTITUTION_MEASURES if c in inst]}")
    inst["month"] = plots.dates(inst)
    inst = inst[inst[measure].notna()]
    names = list(dict.fromkeys(inst["institution"]))
    labels = inst.drop_duplicates("institution").set_index("institution")["label"]
    cols = min(4, len(names))
    rows = -(-len(names) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols + 2.5, 3.3 * rows), squeeze=False, sharex=True,
                             sharey=True)
    for ax, name in zip(axes.flat, names):
        _bands(ax, inst[inst["institution"] == name], varying, measure)
        ax.set_title(labels[name])
        _y(ax, measure)
    for ax in list(axes.flat)[len(names):]:
        ax.set_visible(False)
    plots.legend_outside(axes[0][-1])
    fig.suptitle(f"{plots.describe(measure)[0]} by institution: mean and 90 % band across replicates")
    return _save(fig, [a for a in axes.flat if a.get_visible()], sweep, f"institutions_{measure}",
                 _subtitle(ts, sweep), _events(ts))


def heatmap(sweep: Path, metric: str, x: str, y: str, date: str) -> Path:
    ts, varying = load(sweep)
    _check_metric(ts, metric)
    if x == y:
        raise PlotError(f"--x and --y are both {x!r}; a heatmap needs two different swept parameters")
    x, y = column_name(x), column_name(y)
    for key in (x, y):
        if key not in varying:
            raise PlotError(f"--x/--y {key!r} is not a swept parameter; swept: {varying}")
    at = ts[ts["date"] == date]
    if at.empty:
        raise PlotError(f"--date {date!r} is not a simulated month; the runs cover {ts['date'].min()}..{ts['date'].max()}")
    grid = at.groupby([y, x])[metric].mean().unstack(x).sort_index(ascending=False)
    share = plots.is_share(metric)
    fig, ax = plt.subplots(figsize=(1.4 * grid.shape[1] + 3.5, 1.0 * grid.shape[0] + 2.5))
    im = ax.imshow(grid.values * (100 if share else 1), cmap="viridis", aspect="auto")
    ax.set_xticks(range(grid.shape[1]), [str(v) for v in grid.columns])
    ax.set_yticks(range(grid.shape[0]), [str(v) for v in grid.index])
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    for (i, j), v in np.ndenumerate(grid.values):
        ax.text(j, i, f"{100 * v:.1f} %" if share else f"{v:.3g}", ha="center", va="center", color="white",
                fontsize=9)
    fig.colorbar(im, ax=ax, label="percent" if share else plots.describe(metric)[1])
    others = [k for k in varying if k not in (x, y)]
    ax.set_title(f"{plots.describe(metric)[0]}, {date}, replicate mean"
                 + (f" (averaged over {others})" if others else ""))
    return _save(fig, [ax], sweep, f"heatmap_{metric}_{date}", _subtitle(ts, sweep))


def _number(text) -> float | None:
    """The value as a number ('1' and '1.0' alike), or None."""
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def diff(sweep: Path, metric: str, key: str, baseline) -> Path:
    ts, varying = load(sweep)
    _check_metric(ts, metric)
    key = column_name(key)
    if key not in varying:
        raise PlotError(f"--key {key!r} is not a swept parameter; swept: {varying}"
                        + ("; to compare presets, run python -m experiments.compare" if key == "experiment" else ""))
    values = [str(v) for v in ts[key].unique()]
    baseline = next((v for v in values if v == str(baseline) or _number(v) == _number(baseline)), baseline)
    if str(baseline) not in values:
        raise PlotError(f"--baseline {baseline!r} is not a value of {key}; values: {sorted(values)}")
    ts = ts.assign(_k=ts[key].astype(str))
    pair_on = [k for k in varying if k != key] + ["replicate", "month"]
    base = ts[ts["_k"] == str(baseline)].set_index(pair_on)[metric]
    scale = 100 if plots.is_share(metric) else 1
    fig, ax = plt.subplots(figsize=(11, 4.8))
    for value in sorted(v for v in values if v != str(baseline)):
        other = ts[ts["_k"] == value].set_index(pair_on)[metric]
        d = (other - base).dropna().groupby(level="month")
        mean, n, sd = d.mean() * scale, d.count(), d.std() * scale
        half = stats.t.ppf(0.975, np.maximum(n - 1, 1)) * sd / np.sqrt(n)
        line, = ax.plot(mean.index, mean.values, label=f"{key}={value} − {baseline}")
        ax.fill_between(mean.index, (mean - half).values, (mean + half).values, color=line.get_color(), alpha=0.2,
                        lw=0)
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xlabel("Month")
    ax.set_ylabel("percentage points" if scale == 100 else plots.describe(metric)[1])
    ax.set_title(f"{plots.describe(metric)[0]}: scenario − {key}={baseline}, paired by replicate, 95 % CI")
    plots.legend_outside(ax)
    return _save(fig, [ax], sweep, f"diff_{metric}_vs_{baseline}", _subtitle(ts, sweep), _events(ts))


def everything(sweep: Path) -> list[Path]:
    ts, varying = load(sweep)
    paths = [fan(sweep, m) for m in MAIN_METRICS if m in ts]
    inst = load_institutions(sweep)
    paths += [institutions(sweep, m) for m in INSTITUTION_MEASURES if m in inst]
    if len(varying) >= 2:
        paths += [heatmap(sweep, m, varying[0], varying[1], ts["date"].max()) for m in ("share_platform", "churn_rate")]
    if "experiment" in varying and "baseline" in set(ts["experiment"].astype(str)):
        paths += [diff(sweep, m, "experiment", "baseline") for m in ("share_mobile", "share_platform")]
    return paths
