"""The figures a board asks for first: a run's last-year values and its fit to the targets.

One definition serves the run summary (`experiments.run` prints it before the folder),
the comparison (`lab.comparison` computes each per replicate and pairs them) and
the report. Rates measured as yearly ratios (off-counter rate, mobile value share) are
taken over the last full year; stocks (customers by channel, balances) at the last
month; monthly flows (churn) as the mean over the last twelve months.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sim.writers.metrics import yearly


@dataclass(frozen=True)
class Figure:
    """A headline figure: the column it comes from, how it is summarised, and how it is shown."""
    column: str
    label: str
    how: str            # "year" (ratio of the last full year's sums), "end" (last month), "mean12", "sum12"
                        # (mean or sum of the last twelve months) or "share_of_tx_total" (of the year's tx_total)
    percent: bool       # a fraction shown in percent (differences in percentage points)
    unit: str = ""      # for figures not shown in percent


HEADLINE = (
    Figure("off_counter_rate", "Off-counter rate (transactions)", "year", True),
    Figure("mobile_value_share", "Mobile share of off-counter value", "year", True),
    Figure("share_mobile", "Most-used channel of the month: bank app", "end", True),
    Figure("share_platform", "Most-used channel of the month: a wallet", "end", True),
    Figure("share_branch", "Most-used channel of the month: the counter", "end", True),
    Figure("multihoming_share", "Using both a bank app and a wallet in the month", "end", True),
    Figure("mobile_payers_m", "Adults who paid by phone in the month", "end", False, "million"),
    Figure("churn_rate", "Bank churn per month", "mean12", True),
    Figure("balance_platform_mmf", "Platform money-fund balances", "end", False, "RMB bn"),
    Figure("deposits_bank", "Bank deposits", "end", False, "RMB bn"),
)


# What `experiments.run` prints (issue 24): each figure the way a bank reports it, its definition in its
# name. The compare report keeps HEADLINE, whose "most-used channel of the month" figures say so in their names.
RUN_SUMMARY = (
    Figure("off_counter_rate", "Off-counter rate (bank transactions not at a counter, in the year)", "year", True),
    Figure("mobile_value_share", "Mobile share of off-counter value (bank app, in the year)", "year", True),
    Figure("holders_mobile_m", "Bank app, registered users (adults holding their primary bank's app)", "end", False,
           "million"),
    Figure("users_mobile_m", "Bank app, monthly active users (a bank-app transaction in the month)", "end", False,
           "million"),
    Figure("users_pc_m", "PC banking, monthly active users (a PC transaction in the month)", "end", False,
           "million"),
    Figure("users_platform_m", "Wallets, monthly active users (a wallet transaction in the month)", "end", False,
           "million"),
    *(Figure(f"tx_{place}", f"Share of bank transactions in the year: {name}", "share_of_tx_total", True)
      for place, name in (("counter", "branch counter"), ("self_service", "self-service machines"),
                          ("pc", "PC banking"), ("mobile", "bank app"),
                          ("platform_link", "wallet payments drawn on a bank account"))),
    Figure("churn_rate", "Primary-bank switching (switches in 12 months, % of adults)", "sum12", True),
    Figure("deposits_bank", "Bank deposits", "end", False, "RMB bn"),
    Figure("balance_platform_mmf", "Platform money-fund balances", "end", False, "RMB bn"),
)


def last_full_year(ts: pd.DataFrame) -> int:
    """The last calendar year the table covers with all twelve months (else its last year)."""
    yr = yearly(ts)
    full = yr[yr["months"] == 12]
    return int((full if len(full) else yr)["year"].max())


def value(ts: pd.DataFrame, figure: Figure) -> float:
    """One run's value of a headline figure (a fraction for percent figures)."""
    if figure.how == "year":
        yr = yearly(ts).set_index("year")
        return float(yr.loc[last_full_year(ts), figure.column])
    if figure.how == "mean12":
        return float(ts[figure.column].tail(12).mean())
    if figure.how == "sum12":
        return float(ts[figure.column].tail(12).sum())
    if figure.how == "share_of_tx_total":
        year = ts[ts["date"].astype(str).str[:4] == str(last_full_year(ts))]
        total = float(year["tx_total"].sum())
        return float(year[figure.column].sum()) / total if total > 0 else float("nan")
    return float(ts[figure.column].iloc[-1])


def values(ts: pd.DataFrame) -> dict[str, float]:
    """Every headline figure the table has, by column."""
    return {f.column: value(ts, f) for f in HEADLINE if f.column in ts}


def show(figure: Figure, x: float, difference: bool = False) -> str:
    """A value as a board reads it: percent (or points for a difference), else its unit."""
    if figure.percent:
        return f"{100 * x:+.2f} pp" if difference else f"{100 * x:.2f} %"
    return f"{x:+,.1f} {figure.unit}" if difference else f"{x:,.1f} {figure.unit}"


def when(ts: pd.DataFrame, figure: Figure) -> str:
    """When a figure is measured: the year, the last month, or the last twelve months."""
    last = str(ts["date"].iloc[-1])[:7]
    year = last_full_year(ts)
    months = int(yearly(ts).set_index("year").loc[year, "months"])
    year_text = str(year) if months == 12 else f"{year}, {months} months"
    twelve = f"{min(12, len(ts))} months to {last}"
    return {"year": year_text, "share_of_tx_total": year_text, "end": last, "mean12": twelve,
            "sum12": twelve}[figure.how]


def summary(ts: pd.DataFrame, fit: pd.DataFrame | None = None) -> list[str]:
    """Lines for a terminal: the fit to each target, then the headline figures."""
    lines = []
    if fit is not None and len(fit):
        lines.append("fit to the targets: " + "; ".join(
            f"{r.series.replace('_', ' ')} {r.year} {r.simulated:.1f} % (target {r.target:.1f}, {r.residual:+.1f} pp)"
            for r in fit.itertuples()))
    lines += [f"{f.label} ({when(ts, f)}): {show(f, value(ts, f))}" for f in RUN_SUMMARY if _has(ts, f)]
    return lines


def _has(ts: pd.DataFrame, figure: Figure) -> bool:
    return figure.column in ts and (figure.how != "share_of_tx_total" or "tx_total" in ts)


def run_summary(folders: list[Path], posterior: str = "") -> list[str]:
    """`summary` of stored run folders; with several replicates, each figure is their mean, marked as a mean
    over seeds only or, with `posterior` (a calibration's name), over seeds and parameter draws."""
    from lab.posterior import replicates_note
    tables = [pd.read_parquet(Path(f) / "timeseries.parquet") for f in folders]
    fits = [pd.read_csv(Path(f) / "targets_fit.csv") for f in folders]
    if not tables:
        return []
    fit = fits[0]
    if len(fits) > 1 and len(fit):
        fit = fit.assign(simulated=sum(f["simulated"] for f in fits) / len(fits))
        fit = fit.assign(residual=fit["simulated"] - fit["target"])
    lines = summary(tables[0], fit)
    if len(tables) > 1:
        means = {f.column: sum(value(t, f) for t in tables) / len(tables) for f in RUN_SUMMARY if _has(tables[0], f)}
        lines = lines[:1 if len(fit) else 0] + [f"{f.label} ({when(tables[0], f)}): {show(f, means[f.column])}"
                                                 f" {replicates_note(posterior, len(tables))}" for f in RUN_SUMMARY
                                                 if f.column in means]
    return lines
