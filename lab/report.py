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
import html
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from scipy import stats  # noqa: E402

from lab import posterior  # noqa: E402
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
    ("rate_offered", "rate offered (% a year)", 2),
    ("premium", "premium over benchmark (banks) / fund spread (platforms), pp", 2),
    ("spend_multiplier", "spend multiplier (× plan)", 2),
    ("marketing_per_year", "marketing (RMB bn a year)", 1),
    ("subsidy_per_year", "subsidies (RMB bn a year)", 1),
)


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
    out = _in_order(paired(pd.DataFrame(rows), baseline), "institution", list(dict.fromkeys(inst["institution"])),
                    list(dict.fromkeys(inst["scenario"])))
    labels = inst.drop_duplicates("institution").set_index("institution")
    out["label"] = out["institution"].map(labels["label"])
    out["kind"] = out["institution"].map(labels["kind"])
    out["interval_covers"] = interval_covers(inst)
    return out


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

def scenario_events(ts: pd.DataFrame, baseline: str) -> list[tuple[pd.Timestamp, str]]:
    """Policy changes of every scenario, one mark per month: the baseline's as they are, a scenario's own
    changes prefixed with its name."""
    first = ts[ts["replicate"] == ts["replicate"].min()]
    history = set(plots.policy_events(first[first["scenario"] == baseline]))
    by_month: dict[pd.Timestamp, list[str]] = {}
    for d, what in sorted(history):
        by_month.setdefault(d, []).append(what)
    for scenario in dict.fromkeys(first["scenario"]):
        for d, what in plots.policy_events(first[first["scenario"] == scenario]):
            if (d, what) not in history:
                by_month.setdefault(d, []).append(f"{scenario}: {what}")
    return sorted((d, "; ".join(v)) for d, v in by_month.items())


def _colours(scenarios: list[str], baseline: str) -> dict[str, str]:
    others = [s for s in scenarios if s != baseline]
    return {baseline: "black", **{s: SCENARIO_COLOURS[i % len(SCENARIO_COLOURS)] for i, s in enumerate(others)}}


def draw_series(left, right, ts: pd.DataFrame, column: str, baseline: str, events=(),
                targets: pd.DataFrame | None = None, legend: bool = True) -> None:
    """On two axes: each scenario's level of a column (left) and scenario − baseline (right), 95 % bands
    (bands need two or more replicates)."""
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
            ax.plot(part["date"], k * part["mean"], color=colour, lw=1.6,
                    label=scenario if kind == "level" else f"{scenario} − {baseline}")
            ax.fill_between(part["date"], k * part["lo"], k * part["hi"], color=colour, alpha=0.18, lw=0)
    if targets is not None and len(targets):
        left.scatter([pd.Timestamp(year=int(y), month=7, day=1) for y in targets["year"]], targets["value"] / 100,
                     marker="D", s=45, color="white", edgecolor="black", zorder=5, label="Target (yearly)")
    left.set_title(label)
    right.set_title("Scenario − baseline, paired by replicate")
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
                  path: Path, note: str) -> Path:
    """A column over time, level and scenario − baseline, as a figure file."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4.2), sharex=True)
    draw_series(left, right, ts, column, baseline, events, targets)
    return plots.save(fig, path, note)


def institution_figure(effects: pd.DataFrame, inst: pd.DataFrame, measure: str, heading: str, unit: str,
                       baseline: str, events, path: Path, note: str) -> Path:
    """One institution measure: the baseline's level by institution over time, and each scenario's effect."""
    inst = inst.assign(market_share=market_share(inst))
    base = inst[inst["scenario"] == baseline].groupby(["institution", "date"], sort=False)[measure].mean()
    labels = inst.drop_duplicates("institution").set_index("institution")["label"]
    names = list(dict.fromkeys(inst["institution"]))
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4.4), gridspec_kw={"width_ratios": [3, 2]})
    scale = 100 if measure == "market_share" else 1
    for name in names:
        part = base.loc[name]
        left.plot(plots.dates(part.reset_index()), part.values, label=labels[name],
                  ls="-" if inst.loc[inst["institution"] == name, "kind"].iloc[0] == "bank" else "--")
    left.set_title(f"{heading}: {baseline}")
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
                   xerr=np.nan_to_num(err), capsize=2, label=f"{scenario} − {baseline}")
    right.set_yticks(np.arange(len(names)), [labels[n] for n in names])
    right.invert_yaxis()
    right.axvline(0, color="black", lw=0.8)
    right.set_xlabel("percentage points" if measure == "market_share" else unit)
    right.set_title("Effect at the end, 95 % interval")
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


def lever_figure(inst: pd.DataFrame, scenario: str, baseline: str, events, path: Path, note: str) -> Path:
    """Each institution's levers and profit over time, banks left and platforms right: the scenario solid,
    the baseline dashed in the same colour, the median over replicates. Rows whose columns the table lacks
    are left out."""
    rows = [r for r in LEVER_ROWS if all(c in inst for c in (*r[1], *r[3]))]
    fig, axes = plt.subplots(len(rows), 2, figsize=(13, 3.1 * len(rows) + 1.2), sharex=True, squeeze=False)
    names = list(dict.fromkeys(inst["institution"]))
    labels = inst.drop_duplicates("institution").set_index("institution")
    runs = [scenario] if scenario == baseline else [scenario, baseline]
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
        handles += [Line2D([], [], color="black", lw=1.8, label=f"{scenario} (solid)")]
        if scenario != baseline:
            handles += [Line2D([], [], color="black", lw=1.1, ls="--", label=f"{baseline} (dashed)")]
        axes[-1, j].legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, frameon=False,
                           fontsize=8)
    fig.suptitle(f"Levers and profit by institution: {scenario}" + (f" against {baseline}" if scenario != baseline
                                                                        else "") + " (median over replicates)")
    return plots.save(fig, path, note)


# ----------------------------------------------------------------------------- tables

def _ci(effect: float, lo: float, hi: float, scale: float, digits: int, suffix: str) -> str:
    if np.isnan(effect):
        return ""
    bounds = "" if np.isnan(lo) else f" [{scale * lo:+.{digits}f}, {scale * hi:+.{digits}f}]"
    return f"{scale * effect:+.{digits}f}{suffix}{bounds}"


def headline_table(effects: pd.DataFrame, baseline: str) -> pd.DataFrame:
    """Figure, when, baseline level, and each scenario's level and effect with its interval."""
    figures = {f.column: f for f in HEADLINE}
    rows = []
    for measure, part in effects.groupby("measure", sort=False):
        f: Figure = figures[measure]
        scale, digits, suffix = (100, 2, " pp") if f.percent else (1, 1, f" {f.unit}")
        row = {"figure": f.label, "when": part["when"].iloc[0]}
        for r in part.itertuples():
            level = f"{scale * r.level:,.2f} %" if f.percent else f"{r.level:,.1f} {f.unit}"
            row[r.scenario] = level
            if r.scenario != baseline:
                row[f"{r.scenario} − {baseline} (95 % CI)"] = _ci(r.effect, r.effect_lo, r.effect_hi, scale, digits,
                                                                   suffix)
        rows.append(row)
    return pd.DataFrame(rows)


def who_gains(effects: pd.DataFrame, baseline: str) -> pd.DataFrame:
    """Per scenario and institution: share, profit and balance effects, and who gains or loses customers."""
    rows = []
    others = effects[effects["scenario"] != baseline]
    for (scenario, name), part in others.groupby(["scenario", "institution"], sort=False):
        m = part.set_index("measure")
        row = {"scenario": scenario, "institution": part["label"].iloc[0], "kind": part["kind"].iloc[0]}
        for column, heading, _, unit in INSTITUTION_MEASURES:
            if column in m.index:
                r = m.loc[column]
                scale, digits = (100, 2) if unit == "pp" else (1, 1)
                row[f"{heading} ({unit})"] = _ci(r.effect, r.effect_lo, r.effect_hi, scale, digits, "")
        share = m.loc["market_share"]
        row["customers"] = ("gains" if share.effect_lo > 0 else "loses" if share.effect_hi < 0
                            else "no clear change")
        rows.append(row)
    order = {s: i for i, s in enumerate(dict.fromkeys(others["scenario"]))}
    return (pd.DataFrame(rows).sort_values("scenario", key=lambda c: c.map(order), kind="stable")
            .fillna(""))            # a measure an institution does not have (platforms' secondary accounts): blank


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


def lever_table(levers: pd.DataFrame) -> pd.DataFrame:
    """levers_at_end as the report shows it: headings with units, rounded, blanks where a lever does not apply."""
    shown = levers.drop(columns=["date"])
    for column, heading, digits in LEVER_COLUMNS:
        if column in shown:
            shown[column] = shown[column].map(lambda v: "" if pd.isna(v) else f"{v:,.{digits}f}")
    return shown.rename(columns={c: h for c, h, _ in LEVER_COLUMNS})


def terminal_summary(effects: pd.DataFrame, baseline: str) -> list[str]:
    """Lines for the terminal: each headline figure's baseline level and each scenario's effect."""
    figures = {f.column: f for f in HEADLINE}
    lines = []
    for measure, part in effects.groupby("measure", sort=False):
        f = figures[measure]
        scale, digits, suffix = (100, 2, " pp") if f.percent else (1, 1, f" {f.unit}")
        base = part[part["scenario"] == baseline].iloc[0]
        level = f"{scale * base.level:.2f} %" if f.percent else f"{base.level:,.1f} {f.unit}"
        effects_text = "; ".join(f"{r.scenario} {_ci(r.effect, r.effect_lo, r.effect_hi, scale, digits, suffix)}"
                                 for r in part.itertuples() if r.scenario != baseline)
        lines.append(f"{f.label} ({part['when'].iloc[0]}): {baseline} {level}; {effects_text}")
    if "interval_covers" in effects and len(effects):
        lines.append(f"interval_covers: {effects['interval_covers'].iloc[0]} (95 % t intervals over replicates)")
    return lines


# ----------------------------------------------------------------------------- the report

class Report:
    """Blocks of a report (headings, paragraphs, tables, figures), written as Markdown and as HTML."""

    def __init__(self, title: str):
        self.title, self.blocks = title, []

    def heading(self, text: str) -> None:
        self.blocks.append(("h2", text))

    def text(self, text: str) -> None:
        self.blocks.append(("p", text))

    def table(self, df: pd.DataFrame) -> None:
        self.blocks.append(("table", df))

    def figure(self, path: Path, caption: str) -> None:
        self.blocks.append(("img", (Path(path), caption)))

    def markdown(self) -> str:
        render = {"h2": lambda x: f"## {x}", "p": str,
                  "table": lambda df: df.to_markdown(index=False, disable_numparse=True),   # numbers as written
                  "img": lambda x: f"![{x[1]}]({x[0].name})"}
        return "\n\n".join([f"# {self.title}", *(render[kind](x) for kind, x in self.blocks)]) + "\n"

    def html(self) -> str:
        """One self-contained page: figures embedded as base64 PNG, no external files or scripts."""
        render = {"h2": lambda x: f"<h2>{html.escape(x)}</h2>", "p": lambda x: f"<p>{html.escape(x)}</p>",
                  "table": lambda df: df.to_html(index=False, border=0, na_rep=""),
                  "img": lambda x: (f'<figure><img alt="{html.escape(x[1])}" src="data:image/png;base64,'
                                    f'{base64.b64encode(x[0].read_bytes()).decode()}">'
                                    f"<figcaption>{html.escape(x[1])}</figcaption></figure>")}
        body = [f"<h1>{html.escape(self.title)}</h1>", *(render[kind](x) for kind, x in self.blocks)]
        style = ("body{font-family:sans-serif;max-width:1200px;margin:2em auto;color:#222}"
                 "table{border-collapse:collapse;margin:1em 0;font-size:14px}"
                 "th,td{padding:4px 10px;border-bottom:1px solid #ddd;text-align:left}"
                 "img{max-width:100%}figcaption{color:#555;font-size:13px}")
        return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(self.title)}</title>"
                f"<style>{style}</style></head><body>{''.join(body)}</body></html>")


def write(folder: Path, ts: pd.DataFrame, inst: pd.DataFrame, baseline: str, targets: pd.DataFrame,
          meta: dict) -> tuple[Path, list[str]]:
    """Write the report folder; returns it and the terminal summary."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    scenarios = list(dict.fromkeys(ts["scenario"]))
    effects = headline_effects(ts, baseline)
    inst_effects = institution_effects(inst, baseline)
    events = scenario_events(ts, baseline)
    note = meta["subtitle"] + (" · dotted lines: policy changes, numbered as in the report" if events else "")
    year = last_full_year(ts[(ts["scenario"] == baseline) & (ts["replicate"] == ts["replicate"].min())])

    report = Report(f"{' and '.join(s for s in scenarios if s != baseline)} against {baseline}")
    report.text(meta["subtitle"] + ".")
    for s, question in meta.get("questions", {}).items():
        if question:
            report.text(f"{s}: {question}")
    report.text("Effects are scenario − baseline, paired by replicate (common random numbers), as the mean with a "
                "95 % t interval over replicates. Shares are in percent, differences in percentage points.")
    report.text(f"interval_covers: {interval_covers(ts)}. " + (
        "Replicate r of every scenario ran the same posterior draw and the same random stream, so the intervals "
        "include parameter uncertainty." if "posterior" in ts else
        "Every replicate ran the same parameter values, so the intervals leave parameter uncertainty out."))
    report.heading(f"Headline figures, {year}")
    report.table(headline_table(effects, baseline))
    report.heading("Who gains, who loses")
    report.text("Market share is a bank's share of primary-bank customers, or a platform's active users as a share "
                "of all customers. A scenario gains or loses where the 95 % interval of its effect excludes zero.")
    report.table(who_gains(inst_effects, baseline))
    levers = levers_at_end(inst, baseline, meta.get("strategies")) if has_levers(inst) else None
    if levers is not None:
        report.text("What each institution did: the levers its strategy set (fixed: the plan; adaptive: more spend "
                    "after lost share; responsive: that, an answer to rivals' rates within a band, and spend cut "
                    "after losing quarters), beside what it earned. The figures draw the median over replicates "
                    "each month, the scenario solid and the baseline dashed; the table gives the last month's "
                    "values. A bank's rate offered is what it pays on deposits (its deposit rate plus the premium "
                    "over the PBoC benchmark the ceiling in force allows); a platform's is its money fund's yield.")
        report.table(lever_table(levers))
        for scenario in [s for s in scenarios if s != baseline] or [baseline]:
            path = lever_figure(inst, scenario, baseline, events, folder / f"institution_levers_{scenario}.png", note)
            report.figure(path, f"Levers and profit by institution: {scenario}")
    if events:
        report.heading("Policy changes marked on the figures")
        report.table(pd.DataFrame([(i, f"{d:%Y-%m}", what) for i, (d, what) in enumerate(events, 1)],
                                  columns=["mark", "month", "change"]))
    for title, columns in SECTIONS:
        present = [c for c in columns if c in ts]
        if not present:
            continue
        report.heading(title)
        for column in present:
            tgt = targets[targets["series"] == column] if column in ("off_counter_rate", "mobile_value_share") else None
            path = series_figure(ts, column, baseline, events, tgt, folder / f"{column}.png", note)
            report.figure(path, plots.describe(column)[0])
    report.heading("Institutions")
    for column, heading, _, unit in INSTITUTION_MEASURES:
        if column in inst or column == "market_share":
            path = institution_figure(inst_effects, inst, column, heading, unit, baseline, events,
                                      folder / f"institutions_{column}.png", note)
            report.figure(path, heading)
    effects.to_csv(folder / "effects.csv", index=False)
    inst_effects.to_csv(folder / "institution_effects.csv", index=False)
    if levers is not None:
        levers.to_csv(folder / "institution_levers.csv", index=False)
    atomic_write(folder / "report.md", lambda p: p.write_text(report.markdown()))
    atomic_write(folder / "report.html", lambda p: p.write_text(report.html()))
    return folder, terminal_summary(effects, baseline)
