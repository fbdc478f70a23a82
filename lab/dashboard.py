"""The what-if dashboard's page: `make dashboard` or `python -m experiments.dashboard`, then open the page.

Pick a scenario preset (every control then shows that preset's values), move the levers,
press Run: the model advances month by month with live charts, beside a baseline with
the same customers and seed. The header says which controls differ from the preset.
Besides regulation and competition, the controls set each bank group's strategy kind
(fixed, adaptive, responsive) and deposit premium over the benchmark, and one kind for
all the platforms (a preset whose platforms differ keeps theirs until it is changed).
Download the shown table (CSV) and charts (PNG); save the settings as an experiment file
that `python -m experiments.run experiment=<name>` runs unchanged (never over a shipped
preset, and over an earlier save only when asked).
"""
from __future__ import annotations

import base64
import io
import logging
import re
import time

import matplotlib

matplotlib.use("Agg")
import pandas as pd  # noqa: E402
import solara  # noqa: E402
import solara.lab  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from lab import briefing, report  # noqa: E402
from lab import comparison as compare  # noqa: E402
from lab.whatif import (GROUPS, KINDS, LEVER_HELP, Levers, Session, changes, dated_settings,  # noqa: E402
                        first_change, levers_from_preset, preset_changes, presets, save_experiment)
from sim.config import AGE_BANDS, CHANNELS, ConfigError  # noqa: E402
from sim.writers.plots import CHANNEL_COLOURS, CHANNEL_NAMES  # noqa: E402
from sim.evidence.targets import load_targets  # noqa: E402

logging.getLogger("MESA").setLevel(logging.WARNING)

GROUP_NAMES = {"large_state": "Large state-owned", "joint_stock": "Joint-stock", "city_commercial": "City commercial",
               "rural_commercial": "Rural commercial"}
SIZES = [10_000, 50_000, 100_000, 200_000]
MONTHS_PER_RUN = [12, 24, 48, 96]
REDRAW_SECONDS = 1.0   # while a run goes on, the page shows its progress at most once a second: drawing the
                       # six charts takes about as long as a month of 100,000 customers, so drawing every month
                       # doubled a run's time
PRESETS = presets()
TARGETS = load_targets("seed")
START = levers_from_preset("baseline")

preset = solara.reactive("baseline")
population = solara.reactive(100_000)
seed = solara.reactive(42)
functional = solara.reactive("no")
functional_from = solara.reactive("2017-01")
compliance = solara.reactive(START.platform_compliance_cost)
switching = solara.reactive(START.switching_cost_scale)
ukey = solara.reactive(START.ukey_friction)
remote_from = solara.reactive("")
partnership = solara.reactive("no")
marketing = {g: solara.reactive(START.marketing_bn[g]) for g in GROUPS}
bank_kind = {g: solara.reactive(START.bank_strategy[g]) for g in GROUPS}
premium = {g: solara.reactive(START.deposit_premium_pp[g]) for g in GROUPS}
MIXED = "as the preset (mixed)"          # the platforms' choice when a preset gives them different kinds
platform_kind = solara.reactive(START.platform_strategy["alipay"])
months_per_run = solara.reactive(24)
save_name = solara.reactive("my_scenario")
overwrite = solara.reactive(False)

compare_with = solara.reactive([])          # up to three presets, side by side against the baseline
compare_replicates = solara.reactive(1)     # more than one draws 95 % bands
comparison: solara.Reactive[tuple | None] = solara.reactive(None)
COMPARED = ("share_mobile", "share_platform", "off_counter_rate", "mobile_value_share")

session: solara.Reactive[Session | None] = solara.reactive(None)
month_count = solara.reactive(0)        # bumps after each simulated month, so the page redraws
message = solara.reactive("")
saved = solara.reactive("")

SUMMARY_ROWS = (("Bank mobile app users", "share_mobile"), ("Platform app users", "share_platform"),
                ("Branch counter users", "share_branch"), ("Off-counter rate", "off_counter_rate"))


def _platforms_kind(levers: Levers) -> str:
    """The one kind all the preset's platforms have, or MIXED."""
    kinds = set(levers.platform_strategy.values())
    return kinds.pop() if len(kinds) == 1 else MIXED


def current_levers() -> Levers:
    own = levers_from_preset(preset.value, population.value, seed.value).platform_strategy   # the preset's platforms
    return Levers(preset=preset.value, population=population.value, seed=seed.value,
                  functional_from=functional_from.value if functional.value == "yes" else "",
                  platform_compliance_cost=compliance.value, switching_cost_scale=switching.value,
                  ukey_friction=ukey.value, remote_opening_from=remote_from.value.strip(),
                  partnership=partnership.value == "yes", marketing_bn={g: r.value for g, r in marketing.items()},
                  bank_strategy={g: r.value for g, r in bank_kind.items()},
                  deposit_premium_pp={g: round(float(r.value), 2) for g, r in premium.items()},   # slider steps
                  platform_strategy=own if platform_kind.value == MIXED else {p: platform_kind.value for p in own})


def choose_preset(name: str) -> None:
    """Set every control to the preset's own values, so the page runs exactly that preset."""
    levers = levers_from_preset(name, population.value, seed.value)
    preset.set(name)
    functional.set("yes" if levers.functional_from else "no")
    if levers.functional_from:
        functional_from.set(levers.functional_from)
    compliance.set(levers.platform_compliance_cost if levers.functional_from else START.platform_compliance_cost)
    switching.set(levers.switching_cost_scale)
    ukey.set(levers.ukey_friction)
    remote_from.set(levers.remote_opening_from)
    partnership.set("yes" if levers.partnership else "no")
    for g, r in marketing.items():
        r.set(levers.marketing_bn[g])
    for g, r in bank_kind.items():
        r.set(levers.bank_strategy[g])
    for g, r in premium.items():
        r.set(levers.deposit_premium_pp[g])
    platform_kind.set(_platforms_kind(levers))
    session.set(None)
    month_count.set(0)


def reset() -> None:
    try:
        session.set(Session(current_levers()))
        message.set("")
    except ConfigError as e:
        session.set(None)
        message.set(str(e))
    month_count.set(0)


@solara.lab.task
def run_months() -> None:
    s = session.value
    if s is None or s.levers != current_levers():
        reset()
        s = session.value
    if s is None:
        return
    start, ran, shown_at = month_count.value, 0, time.monotonic()
    for _ in range(months_per_run.value):
        if s.done:
            break
        s.step()
        ran += 1
        if time.monotonic() - shown_at >= REDRAW_SECONDS:      # the page redraws its charts on each update
            month_count.set(start + ran)
            shown_at = time.monotonic()
    month_count.set(start + ran)


def _dates(df: pd.DataFrame):
    """Decimal years (2013.0 = January 2013): cheap to draw every month."""
    return df["date"].str[:4].astype(int) + (df["date"].str[5:7].astype(int) - 1) / 12


def charts(s: Session) -> Figure:
    """The six live charts. A bare Figure, not pyplot's: nothing keeps it once the page has drawn it."""
    ts, base, inst = s.tables()
    d = _dates(ts)
    fig = Figure(figsize=(12, 8.5), dpi=72, layout="constrained")   # redrawn every month: keep it light; the
    axes = fig.subplots(2, 3)                                         # layout keeps titles, ticks and legends in
    ax = axes[0, 0]
    ax.stackplot(d, *[100 * ts[f"share_{c}"] for c in CHANNELS], labels=[CHANNEL_NAMES[c] for c in CHANNELS],
                 colors=[CHANNEL_COLOURS[c] for c in CHANNELS], alpha=0.85)
    ax.set_ylim(0, 100)
    ax.set_title("Customers by active channel (%)")
    ax = axes[0, 1]
    for series, colour, label in (("off_counter_rate", "#264653", "Off-counter rate"),
                                  ("mobile_value_share", "#2a9d8f", "Mobile share of off-counter value")):
        ax.plot(d, 100 * ts[series], color=colour, label=label)
        t = TARGETS[TARGETS["series"] == series]
        ax.plot(t["year"] + 0.5, t["value"], "D", color=colour, markeredgecolor="black", label=f"{label}: target")
    ax.set_title("Against the seed's targets (%)")
    ax = axes[0, 2]
    for (name, kind), g in inst.groupby(["label", "kind"], sort=False):
        ax.plot(_dates(g), 100 * g["share"], ls="-" if kind == "bank" else "--", label=name)
    ax.set_title("Banks: share of primary customers;\nplatforms: users (%)", fontsize=10)
    ax = axes[1, 0]
    ax.plot(d, ts["balance_platform_mmf"] / 1e3, color=CHANNEL_COLOURS["platform"], label="Platform money funds")
    ax.set_title("Platform money-fund balances (RMB tn)")
    ax = axes[1, 1]
    for band in AGE_BANDS:
        key = band.replace("-", "_").replace("+", "plus")
        ax.plot(d, 100 * ts[f"digital_share_age_{key}"], label=f"Age {band}")
    ax.set_ylim(0, 100)
    ax.set_title("Off the counter, by age band (%)")
    ax = axes[1, 2]
    n = len(ts)
    for c in CHANNELS:
        ax.plot(d, 100 * (ts[f"share_{c}"] - base[f"share_{c}"].iloc[:n].to_numpy()), color=CHANNEL_COLOURS[c],
                label=CHANNEL_NAMES[c])
    ax.axhline(0, color="black", lw=0.8)
    ax.set_title("These settings minus the baseline (points)")
    end = int(s.config.end[:4]) + 1
    for a in axes.flat:
        a.set_xlim(2013, end)
        a.set_xticks(range(2013, end + 1, 2 if end - 2013 > 8 else 1))
        a.grid(alpha=0.3)
        a.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=2, frameon=False)  # below the data
    return fig


def summary_table(s: Session) -> pd.DataFrame:
    """The shown figures as a table (percent): these settings, the baseline and the difference."""
    row, base = s.model.recorder.rows[-1], s.baseline.recorder.rows[-1]
    return pd.DataFrame([{"month": row["date"], "figure": label, "these settings (%)": round(100 * row[k], 2),
                          "baseline (%)": round(100 * base[k], 2),
                          "difference (points)": round(100 * (row[k] - base[k]), 2)} for label, k in SUMMARY_ROWS])


def download_links(name: str, table: pd.DataFrame, figure: Figure, what: str) -> str:
    """Links that download a shown table (CSV) and its charts (PNG), as data URLs: they work offline, with
    nothing kept on the server."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")     # every title, tick and legend
    link = '<a download="{0}" href="data:{1};base64,{2}" style="margin-right:2em">{3}</a>'
    return (link.format(f"{name}.csv", "text/csv", base64.b64encode(table.to_csv(index=False).encode()).decode(),
                        f"Download the {what} (CSV)")
            + link.format(f"{name}.png", "image/png", base64.b64encode(buffer.getvalue()).decode(),
                          "Download the charts (PNG)"))


def exports(s: Session, figure: Figure) -> str:
    """The monthly tables, these settings beside the baseline, and the live charts."""
    ts, base, _ = s.tables()
    return download_links(f"whatif_{s.levers.preset}_{s.model.recorder.rows[-1]['date']}",
                          ts.merge(base, on=["date", "step"], suffixes=("", "_baseline")), figure, "monthly table")


@solara.lab.task
def run_comparison() -> None:
    """The baseline and up to three presets at this size and seed, paired replicates, as lab.comparison."""
    names = list(compare_with.value)[:3]
    overrides = [f"population.size={population.value}", f"seed={seed.value}", "figures=false"]
    ts, inst = compare.run_all(compare.configs(names, overrides, "baseline"), compare_replicates.value, overrides,
                               progress=False)
    comparison.set((ts, inst))


def comparison_charts(ts: pd.DataFrame) -> Figure:
    """Level and scenario − baseline of the compared figures, one row each, shared time axis."""
    fig = Figure(figsize=(12, 2.9 * len(COMPARED)), dpi=72, layout="constrained")
    axes = fig.subplots(len(COMPARED), 2, sharex=True)
    names = briefing.display_names(list(dict.fromkeys(ts["scenario"])))
    for (left, right), column in zip(axes, COMPARED):
        report.draw_series(left, right, ts, column, "baseline", legend=column == COMPARED[0], names=names)
    return fig


@solara.component
def Comparison():
    solara.Markdown("### Presets side by side against the baseline")
    with solara.Row():
        solara.SelectMultiple("Up to three presets", values=compare_with.value,
                              all_values=[p for p in PRESETS if p != "baseline"],
                              on_value=lambda chosen: compare_with.set(list(chosen)[:3]))
        solara.Select("Replicates (2+ draws 95 % bands)", values=[1, 3, 5, 10], value=compare_replicates)
        solara.Button("Compare", on_click=run_comparison, outlined=True,
                      disabled=run_comparison.pending or not compare_with.value)
    if run_comparison.pending:
        solara.Markdown("*Running the comparison...*")
    elif comparison.value is not None:
        ts, _ = comparison.value
        effects = report.headline_effects(ts, "baseline")
        replicates = int(effects["replicates"].min())
        solara.Markdown("Effect of each preset on the headline figures: preset − baseline, paired by replicate"
                        + (", with its 95 % interval [low, high]." if briefing.has_intervals(replicates) else "."))
        names = briefing.display_names(list(dict.fromkeys(ts["scenario"])))
        for table in report.headline_tables(effects, "baseline", names):
            solara.Markdown(table.to_markdown(index=False, disable_numparse=True))
        if briefing.replicates_note(replicates):
            solara.Markdown(f"**Note.** {briefing.replicates_note(replicates)}")
        covers = effects["interval_covers"].iloc[0] if briefing.has_intervals(replicates) else "none (one replicate)"
        solara.Text(f"interval_covers: {covers} (every replicate runs these settings; only the random streams "
                    "differ)")
        figure = comparison_charts(ts)
        solara.FigureMatplotlib(figure, format="png")
        solara.HTML(tag="div", unsafe_innerHTML=download_links(
            "compare_" + "+".join(compare_with.value), report.headline_numbers(effects), figure, "headline table"))


@solara.component
def Lever(field: str, text: str) -> None:
    """A control's heading with its value, and its one-line explanation with the unit."""
    solara.Markdown(f"**{text}**", style={"margin-bottom": "0"})
    solara.Text(LEVER_HELP[field][1], style={"font-size": "12px", "color": "#555"})


NOTE_STYLE = {"font-size": "12px", "color": "#8a4b00"}


def _value(v) -> str:
    return f"{v:g}" if isinstance(v, (int, float)) else str(v)


@solara.component
def PresetChanges(name: str) -> None:
    """What the chosen preset changes from the baseline, beside the controls: its dated events and the keys it
    sets, so a change that no slider shows (no_ukey's 2015 event) is still in sight."""
    if name == "baseline":
        return
    lines = preset_changes(name)
    solara.Markdown(f"**What '{name}' changes from the baseline**" + ("" if lines else ": nothing"),
                    style={"margin-bottom": "0"})
    solara.Markdown("\n".join(f"- {line}" for line in lines), style={"font-size": "12px"})


@solara.component
def DatedNote(lever: str) -> None:
    """Under a slider: the dated values the preset gives that lever (the slider is its value before them)."""
    dated = dated_settings(preset.value).get(lever, []) if preset.value != "baseline" else []
    if dated:
        solara.Text(f"The preset sets it to {', then '.join(f'{_value(v)} from {d}' for d, v in dated)}; the slider is "
                    "the value before that", style=NOTE_STYLE)


@solara.component
def Controls():
    solara.Markdown("### Scenario")
    solara.Select("Start from preset", values=PRESETS, value=preset.value, on_value=choose_preset)
    PresetChanges(preset.value)
    solara.Select("Simulated customers", values=SIZES, value=population)
    solara.InputInt("Seed", value=seed)
    solara.Markdown("### Regulation")
    Lever("functional_from", "Functional regulation of platforms")
    solara.Select("Functional regulation", values=["no", "yes"], value=functional)
    solara.InputText("From (YYYY-MM)", value=functional_from)
    Lever("platform_compliance_cost", f"Platform compliance cost: {compliance.value:.2f} of budget")
    solara.SliderFloat("", value=compliance, min=0, max=1, step=0.05)
    DatedNote("platform_compliance_cost")
    Lever("ukey_friction", f"U-key friction on bank e-channels: {ukey.value:.1f} utils")
    solara.SliderFloat("", value=ukey, min=0, max=2, step=0.1)
    DatedNote("ukey_friction")
    Lever("remote_opening_from", "Remote account opening")
    solara.InputText("From (YYYY-MM, empty = history)", value=remote_from)
    solara.Markdown("### Competition")
    Lever("switching_cost_scale", f"Switching cost: {switching.value:.2f} × default")
    solara.SliderFloat("", value=switching, min=0.25, max=3, step=0.05)
    Lever("partnership", "Partnership: large banks × JD Finance")
    solara.Select("Partnership from 2017-06", values=["no", "yes"], value=partnership)
    Lever("marketing_bn", "Marketing spend")
    for g in GROUPS:
        solara.Text(f"{GROUP_NAMES[g]}: {marketing[g].value:.0f} RMB bn a year", style={"font-size": "13px"})
        solara.SliderFloat("", value=marketing[g], min=0, max=60, step=1)
    solara.Markdown("### Strategies")
    Lever("bank_strategy", "Bank strategy, per group")
    for g in GROUPS:
        solara.Select(f"{GROUP_NAMES[g]} banks' strategy", values=KINDS, value=bank_kind[g])
    Lever("deposit_premium_pp", "Deposit premium over the benchmark")
    for g in GROUPS:
        solara.Text(f"{GROUP_NAMES[g]}: {premium[g].value:.2f} pp", style={"font-size": "13px"})
        solara.SliderFloat("", value=premium[g], min=0, max=1.5, step=0.05)
    Lever("platform_strategy", "Platform strategy")
    choices = KINDS + ([MIXED] if platform_kind.value == MIXED else [])
    solara.Select("Platforms' strategy (all of them)", values=choices, value=platform_kind)


@solara.component
def Page():
    solara.Title("Retail banking what-if")
    with solara.Columns([1, 2.6]):
        with solara.Column(style={"min-width": "300px"}):
            Controls()
        with solara.Column():
            Main()


def header(s: Session) -> str:
    """What is shown: the month, the size, the preset and every control that differs from it."""
    diff = changes(s.levers)
    what = (f"scenario '{s.levers.preset}'" if not diff
            else f"preset '{s.levers.preset}' changed: " + "; ".join(diff))
    month = s.model.recorder.rows[-1]["date"]
    return f"**Month {month}** · {s.config.population.size:,} customers · {what}" + waiting(s.levers, month)


def waiting(levers: Levers, month: str) -> str:
    """Where the preset differs from the baseline only by dated changes still to come: says so, so that
    months of '+0.00 pp' do not look broken."""
    first = first_change(levers.preset)
    only_dated = all(re.match(r"\d{4}-\d{2}: ", line) for line in preset_changes(levers.preset))
    if not first or month >= first or not only_dated or changes(levers):
        return ""
    return f" · the same as the baseline until {first}, the preset's first dated change"


@solara.component
def Main():
    month_count.value   # redraw after every simulated month
    solara.Markdown("## Retail banking channel competition, China 2013–2020")
    with solara.Row():
        solara.Select("Months per run", values=MONTHS_PER_RUN, value=months_per_run)
        solara.Button("Run", on_click=run_months, color="primary", disabled=run_months.pending)
        solara.Button("Reset to month 0", on_click=reset, disabled=run_months.pending)
    pending = changes(current_levers())
    if session.value is None and pending:
        solara.Markdown(f"Preset '{preset.value}' changed: " + "; ".join(pending))
    if message.value:
        solara.Markdown(f"**Error:** {message.value}", style={"color": "#b00020"})
    s = session.value
    if s is None or not s.model.recorder.rows:
        solara.Markdown("*Set the levers and press Run. The baseline runs beside it with the same customers and seed.*")
    else:
        solara.Markdown(header(s))
        table = summary_table(s)
        solara.Markdown("| | these settings | baseline | difference |\n|---|---|---|---|\n" + "".join(
            f"| {r['figure']} | {r['these settings (%)']:.2f} % | {r['baseline (%)']:.2f} % | "
            f"{r['difference (points)']:+.2f} pp |\n" for _, r in table.iterrows()))
        figure = charts(s)
        solara.FigureMatplotlib(figure, dependencies=[month_count.value], format="png")
        if not run_months.pending:           # made once the months are run, not while they draw
            solara.HTML(tag="div", unsafe_innerHTML=exports(s, figure))
    Comparison()
    with solara.Row():
        solara.InputText("Save these settings as experiment", value=save_name)
        solara.Button("Save", on_click=_save, outlined=True)
    with solara.Row(justify="start", style={"align-items": "center"}):
        solara.Checkbox(value=overwrite)
        solara.Text("Overwrite an earlier dashboard save of that name (shipped presets are never overwritten)")
    if saved.value:
        solara.Markdown(f"**{saved.value}**", style={"color": "#1b5e20"})


def _save() -> None:
    try:
        path = save_experiment(current_levers(), save_name.value.strip(), overwrite=overwrite.value)
        message.set("")
        saved.set(f"Saved {path.name}: run it with python -m experiments.run experiment={path.stem}")
    except ConfigError as e:
        saved.set("")
        message.set(str(e))
    except OSError as e:                     # a read-only configs/, a full disk: said on the page, nothing half-written
        saved.set("")
        message.set(f"error: cannot save {save_name.value.strip()}.yaml: {e.strerror or e}")
