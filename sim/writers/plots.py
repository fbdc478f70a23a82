"""Figures drawn from stored tables (never from the model), and the house style they share.

Every figure in the project (a run's, a sweep's, a comparison's, a design's) is drawn
with the helpers here, so they read alike in a board pack: shares on percent axes,
labels and units from the column schema (`sim.writers.schema.UNITS` and `LABELS`), years
on the x axis, policy changes marked, legends outside the data, legible fonts, and every
figure closed once saved.
"""
from __future__ import annotations

import fnmatch
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from sim import config  # noqa: E402
from sim.config import AGE_BANDS, CHANNELS  # noqa: E402
from sim.writers.metrics import yearly  # noqa: E402
from sim.writers.files import atomic_write  # noqa: E402
from sim.writers.schema import UNITS  # noqa: E402

plt.rcParams.update({"font.size": 10, "axes.titlesize": 11, "axes.labelsize": 10, "legend.fontsize": 9,
                     "xtick.labelsize": 9, "ytick.labelsize": 9})

CHANNEL_COLOURS = {"branch": "#8c6d31", "pc": "#6b8ebf", "mobile": "#2a9d8f", "platform": "#e76f51"}
CHANNEL_NAMES = {"branch": "Branch counter", "pc": "PC online banking", "mobile": "Bank mobile app",
                 "platform": "Platform app (Alipay, WeChat Pay, JD)"}
SERIES_NAMES = {"off_counter_rate": "Off-counter rate (share of transactions)",
                "mobile_value_share": "Mobile share of off-counter value"}


# short board-room names; any other column is described by its meaning in UNITS
LABELS = {
    "off_counter_rate": "Off-counter rate (share of bank transactions)",
    "mobile_value_share": "Mobile share of off-counter value",
    **{f"share_{c}": f"Adults whose most-used channel is: {CHANNEL_NAMES[c]}" for c in CHANNELS},
    "churn_rate": "Customers changing primary bank, per month",
    "balance_platform_mmf": "Platform money-market fund balances",
    "deposits_bank": "Bank deposits",
    "hhi_banks": "Concentration of banks (HHI)",
    "hhi_platforms": "Concentration of platforms (HHI)",
    "customer_share": "Share of primary-bank customers (banks)",
    "user_share": "Active users as a share of all customers (platforms)",
    "profit": "Profit per month", "balance": "Balances held", "customers": "Customers",
}
POLICY_NAMES = {f"policy_{lever}": name for lever, name in config.POLICY_NAMES.items()}


def describe(column: str) -> tuple[str, str]:
    """(label, unit) of a column, from LABELS and the column schema; the key name only as a last resort."""
    for pattern, (unit, meaning) in UNITS.items():
        if fnmatch.fnmatch(column, pattern):
            return LABELS.get(column, meaning[:1].upper() + meaning[1:]), unit
    return LABELS.get(column, column.replace("_", " ")), ""


def is_share(column: str) -> bool:
    """A fraction in [0, 1], shown in percent."""
    return describe(column)[1].startswith("fraction")


def dates(df: pd.DataFrame) -> pd.Series:
    """The table's months as timestamps, whether stored as 'YYYY-MM' text or as dates."""
    return pd.to_datetime(df["date"].astype(str).str[:7], format="%Y-%m")


_dates = dates


def policy_events(ts: pd.DataFrame) -> list[tuple[pd.Timestamp, str]]:
    """(month, what changed) wherever a policy lever in force changes, read from the policy_* columns."""
    ts = ts.reset_index(drop=True)
    when = dates(ts)
    events: dict[pd.Timestamp, list[str]] = {}
    for column, name in POLICY_NAMES.items():
        if column not in ts:
            continue
        s = ts[column].astype(object).where(ts[column].notna(), "none")
        for i in range(1, len(s)):
            if s.iloc[i] != s.iloc[i - 1]:
                events.setdefault(when.iloc[i], []).append(f"{name} {_lever(s.iloc[i - 1])}→{_lever(s.iloc[i])}")
    return sorted((d, "; ".join(v)) for d, v in events.items())


def _lever(v) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def mark_events(ax, events: list[tuple[pd.Timestamp, str]], numbered: bool = True) -> None:
    """Dotted vertical lines at policy changes, numbered at the top (the numbers are explained in a note)."""
    for i, (d, _) in enumerate(events, 1):
        ax.axvline(d, color="0.45", ls=":", lw=1, zorder=1)
        if numbered:
            ax.annotate(str(i), (d, 1), xycoords=("data", "axes fraction"), xytext=(2, -10),
                        textcoords="offset points", fontsize=8, color="0.3")


def events_note(events: list[tuple[pd.Timestamp, str]]) -> str:
    return "Policy changes: " + "; ".join(f"{i} {d:%Y-%m} {what}" for i, (d, what) in enumerate(events, 1))


def percent_axis(ax, whole: float = 1) -> None:
    """The y axis in percent: fractions (whole=1), or values already times 100 (whole=100)."""
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{100 * v / whole:.6g}%"))   # 30%, 2.5%, 0.1%


def legend_outside(ax, below: bool = False, **kwargs) -> None:
    """A legend beside the axes (or below them), never over the data."""
    if not ax.get_legend_handles_labels()[0]:
        return
    if below:
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, frameon=False, **kwargs)
    else:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), borderaxespad=0, frameon=False, **kwargs)


def year_axis(ax) -> None:
    ax.xaxis.set_major_locator(mdates.YearLocator())
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))
    ax.grid(alpha=0.3)


def save(fig, path: Path, note: str = "") -> Path:
    """Write the figure (to a temporary name, then renamed) with a note in its bottom margin, and close it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        width, height = fig.get_size_inches()
        lines = textwrap.wrap(note, int(width * 15)) if note else []
        if lines:
            fig.text(0.01, 0.005, "\n".join(lines), fontsize=8, color="0.35", ha="left", va="bottom")
        fig.tight_layout(rect=(0, (0.01 + 0.14 * len(lines)) / height, 1, 1))
        atomic_write(path, lambda p: fig.savefig(p, dpi=130, bbox_inches="tight", format="png"))  # a unique temporary name
    finally:
        plt.close(fig)
    return path


def _finish(fig, ax_list, title: str, path: Path, events=(), legend_on=None, below: bool = False) -> None:
    """A run figure's common end: years on x, policy changes marked and listed, legends off the data."""
    for ax in ax_list:
        year_axis(ax)
        mark_events(ax, events)
    for ax in ax_list if legend_on is None else legend_on:
        legend_outside(ax, below=below, fontsize=8)
    save(fig, path, f"{title}. {events_note(events)}" if events else title)


# y ranges (percent) of the run figures, the same for every run so that two runs' PNGs side by side compare;
# a run beyond a range widens it
RUN_SCALES = {"bank": (0, 60), "platform": (0, 25), "off_counter_rate": (40, 100), "mobile_value_share": (0, 30)}


def fixed_scale(ax, values: pd.Series, scale: tuple[float, float]) -> None:
    """Set the y range to `scale`, widened only where the values go beyond it."""
    ax.set_ylim(min(scale[0], float(values.min())), max(scale[1], float(values.max()) * 1.05))


def _targets_of(fit: pd.DataFrame, series: str) -> pd.DataFrame:
    """The fit's rows for one series; none when the run covers no full target year (the fit has no columns)."""
    return fit[fit["series"] == series] if "series" in fit else fit


def _year_mid(year: int) -> pd.Timestamp:
    return pd.Timestamp(year=int(year), month=7, day=1)


def channels(ts: pd.DataFrame, fit: pd.DataFrame, path: Path, title: str, events=()) -> None:
    """Customers by active channel (stacked), with the transaction off-counter rate and its seed targets."""
    fig, ax = plt.subplots(figsize=(12, 5.5))
    d = _dates(ts)
    ax.stackplot(d, *[100 * ts[f"share_{c}"] for c in CHANNELS], labels=[CHANNEL_NAMES[c] for c in CHANNELS],
                 colors=[CHANNEL_COLOURS[c] for c in CHANNELS], alpha=0.85)
    ax.plot(d, 100 * ts["off_counter_rate"], color="black", lw=1.5, label="Off-counter rate, transactions (monthly)")
    tgt = _targets_of(fit, "off_counter_rate")
    if len(tgt):
        ax.scatter([_year_mid(y) for y in tgt["year"]], tgt["target"], marker="D", s=60, color="white",
                   edgecolor="black", zorder=5, label=f"Target off-counter rate ('{tgt['target_set'].iloc[0]}' set, yearly)")
    ax.set_ylim(0, 100)
    ax.set_ylabel("Percent of customers / of transactions")
    ax.set_title("Customers by active channel, and the off-counter rate")
    percent_axis(ax, 100)
    _finish(fig, [ax], title, path, events)


def targets(ts: pd.DataFrame, fit: pd.DataFrame, path: Path, title: str, events=()) -> None:
    """Off-counter rate and mobile value share: monthly, yearly, and the seed's figures."""
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.5))
    yr = yearly(ts)
    yr = yr[yr["months"] == 12]
    for ax, series in zip(axes, ("off_counter_rate", "mobile_value_share")):
        ax.plot(_dates(ts), 100 * ts[series], color="0.6", lw=1, label="Simulated, monthly")
        ax.plot([_year_mid(y) for y in yr["year"]], 100 * yr[series], "o-", color="#264653", label="Simulated, yearly")
        tgt = _targets_of(fit, series)
        for row in tgt.itertuples():
            ax.errorbar(_year_mid(row.year), row.target, yerr=3, fmt="D", color="#e76f51", capsize=4,
                        label=f"Target ('{row.target_set}' set) ± 3 pp" if row.Index == tgt.index[0] else None)
            ax.annotate(f"{row.target:.1f}% vs {row.simulated:.1f}%", (_year_mid(row.year), row.target),
                        textcoords="offset points", xytext=(6, -14), fontsize=8)
        ax.set_title(SERIES_NAMES[series])
        percent_axis(ax, 100)
        fixed_scale(ax, 100 * ts[series], RUN_SCALES[series])
    _finish(fig, axes, title, path, events, legend_on=axes[1:])     # the same entries in both: one legend


def institutions(inst: pd.DataFrame, path: Path, title: str, events=()) -> None:
    """Banks' shares of primary customers; platforms' active users as a share of all customers."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 5.2))
    for ax, kind, label in ((axes[0], "bank", "Share of primary bank customers (%)"),
                            (axes[1], "platform", "Active platform users, share of all customers (%)")):
        part = inst[inst["kind"] == kind]
        for name, g in part.groupby("label", sort=False):
            ax.plot(_dates(g), 100 * g["share"], label=name)
        ax.set_ylabel(label)
        ax.set_title("Banks" if kind == "bank" else "Platforms")
        percent_axis(ax, 100)
        fixed_scale(ax, 100 * part["share"], RUN_SCALES[kind])
    _finish(fig, axes, title, path, events, below=True)


def adoption(ts: pd.DataFrame, path: Path, title: str, events=()) -> None:
    """Digital adoption (any channel but the counter) by age band and by area; savings by holder."""
    fig, axes = plt.subplots(1, 3, figsize=(15, 5))
    d = _dates(ts)
    for band in AGE_BANDS:
        key = band.replace("-", "_").replace("+", "plus")
        axes[0].plot(d, 100 * ts[f"digital_share_age_{key}"], label=f"Age {band}")
    for area in ("urban", "rural"):
        axes[1].plot(d, 100 * ts[f"digital_share_{area}"], label=area.capitalize())
    axes[0].set_title("Digital adoption by age band")
    axes[1].set_title("Digital adoption by area")
    for ax in axes[:2]:
        ax.set_ylabel("Percent of the group off the counter")
        ax.set_ylim(0, 100)
        percent_axis(ax, 100)
    axes[2].plot(d, ts["balance_platform_mmf"] / 1e3, color=CHANNEL_COLOURS["platform"])
    axes[2].set_title("Platform money-market fund balances")
    axes[2].set_ylabel("RMB trillion")
    _finish(fig, axes, title, path, events, below=True)


def draw_all(ts: pd.DataFrame, inst: pd.DataFrame, fit: pd.DataFrame, folder: Path, title: str) -> list[Path]:
    folder = Path(folder)
    paths = [folder / f for f in ("channels.png", "targets.png", "institutions.png", "adoption.png")]
    events = policy_events(ts)
    channels(ts, fit, paths[0], title, events)
    targets(ts, fit, paths[1], title, events)
    institutions(inst, paths[2], title, events)
    adoption(ts, paths[3], title, events)
    return paths
