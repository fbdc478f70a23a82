"""What `python -m experiments.discover` shows: the boxes table, the trade-off and limits figures, the report.

  boxes.csv       one row per box and restricted parameter: box, coverage, density, mass, parameter,
                  low, high (a categorical parameter's allowed values in `low`, joined by '|')
  tradeoff.png    every peeling trajectory, coverage against density, the chosen boxes marked
  box_<k>.png     box k's limits within the sampled ranges, and its cases
  report.md       the question, the boxes in words, how to read them and what they cannot tell
"""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from lab.discovery_cases import Cases  # noqa: E402
from lab.prim_boxes import Box, Search  # noqa: E402
from sim.writers import plots  # noqa: E402

BOX_COLUMNS = ["box", "coverage", "density", "mass", "parameter", "low", "high"]
HIT, MISS = "#e76f51", "#8ab6d6"


def boxes_table(search: Search) -> pd.DataFrame:
    """boxes.csv: one row per chosen box and restricted parameter (no rows when PRIM found no box)."""
    rows = []
    for b in search.boxes:
        for name, (low, high) in b.limits.items():
            if high is None:                                  # a categorical parameter: its allowed values
                low, high = "|".join(sorted(map(str, low))), None
            rows.append({"box": b.number, "coverage": b.coverage, "density": b.density, "mass": b.mass,
                         "parameter": name, "low": low, "high": high})
    return pd.DataFrame(rows, columns=BOX_COLUMNS)


def tradeoff(search: Search, outcome_text: str, path: Path) -> Path:
    """Coverage against density along every peeling trajectory, coloured by how many parameters are
    restricted; each chosen box a star; the base rate a dashed line."""
    fig, ax = plt.subplots(figsize=(8, 5.5))
    most = max([int(t["res_dim"].max()) for t, _ in search.trajectories] + [1])
    cmap = plt.get_cmap("viridis", most + 1)
    for k, (t, chosen) in enumerate(search.trajectories):
        pruned = t["pruned"].astype(bool).to_numpy()
        peel = t[~pruned]
        found = f"box {k + 1}" if chosen is not None else f"search for box {k + 1}: no significant box"
        ax.plot(peel["coverage"], peel["density"], "-", color="0.6" if chosen is not None else "0.85", lw=0.8,
                zorder=1, label=f"peeling trajectory, {found}")
        points = ax.scatter(peel["coverage"], peel["density"], c=peel["res_dim"], cmap=cmap, vmin=-0.5,
                            vmax=most + 0.5, s=18, zorder=2)
        if pruned.any():
            ax.scatter(t["coverage"][pruned], t["density"][pruned], c=t["res_dim"][pruned], cmap=cmap, vmin=-0.5,
                       vmax=most + 0.5, s=26, marker="D", edgecolor="0.3", zorder=2,
                       label="a restriction without significance dropped" if k == 0 else None)
        if chosen is not None:
            ax.scatter([t["coverage"].iloc[chosen]], [t["density"].iloc[chosen]], marker="*", s=260,
                       color=HIT, edgecolor="black", zorder=3, label="chosen box" if k == 0 else None)
            right = t["coverage"].iloc[chosen] > 0.85                  # label on the left near the edge
            ax.annotate(f"box {k + 1}", (t["coverage"].iloc[chosen], t["density"].iloc[chosen]),
                        xytext=(-12 if right else 8, 6), textcoords="offset points", fontsize=9, weight="bold",
                        ha="right" if right else "left")
    ax.axhline(search.base_rate, color="black", ls="--", lw=0.8, label=f"base rate {search.base_rate:.0%}")
    fig.colorbar(points, ax=ax, ticks=range(most + 1), label="parameters restricted")
    ax.set_xlabel("coverage: share of the cases of interest inside the box")
    ax.set_ylabel("density: share of the box's cases of interest")
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.set_title(f"PRIM peeling trajectories: {outcome_text}")
    plots.legend_outside(ax, below=True, fontsize=8)
    note = ("Each dot is a box on a peeling trajectory (from coverage 1 at the base rate, peeling towards purer, "
            "smaller boxes); stars are the boxes chosen (best harmonic mean of coverage and density, restrictions "
            "without significance dropped). Later boxes are searched among the cases outside the earlier ones.")
    return plots.save(fig, path, note)


def _ranges(cases: Cases) -> dict[str, tuple[float, float]]:
    x = cases.table
    return {p: (float(x[p].min()), float(x[p].max())) for p in cases.parameters
            if pd.api.types.is_numeric_dtype(x[p])}


def box_limits(box: Box, cases: Cases, path: Path) -> Path:
    """Box k: each restricted parameter's box range within its sampled range (quasi-p-value beside it),
    and its cases: the two first restricted parameters against each other, or the one against the outcome."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 0.3 * len(box.limits) + 4.5))
    ranges, names = _ranges(cases), list(box.limits)
    for row, name in enumerate(reversed(names)):
        low, high = box.limits[name]
        label = cases.config_keys.get(name, name)
        if high is None:
            text = f"{label}: one of {sorted(map(str, low))}"
        else:
            lo, hi = ranges[name]
            span = (hi - lo) or 1.0
            left.barh(row, 1, color="0.88", height=0.35)
            left.barh(row, (high - low) / span, left=(low - lo) / span, color=HIT, height=0.35)
            text = f"{label}: {low:.3g} to {high:.3g} (sampled {lo:.3g} to {hi:.3g}), qp {box.qp.get(name, np.nan):.2g}"
        left.text(0, row + 0.22, text, ha="left", va="bottom", fontsize=8)
    left.set_xlim(0, 1)
    left.set_ylim(-0.5, len(names) - 0.2)
    left.axis("off")
    left.set_title(f"box {box.number}: coverage {box.coverage:.0%}, density {box.density:.0%}, "
                   f"mass {box.mass:.0%}", fontsize=10)
    _cases_panel(right, box, cases)
    note = ("Left: each restricted parameter's range in the box (orange) within the range the study sampled (grey), "
            "with its quasi-p-value (Bryant and Lempert 2010: the chance the box's density arises without that "
            "restriction). Right: the cases, those where the outcome holds in orange.")
    return plots.save(fig, path, note)


def _cases_panel(ax, box: Box, cases: Cases) -> None:
    x, hit = cases.table, cases.table["of_interest"].to_numpy(bool)
    numeric = [n for n, (_, high) in box.limits.items() if high is not None]
    first = numeric[0] if numeric else None
    second = numeric[1] if len(numeric) > 1 else None
    if first is None:
        ax.axis("off")
        return
    ys = x[second] if second else x[cases.outcome.column]
    inside = _inside(x, {n: lim for n, lim in box.limits.items() if n not in (first, second)})
    for mask, color, label in ((~hit, MISS, "outcome does not hold"), (hit, HIT, "outcome holds")):
        ax.scatter(x[first][mask & inside], ys[mask & inside], s=14, color=color, label=label)
        ax.scatter(x[first][mask & ~inside], ys[mask & ~inside], s=10, color=color, alpha=0.25)
    if len(box.limits) > (2 if second else 1):
        ax.scatter([], [], s=10, color="0.5", alpha=0.3, label="faint: outside the box on its other parameters")
    low, high = box.limits[first]
    if second:
        low2, high2 = box.limits[second]
        ax.add_patch(plt.Rectangle((low, low2), high - low, high2 - low2, fill=False, lw=1.5, ec="black"))
        ax.set_ylabel(cases.config_keys.get(second, second), fontsize=8)
    else:
        ax.axvspan(low, high, color="0.9", zorder=0, label="box")
        ax.axhline(cases.outcome.value, color="black", ls="--", lw=0.8, label=cases.outcome.text)
        ax.set_ylabel(f"{cases.outcome.column} at {cases.outcome.at}", fontsize=8)
    ax.set_xlabel(cases.config_keys.get(first, first), fontsize=8)
    ax.grid(alpha=0.3)
    plots.legend_outside(ax, below=True, fontsize=8)


def _inside(x: pd.DataFrame, limits: dict[str, tuple]) -> np.ndarray:
    """Whether each case lies within `limits` (numeric ranges, or sets of categories)."""
    inside = np.ones(len(x), dtype=bool)
    for name, (low, high) in limits.items():
        column = x[name]
        inside &= column.astype(str).isin(set(map(str, low))).to_numpy() if high is None else \
            column.between(low, high).to_numpy()
    return inside


def _restriction(name: str, limits: tuple, cases: Cases) -> str:
    low, high = limits
    key = cases.config_keys.get(name, name)
    if high is None:
        return f"`{key}` one of {sorted(map(str, low))}"
    lo, hi = _ranges(cases)[name]
    if np.isclose(low, lo):
        return f"`{key}` at most {high:.3g} (sampled {lo:.3g} to {hi:.3g})"
    if np.isclose(high, hi):
        return f"`{key}` at least {low:.3g} (sampled {lo:.3g} to {hi:.3g})"
    return f"`{key}` between {low:.3g} and {high:.3g} (sampled {lo:.3g} to {hi:.3g})"


def report(folder: Path, cases: Cases, search: Search, files: list[str]) -> str:
    """report.md: the question, the data, each box in words, how to read them, what they cannot tell."""
    t, o = cases.table, cases.outcome
    hits = int(t["of_interest"].sum())
    left = ", ".join(f"{n} {why}" for why, n in cases.left_out.items() if n) or "none"
    lines = [f"# When does {o.describe()} hold?", "",
             f"Study: `{folder}`; {len(t)} cases (one per complete run: point x replicate; left out: {left}).",
             f"The outcome holds in {hits} of them (base rate {hits / len(t):.1%}).", "",
             "Parameters searched: " + ", ".join(f"`{cases.config_keys[p]}`" for p in cases.parameters) + ".", ""]
    if not search.boxes:
        lines += ["**No box found**: no range of the parameters holds the cases of interest significantly more "
                  "often than the study as a whole (every restriction PRIM tried had a quasi-p-value above "
                  f"{search.settings['alpha']}). The outcome looks unrelated to these parameters at this sample "
                  "size, or depends on them in a way no box describes.", ""]
    for b in search.boxes:
        lines += [f"## Box {b.number}: coverage {b.coverage:.0%}, density {b.density:.0%}, mass {b.mass:.0%}", "",
                  f"{b.hits} of the {b.cases} cases in this box meet the outcome, against {search.base_rate:.0%} "
                  f"overall; it holds {b.coverage:.0%} of all cases of interest. The box is:", ""]
        lines += [f"- {_restriction(n, lim, cases)}; quasi-p-value {b.qp.get(n, np.nan):.2g}"
                  for n, lim in b.limits.items()]
        lines += ["", f"![box {b.number}](box_{b.number}.png)", ""]
    lines += _reading(search) + ["Files: " + ", ".join(f"`{f}`" for f in files) + "."]
    return "\n".join(lines) + "\n"


def _reading(search: Search) -> list[str]:
    s = search.settings
    return ["## How to read it", "",
            "![trade-off](tradeoff.png)", "",
            "PRIM (patient rule induction, Friedman and Fisher 1999; the EMA Workbench's implementation) peels "
            f"{s['peel_alpha']:.0%} of the cases at a time off one parameter's range, keeping the purest box, down "
            f"to {s['mass_min']:.0%} of the cases. *Coverage* is the share of all cases of interest inside a box, "
            "*density* the share of a box's cases that are of interest, *mass* the share of all cases in it. "
            "Each box was chosen by a fixed rule: the best harmonic mean of coverage and density on its "
            f"trajectory, then restrictions with a quasi-p-value above {s['alpha']} dropped; the next box is "
            f"searched among the cases left outside (at most {s['max_boxes']} boxes).", "",
            "What it cannot tell: a box describes where, in the ranges this study sampled, the model gives the "
            "outcome; not why, not outside those ranges, and not for parameters the study held fixed. The model's "
            "assumptions (docs/model.md) hold inside every case. With few cases a box's limits are uncertain: "
            "rerun the design with more samples and see whether the box stays.", ""]
