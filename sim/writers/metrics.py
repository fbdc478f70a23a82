"""What is measured each month, and the yearly figures compared with the targets.

Definitions follow the seeds (`004`): the off-counter rate is off-counter transactions
over all bank transactions; mobile share is mobile-banking transaction value over
all off-counter transaction value, which in the seed's statistics includes corporate
e-banking. The simulated customers are retail, so the denominator adds the exogenous
corporate value (`market.corporate_offcounter_value_tn`, `corporate_offcounter_value`);
`retail_mobile_value_share` is the same ratio over retail value alone. Corporate
transactions count in value only, not in the off-counter rate (assumption: they are few
beside retail's billions). Machines in branches count as off-counter. Yearly rates are
ratios of yearly sums, not means of monthly rates.

Units are declared once, with every column, in `sim/writers/schema.py`.
"""
from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from sim.config import AGE_BANDS, LEVER_FIELDS, month_label
from sim.engine.channels import (BRANCH, CHANNELS, FIRST_WALLET, MOBILE, MOBILE_ITEM, MOBILE_PLACE, N_CHANNELS,
                                 OFF_COUNTER, PC, PC_ITEM, PLACES, PLATFORM)
from sim.engine.records import ChoiceOutcome

OFF_COUNTER_PLACES = list(OFF_COUNTER)


class BankAccounts(NamedTuple):
    """The banks' month as booked and decided, one entry a bank."""
    revenue: np.ndarray               # RMB bn this month
    cost: np.ndarray
    profit: np.ndarray
    marketing: np.ndarray             # RMB bn a year
    digital_investment: np.ndarray    # RMB bn a year
    branches: list                    # as the banks hold them
    smart_branches: np.ndarray
    app_quality: np.ndarray
    deposit_rate: np.ndarray          # percent a year it pays on deposits
    premium: np.ndarray               # percentage points over the benchmark it pays (as the ceiling allows)
    product_yield: np.ndarray         # its balance product's yield, percent a year; nan while it has none
    product_balance: np.ndarray       # RMB bn in its balance product
    interest_margin: np.ndarray       # RMB bn this month
    fee_income: np.ndarray
    product_fees: np.ndarray
    spend_multiplier: np.ndarray      # times the plan's marketing and digital investment
    partner: list                     # partner platform's name, "" for none


class PlatformBooks(NamedTuple):
    """The platforms' month as booked and decided, one entry a platform."""
    revenue: np.ndarray               # RMB bn this month
    cost: np.ndarray
    profit: np.ndarray
    marketing: np.ndarray             # RMB bn a year
    subsidy: np.ndarray               # RMB bn a year
    fund_yield: np.ndarray            # percent a year
    spread: np.ndarray                # its fund's spread over the market money-fund yield, percentage points
    payment_fees: np.ndarray          # RMB bn this month
    fund_fees: np.ndarray
    float_income: np.ndarray
    other_income: np.ndarray
    spend_multiplier: np.ndarray      # times the plan's subsidies and marketing


class MonthRecord(NamedTuple):
    """One month as the recorder keeps it, at real scale where it says so."""
    month: int                        # months since year 0
    choice: ChoiceOutcome
    tx_counts: np.ndarray             # (bank, place) transactions, real scale
    tx_values: np.ndarray             # (bank, place) RMB, real scale
    inflow: float                     # RMB, real scale
    tally: Any                        # customers.Tally at the month's end, per simulated customer
    mmf_yield: float                  # the market money-fund yield, percent
    policy: Any                       # regulation.Policy in force
    banks: BankAccounts
    platforms: PlatformBooks



def corporate_offcounter_value_bn(by_year: dict, dates: list[str]) -> np.ndarray:
    """Each month's corporate off-counter value (RMB bn): a twelfth of its year's value, which is
    log-linear in the year through the given ones (`market.corporate_offcounter_value_tn`),
    extended along the nearest two given years' trend (a single year holds flat)."""
    years = np.array(sorted(int(y) for y in by_year), dtype=float)
    logs = np.log([float(by_year[str(int(y))]) for y in years])
    wanted = np.array([int(d[:4]) for d in dates], dtype=float)
    if years.size == 1:
        return np.full(wanted.size, np.exp(logs[0]) * 1e3 / 12)
    inner = np.interp(wanted, years, logs)
    low = logs[0] + (wanted - years[0]) * (logs[1] - logs[0]) / (years[1] - years[0])
    high = logs[-1] + (wanted - years[-1]) * (logs[-1] - logs[-2]) / (years[-1] - years[-2])
    path = np.where(wanted < years[0], low, np.where(wanted > years[-1], high, inner))
    return np.exp(path) * 1e3 / 12


def _age_label(band: str) -> str:
    return band.replace("-", "_").replace("+", "plus")


_TX_COLUMNS = [f"tx_{p}" for p in PLACES]
_VALUE_COLUMNS = [f"value_{p}" for p in PLACES]
_SHARE_COLUMNS = [f"share_{ch}" for ch in CHANNELS]
_CUSTOMER_COLUMNS = [f"customers_{ch}" for ch in CHANNELS]
_PREFERRING_COLUMNS = [f"preferring_{ch}" for ch in CHANNELS]
_FLOW_COLUMNS = [(f"flow_{a}_to_{b}", i, j) for i, a in enumerate(CHANNELS) for j, b in enumerate(CHANNELS) if i != j]
_GROUP_COLUMNS = [(f"digital_share_{g}", f"platform_share_{g}")
                  for g in [f"age_{_age_label(band)}" for band in AGE_BANDS] + ["urban", "rural"]]


class MetricsRecorder:
    """Collects one row per month for the market and one per month and institution.

    Each month keeps its raw figures (the tally, the transactions, the institutions'
    accounts); the tables are built from all months at once, column by column, when asked
    for. This keeps the monthly step free of a hundred scalar conversions.
    """

    def __init__(self, model):
        """`model` is the `MarketModel` recorded: its banks, platforms, customers and policy are read."""
        self.model = model
        self._months: list[MonthRecord] = []
        self._tables: dict[str, tuple[int, object]] = {}      # table name -> (months it covers, table)

    @property
    def months_recorded(self) -> int:
        return len(self._months)

    def record(self, outcome: ChoiceOutcome, counts: np.ndarray, values: np.ndarray, inflow: float, tally) -> None:
        """Keep one month: its choices, transactions (real scale), inflow and end-of-month tally."""
        m = self.model
        column = lambda values: np.array(values, dtype=float)  # noqa: E731
        banks = BankAccounts(
            revenue=column([b.revenue_bn for b in m.banks]), cost=column([b.cost_bn for b in m.banks]),
            profit=column([b.profit_bn for b in m.banks]), marketing=column([b.marketing_bn for b in m.banks]),
            digital_investment=column([b.digital_investment_bn for b in m.banks]),
            branches=[b.branches for b in m.banks], smart_branches=column([b.smart_branches for b in m.banks]),
            app_quality=column([b.app_quality for b in m.banks]), deposit_rate=column([b.balance_rate for b in m.banks]),
            premium=column([b.premium_paid for b in m.banks]), product_yield=column([b.product_yield for b in m.banks]),
            product_balance=column([b.product_balance_rmb / 1e9 for b in m.banks]),
            interest_margin=column([b.books.interest_margin for b in m.banks]),
            fee_income=column([b.books.fee_income for b in m.banks]),
            product_fees=column([b.books.product_fees for b in m.banks]),
            spend_multiplier=column([b.spend_multiplier for b in m.banks]), partner=[b.partner or "" for b in m.banks])
        platforms = PlatformBooks(
            revenue=column([p.revenue_bn for p in m.platforms]), cost=column([p.cost_bn for p in m.platforms]),
            profit=column([p.profit_bn for p in m.platforms]), marketing=column([p.marketing_bn for p in m.platforms]),
            subsidy=column([p.subsidy_bn for p in m.platforms]), fund_yield=column([p.mmf_yield for p in m.platforms]),
            spread=column([p.spread for p in m.platforms]),
            payment_fees=column([p.books.payment_fees for p in m.platforms]),
            fund_fees=column([p.books.fund_fees for p in m.platforms]),
            float_income=column([p.books.float_income for p in m.platforms]),
            other_income=column([p.books.other_income for p in m.platforms]),
            spend_multiplier=column([p.spend_multiplier for p in m.platforms]))
        self._months.append(MonthRecord(month=m.month, choice=outcome, tx_counts=counts, tx_values=values, inflow=inflow,
                                        tally=tally, mmf_yield=m.market_mmf_yield, policy=m.policy, banks=banks,
                                        platforms=platforms))

    def _table(self, name: str, build):
        """A table built from the months so far, kept until another month is recorded."""
        if name not in self._tables or self._tables[name][0] != len(self._months):
            self._tables[name] = (len(self._months), build())
        return self._tables[name][1]

    def timeseries(self) -> pd.DataFrame:
        return self._table("timeseries", self._timeseries).copy()

    def institutions(self) -> pd.DataFrame:
        return self._table("institutions", self._institutions).copy()

    @property
    def rows(self) -> list[dict]:
        """The market table as one dict per month."""
        return self._table("rows", lambda: self._table("timeseries", self._timeseries).to_dict("records"))

    def columns(self, table: str) -> dict[str, object]:
        """The months so far as {column: values} for `table` ("timeseries" or "institutions"), without a
        DataFrame: a study turns them straight into Arrow tables (lab/study.py)."""
        build = {"timeseries": self._timeseries_columns, "institutions": self._institutions_columns}[table]
        return self._table(f"{table}_columns", build)

    def _stack(self, field: str) -> np.ndarray:
        """A field of every month's record, stacked: (month, ...)."""
        return np.array([getattr(month, field) for month in self._months])

    def _banks(self, field: str) -> np.ndarray:
        """A field of the banks' accounts, (month, bank)."""
        return np.array([getattr(month.banks, field) for month in self._months], dtype=float).reshape(len(self._months), -1)

    def _platforms(self, field: str) -> np.ndarray:
        """A field of the platforms' books, (month, platform)."""
        return np.array([getattr(month.platforms, field) for month in self._months],
                        dtype=float).reshape(len(self._months), -1)

    def _timeseries(self) -> pd.DataFrame:
        return pd.DataFrame(self.columns("timeseries")) if self._months else pd.DataFrame()

    def _institutions(self) -> pd.DataFrame:
        return pd.DataFrame(self.columns("institutions")) if self._months else pd.DataFrame()

    def _timeseries_columns(self) -> dict[str, object]:
        m, size, n = self.model, self.model.customers.size, len(self._months)
        millions = m.adults_per_customer / 1e6
        if n == 0:
            return {}
        outcomes = [month.choice for month in self._months]
        tallies = [month.tally for month in self._months]
        counts = np.stack([t.counts for t in tallies])                  # (month, channel, platform + 1, bank, segment)
        tx = self._stack("tx_counts").sum(axis=1) / 1e6                          # (month, place)
        val = self._stack("tx_values").sum(axis=1) / 1e9
        col: dict[str, object] = {"date": [month_label(month.month) for month in self._months],
                                  "step": np.arange(1, n + 1)}
        col["tx_total"], col["tx_offcounter"] = tx.sum(axis=1), tx[:, OFF_COUNTER_PLACES].sum(axis=1)
        col.update(zip(_TX_COLUMNS, tx.T))
        col["value_total"], col["value_offcounter"] = val.sum(axis=1), val[:, OFF_COUNTER_PLACES].sum(axis=1)
        col.update(zip(_VALUE_COLUMNS, val.T))
        corporate = corporate_offcounter_value_bn(m.cfg.market.corporate_offcounter_value_tn, col["date"])
        col["corporate_offcounter_value"] = corporate
        with np.errstate(divide="ignore", invalid="ignore"):
            col["off_counter_rate"] = np.where(col["tx_total"] > 0, col["tx_offcounter"] / col["tx_total"], np.nan)
            mobile = val[:, MOBILE_PLACE]
            col["mobile_value_share"] = mobile / (col["value_offcounter"] + corporate)
            col["retail_mobile_value_share"] = np.where(col["value_offcounter"] > 0,
                                                        mobile / col["value_offcounter"], np.nan)
        most_used = np.stack([t.portfolio.most_used_channel for t in tallies])    # (month, channel, bank, segment)
        by_channel = most_used.sum(axis=(2, 3))
        col.update(zip(_SHARE_COLUMNS, (by_channel / size).T))
        col.update(zip(_CUSTOMER_COLUMNS, (by_channel * millions).T))
        col.update(zip(_PREFERRING_COLUMNS, (counts.sum(axis=(2, 3, 4)) * millions).T))
        col["deposits_bank"] = np.array([t.deposits.sum() for t in tallies]) * m.adults_per_customer / 1e9
        col["balance_platform_mmf"] = np.array([t.funds.sum() for t in tallies]) * m.adults_per_customer / 1e9
        col["income_inflow"] = self._stack("inflow") / 1e9
        col["hhi_banks"] = 1e4 * ((counts.sum(axis=(1, 2, 4)) / size) ** 2).sum(axis=1)
        users = counts[:, PLATFORM, 1:].sum(axis=(2, 3))
        col["hhi_platforms"] = 1e4 * ((users / np.maximum(users.sum(axis=1, keepdims=True), 1)) ** 2).sum(axis=1)
        col["branches_total"] = np.array([sum(month.banks.branches) for month in self._months])
        switches = np.array([o.bank_switches for o in outcomes])
        col["reconsidered"] = np.array([o.reconsidered for o in outcomes]) * millions
        col["bank_switches"] = switches * millions
        col["churn_rate"] = switches / size
        col["platform_switches"] = np.array([o.platform_switches for o in outcomes]) * millions
        flows = np.stack([o.channel_flows for o in outcomes]) * millions
        col.update((name, flows[:, i, j]) for name, i, j in _FLOW_COLUMNS)

        rural, urban = 0, 1                  # segment = age band x 2 + urban
        by_seg = most_used.sum(axis=2).transpose(0, 2, 1).reshape(n, len(AGE_BANDS), 2, N_CHANNELS)
        groups = np.concatenate([by_seg.sum(axis=2), by_seg[:, :, urban].sum(axis=1)[:, None],
                                 by_seg[:, :, rural].sum(axis=1)[:, None]], axis=1)     # (month, group, channel)
        in_group = np.maximum(groups.sum(axis=2), 1)
        digital_channels = [c for c in range(N_CHANNELS) if c != BRANCH]
        for g, (digital, platform) in enumerate(_GROUP_COLUMNS):
            col[digital] = groups[:, g, digital_channels].sum(axis=1) / in_group[:, g]
            col[platform] = groups[:, g, PLATFORM] / in_group[:, g]
        portfolios = [t.portfolio for t in tallies]
        holders = np.stack([p.holders for p in portfolios]).sum(axis=2)     # (month, item)
        users = np.stack([p.users for p in portfolios]).sum(axis=2)
        count = lambda field: np.array([getattr(p, field) for p in portfolios], dtype=float)  # noqa: E731
        col["holders_pc_m"], col["holders_mobile_m"] = holders[:, PC_ITEM] * millions, holders[:, MOBILE_ITEM] * millions
        col["holders_platform_m"] = count("wallet_holders") * millions
        col["users_pc_m"], col["users_mobile_m"] = users[:, PC_ITEM] * millions, users[:, MOBILE_ITEM] * millions
        col["users_platform_m"] = count("wallet_users") * millions
        col["multihoming_share"] = count("multihoming") / size
        col["mobile_payers_m"] = count("mobile_payers") * millions
        col["secondary_accounts_m"] = np.array([p.secondary.sum() for p in portfolios]) * millions
        col["secondary_opened_m"] = count("secondary_opened") * millions
        col["mmf_yield_market"] = self._stack("mmf_yield").astype(float)
        policies = [month.policy for month in self._months]
        for lever, f in LEVER_FIELDS.items():      # one column a lever, typed as its default
            values = [getattr(p, lever) for p in policies]
            if isinstance(f.default, str):
                col[f"policy_{lever}"] = values
            elif isinstance(f.default, bool):
                col[f"policy_{lever}"] = np.array(values, dtype=bool)
            else:                                   # "no cap" (null) stays numeric, as NaN
                col[f"policy_{lever}"] = np.array([np.nan if v is None else float(v) for v in values], dtype=float)
        return col

    def _institutions_columns(self) -> dict[str, object]:
        m, size, n = self.model, self.model.customers.size, len(self._months)
        if n == 0:
            return {}
        millions = m.adults_per_customer / 1e6
        dates = [month_label(month.month) for month in self._months]
        steps = np.arange(1, n + 1)
        tallies = [month.tally for month in self._months]
        counts = np.stack([t.counts for t in tallies])
        bank_customers = counts.sum(axis=(1, 2, 4))                      # (month, bank)
        bank_channel = np.stack([t.portfolio.most_used_channel for t in tallies]).sum(axis=3)   # (month, channel, bank)
        deposits = np.stack([t.deposits for t in tallies]) * (m.adults_per_customer / 1e9)
        tx = self._stack("tx_counts")                                              # (month, bank, place)
        offcounter = tx[:, :, OFF_COUNTER_PLACES].sum(axis=2) / np.maximum(tx.sum(axis=2), 1)
        users = counts[:, PLATFORM, 1:].sum(axis=(2, 3))          # (month, platform)
        holders = counts[:, :, 1:].sum(axis=(1, 3, 4))
        funds = np.stack([t.funds for t in tallies]) * (m.adults_per_customer / 1e9)
        held = np.stack([t.portfolio.holders for t in tallies]) * millions     # (month, item, bank)
        used = np.stack([t.portfolio.users for t in tallies]) * millions
        secondary = np.stack([t.portfolio.secondary for t in tallies]) * millions
        other_accounts = np.stack([t.portfolio.accounts for t in tallies]) * millions
        other_held = np.stack([t.portfolio.other_app_holders for t in tallies]) * millions
        other_used = np.stack([t.portfolio.other_app_users for t in tallies]) * millions
        nb, npl = len(m.banks), len(m.platforms)
        nan_banks, nan_platforms = np.full((n, nb), np.nan), np.full((n, npl), np.nan)
        # each column as (month, institution), banks then platforms, read month by month
        both = lambda bank_part, platform_part: np.concatenate([bank_part, platform_part], axis=1).ravel()  # noqa: E731
        banks_only = lambda a: both(a, nan_platforms)  # noqa: E731
        platforms_only = lambda a: both(nan_banks, a)  # noqa: E731
        each = lambda values: np.tile(np.array(values, dtype=object), n)  # noqa: E731
        return {
            "date": np.repeat(dates, nb + npl), "step": np.repeat(steps, nb + npl),
            "institution": each([i.name for i in [*m.banks, *m.platforms]]),
            "label": each([i.cfg.label or i.name for i in [*m.banks, *m.platforms]]),
            "kind": each(["bank"] * nb + ["platform"] * npl),
            "group": each([b.cfg.group for b in m.banks] + ["platform"] * npl),
            "customers": both(bank_customers, users) * millions,
            "share": both(bank_customers, users) / size,
            "branch_users": banks_only(bank_channel[:, BRANCH] * millions),
            "pc_users": banks_only(bank_channel[:, PC] * millions),
            "mobile_users": banks_only(bank_channel[:, MOBILE] * millions),
            "balance": both(deposits, funds), "off_counter_rate": banks_only(offcounter),
            "mobile_value": banks_only(self._stack("tx_values")[:, :, MOBILE_PLACE] / 1e9),
            "offcounter_value": banks_only(self._stack("tx_values")[:, :, OFF_COUNTER_PLACES].sum(axis=2) / 1e9),
            "revenue": both(self._banks("revenue"), self._platforms("revenue")),
            "cost": both(self._banks("cost"), self._platforms("cost")),
            "profit": both(self._banks("profit"), self._platforms("profit")),
            "marketing_per_year": both(self._banks("marketing"), self._platforms("marketing")),
            "digital_investment_per_year": banks_only(self._banks("digital_investment")),
            "branches": banks_only(self._banks("branches")), "smart_branches": banks_only(self._banks("smart_branches")),
            "app_quality": banks_only(self._banks("app_quality")),
            "rate_offered": both(self._banks("deposit_rate"), self._platforms("fund_yield")),
            "partner": [x for month in self._months for x in [*month.banks.partner, *[np.nan] * npl]],
            "account_holders": both(bank_customers * millions + other_accounts, holders * millions),
            "holders": both(held[:, MOBILE_ITEM] + other_held, held[:, FIRST_WALLET:].sum(axis=2)),
            "active_users": both(used[:, MOBILE_ITEM] + other_used, used[:, FIRST_WALLET:].sum(axis=2)),
            "pc_holders": banks_only(held[:, PC_ITEM]), "pc_active_users": banks_only(used[:, PC_ITEM]),
            "secondary_accounts": banks_only(secondary),
            "subsidy_per_year": platforms_only(self._platforms("subsidy")),
            "spend_multiplier": both(self._banks("spend_multiplier"), self._platforms("spend_multiplier")),
            "deposit_rate_premium": banks_only(self._banks("premium")),
            "balance_product_yield": banks_only(self._banks("product_yield")),
            "balance_product_balance": banks_only(self._banks("product_balance")),
            "fund_yield_spread": platforms_only(self._platforms("spread")),
            "interest_margin": banks_only(self._banks("interest_margin")),
            "fee_income": banks_only(self._banks("fee_income")),
            "balance_product_fees": banks_only(self._banks("product_fees")),
            "payment_fees": platforms_only(self._platforms("payment_fees")),
            "fund_fees": platforms_only(self._platforms("fund_fees")),
            "float_income": platforms_only(self._platforms("float_income")),
            "other_income": platforms_only(self._platforms("other_income")),
        }

def yearly(timeseries: pd.DataFrame) -> pd.DataFrame:
    """Yearly off-counter rate and mobile value share, as ratios of yearly sums."""
    df = timeseries.assign(year=timeseries["date"].astype(str).str[:4].astype(int))   # text or dates
    g = df.groupby("year")[["tx_total", "tx_offcounter", "value_offcounter", "value_mobile",
                            "corporate_offcounter_value"]].sum()
    everyone = g["value_offcounter"] + g["corporate_offcounter_value"]
    out = pd.DataFrame({
        "off_counter_rate": g["tx_offcounter"] / g["tx_total"],
        "mobile_value_share": g["value_mobile"] / everyone,
        "retail_mobile_value_share": g["value_mobile"] / g["value_offcounter"],
        "offcounter_value_tn": everyone / 1e3,
        "retail_offcounter_value_tn": g["value_offcounter"] / 1e3,
        "months": df.groupby("year").size(),
    })
    return out.reset_index()


FITTED_SERIES = ("off_counter_rate", "mobile_value_share")   # the target series the model reproduces
FIT_COLUMNS = ["target_set", "series", "year", "target", "simulated", "residual", "unit", "source"]


def fit_to_targets(timeseries: pd.DataFrame, targets: pd.DataFrame) -> pd.DataFrame:
    """Each target beside the simulated yearly value (percent), for the series the model reproduces.

    A period holding no full target year gives an empty table with the same columns."""
    yr = yearly(timeseries).set_index("year")
    rows = []
    for t in targets.itertuples():
        if t.series not in FITTED_SERIES or t.year not in yr.index:
            continue
        if yr.loc[t.year, "months"] < 12:
            continue
        sim = 100 * yr.loc[t.year, t.series]
        rows.append({"target_set": t.target_set, "series": t.series, "year": t.year, "target": t.value, "simulated": sim,
                     "residual": sim - t.value, "unit": "percent", "source": t.source})
    return pd.DataFrame(rows, columns=FIT_COLUMNS)
