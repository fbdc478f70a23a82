"""What-if dashboard: `make dashboard` (solara run experiments/dashboard.py), then open the page.

Pick a scenario preset, move the levers, press Run: the model advances month by month
with live charts, beside a baseline with the same customers and seed. Save the settings
as an experiment file that `python -m experiments.run experiment=<name>` runs unchanged.
"""
from __future__ import annotations

import logging

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import solara  # noqa: E402
import solara.lab  # noqa: E402

from experiments.whatif import GROUPS, Levers, Session, presets, save_experiment  # noqa: E402
from sim.config import AGE_BANDS, CHANNELS, ConfigError  # noqa: E402
from sim.plots import CHANNEL_COLOURS, CHANNEL_NAMES  # noqa: E402
from sim.targets import load_targets  # noqa: E402

logging.getLogger("MESA").setLevel(logging.WARNING)

DEFAULT_MARKETING = {"large_state": 15.0, "joint_stock": 10.0, "city_commercial": 4.0, "rural_commercial": 2.0}
GROUP_NAMES = {"large_state": "Large state-owned", "joint_stock": "Joint-stock", "city_commercial": "City commercial",
               "rural_commercial": "Rural commercial"}
SIZES = [10_000, 50_000, 100_000, 200_000]
MONTHS_PER_RUN = [12, 24, 48, 96]
PRESETS = presets()
TARGETS = load_targets("seed")

preset = solara.reactive("baseline")
population = solara.reactive(100_000)
seed = solara.reactive(42)
functional = solara.reactive("no")
functional_from = solara.reactive("2017-01")
compliance = solara.reactive(0.6)
switching = solara.reactive(1.0)
ukey = solara.reactive(0.8)
remote_from = solara.reactive("")
partnership = solara.reactive("no")
marketing = {g: solara.reactive(DEFAULT_MARKETING[g]) for g in GROUPS}
months_per_run = solara.reactive(24)
save_name = solara.reactive("my_scenario")

session: solara.Reactive[Session | None] = solara.reactive(None)
month_count = solara.reactive(0)        # bumps after each simulated month, so the page redraws
message = solara.reactive("")
saved = solara.reactive("")


def current_levers() -> Levers:
    return Levers(preset=preset.value, population=population.value, seed=seed.value,
                  functional_from=functional_from.value if functional.value == "yes" else "",
                  platform_compliance_cost=compliance.value, switching_cost_scale=switching.value,
                  ukey_friction=ukey.value, remote_opening_from=remote_from.value.strip(),
                  partnership=partnership.value == "yes", marketing_bn={g: r.value for g, r in marketing.items()})


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
    for _ in range(months_per_run.value):
        if s.done:
            break
        s.step()
        month_count.set(month_count.value + 1)


def _dates(df: pd.DataFrame):
    """Decimal years (2013.0 = January 2013): cheap to draw every month."""
    return df["date"].str[:4].astype(int) + (df["date"].str[5:7].astype(int) - 1) / 12


def charts(s: Session):
    ts, base, inst = s.tables()
    d = _dates(ts)
    fig, axes = plt.subplots(2, 3, figsize=(15, 8), dpi=72)   # redrawn every month: keep it light
    ax = axes[0, 0]
    ax.stackplot(d, *[100 * ts[f"share_{c}"] for c in CHANNELS], labels=[CHANNEL_NAMES[c] for c in CHANNELS],
                 colors=[CHANNEL_COLOURS[c] for c in CHANNELS], alpha=0.85)
    ax.set_ylim(0, 100)
    ax.set_title("Customers by active channel (%)")
    ax.legend(fontsize=7, loc="lower left")
    ax = axes[0, 1]
    for series, colour, label in (("off_counter_rate", "#264653", "Off-counter rate"),
                                  ("mobile_value_share", "#2a9d8f", "Mobile share of off-counter value")):
        ax.plot(d, 100 * ts[series], color=colour, label=label)
        t = TARGETS[TARGETS["series"] == series]
        ax.plot(t["year"] + 0.5, t["value"], "D", color=colour,
                markeredgecolor="black", label=f"{label}: seed 004 target")
    ax.set_title("Against the seed's targets (%)")
    ax.legend(fontsize=7, loc="upper left")
    ax = axes[0, 2]
    for (name, kind), g in inst.groupby(["label", "kind"], sort=False):
        ax.plot(_dates(g), 100 * g["share"], ls="-" if kind == "bank" else "--", label=name)
    ax.set_title("Institution shares (%): banks of primary customers, platforms of all", fontsize=9)
    ax.legend(fontsize=6, loc="upper left", ncol=2)
    ax = axes[1, 0]
    ax.plot(d, ts["balance_platform_mmf"] / 1e3, color=CHANNEL_COLOURS["platform"])
    ax.set_title("Platform money-fund balances (RMB tn)")
    ax = axes[1, 1]
    for band in AGE_BANDS:
        key = band.replace("-", "_").replace("+", "plus")
        ax.plot(d, 100 * ts[f"digital_share_age_{key}"], label=f"Age {band}")
    ax.set_ylim(0, 100)
    ax.set_title("Off the counter, by age band (%)")
    ax.legend(fontsize=7, loc="upper left")
    ax = axes[1, 2]
    n = len(ts)
    for c in CHANNELS:
        ax.plot(d, 100 * (ts[f"share_{c}"] - base[f"share_{c}"].iloc[:n].to_numpy()), color=CHANNEL_COLOURS[c],
                label=CHANNEL_NAMES[c])
    ax.axhline(0, color="black", lw=0.8)
    ax.set_title("These settings minus the baseline (share points)")
    ax.legend(fontsize=7, loc="upper left")
    end = int(s.config.end[:4]) + 1
    for a in axes.flat:
        a.set_xlim(2013, end)
        a.set_xticks(range(2013, end + 1, 2 if end - 2013 > 8 else 1))
        a.grid(alpha=0.3)
    fig.subplots_adjust(left=0.04, right=0.99, top=0.95, bottom=0.05, wspace=0.18, hspace=0.25)
    return fig


@solara.component
def Controls():
    solara.Markdown("### Scenario")
    solara.Select("Start from preset", values=PRESETS, value=preset)
    solara.Select("Simulated customers", values=SIZES, value=population)
    solara.InputInt("Seed", value=seed)
    solara.Markdown("### Regulation")
    solara.Select("Functional regulation of platforms", values=["no", "yes"], value=functional)
    solara.InputText("Functional regulation from (YYYY-MM)", value=functional_from)
    solara.SliderFloat(f"Platform compliance cost: {compliance.value:.2f} of budget", value=compliance,
                       min=0, max=1, step=0.05)
    solara.SliderFloat(f"U-key friction on bank e-channels: {ukey.value:.1f} utils", value=ukey, min=0, max=2,
                       step=0.1)
    solara.InputText("Remote account opening from (YYYY-MM, empty = history)", value=remote_from)
    solara.Markdown("### Competition")
    solara.SliderFloat(f"Switching cost: {switching.value:.2f} × default", value=switching, min=0.25, max=3,
                       step=0.05)
    solara.Select("Partnership: large banks × JD Finance from 2017-06", values=["no", "yes"], value=partnership)
    solara.Markdown("Marketing spend, RMB bn a year")
    for g in GROUPS:
        solara.SliderFloat(f"{GROUP_NAMES[g]}: {marketing[g].value:.0f}", value=marketing[g], min=0, max=60, step=1)


@solara.component
def Page():
    solara.Title("Retail banking what-if")
    with solara.Columns([1, 3]):
        with solara.Column():
            Controls()
        with solara.Column():
            Main()


@solara.component
def Main():
    month_count.value   # redraw after every simulated month
    solara.Markdown("## Retail banking channel competition, China 2013–2020")
    with solara.Row():
        solara.Select("Months per run", values=MONTHS_PER_RUN, value=months_per_run)
        solara.Button("Run", on_click=run_months, color="primary", disabled=run_months.pending)
        solara.Button("Reset to month 0", on_click=reset, disabled=run_months.pending)
    if message.value:
        solara.Markdown(f"**Error:** {message.value}", style={"color": "#b00020"})
    s = session.value
    if s is None or not s.model.recorder.rows:
        solara.Markdown("*Set the levers and press Run. The baseline runs beside it with the same customers and seed.*")
    else:
        row, base = s.model.recorder.rows[-1], s.baseline.recorder.rows[-1]
        solara.Markdown(
            f"**Month {row['date']}** · {s.config.population.size:,} customers · scenario "
            f"'{s.levers.preset}'\n\n"
            f"| | these settings | baseline | difference |\n|---|---|---|---|\n"
            + "".join(f"| {label} | {100 * row[k]:.2f} % | {100 * base[k]:.2f} % | {100 * (row[k] - base[k]):+.2f} pp |\n"
                      for label, k in (("Bank mobile app users", "share_mobile"),
                                       ("Platform app users", "share_platform"),
                                       ("Branch counter users", "share_branch"),
                                       ("Off-counter rate", "off_counter_rate"))))
        solara.FigureMatplotlib(charts(s), dependencies=[month_count.value], format="png")
    with solara.Row():
        solara.InputText("Save these settings as experiment", value=save_name)
        solara.Button("Save", on_click=_save, outlined=True)
    if saved.value:
        solara.Markdown(f"**{saved.value}**", style={"color": "#1b5e20"})


def _save() -> None:
    try:
        path = save_experiment(current_levers(), save_name.value.strip())
        message.set("")
        saved.set(f"Saved {path.name}: run it with python -m experiments.run experiment={path.stem}")
    except ConfigError as e:
        message.set(str(e))
