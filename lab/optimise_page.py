"""report.html of `experiments.optimise`: the recommended strategies against the status quo.

One self-contained page (lab/report.py's `Report`): what was searched and on which grid; the
recommended candidates (the front's best on each objective, preferring those whose wins hold out of
sample) with their in-sample and out-of-sample values side by side; the Pareto figure and table;
then, for each recommendation, the compare report's own figures and tables against the status quo
in the first scenario, paired by cell: who gains and who loses, and each institution's levers and
profit over time (how the rivals answered); and what the result cannot tell.
"""
from __future__ import annotations

import pandas as pd

from lab import dataset, evaluation
from lab import report as compare_report
from lab.evaluation import STATUS_QUO

LIMITS = ("What this cannot tell: the model's customers, costs and rivals' reaction rules are assumptions "
          "(docs/model.md); the search saw only the scenarios and draws listed above, and the rivals answer by "
          "their rules (sim/competition.py), not by re-optimising. A candidate's edge smaller than its interval "
          "is not an edge. Flagged candidates beat the status quo only on the cells the search tuned them to.")


def _fmt(value: float, low: float, high: float) -> str:
    if pd.isna(value):
        return ""
    bounds = "" if pd.isna(low) else f" [{low:,.4g}, {high:,.4g}]"
    return f"{value:,.4g}{bounds}"


def _lever(value) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "none"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def side_by_side(search, pareto: pd.DataFrame, effects: pd.DataFrame | None = None) -> pd.DataFrame:
    """The front as the page shows it: levers, then each objective in and out of sample, and the flag; with
    `effects` (from `paired`), each objective's paired difference from the status quo, in / out of sample."""
    rows = []
    for _, r in pareto.iterrows():
        row = {"candidate": r["candidate"], **{lv.name: _lever(r[lv.name]) for lv in search.levers}}
        for o in search.objectives:
            row[f"{o.name} (in sample)"] = _fmt(r[o.name], r[f"{o.name}_low"], r[f"{o.name}_high"])
            row[f"{o.name} (out of sample)"] = _fmt(r[f"{o.name}_oos"], r[f"{o.name}_oos_low"],
                                                    r[f"{o.name}_oos_high"])
            if effects is not None and r["candidate"] != STATUS_QUO:
                e = effects.loc[r["candidate"]]
                row[f"{o.name} − status quo, paired (in / out)"] = " / ".join(
                    _fmt(e[f"{o.name}_effect{k}"], e[f"{o.name}_effect_low{k}"], e[f"{o.name}_effect_high{k}"])
                    for k in ("", "_oos"))
        row["flagged"] = "only wins in sample" if r["flagged"] else ""
        rows.append(row)
    return pd.DataFrame(rows)


def _describe(search) -> str:
    u = search.uncertainty
    grid = (f"{len(u.scenarios)} scenario(s) {list(u.scenarios)} x " + (f"{u.draws} draw(s) of posterior "
            f"'{u.posterior}' x " if u.posterior else "") + f"{u.replicates} replicate stream(s)")
    size = next(iter(search.bases.values())).population.size
    levers = ", ".join(f"{lv.name} {list(lv.choices) if lv.choices else [lv.low, lv.high]}" for lv in search.levers)
    return (f"Player {search.player}; levers {levers}. "
            f"Objectives: {'; '.join(f'{o.name} = {o.describe()}' for o in search.objectives)}. Every candidate ran on "
            f"the same grid: {grid}, {size:,} customers; robustness {search.robustness} over those cells. Sampler "
            f"{search.sampler}, batches of {search.batch}, seed {search.seed}. "
            f"{evaluation.require_intervals(u)}.")


def compare_frames(search, evals: pd.DataFrame, names: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The stored timeseries and institutions of the named candidates in the first scenario, as the compare
    report takes them: `scenario` is the candidate, `replicate` the cell (paired across candidates)."""
    first = search.uncertainty.scenarios[0]
    mine = evals[(evals["scenario"] == first) & evals["candidate"].isin(names)]
    mine = mine.assign(cell=mine.groupby(["draw", "stream"]).ngroup())[["candidate", "cell", "config_hash",
                                                                         "replicate"]]
    frames = []
    for table in ("timeseries", "institutions"):
        df = dataset.load(search.folder, table, hashes=set(mine["config_hash"]))
        df = df.drop(columns=["scenario"]).merge(mine, on=["config_hash", "replicate"])
        frames.append(df.drop(columns=["replicate"]).rename(columns={"candidate": "scenario", "cell": "replicate"}))
    return frames[0], frames[1]


def paired(search, evals: pd.DataFrame, oos: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """Each named candidate's paired difference from the status quo, in sample and out of sample (`_oos`)."""
    keep = [STATUS_QUO, *names]
    inside = evaluation.paired_effects(evals[evals["candidate"].isin(keep)], search.objectives, STATUS_QUO)
    outside = evaluation.paired_effects(oos[oos["candidate"].isin(keep)], search.objectives, STATUS_QUO)
    return inside.set_index("candidate").join(outside.set_index("candidate").add_suffix("_oos"))


def report(search, evals: pd.DataFrame, oos: pd.DataFrame, table: pd.DataFrame, pareto: pd.DataFrame,
           chosen: list[str]) -> compare_report.Report:
    """The page: what was searched, the recommendations, the front, their effects on everyone, the limits."""
    page = compare_report.Report(f"What should {search.player} do? optimise '{search.name}'")
    page.text(_describe(search))
    page.heading("Recommended strategies")
    if chosen:
        page.text("For each objective, the Pareto candidate best on it (preferring candidates whose wins over the "
                  "status quo hold on draws and streams the search never saw), beside the status quo. Values are "
                  "robust values with 95 % intervals, in sample and out of sample, and each recommendation's "
                  "difference from the status quo, paired by cell (narrower: the cells' common noise cancels).")
        page.table(side_by_side(search, pareto[pareto["candidate"].isin([STATUS_QUO, *chosen])],
                                paired(search, evals, oos, chosen)))
    else:
        page.text("No candidate beats the status quo on any objective: keep the current strategy.")
    page.heading("The Pareto front")
    page.figure(search.folder / "pareto.png", "Candidates on the objectives, the front joined, the status quo marked")
    page.table(side_by_side(search, pareto))
    if chosen:
        _against_status_quo(page, search, evals, chosen)
    page.heading("What this cannot tell")
    page.text(LIMITS)
    return page


def _against_status_quo(page, search, evals: pd.DataFrame, chosen: list[str]) -> None:
    """The compare report's figures for the recommendations, in the first scenario, paired by cell."""
    ts, inst = compare_frames(search, evals, [STATUS_QUO, *chosen])
    figures = search.folder / "report_figures"
    figures.mkdir(exist_ok=True)
    events = compare_report.scenario_events(ts, STATUS_QUO)
    note = f"{search.uncertainty.scenarios[0]} · candidates against the status quo, paired by replicate"
    effects = compare_report.institution_effects(inst, STATUS_QUO)
    page.heading(f"Who gains, who loses ({search.uncertainty.scenarios[0]}, last month)")
    page.text("Each recommendation against the status quo, paired by cell, with 95 % intervals: the player's "
              "rivals' share and profit show what its move costs them, once they have answered.")
    for name, table in compare_report.who_gains(effects, STATUS_QUO).items():
        page.heading(f"{name} against the status quo", level=3)
        page.table(table)
    path = compare_report.institution_figure(effects, inst, "market_share", "Market share", "pp", STATUS_QUO,
                                             events, figures / "institutions_market_share.png", note)
    page.figure(path, "Market share by institution, and each recommendation's effect")
    if compare_report.has_levers(inst):
        page.heading("How each rival responded")
        page.table(compare_report.lever_table(compare_report.levers_at_end(inst, STATUS_QUO)))
        for name in chosen:
            path = compare_report.lever_figure(inst, name, STATUS_QUO, events, figures / f"levers_{name}.png", note)
            page.figure(path, f"Levers and profit by institution: {name} (solid) against the status quo (dashed)")
