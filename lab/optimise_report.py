"""What `experiments.optimise` writes: its tables, the Pareto figure and report.html.

  evaluations.parquet  one row per candidate x draw x scenario x replicate stream, in sample ("in") and
                       out of sample ("out"): lever values and each objective
  candidates.csv       one row per candidate: levers, each objective's robust value with its 95 % interval
  pareto.csv           the non-dominated candidates, the same columns, then their out-of-sample values
                       (`<objective>_oos`, `_oos_low`, `_oos_high`) and `flagged`: a candidate that beats the
                       status quo in sample on an objective but not on the draws and streams it never saw
  pareto.png           the front, the status quo marked
  report.html          the recommended strategies against the status quo, with the compare report's figures
                       (lab/report.py): who gains and loses, and each institution's levers over time: how the
                       rivals answered
"""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from lab import evaluation  # noqa: E402
from lab.evaluation import STATUS_QUO  # noqa: E402
from lab.optimise_page import report  # noqa: E402
from sim.writers import plots  # noqa: E402
from sim.writers.files import atomic_write  # noqa: E402



def candidate_table(search, evals: pd.DataFrame, candidates: dict[str, dict]) -> pd.DataFrame:
    """candidates.csv: candidate, the levers, then each objective's robust value and interval."""
    robust = evaluation.robust_values(evals, search.objectives, search.robustness, search.seed)
    levers = pd.DataFrame([{"candidate": c, **v} for c, v in candidates.items()])
    return levers.merge(robust, on="candidate", how="inner")


def with_out_of_sample(search, pareto: pd.DataFrame, evals: pd.DataFrame, oos: pd.DataFrame) -> pd.DataFrame:
    """pareto.csv: the front's rows, their out-of-sample robust values beside, and the flag."""
    held = evaluation.robust_values(oos, search.objectives, search.robustness, search.seed).set_index("candidate")
    inside = evaluation.paired_effects(evals[evals["candidate"].isin([STATUS_QUO, *pareto["candidate"]])],
                                       search.objectives, STATUS_QUO).set_index("candidate")
    outside = evaluation.paired_effects(oos, search.objectives, STATUS_QUO).set_index("candidate")
    out = pareto.copy()
    flagged = pd.Series(False, index=out.index)
    for o in search.objectives:
        for suffix in ("", "_low", "_high"):
            out[f"{o.name}_oos{suffix}"] = out["candidate"].map(held[f"{o.name}{suffix}"])
        sign = 1.0 if o.sense == "max" else -1.0
        won = out["candidate"].map(inside[f"{o.name}_effect"]) * sign > 0
        kept = out["candidate"].map(outside[f"{o.name}_effect"]) * sign > 0
        flagged |= won & ~kept
    out["flagged"] = flagged & (out["candidate"] != STATUS_QUO)
    return out


def evaluations_table(search, evals: pd.DataFrame, oos: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """evaluations.parquet: one row per candidate and cell, in and out of sample, with the lever values."""
    levers = table[["candidate", *[lv.name for lv in search.levers]]]
    rows = pd.concat([evals, oos], ignore_index=True).merge(levers, on="candidate", how="left")
    rows = rows.rename(columns={"replicate": "run_replicate"}).rename(columns={"stream": "replicate"})
    first = ["candidate", "sample", "scenario", "draw", "replicate", *levers.columns[1:],
             *[o.name for o in search.objectives]]
    return rows[[*first, "config_hash", "run_replicate"]]


def pareto_figure(search, table: pd.DataFrame, pareto: pd.DataFrame, path: Path) -> Path:
    """The candidates on the first two objectives (or one objective by trial), the front joined, the status
    quo marked; 95 % intervals as bars."""
    names = [o.name for o in search.objectives]
    fig, ax = plt.subplots(figsize=(8, 5.5))
    x_name, y_name = (names[0], names[1]) if len(names) > 1 else (None, names[0])
    x = table[x_name] if x_name else pd.Series(np.arange(len(table)), index=table.index)
    ax.scatter(x, table[y_name], s=18, color="#9aa5b1", label="candidate")
    front = pareto.sort_values(x_name) if x_name else pareto
    fx = front[x_name] if x_name else x.loc[front.index]
    ax.errorbar(fx, front[y_name], yerr=_err(front, y_name), xerr=_err(front, x_name) if x_name else None,
                fmt="o-" if x_name else "o", color="#e76f51", ms=6, lw=1.2, capsize=2, label="Pareto front")
    sq = table[table["candidate"] == STATUS_QUO]
    ax.scatter(x.loc[sq.index], sq[y_name], marker="*", s=260, color="black", zorder=5, label="status quo")
    for _, row in front.iterrows():
        ax.annotate(row["candidate"], (row[x_name] if x_name else x.loc[row.name], row[y_name]), fontsize=7,
                    xytext=(4, 4), textcoords="offset points")
    objective = {o.name: o for o in search.objectives}
    ax.set_ylabel(f"{y_name}: {objective[y_name].describe()} · {search.robustness}")
    ax.set_xlabel(f"{x_name}: {objective[x_name].describe()} · {search.robustness}" if x_name else "candidate")
    ax.grid(alpha=0.3)
    plots.legend_outside(ax, fontsize=8)
    note = (f"optimise '{search.name}' · {search.player} · {len(table)} candidates · "
            f"{evaluation.require_intervals(search.uncertainty)}")
    return plots.save(fig, path, note)


def _err(df: pd.DataFrame, name: str | None):
    if name is None:
        return None
    low = (df[name] - df[f"{name}_low"]).to_numpy(float)
    high = (df[f"{name}_high"] - df[name]).to_numpy(float)
    return np.nan_to_num(np.vstack([low, high]))


def recommended(search, pareto: pd.DataFrame) -> list[str]:
    """For each objective, the front's best candidate on it, preferring those not flagged; at most one each."""
    out = []
    for o in search.objectives:
        pool = pareto[(pareto["candidate"] != STATUS_QUO) & ~pareto["flagged"]]
        pool = pool if len(pool) else pareto[pareto["candidate"] != STATUS_QUO]
        if len(pool):
            sense = evaluation.robust_sense(o, search.robustness)
            best = pool.loc[pool[o.name].idxmax() if sense == "max" else pool[o.name].idxmin(), "candidate"]
            out.append(best)
    return list(dict.fromkeys(out))


def write(search, evals: pd.DataFrame, oos: pd.DataFrame, table: pd.DataFrame, pareto: pd.DataFrame) -> None:
    """Write every output of the folder, each file whole (atomic_write)."""
    folder = search.folder
    pareto = with_out_of_sample(search, pareto, evals, oos)
    rows = evaluations_table(search, evals, oos, table)
    atomic_write(folder / "evaluations.parquet", lambda p: rows.to_parquet(p, index=False))
    atomic_write(folder / "candidates.csv", lambda p: table.to_csv(p, index=False))
    atomic_write(folder / "pareto.csv", lambda p: pareto.to_csv(p, index=False))
    pareto_figure(search, table, pareto, folder / "pareto.png")
    page = report(search, evals, oos, table, pareto, recommended(search, pareto))
    atomic_write(folder / "report.html", lambda p: p.write_text(page.html()))
