"""Figures of one run, drawn from its tables (never from the model)."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from .config import AGE_BANDS, CHANNELS  # noqa: E402
from .metrics import yearly  # noqa: E402
from .outputs import atomic_write  # noqa: E402

CHANNEL_COLOURS = {"branch": "#8c6d31", "pc": "#6b8ebf", "mobile": "#2a9d8f", "platform": "#e76f51"}
CHANNEL_NAMES = {"branch": "Branch counter", "pc": "PC online banking", "mobile": "Bank mobile app",
                 "platform": "Platform app (Alipay, WeChat Pay, JD)"}
SERIES_NAMES = {"off_counter_rate": "Off-counter rate (share of transactions)",
                "mobile_value_share": "Mobile share of off-counter value"}


def _dates(df: pd.DataFrame) -> pd.Series:
    return pd.to_datetime(df["date"], format="%Y-%m")


def _finish(fig, ax_list, title: str, path: Path) -> None:
    for ax in ax_list:
        ax.xaxis.set_major_locator(mdates.YearLocator())
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))
        ax.grid(alpha=0.3)
    fig.text(0.01, 0.005, title, fontsize=8, color="0.35", ha="left", va="bottom")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    atomic_write(path, lambda p: fig.savefig(p, dpi=130, format="png"))   # a unique temporary name
    plt.close(fig)


def _year_mid(year: int) -> pd.Timestamp:
    return pd.Timestamp(year=int(year), month=7, day=1)


def channels(ts: pd.DataFrame, fit: pd.DataFrame, path: Path, title: str) -> None:
    """Customers by active channel (stacked), with the transaction off-counter rate and its seed targets."""
    fig, ax = plt.subplots(figsize=(10, 5.5))
    d = _dates(ts)
    ax.stackplot(d, *[100 * ts[f"share_{c}"] for c in CHANNELS], labels=[CHANNEL_NAMES[c] for c in CHANNELS],
                 colors=[CHANNEL_COLOURS[c] for c in CHANNELS], alpha=0.85)
    ax.plot(d, 100 * ts["off_counter_rate"], color="black", lw=1.5, label="Off-counter rate, transactions (monthly)")
    tgt = fit[fit["series"] == "off_counter_rate"]
    if len(tgt):
        ax.scatter([_year_mid(y) for y in tgt["year"]], tgt["target"], marker="D", s=60, color="white",
                   edgecolor="black", zorder=5, label=f"Target off-counter rate ('{tgt['target_set'].iloc[0]}' set, yearly)")
    ax.set_ylim(0, 100)
    ax.set_ylabel("Percent of customers / of transactions")
    ax.set_title("Customers by active channel, and the off-counter rate")
    ax.legend(loc="lower left", fontsize=8, framealpha=0.9)
    _finish(fig, [ax], title, path)


def targets(ts: pd.DataFrame, fit: pd.DataFrame, path: Path, title: str) -> None:
    """Off-counter rate and mobile value share: monthly, yearly, and the seed's figures."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    yr = yearly(ts)
    yr = yr[yr["months"] == 12]
    for ax, series in zip(axes, ("off_counter_rate", "mobile_value_share")):
        ax.plot(_dates(ts), 100 * ts[series], color="0.6", lw=1, label="Simulated, monthly")
        ax.plot([_year_mid(y) for y in yr["year"]], 100 * yr[series], "o-", color="#264653", label="Simulated, yearly")
        tgt = fit[fit["series"] == series]
        for row in tgt.itertuples():
            ax.errorbar(_year_mid(row.year), row.target, yerr=3, fmt="D", color="#e76f51", capsize=4,
                        label=f"Target ('{row.target_set}' set) ± 3 pp" if row.Index == tgt.index[0] else None)
            ax.annotate(f"{row.target:.1f}% vs {row.simulated:.1f}%", (_year_mid(row.year), row.target),
                        textcoords="offset points", xytext=(6, -14), fontsize=8)
        ax.set_title(SERIES_NAMES[series])
        ax.set_ylabel("Percent")
        ax.legend(fontsize=8, loc="upper left")
    _finish(fig, axes, title, path)


def institutions(inst: pd.DataFrame, path: Path, title: str) -> None:
    """Banks' shares of primary customers; platforms' active users as a share of all customers."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    for ax, kind, label in ((axes[0], "bank", "Share of primary bank customers (%)"),
                            (axes[1], "platform", "Active platform users, share of all customers (%)")):
        part = inst[inst["kind"] == kind]
        for name, g in part.groupby("label", sort=False):
            ax.plot(_dates(g), 100 * g["share"], label=name)
        ax.set_ylabel(label)
        ax.set_title("Banks" if kind == "bank" else "Platforms")
        ax.legend(fontsize=8)
    _finish(fig, axes, title, path)


def adoption(ts: pd.DataFrame, path: Path, title: str) -> None:
    """Digital adoption (any channel but the counter) by age band and by area; savings by holder."""
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.3))
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
        ax.legend(fontsize=8)
    axes[2].plot(d, ts["balance_platform_mmf"] / 1e3, color=CHANNEL_COLOURS["platform"])
    axes[2].set_title("Platform money-market fund balances")
    axes[2].set_ylabel("RMB trillion")
    _finish(fig, axes, title, path)


def draw_all(ts: pd.DataFrame, inst: pd.DataFrame, fit: pd.DataFrame, folder: Path, title: str) -> list[Path]:
    folder = Path(folder)
    paths = [folder / f for f in ("channels.png", "targets.png", "institutions.png", "adoption.png")]
    channels(ts, fit, paths[0], title)
    targets(ts, fit, paths[1], title)
    institutions(inst, paths[2], title)
    adoption(ts, paths[3], title)
    return paths
