"""Scenario versus baseline, as a board reads it: paired effects with intervals, figures, report files.

`lab.comparison` runs the scenarios and hands this module two tables, one row per
scenario, replicate and month (`ts`) and per institution as well (`inst`). Replicates
are paired: replicate r of every scenario draws the same random numbers, so the effect
of a scenario is the mean over r of (scenario_r − baseline_r), with a 95 % t interval; the
tables, the report and the terminal lines say what it covers (`interval_covers`: seeds, or
seeds and a posterior's parameter draws).

The report's sections are driven by lists of column names (`SECTIONS`,
`INSTITUTION_MEASURES`); a column the tables do not have is skipped, so measures the
model adds later (active users, secondary accounts) appear once they are recorded.
The "who gains, who loses" section also shows what each institution did: its levers
and profit over time, scenario against baseline (`LEVER_ROWS`, one figure a scenario), and
its levers in the last month with its strategy kind (`LEVER_COLUMNS`, institution_levers.csv).
`write` makes report.md (figures beside it) and report.html (figures embedded, so the
one file can be mailed), plus the effect tables as CSV.
"""
from __future__ import annotations

import base64
import dataclasses
import html
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from scipy import stats  # noqa: E402

from lab import briefing, hover, posterior  # noqa: E402
from lab.headline import HEADLINE, Figure, last_full_year, value, when  # noqa: E402
from sim.writers import plots  # noqa: E402
from sim.writers.files import atomic_write  # noqa: E402

# (section title, market columns); absent columns are skipped
SECTIONS = (
    ("Channel use", ("share_branch", "share_pc", "share_mobile", "share_platform")),
    ("Against the seed's targets", ("off_counter_rate", "mobile_value_share")),
    ("Active users and accounts", ("users_mobile_m", "users_platform_m", "holders_platform_m",
                                   "secondary_accounts_m")),
    ("Balances and churn", ("balance_platform_mmf", "deposits_bank", "churn_rate")),
)
# (column of the institutions table, heading, how it is summarised per run, unit); absent ones skipped
INSTITUTION_MEASURES = (
    ("market_share", "Market share", "end", "pp"),
    ("profit", "Profit, last 12 months", "sum12", "RMB bn"),
    ("balance", "Balances held", "end", "RMB bn"),
    ("secondary_accounts", "Secondary accounts", "end", "million"),
)
SCENARIO_COLOURS = ("#e76f51", "#2a9d8f", "#6b8ebf", "#8c6d31", "#9c6ade", "#d4a017")
INSTITUTION_COLOURS = tuple(matplotlib.colormaps["tab10"].colors)   # one per institution, banks then platforms
# the levers an institution sets each quarter (sim/competition.py) and what they earn, as the "who gains"
# figure draws them, a row each: (banks' title, banks' columns, platforms' title, platforms' columns (summed),
# unit on the y axis, shown in percent)
LEVER_ROWS = (
    ("Deposit rate paid", ("rate_offered",), "Money-fund yield paid", ("rate_offered",), "percent per year", True),
    ("Marketing spend", ("marketing_per_year",), "Marketing and subsidies", ("marketing_per_year", "subsidy_per_year"),
     "RMB bn per year", False),
    ("Profit", ("profit",), "Profit", ("profit",), "RMB bn per month", False),
)
# the end-of-run lever table: (its column, heading, decimals); `premium` is a bank's deposit_rate_premium or a
# platform's fund_yield_spread, both percentage points over the price it is set against
LEVER_COLUMNS = (
    ("rate_offered", "Rate (% a year)", 2),
    ("premium", "Premium or spread (pp)", 2),
    ("spend_multiplier", "Spend (× plan)", 2),
    ("marketing_per_year", "Marketing (RMB bn/yr)", 1),
    ("subsidy_per_year", "Subsidies (RMB bn/yr)", 1),
)
# the "who gains" tables' headings, short enough for a 1,280 px page (the unit follows in brackets)
SHORT_HEADINGS = {"market_share": "Market share", "profit": "Profit, 12 months", "balance": "Balances",
                  "secondary_accounts": "Class II accounts"}
DECIMALS = {"pp": 2, "RMB bn": 1, "million": 1}     # of an institution's effect, by unit; balances below
WHOLE = {"balance"}                                  # measures in the thousands: whole numbers
SCENARIOS_PER_TABLE = 3         # effect columns per headline table: wider tables are split
TITLE_CHARACTERS = 45           # a figure's title wraps beyond this: it fits one of two axes side by side


# ----------------------------------------------------------------------------- statistics

def interval(x: pd.Series) -> tuple[float, float, float]:
    """Mean and its 95 % t interval (NaN bounds with one value)."""
    x = pd.Series(x).dropna()
    n, mean = len(x), float(x.mean()) if len(x) else np.nan
    if n < 2:
        return mean, np.nan, np.nan
    half = float(stats.t.ppf(0.975, n - 1) * x.std(ddof=1) / np.sqrt(n))
    return mean, mean - half, mean + half


def paired(per_run: pd.DataFrame, baseline: str) -> pd.DataFrame:
    """Levels and paired effects from one value per run.

    per_run has columns scenario, replicate, measure, value (and optionally institution);
    returns one row per scenario and measure (and institution) with the level's mean and
    interval and, for scenarios other than the baseline, the effect's.
    """
    keys = [k for k in ("institution", "measure") if k in per_run]
    wide = per_run.pivot_table(index=[*keys, "replicate"], columns="scenario", values="value", aggfunc="first")
    rows = []
    for group, part in wide.groupby(level=keys):
        group = group if isinstance(group, tuple) else (group,)
        for scenario in part.columns:
            level = interval(part[scenario])
            effect = (interval(part[scenario] - part[baseline]) if scenario != baseline
                      else (np.nan, np.nan, np.nan))
            rows.append({**dict(zip(keys, group)), "scenario": scenario, "level": level[0], "level_lo": level[1],
                         "level_hi": level[2], "effect": effect[0], "effect_lo": effect[1], "effect_hi": effect[2],
                         "replicates": int(part[scenario].notna().sum())})
    return pd.DataFrame(rows)


def interval_covers(table: pd.DataFrame) -> str:
    """What the intervals over the table's replicates cover: seeds only, or a posterior's parameter draws
    as well (lab.comparison adds a `posterior` column when replicates run posterior draws)."""
    name = str(table["posterior"].iloc[0]) if "posterior" in table and len(table) else ""
    return posterior.interval_covers(name, int(table["replicate"].nunique()) if "replicate" in table else 0)


def _in_order(df: pd.DataFrame, key: str, keys: list, scenarios: list) -> pd.DataFrame:
    """Rows in the given order of `key` and of scenarios (pivoting sorts them by name)."""
    rank = {k: i for i, k in enumerate(keys)}
    order = {s: i for i, s in enumerate(scenarios)}
    return df.sort_values([key, "scenario"], key=lambda c: c.map(rank if c.name == key else order),
                          kind="stable").reset_index(drop=True)


def headline_effects(ts: pd.DataFrame, baseline: str) -> pd.DataFrame:
    """The headline figures (lab.headline) per run, paired against the baseline."""
    rows = [{"scenario": s, "replicate": r, "measure": f.column, "value": value(run, f)}
            for (s, r), run in ts.groupby(["scenario", "replicate"], sort=False)
            for f in HEADLINE if f.column in run]
    out = _in_order(paired(pd.DataFrame(rows), baseline), "measure", [f.column for f in HEADLINE],
                    list(dict.fromkeys(ts["scenario"])))
    first = ts[ts["scenario"] == baseline]
    first = first[first["replicate"] == first["replicate"].min()]
    figures = {f.column: f for f in HEADLINE}
    out["figure"] = out["measure"].map(lambda c: figures[c].label)
    out["when"] = out["measure"].map(lambda c: when(first, figures[c]))
    out["interval_covers"] = interval_covers(ts)
    return out


def market_share(inst: pd.DataFrame) -> pd.Series:
    """One comparable share per institution: banks' share of primary customers, platforms' of active users."""
    if "customer_share" in inst and "user_share" in inst:
        return inst["customer_share"].fillna(inst["user_share"])
    return inst["share"]


def institution_effects(inst: pd.DataFrame, baseline: str) -> pd.DataFrame:
    """Share, profit, balances (and whatever else INSTITUTION_MEASURES lists) per institution, paired."""
    inst = inst.assign(market_share=market_share(inst))
    rows = []
    for (s, r, name), g in inst.groupby(["scenario", "replicate", "institution"], sort=False):
        for column, _, how, _ in INSTITUTION_MEASURES:
            if column in g:
                v = g[column].tail(12).sum() if how == "sum12" else g[column].iloc[-1]
                rows.append({"scenario": s, "replicate": r, "institution": name, "measure": column, "value": v})
    per_run = pd.DataFrame(rows)
    absent = sorted(set(per_run["institution"]) - set(per_run.loc[per_run["scenario"] == baseline, "institution"]))
    out = _in_order(paired(with_absent_at_zero(per_run, baseline, absent), baseline), "institution",
                    list(dict.fromkeys(inst["institution"])), list(dict.fromkeys(inst["scenario"])))
    labels = inst.drop_duplicates("institution").set_index("institution")
    out["label"] = out["institution"].map(labels["label"])
    out["kind"] = out["institution"].map(labels["kind"])
    out["interval_covers"] = interval_covers(inst)
    out["in_baseline"] = ~out["institution"].isin(absent)
    return out


def with_absent_at_zero(per_run: pd.DataFrame, baseline: str, absent: list[str]) -> pd.DataFrame:
    """An institution a scenario adds (the direct bank) does not exist in the baseline: there it has no
    customers, profit, balances or accounts, so its baseline values are 0 and its effect is its level.
    Every measure in INSTITUTION_MEASURES counts something, so zero is what its absence means."""
    if not absent:
        return per_run
    replicates = per_run.loc[per_run["scenario"] == baseline, "replicate"].unique()
    zeros = [{"scenario": baseline, "replicate": r, "institution": name, "measure": measure, "value": 0.0}
             for name in absent for measure in per_run.loc[per_run["institution"] == name, "measure"].unique()
             for r in replicates]
    return pd.concat([per_run, pd.DataFrame(zeros)], ignore_index=True)


def by_month(ts: pd.DataFrame, column: str, baseline: str) -> pd.DataFrame:
    """Per scenario and month: the level's mean and 95 % band, and the paired effect's."""
    wide = ts.pivot_table(index=["date", "replicate"], columns="scenario", values=column, aggfunc="first")
    out = []
    for scenario in wide.columns:
        for kind, x in (("level", wide[scenario]), ("effect", wide[scenario] - wide[baseline])):
            if kind == "effect" and scenario == baseline:
                continue
            g = x.groupby(level="date")
            mean, sd, n = g.mean(), g.std(ddof=1), g.count()
            half = stats.t.ppf(0.975, np.maximum(n - 1, 1)) * sd / np.sqrt(n)
            out.append(pd.DataFrame({"scenario": scenario, "kind": kind, "mean": mean, "lo": mean - half,
                                     "hi": mean + half}).reset_index())
    return pd.concat(out, ignore_index=True)


# ----------------------------------------------------------------------------- figures

def scenario_events(ts: pd.DataFrame, baseline: str,
                    names: dict[str, str] | None = None) -> list[tuple[pd.Timestamp, str]]:
    """Policy changes of every scenario, one mark per month: the baseline's as they are, a scenario's own
    changes prefixed with its name (its display name from `names`, if given)."""
    first = ts[ts["replicate"] == ts["replicate"].min()]
    history = set(plots.policy_events(first[first["scenario"] == baseline]))
    by_month: dict[pd.Timestamp, list[str]] = {}
    for d, what in sorted(history):
        by_month.setdefault(d, []).append(what)
    for scenario in dict.fromkeys(first["scenario"]):
        for d, what in plots.policy_events(first[first["scenario"] == scenario]):
            if (d, what) not in history:
                by_month.setdefault(d, []).append(f"{(names or {}).get(scenario, scenario)}: {what}")
    return sorted((d, "; ".join(v)) for d, v in by_month.items())


def _colours(scenarios: list[str], baseline: str) -> dict[str, str]:
    others = [s for s in scenarios if s != baseline]
    return {baseline: "black", **{s: SCENARIO_COLOURS[i % len(SCENARIO_COLOURS)] for i, s in enumerate(others)}}


def draw_series(left, right, ts: pd.DataFrame, column: str, baseline: str, events=(),
                targets: pd.DataFrame | None = None, legend: bool = True, names: dict[str, str] | None = None) -> None:
    """On two axes: each scenario's level of a column (left) and scenario − baseline (right), 95 % bands
    (bands need two or more replicates); scenarios named by `names` (display names), else as stored."""
    names = names or {}
    label, unit = plots.describe(column)
    share = plots.is_share(column)
    scale = 100 if share else 1
    data = by_month(ts, column, baseline)
    data["date"] = plots.dates(data)
    colours = _colours(list(dict.fromkeys(ts["scenario"])), baseline)
    for scenario, colour in colours.items():
        for ax, kind in ((left, "level"), (right, "effect")):
            part = data[(data["scenario"] == scenario) & (data["kind"] == kind)]
            if part.empty:
                continue
            k = 1 if kind == "level" else scale
            name, base = names.get(scenario, scenario), names.get(baseline, baseline)
            ax.plot(part["date"], k * part["mean"], color=colour, lw=1.6,
                    label=name if kind == "level" else f"{name} − {base}")
            ax.fill_between(part["date"], k * part["lo"], k * part["hi"], color=colour, alpha=0.18, lw=0)
    if targets is not None and len(targets):
        left.scatter([pd.Timestamp(year=int(y), month=7, day=1) for y in targets["year"]], targets["value"] / 100,
                     marker="D", s=45, color="white", edgecolor="black", zorder=5, label="Target (yearly)")
    left.set_title("\n".join(textwrap.wrap(label, TITLE_CHARACTERS)))      # a long title wider than its axes
    right.set_title("Scenario − baseline, paired by replicate")             # would be cut off at the edge
    right.axhline(0, color="black", lw=0.8)
    if share:
        plots.percent_axis(left)
        right.set_ylabel("percentage points")
    else:
        left.set_ylabel(unit)
        right.set_ylabel(unit)
    for ax in (left, right):
        plots.year_axis(ax)
        plots.mark_events(ax, events)
        if legend:
            plots.legend_outside(ax)


def series_figure(ts: pd.DataFrame, column: str, baseline: str, events, targets: pd.DataFrame | None,
                  path: Path, note: str, names: dict[str, str] | None = None) -> Path:
    """A column over time, level and scenario − baseline, as a figure file."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4.2), sharex=True)
    draw_series(left, right, ts, column, baseline, events, targets, names=names)
    return plots.save(fig, path, note)


def institution_figure(effects: pd.DataFrame, inst: pd.DataFrame, measure: str, heading: str, unit: str,
                       baseline: str, events, path: Path, note: str, names: dict[str, str] | None = None) -> Path:
    """One institution measure: the baseline's level by institution over time, and each scenario's effect
    (with its 95 % interval where there are two or more replicates)."""
    shown = names or {}
    inst = inst.assign(market_share=market_share(inst))
    base = inst[inst["scenario"] == baseline].groupby(["institution", "date"], sort=False)[measure].mean()
    labels = inst.drop_duplicates("institution").set_index("institution")["label"]
    names = list(dict.fromkeys(inst["institution"]))
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4.4), gridspec_kw={"width_ratios": [3, 2]})
    scale = 100 if measure == "market_share" else 1
    for name in names:
        if name not in base.index.get_level_values("institution"):
            continue                        # not in the baseline (a scenario adds it): no level to draw
        part = base.loc[name]
        left.plot(plots.dates(part.reset_index()), part.values, label=labels[name],
                  ls="-" if inst.loc[inst["institution"] == name, "kind"].iloc[0] == "bank" else "--")
    left.set_title(f"{heading}: {shown.get(baseline, baseline)}")
    if measure == "market_share":
        plots.percent_axis(left)
    else:
        left.set_ylabel(unit)
    plots.year_axis(left)
    plots.mark_events(left, events)
    plots.legend_outside(left, fontsize=8)
    eff = effects[(effects["measure"] == measure) & (effects["scenario"] != baseline)]
    scenarios = list(dict.fromkeys(eff["scenario"]))
    colours = _colours([baseline, *scenarios], baseline)
    height = 0.8 / max(len(scenarios), 1)
    for i, scenario in enumerate(scenarios):
        part = eff[eff["scenario"] == scenario].set_index("institution").reindex(names)
        y = np.arange(len(names)) + (i - (len(scenarios) - 1) / 2) * height
        err = np.vstack([part["effect"] - part["effect_lo"], part["effect_hi"] - part["effect"]]) * scale
        right.barh(y, scale * part["effect"], height=height, color=colours[scenario],
                   xerr=None if np.isnan(err).all() else np.nan_to_num(err), capsize=2,
                   label=f"{shown.get(scenario, scenario)} − {shown.get(baseline, baseline)}")
    right.set_yticks(np.arange(len(names)), [labels[n] for n in names])
    right.invert_yaxis()
    right.axvline(0, color="black", lw=0.8)
    right.set_xlabel("percentage points" if measure == "market_share" else unit)
    right.set_title("Effect at the end, 95 % interval" if eff["effect_lo"].notna().any()
                    else "Effect at the end (one replicate: no interval)")
    right.grid(alpha=0.3, axis="x")
    plots.legend_outside(right, fontsize=8)
    return plots.save(fig, path, note)


def _median_by_month(inst: pd.DataFrame, columns: list[str]) -> pd.Series:
    """The columns' sum per row (empty where all are), then its median over replicates per scenario,
    institution and month."""
    v = inst[columns].sum(axis=1, min_count=1)
    return v.groupby([inst["scenario"], inst["institution"], inst["date"]]).median()


def has_levers(inst: pd.DataFrame) -> bool:
    """Whether the table records the institutions' levers (tables from before competition do not)."""
    return "rate_offered" in inst and "spend_multiplier" in inst


def lever_figure(inst: pd.DataFrame, scenario: str, baseline: str, events, path: Path, note: str,
                 names: dict[str, str] | None = None) -> Path:
    """Each institution's levers and profit over time, banks left and platforms right: the scenario solid,
    the baseline dashed in the same colour, the median over replicates. Rows whose columns the table lacks
    are left out."""
    rows = [r for r in LEVER_ROWS if all(c in inst for c in (*r[1], *r[3]))]
    fig, axes = plt.subplots(len(rows), 2, figsize=(13, 3.1 * len(rows) + 1.2), sharex=True, squeeze=False)
    runs = [scenario] if scenario == baseline else [scenario, baseline]
    shown = {s: (names or {}).get(s, s) for s in runs}
    names = list(dict.fromkeys(inst["institution"]))
    labels = inst.drop_duplicates("institution").set_index("institution")
    names = sorted(names, key=lambda n: labels.loc[n, "kind"] != "bank")
    colours = {n: INSTITUTION_COLOURS[i % len(INSTITUTION_COLOURS)] for i, n in enumerate(names)}
    for j, kind in enumerate(("bank", "platform")):
        part = inst[inst["kind"] == kind]
        own = [n for n in names if n in set(part["institution"])]
        for i, (bank_title, bank_cols, platform_title, platform_cols, unit, percent) in enumerate(rows):
            ax = axes[i, j]
            medians = _median_by_month(part, list(bank_cols if kind == "bank" else platform_cols))
            for run in runs:
                for name in own:
                    if (run, name) not in medians.index.droplevel("date"):
                        continue
                    line = medians.loc[(run, name)]
                    ax.plot(plots.dates(line.reset_index()), line.to_numpy(), color=colours[name],
                            ls="-" if run == scenario else "--", lw=1.8 if run == scenario else 1.1,
                            alpha=1 if run == scenario else 0.75)
            ax.set_title(f"{'Banks' if kind == 'bank' else 'Platforms'}: "
                         f"{bank_title if kind == 'bank' else platform_title}")
            if percent:
                plots.percent_axis(ax, 100)
                ax.set_ylabel("% per year")
            else:
                ax.set_ylabel(unit)
            if bank_title == "Profit":
                ax.axhline(0, color="black", lw=0.8)
            plots.year_axis(ax)
            plots.mark_events(ax, events)
        handles = [Line2D([], [], color=colours[n], lw=1.8, label=labels.loc[n, "label"]) for n in own]
        handles += [Line2D([], [], color="black", lw=1.8, label=f"{shown[scenario]} (solid)")]
        if scenario != baseline:
            handles += [Line2D([], [], color="black", lw=1.1, ls="--", label=f"{shown[baseline]} (dashed)")]
        axes[-1, j].legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, frameon=False,
                           fontsize=8)
    fig.suptitle(f"Levers and profit by institution: {shown[scenario]}"
                 + (f" against {shown[baseline]}" if scenario != baseline else "") + " (median over replicates)")
    return plots.save(fig, path, note)


# ----------------------------------------------------------------------------- tables

def _ci(effect: float, lo: float, hi: float, scale: float, digits: int, suffix: str = "") -> str:
    """'+1.17 [+0.50, +1.84]' (the unit, if any, after the effect), or the effect alone without an interval."""
    if np.isnan(effect):
        return ""
    sign = briefing.signed
    bounds = "" if np.isnan(lo) or np.isnan(hi) else f" [{sign(scale * lo, digits)}, {sign(scale * hi, digits)}]"
    return f"{sign(scale * effect, digits)}{suffix}{bounds}"


def _scaled(f: Figure) -> tuple[float, int, str, str]:
    """How a headline figure is tabled: (scale, decimals, level unit, effect unit)."""
    return (100, 2, "%", "pp") if f.percent else (1, 1, f.unit, f.unit)


def _chunks(items: list, size: int) -> list[list]:
    return [items[i:i + size] for i in range(0, len(items), size)] or [[]]


def headline_tables(effects: pd.DataFrame, baseline: str, names: dict[str, str] | None = None,
                    per_table: int = SCENARIOS_PER_TABLE) -> list[pd.DataFrame]:
    """The effects of each scenario on each headline figure, scenario − baseline with its 95 % interval
    where there is one: a row a figure (its unit and when it is measured beside it), a column a scenario,
    at most `per_table` scenarios a table so that each fits a page."""
    names = names or {}
    figures = {f.column: f for f in HEADLINE}
    others = [s for s in dict.fromkeys(effects["scenario"]) if s != baseline]
    tables = []
    for chunk in _chunks(others, per_table):
        rows = []
        for measure, part in effects.groupby("measure", sort=False):
            f = figures[measure]
            scale, digits, _, unit = _scaled(f)
            row = {"Figure": f.label, "When": part["when"].iloc[0], "Unit": unit}
            by = part.set_index("scenario")
            for s in chunk:
                r = by.loc[s]
                row[names.get(s, s)] = _ci(r.effect, r.effect_lo, r.effect_hi, scale, digits)
            rows.append(row)
        tables.append(pd.DataFrame(rows))
    return tables


def level_tables(effects: pd.DataFrame, baseline: str, names: dict[str, str] | None = None,
                 per_table: int = SCENARIOS_PER_TABLE + 1) -> list[pd.DataFrame]:
    """Each scenario's level of each headline figure (the mean over replicates), the baseline first."""
    names = names or {}
    figures = {f.column: f for f in HEADLINE}
    scenarios = [baseline, *[s for s in dict.fromkeys(effects["scenario"]) if s != baseline]]
    tables = []
    for chunk in _chunks(scenarios, per_table):
        rows = []
        for measure, part in effects.groupby("measure", sort=False):
            f = figures[measure]
            scale, digits, unit, _ = _scaled(f)
            by = part.set_index("scenario")["level"]
            rows.append({"Figure": f.label, "When": part["when"].iloc[0], "Unit": unit,
                         **{names.get(s, s): f"{scale * by[s]:,.{digits}f}" for s in chunk if s in by}})
        tables.append(pd.DataFrame(rows))
    return tables


def headline_numbers(effects: pd.DataFrame) -> pd.DataFrame:
    """The headline figures as numbers for a CSV: a row per figure, scenario and quantity (its level, or its
    effect against the baseline), with value, low and high (empty where there is no interval) in `unit`
    (percent figures in % and their effects in pp)."""
    figures = {f.column: f for f in HEADLINE}
    rows = []
    for r in effects.itertuples():
        f = figures[r.measure]
        scale, _, level_unit, effect_unit = _scaled(f)
        rows.append({"figure": f.label, "when": r.when, "scenario": r.scenario, "quantity": "level",
                     "value": scale * r.level, "low": scale * r.level_lo, "high": scale * r.level_hi,
                     "unit": level_unit, "replicates": r.replicates})
        if not np.isnan(r.effect):
            rows.append({"figure": f.label, "when": r.when, "scenario": r.scenario, "quantity": "effect",
                         "value": scale * r.effect, "low": scale * r.effect_lo, "high": scale * r.effect_hi,
                         "unit": effect_unit, "replicates": r.replicates})
    return pd.DataFrame(rows).astype({"value": float, "low": float, "high": float})


def who_gains(effects: pd.DataFrame, baseline: str, names: dict[str, str] | None = None) -> dict[str, pd.DataFrame]:
    """Per scenario, a table of its institutions from the largest gain in market share to the largest loss:
    the effects on share, profit, balances (and what else INSTITUTION_MEASURES lists) with their intervals,
    and, where there are intervals, whether the institution clearly gains or loses customers."""
    names = names or {}
    tables = {}
    others = effects[effects["scenario"] != baseline]
    for scenario, part in others.groupby("scenario", sort=False):
        rows = []
        for _, inst in part.groupby("institution", sort=False):
            m = inst.set_index("measure")
            label = inst["label"].iloc[0]
            if "in_baseline" in inst and not inst["in_baseline"].iloc[0]:
                label += " (not in the baseline: from zero)"
            row = {"Institution": label, "_share": m.loc["market_share", "effect"]}
            for column, _, _, unit in INSTITUTION_MEASURES:
                if column in m.index:
                    r = m.loc[column]
                    scale = 100 if unit == "pp" else 1
                    digits = 0 if column in WHOLE else DECIMALS.get(unit, 1)
                    row[f"{SHORT_HEADINGS.get(column, column)} ({unit})"] = _ci(r.effect, r.effect_lo, r.effect_hi,
                                                                              scale, digits)
            share = m.loc["market_share"]
            if not np.isnan(share.effect_lo):
                row["Customers"] = ("gains" if share.effect_lo > 0 else "loses" if share.effect_hi < 0
                                    else "no clear change")
            rows.append(row)
        table = pd.DataFrame(rows).sort_values("_share", ascending=False, kind="stable")
        tables[scenario] = table.drop(columns="_share").fillna("").reset_index(drop=True)  # platforms: no Class II
    return tables


def levers_at_end(inst: pd.DataFrame, baseline: str, strategies: dict | None = None) -> pd.DataFrame:
    """Each institution's levers in the last month, per scenario (the baseline first): the median over
    replicates of rate offered, premium (banks) or fund spread (platforms), spend multiplier, marketing and
    subsidies; with `strategies` ({scenario: {institution: kind}}) the strategy kind too. Numbers, for the CSV."""
    last = inst.sort_values("date", kind="stable").groupby(["scenario", "replicate", "institution"],
                                                           sort=False).tail(1)
    premium = last["deposit_rate_premium"] if "deposit_rate_premium" in last else pd.Series(np.nan, last.index)
    if "fund_yield_spread" in last:
        premium = premium.fillna(last["fund_yield_spread"])
    last = last.assign(premium=premium)
    columns = [c for c, _, _ in LEVER_COLUMNS if c in last]
    med = last.groupby(["institution", "scenario"], sort=False)[columns].median()
    scenarios = [baseline, *[s for s in dict.fromkeys(inst["scenario"]) if s != baseline]]
    labels = inst.drop_duplicates("institution").set_index("institution")
    rows = []
    for name in dict.fromkeys(inst["institution"]):
        for scenario in scenarios:
            if (name, scenario) not in med.index:
                continue
            row = {"institution": labels.loc[name, "label"], "kind": labels.loc[name, "kind"], "scenario": scenario}
            if strategies:
                row["strategy"] = strategies.get(scenario, {}).get(name, "")
            rows.append({**row, **med.loc[(name, scenario)].to_dict(), "date": f"{last['date'].max():%Y-%m}"})
    return pd.DataFrame(rows)


def lever_table(levers: pd.DataFrame, names: dict[str, str] | None = None) -> pd.DataFrame:
    """levers_at_end as the report shows it: short headings with units, rounded, scenarios by their display
    names, blanks where a lever does not apply."""
    shown = levers.drop(columns=[c for c in ("date", "kind") if c in levers])
    shown["scenario"] = shown["scenario"].map(lambda s: (names or {}).get(s, s))
    for column, _, digits in LEVER_COLUMNS:
        if column in shown:
            shown[column] = shown[column].map(lambda v: "" if pd.isna(v) else f"{v:,.{digits}f}")
    return shown.rename(columns={"institution": "Institution", "scenario": "Scenario", "strategy": "Strategy",
                                 **{c: h for c, h, _ in LEVER_COLUMNS}})


def terminal_summary(effects: pd.DataFrame, baseline: str) -> list[str]:
    """Lines for the terminal: each headline figure's baseline level and each scenario's effect (with its
    interval where there is one), a note where the replicates are too few, and what the intervals cover."""
    figures = {f.column: f for f in HEADLINE}
    lines = []
    for measure, part in effects.groupby("measure", sort=False):
        f = figures[measure]
        scale, digits, suffix = (100, 2, " pp") if f.percent else (1, 1, f" {f.unit}")
        base = part[part["scenario"] == baseline].iloc[0]
        level = f"{scale * base.level:.2f} %" if f.percent else f"{base.level:,.1f} {f.unit}"
        effects_text = "; ".join(f"{r.scenario} {_ci(r.effect, r.effect_lo, r.effect_hi, scale, digits, suffix)}"
                                 for r in part.itertuples() if r.scenario != baseline)
        lines.append(f"{f.label} ({part['when'].iloc[0]}): {baseline} {level}" + (f"; {effects_text}"
                                                                                    if effects_text else ""))
    replicates = int(effects["replicates"].min()) if len(effects) else 0
    if briefing.replicates_note(replicates):
        lines.append(briefing.replicates_note(replicates))
    if "interval_covers" in effects and len(effects):
        lines.append(f"interval_covers: {effects['interval_covers'].iloc[0]} (95 % t intervals over replicates)"
                     if briefing.has_intervals(replicates) else "interval_covers: none (one replicate)")
    return lines


# ----------------------------------------------------------------------------- the report

class Report:
    """Blocks of a report (headings, paragraphs, notes, tables, figures), written as Markdown and as HTML."""

    def __init__(self, title: str):
        self.title, self.blocks = title, []

    def heading(self, text: str, level: int = 2) -> None:
        self.blocks.append((f"h{level}", text))

    def text(self, text: str) -> None:
        self.blocks.append(("p", text))

    def note(self, text: str) -> None:
        """A paragraph set apart: what the reader must know before trusting the numbers."""
        self.blocks.append(("note", text))

    def table(self, df: pd.DataFrame) -> None:
        self.blocks.append(("table", df))

    def figure(self, path: Path, caption: str, chart: str = "") -> None:
        """A figure: its PNG in report.md, and in report.html the hoverable `chart` (lab.hover) if given,
        else the PNG embedded."""
        self.blocks.append(("chart", (Path(path), caption, chart)) if chart else ("img", (Path(path), caption)))

    def markdown(self) -> str:
        render = {"h2": lambda x: f"## {x}", "h3": lambda x: f"### {x}", "p": str, "note": lambda x: f"> **Note.** {x}",
                  "table": lambda df: df.to_markdown(index=False, disable_numparse=True),   # numbers as written
                  "img": lambda x: f"![{x[1]}]({x[0].name})", "chart": lambda x: f"![{x[1]}]({x[0].name})"}
        return "\n\n".join([f"# {self.title}", *(render[kind](x) for kind, x in self.blocks)]) + "\n"

    def html(self) -> str:
        """One self-contained page, nothing fetched: figures embedded as base64 PNG, hover charts drawn by the
        plotly.js the page carries once in its head (only if it has any)."""
        render = {"chart": lambda x: f"<figure>{x[2]}<figcaption>{html.escape(x[1])}</figcaption></figure>",
                  "h2": lambda x: f"<h2>{html.escape(x)}</h2>", "h3": lambda x: f"<h3>{html.escape(x)}</h3>",
                  "p": lambda x: f"<p>{html.escape(x)}</p>",
                  "note": lambda x: f'<p class="note"><b>Note.</b> {html.escape(x)}</p>',
                  "table": lambda df: df.to_html(index=False, border=0, na_rep=""),
                  "img": lambda x: (f'<figure><img alt="{html.escape(x[1])}" src="data:image/png;base64,'
                                    f'{base64.b64encode(x[0].read_bytes()).decode()}">'
                                    f"<figcaption>{html.escape(x[1])}</figcaption></figure>")}
        body = [f"<h1>{html.escape(self.title)}</h1>", *(render[kind](x) for kind, x in self.blocks)]
        style = ("body{font-family:sans-serif;max-width:1240px;margin:2em auto;padding:0 1em;color:#222}"
                 "h1{font-size:26px}table{border-collapse:collapse;margin:1em 0;font-size:14px;max-width:100%}"
                 "th,td{padding:4px 10px;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}"
                 "td{white-space:normal}.note{background:#fff4e0;border-left:4px solid #e9a23b;padding:8px 12px}"
                 "img{max-width:100%}figcaption{color:#555;font-size:13px}")
        scripts = (f'<script type="text/javascript">{hover.script()}</script>'
                   if any(kind == "chart" for kind, _ in self.blocks) else "")
        return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(self.title)}</title>"
                f"<style>{style}</style>{scripts}</head><body>{''.join(body)}</body></html>")


@dataclasses.dataclass
class Compared:
    """What the report's sections read: the stacked tables, their paired effects, and how scenarios are named."""
    ts: pd.DataFrame
    inst: pd.DataFrame
    baseline: str
    scenarios: list[str]
    names: dict[str, str]            # display names ('No U-key')
    questions: dict[str, str]        # each preset's one-line question
    effects: pd.DataFrame
    inst_effects: pd.DataFrame
    events: list
    year: int
    replicates: int
    note: str                        # every figure's bottom line

    @property
    def others(self) -> list[str]:
        return [s for s in self.scenarios if s != self.baseline]


def compared(ts: pd.DataFrame, inst: pd.DataFrame, baseline: str, meta: dict) -> Compared:
    """The paired effects and names the report is written from."""
    scenarios = list(dict.fromkeys(ts["scenario"]))
    names = briefing.display_names(scenarios)
    effects = headline_effects(ts, baseline)
    events = scenario_events(ts, baseline, names)
    replicates = int(ts.groupby("scenario")["replicate"].nunique().min())
    caveat = ("one replicate: no bands" if replicates < 2 else
              f"bands from {replicates} replicates: wide and unreliable" if replicates < briefing.ENOUGH_REPLICATES
              else "")
    note = " · ".join(x for x in (meta["subtitle"], caveat,
                                  "dotted lines: policy changes, numbered as in the report" if events else "") if x)
    year = last_full_year(ts[(ts["scenario"] == baseline) & (ts["replicate"] == ts["replicate"].min())])
    return Compared(ts, inst, baseline, scenarios, names, dict(meta.get("questions", {})), effects,
                    institution_effects(inst, baseline), events, year, replicates, note)


def _opening(report: Report, c: Compared, meta: dict) -> None:
    """The executive summary, the scenarios by their questions, and how to read the effects."""
    size = f"{meta['population']:,} simulated customers in " if meta.get("population") else ""
    context = (f"at {size}{c.replicates} paired replicate{'s' if c.replicates > 1 else ''}; "
               f"headline figures for {c.year}")
    report.heading("Summary")
    report.text(" ".join(briefing.executive_summary(c.effects, c.inst_effects, c.baseline, c.names, context)))
    warning = briefing.replicates_note(c.replicates)
    if warning:
        report.note(warning)
    report.heading("Scenarios compared")
    for s in [c.baseline, *c.others]:
        report.text(f"{c.names[s]}{' (the baseline)' if s == c.baseline and s != 'baseline' else ''}: "
                    f"{c.questions.get(s) or 'no question given'} (preset {s})")
    report.text(meta["subtitle"] + ".")
    report.text("Effects are scenario − baseline, paired by replicate (common random numbers), as the mean over "
                "replicates" + (" with its 95 % t interval in brackets." if briefing.has_intervals(c.replicates)
                                else ".") + " Shares are in percent, their differences in percentage points (pp).")
    covers = interval_covers(c.ts) if briefing.has_intervals(c.replicates) else "none (one replicate)"
    report.text(f"interval_covers: {covers}. " + (
        "Replicate r of every scenario ran the same posterior draw and the same random stream, so the intervals "
        "include parameter uncertainty." if "posterior" in c.ts else
        "Every replicate ran the same parameter values, so any interval leaves parameter uncertainty out."))


def _headline_section(report: Report, c: Compared) -> None:
    """The headline effects, split so that each table fits a page, then the levels they come from."""
    report.heading(f"Headline figures, {c.year}")
    if c.others:
        report.text("Effect of each scenario: scenario − baseline" + (
            ", the mean over paired replicates with its 95 % interval [low, high]."
            if briefing.has_intervals(c.replicates) else
            ", from one replicate: no interval can be drawn."))
        for table in headline_tables(c.effects, c.baseline, c.names):
            report.table(table)
    report.heading("Levels", 3)
    report.text("Each scenario's level of each figure, the mean over replicates.")
    for table in level_tables(c.effects, c.baseline, c.names):
        report.table(table)


def _who_gains_section(report: Report, c: Compared, folder: Path, strategies: dict | None) -> pd.DataFrame | None:
    """Per scenario, its institutions from the largest gain in market share to the largest loss; then what
    each institution did (its levers). Returns the lever table for the CSV, if the tables have levers."""
    report.heading("Who gains, who loses")
    report.text("Market share is a bank's share of primary-bank customers, or a platform's active users as a share "
                "of all customers. Each scenario's institutions are sorted from the largest gain in market share to "
                "the largest loss" + (", and an institution gains or loses customers where the 95 % interval of its "
                                      "effect excludes zero." if briefing.has_intervals(c.replicates) else "."))
    for scenario, table in who_gains(c.inst_effects, c.baseline, c.names).items():
        report.heading(f"{c.names[scenario]}: {c.questions.get(scenario) or 'against the baseline'}", 3)
        report.table(table)
    if not has_levers(c.inst):
        return None
    levers = levers_at_end(c.inst, c.baseline, strategies)
    report.heading("What each institution did", 3)
    report.text("The levers each strategy set (fixed: the plan; adaptive: more spend after lost share; responsive: "
                "that, an answer to rivals' rates within a band, and spend cut after losing quarters), beside what "
                "it earned. The figures draw the median over replicates each month, the scenario solid and the "
                "baseline dashed; the table gives the last month's values. A bank's rate offered is what it pays on "
                "deposits (its deposit rate plus the premium over the PBoC benchmark the ceiling in force allows); a "
                "platform's is its money fund's yield. Premium or spread: a bank's premium over the benchmark, a "
                "platform's fund yield spread over its plan; spend: the multiplier on the planned budget.")
    report.table(lever_table(levers, c.names))
    for scenario in c.others or [c.baseline]:
        path = lever_figure(c.inst, scenario, c.baseline, c.events, folder / f"institution_levers_{scenario}.png",
                            c.note, c.names)
        report.figure(path, f"Levers and profit by institution: {c.names[scenario]}")
    return levers


def _figure_sections(report: Report, c: Compared, targets: pd.DataFrame, folder: Path) -> None:
    """The policy changes marked on the figures, then every column's and institution measure's figure."""
    if c.events:
        report.heading("Policy changes marked on the figures")
        report.table(pd.DataFrame([(i, f"{d:%Y-%m}", part) for i, (d, what) in enumerate(c.events, 1)
                                   for part in what.split("; ")], columns=["Mark", "Month", "Change"]))
    for title, columns in SECTIONS:
        present = [col for col in columns if col in c.ts]
        if not present:
            continue
        report.heading(title)
        for column in present:
            tgt = targets[targets["series"] == column] if column in ("off_counter_rate", "mobile_value_share") else None
            path = series_figure(c.ts, column, c.baseline, c.events, tgt, folder / f"{column}.png", c.note, c.names)
            report.figure(path, plots.describe(column)[0], hover_chart(c, column, tgt))
    report.heading("Institutions")
    for column, heading, _, unit in INSTITUTION_MEASURES:
        if column in c.inst or column == "market_share":
            path = institution_figure(c.inst_effects, c.inst, column, heading, unit, c.baseline, c.events,
                                      folder / f"institutions_{column}.png", c.note, c.names)
            report.figure(path, heading)


def hover_chart(c: Compared, column: str, targets: pd.DataFrame | None) -> str:
    """The column's level and effect as a hoverable chart for report.html ('' without plotly: the PNG)."""
    if not hover.available():
        return ""
    label, unit = plots.describe(column)
    data = by_month(c.ts, column, c.baseline)
    return hover.series_chart(data, label, plots.is_share(column), unit, c.names, _colours(c.scenarios, c.baseline),
                              c.baseline, c.events, targets, chart_id=f"chart_{column}")


def for_csv(effects: pd.DataFrame) -> pd.DataFrame:
    """An effects table as stored: with one replicate, no interval columns (none can be drawn) rather than
    empty ones, and `interval_covers` saying so."""
    if len(effects) and int(effects["replicates"].min()) >= 2:
        return effects
    return (effects.drop(columns=[c for c in effects if c.endswith(("_lo", "_hi"))])
            .assign(interval_covers="none (one replicate)"))


def write(folder: Path, ts: pd.DataFrame, inst: pd.DataFrame, baseline: str, targets: pd.DataFrame,
          meta: dict) -> tuple[Path, list[str]]:
    """Write the report folder (report.md with its figures, report.html with them embedded, the effect tables
    as CSV); returns it and the terminal summary. `meta`: subtitle, and optionally questions, strategies and
    population."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    c = compared(ts, inst, baseline, meta)
    report = Report(briefing.title(c.scenarios, baseline, c.names, c.questions))
    _opening(report, c, meta)
    _headline_section(report, c)
    levers = _who_gains_section(report, c, folder, meta.get("strategies"))
    _figure_sections(report, c, targets, folder)
    for_csv(c.effects).to_csv(folder / "effects.csv", index=False)
    for_csv(c.inst_effects).to_csv(folder / "institution_effects.csv", index=False)
    if levers is not None:
        levers.to_csv(folder / "institution_levers.csv", index=False)
    atomic_write(folder / "report.md", lambda p: p.write_text(report.markdown()))
    atomic_write(folder / "report.html", lambda p: p.write_text(report.html()))
    return folder, terminal_summary(c.effects, baseline)
