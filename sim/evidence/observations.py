"""Every fact the model is compared with (data/observations.csv), beside what a run simulates.

The project keeps its own copy of the shared observations; nothing reads `../shared` at
run time. Each series the model can produce has a rule for reading it from a run's
tables and a tolerance for calling it fitted:

| series | simulated as | fitted when |
|---|---|---|
| off_counter_rate, mobile_value_share | the yearly ratio (percent) | within 3 pp |
| offcounter_value_tn | the yearly off-counter value, retail and corporate | within 10 % |
| mobile_payment_users_m | December's `mobile_payers_m` | within 15 % |
| yuebao_aum_bn, yuebao_users_m | December's Alipay fund `balance`, wallet `holders` | within 25 % |
| icbc_mobile_customers_m | ICBC's app `holders` (registered) in that month (`banks=named`) | within 25 % |
| icbc_customers_m | ICBC's `account_holders` in December of that year (`banks=named`) | within 25 % |
| boc_mobile_mau_m, citic_mobile_mau_m | the bank's app `active_users` (`banks=named`) | within 25 % |
| boc_mobile_value_tn | BOC's yearly `mobile_value` (`banks=named`) | within 25 % |
| boc_retail_offcounter_value_tn | BOC's yearly `offcounter_value` (`banks=named`) | within 25 % |
| primary_bank_switching | the yearly sum of `churn_rate` (percent), each year | inside the range |

The corporate part of `offcounter_value_tn` is exogenous and fitted to those two figures
(`market.corporate_offcounter_value_tn`), so they check the retail part only through the
path between them. Series the model has no counterpart for (branch counts,
logins, payment-market shares) are listed with no simulated value; an alternative figure
(the association's 2013 off-counter rate, fitted by `target_set=cba`) is shown, not judged,
unless the runs' target set is 'cba': then the seed's figure is the one shown.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

OBSERVATIONS_CSV = Path(__file__).resolve().parents[2] / "data" / "observations.csv"
YEARLY = ("off_counter_rate", "mobile_value_share")
BANK_FIGURES = {"icbc_mobile_customers_m": ("icbc", "holders"), "icbc_customers_m": ("icbc", "account_holders"), "boc_mobile_mau_m": ("boc", "active_users"),
                "citic_mobile_mau_m": ("citic", "active_users")}
TOLERANCE = {"off_counter_rate": ("pp", 3.0), "mobile_value_share": ("pp", 3.0),
             "mobile_payment_users_m": ("relative", 0.15), "yuebao_aum_bn": ("relative", 0.25),
             "yuebao_users_m": ("relative", 0.25), "icbc_mobile_customers_m": ("relative", 0.25),
             "icbc_customers_m": ("relative", 0.25),
             "boc_mobile_mau_m": ("relative", 0.25), "citic_mobile_mau_m": ("relative", 0.25),
             "boc_mobile_value_tn": ("relative", 0.25), "boc_retail_offcounter_value_tn": ("relative", 0.25),
             "offcounter_value_tn": ("relative", 0.10), "primary_bank_switching": ("range", None)}
BANK_VALUES = {"boc_mobile_value_tn": ("boc", "mobile_value"),
               "boc_retail_offcounter_value_tn": ("boc", "offcounter_value")}


REQUIRED = ("series", "date", "value", "unit", "source", "status")


def load_observations(path: Path = OBSERVATIONS_CSV) -> pd.DataFrame:
    """The observations, checked: every column the comparison reads, and a finite number (or, for a
    range, 'low..high') wherever a series is judged; ConfigError naming the file, row and value."""
    from sim.config import ConfigError
    table = pd.read_csv(path, dtype={"date": str, "value": str})
    missing = [c for c in REQUIRED if c not in table.columns]
    if missing:
        raise ConfigError(f"{path}: columns", list(table.columns), f"the columns {list(REQUIRED)} ({missing[0]} is missing)")
    for o in table.itertuples():
        if o.series not in TOLERANCE:
            continue
        parts = str(o.value).split("..") if TOLERANCE[o.series][0] == "range" else [str(o.value)]
        try:
            ok = all(np.isfinite(float(v)) for v in parts) and len(parts) == (2 if len(parts) > 1 else 1)
        except ValueError:
            ok = False
        if not ok:
            raise ConfigError(f"{path}: {o.series} {o.date}", o.value,
                              "a finite number" + (" range low..high" if len(parts) > 1 else ""))
    return table


def simulated(series: str, date: str, ts: pd.DataFrame, inst: pd.DataFrame) -> float | None:
    """The run's value for one observation, or None where the run cannot produce it."""
    return RunView(ts, inst).value(series, date)


class RunView:
    """One run's tables, with what the observations read (month labels, the yearly table) computed once:
    a calibration reads some 30 observations from each of thousands of runs."""

    def __init__(self, ts: pd.DataFrame, inst: pd.DataFrame):
        self.ts, self.inst = ts, inst
        self.months = ts["date"].astype(str).str[:7]
        self._yearly: pd.DataFrame | None = None
        self._inst_months: pd.Series | None = None

    @property
    def yearly(self) -> pd.DataFrame:
        if self._yearly is None:
            from sim.writers.metrics import yearly
            self._yearly = yearly(self.ts.assign(date=self.months)).set_index("year")
        return self._yearly

    @property
    def inst_months(self) -> pd.Series:
        if self._inst_months is None:
            self._inst_months = self.inst["date"].astype(str).str[:7]
        return self._inst_months

    def value(self, series: str, date: str) -> float | None:
        """The run's value for one observation, or None where the run cannot produce it."""
        if series in (*YEARLY, "offcounter_value_tn"):
            yr, year = self.yearly, int(date)
            scale = 100 if series in YEARLY else 1                      # ratios in percent, values in RMB tn
            return scale * float(yr.loc[year, series]) if year in yr.index and yr.loc[year, "months"] == 12 else None
        if series == "mobile_payment_users_m":
            row = self.ts[self.months == date]
            return float(row["mobile_payers_m"].iloc[0]) if len(row) else None
        if series in ("yuebao_aum_bn", "yuebao_users_m"):
            return self._institution("alipay", "balance" if series == "yuebao_aum_bn" else "holders", date)
        if series in BANK_FIGURES:
            return self._institution(*BANK_FIGURES[series], date if len(date) > 4 else f"{date}-12")
        if series in BANK_VALUES:
            bank, column = BANK_VALUES[series]
            rows = self.inst[(self.inst["institution"] == bank) & (self.inst_months.str[:4] == date)]
            return float(rows[column].sum()) / 1e3 if len(rows) == 12 else None
        return None

    def _institution(self, name: str, column: str, date: str) -> float | None:
        rows = self.inst[(self.inst["institution"] == name) & (self.inst_months == date)]
        return float(rows[column].iloc[0]) if len(rows) else None


def yearly_switching(ts: pd.DataFrame) -> pd.Series:
    """Percent of adults changing primary bank in each whole year."""
    years = ts["date"].astype(str).str[:4]
    full = years.map(years.value_counts()) == 12
    return 100 * ts[full]["churn_rate"].groupby(years[full]).sum()


def off_by(series: str, value: float, observed: float = np.nan, low: float = np.nan, high: float = np.nan) -> float:
    """How far `value` is from an observation in units of its tolerance (TOLERANCE); at most 1 is
    fitted. 'pp': |error| / points; 'relative': |value / observed - 1| / share; 'range': distance
    from the range's middle over its half-width. The one rule the fit command, the calibration's
    presets and its predictive checks judge by."""
    kind, tol = TOLERANCE[series]
    if kind == "range":
        return abs(value - (low + high) / 2) / ((high - low) / 2)
    return abs(value - observed) / tol if kind == "pp" else abs(value / observed - 1) / tol


def switching_by_year(runs: list[tuple[pd.DataFrame, pd.DataFrame]]) -> pd.Series:
    """Percent of adults changing primary bank in each whole year, the mean over `runs`."""
    return pd.concat([yearly_switching(ts) for ts, _ in runs], axis=1).mean(axis=1)


def compare(runs: list[tuple[pd.DataFrame, pd.DataFrame]], observations: pd.DataFrame | None = None,
            target_set: str = "seed") -> pd.DataFrame:
    """Each observation beside the mean and range over `runs` of (timeseries, institutions), with
    the tolerance and whether the mean is within it. Of a conflicting pair (the 2013 off-counter
    rate), `target_set` says which is judged: 'seed' the seed's figure, 'cba' the association's
    (the row whose note calls it the alternative); the other is shown, not judged."""
    obs = load_observations() if observations is None else observations
    contested = {(o.series, str(o.date)) for o in obs.itertuples() if "alternative" in str(o.note)}
    rows, views = [], [RunView(ts, inst) for ts, inst in runs]
    for o in obs.itertuples():
        kind, tol = TOLERANCE.get(o.series, (None, None))
        if o.series == "primary_bank_switching":
            low, high = (float(v) for v in o.value.split(".."))
            per_year = switching_by_year(runs)
            fitted = all(off_by(o.series, v, low=low, high=high) <= 1 for v in per_year)
            rows.append(dict(series=o.series, date="each year", observed=o.value, unit=o.unit,
                             simulated=float(per_year.mean()), low=float(per_year.min()), high=float(per_year.max()),
                             tolerance=f"{low:g}-{high:g}", fitted=fitted, status=o.status))
            continue
        if (o.series, str(o.date)) in contested and ("alternative" in str(o.note)) != (target_set == "cba"):
            kind = None                           # the other set's figure of a conflicting pair
        values = [view.value(o.series, str(o.date)) for view in views]
        values = [v for v in values if v is not None]
        row = dict(series=o.series, date=o.date, observed=o.value, unit=o.unit, simulated=np.nan, low=np.nan,
                   high=np.nan, tolerance="", fitted=None, status=o.status)
        if values and kind is None:
            row.update(simulated=float(np.mean(values)), low=min(values), high=max(values),
                       tolerance="alternative figure (not fitted)")
        if values and kind is not None:
            mean, observed = float(np.mean(values)), float(o.value)
            row.update(simulated=mean, low=min(values), high=max(values), fitted=off_by(o.series, mean, observed) <= 1,
                       tolerance=f"±{tol:g} pp" if kind == "pp" else f"±{100 * tol:g} %")
        rows.append(row)
    return pd.DataFrame(rows)
