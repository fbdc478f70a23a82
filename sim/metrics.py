"""What is measured each month, and the yearly figures compared with the targets.

Definitions follow the seeds (`004`): the off-counter rate is off-counter transactions
over all bank transactions; mobile share is mobile-banking transaction value over
off-counter transaction value. Machines in branches count as off-counter. Yearly rates
are ratios of yearly sums, not means of monthly rates.

Units (real scale: each simulated customer stands for `population.represents_adults /
population.size` adults): transactions in millions, money in RMB bn, customers in
millions; shares and rates are fractions in [0, 1].
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .config import AGE_BANDS, CHANNELS, month_label

if TYPE_CHECKING:
    from .customers import ChoiceOutcome, Tally
    from .market import MarketModel

PLACES = ("counter", "self_service", "pc", "mobile", "platform_link")
OFF_COUNTER = [1, 2, 3, 4]

COLUMN_UNITS = {
    "date": ("YYYY-MM", "month"),
    "step": ("count", "month number, 1 = first simulated month"),
    "tx_*": ("million transactions", "bank transactions by place: counter, self_service (machines in branches), pc, mobile, platform_link (payments a platform makes on the customer's bank account)"),
    "value_*": ("RMB bn", "value of those transactions"),
    "off_counter_rate": ("fraction", "tx_offcounter / tx_total (seed 004's 离柜率)"),
    "mobile_value_share": ("fraction", "value_mobile / value_offcounter (seed 004)"),
    "share_*": ("fraction", "customers by active channel; the four sum to 1"),
    "customers_*": ("million adults", "customers by active channel"),
    "deposits_bank": ("RMB bn", "balances held at banks"),
    "balance_platform_mmf": ("RMB bn", "balances in platforms' money-market funds"),
    "income_inflow": ("RMB bn", "new savings this month (wealth growth), the only flow into balances"),
    "hhi_banks": ("index 0-10000", "Herfindahl index of banks' shares of primary customers"),
    "hhi_platforms": ("index 0-10000", "Herfindahl index of platforms' shares of active platform users"),
    "branches_total": ("branches", "branches open, all banks"),
    "reconsidered": ("million adults", "customers who reconsidered this month"),
    "bank_switches": ("million adults", "customers who changed primary bank this month"),
    "churn_rate": ("fraction per month", "bank_switches / all customers"),
    "platform_switches": ("million adults", "customers who opened an account at a platform new to them"),
    "flow_*_to_*": ("million adults", "customers moving between active channels this month"),
    "digital_share_*": ("fraction", "customers of the group whose active channel is not the branch counter"),
    "platform_share_*": ("fraction", "customers of the group whose active channel is a platform's app"),
    "mmf_yield_market": ("percent per year", "market money-fund yield"),
    "policy_*": ("lever value", "regulation in force this month; an empty cap or limit means none"),
}


def _age_label(band: str) -> str:
    return band.replace("-", "_").replace("+", "plus")


_TX_COLUMNS = [f"tx_{p}" for p in PLACES]
_VALUE_COLUMNS = [f"value_{p}" for p in PLACES]
_SHARE_COLUMNS = [f"share_{ch}" for ch in CHANNELS]
_CUSTOMER_COLUMNS = [f"customers_{ch}" for ch in CHANNELS]
_FLOW_COLUMNS = [(f"flow_{a}_to_{b}", i, j) for i, a in enumerate(CHANNELS) for j, b in enumerate(CHANNELS) if i != j]
_GROUP_COLUMNS = [(f"digital_share_{g}", f"platform_share_{g}")
                  for g in [f"age_{_age_label(band)}" for band in AGE_BANDS] + ["urban", "rural"]]


class MetricsRecorder:
    """Collects one row per month for the market and one per month and institution."""

    def __init__(self, model: "MarketModel"):
        self.model = model
        self.rows: list[dict] = []
        self.institution_rows: list[dict] = []

    @property
    def months_recorded(self) -> int:
        return len(self.rows)

    def record(self, outcome: "ChoiceOutcome", counts: np.ndarray, values: np.ndarray, inflow: float,
               tally: "Tally") -> None:
        """One month's row from its choices, transactions (real scale) and end-of-month tally.

        Small arrays become Python lists first: a row is about a hundred scalars, and
        Python arithmetic on them is much cheaper than NumPy's per-scalar overhead.
        """
        m, size = self.model, self.model.customers.size
        millions = m.scale / 1e6
        tx = (counts.sum(axis=0) / 1e6).tolist()
        val = (values.sum(axis=0) / 1e9).tolist()
        row = {"date": month_label(m.month), "step": len(self.rows) + 1}
        tx_total, tx_off = sum(tx), sum(tx[i] for i in OFF_COUNTER)
        val_total, val_off = sum(val), sum(val[i] for i in OFF_COUNTER)
        row["tx_total"], row["tx_offcounter"] = tx_total, tx_off
        row.update(zip(_TX_COLUMNS, tx))
        row["value_total"], row["value_offcounter"] = val_total, val_off
        row.update(zip(_VALUE_COLUMNS, val))
        row["off_counter_rate"] = tx_off / tx_total if tx_total else np.nan
        row["mobile_value_share"] = val[PLACES.index("mobile")] / val_off if val_off else np.nan

        by_channel = tally.by_channel.tolist()
        row.update(zip(_SHARE_COLUMNS, [c / size for c in by_channel]))
        row.update(zip(_CUSTOMER_COLUMNS, [c * millions for c in by_channel]))
        row["deposits_bank"] = float(tally.deposits.sum()) * m.scale / 1e9
        row["balance_platform_mmf"] = float(tally.funds.sum()) * m.scale / 1e9
        row["income_inflow"] = inflow / 1e9
        row["hhi_banks"] = 1e4 * sum((c / size) ** 2 for c in tally.bank_customers.tolist())
        users = tally.platform_users.tolist()
        row["hhi_platforms"] = 1e4 * sum((u / max(sum(users), 1)) ** 2 for u in users)
        row["branches_total"] = sum(b.branches for b in m.banks)
        row["reconsidered"] = outcome.reconsidered * millions
        row["bank_switches"] = outcome.bank_switches * millions
        row["churn_rate"] = outcome.bank_switches / size
        row["platform_switches"] = outcome.platform_switches * millions
        flows = outcome.channel_flows.tolist()
        row.update((name, flows[i][j] * millions) for name, i, j in _FLOW_COLUMNS)

        by_seg = tally.segment_channel.reshape(len(AGE_BANDS), 2, 4)
        groups = np.concatenate([by_seg.sum(axis=1), by_seg[:, 1].sum(axis=0)[None], by_seg[:, 0].sum(axis=0)[None]])
        for (digital, platform), (branch, pc, mobile, on_platform) in zip(_GROUP_COLUMNS, groups.tolist()):
            n = max(branch + pc + mobile + on_platform, 1)
            row[digital] = (pc + mobile + on_platform) / n
            row[platform] = on_platform / n
        row["mmf_yield_market"] = m.market_mmf_yield
        pol = m.policy
        none_as_nan = lambda v: np.nan if v is None else float(v)  # noqa: E731 - "no cap" stays numeric
        row.update(policy_regime=pol.regime, policy_platform_compliance_cost=pol.platform_compliance_cost,
                   policy_mmf_yield_cap=none_as_nan(pol.mmf_yield_cap),
                   policy_mmf_purchase_limit=none_as_nan(pol.mmf_purchase_limit),
                   policy_client_fund_reserve_ratio=pol.client_fund_reserve_ratio,
                   policy_remote_account_opening=pol.remote_account_opening,
                   policy_ukey_friction=pol.ukey_friction)
        self.rows.append(row)
        self._record_institutions(row, counts, tally)

    def _record_institutions(self, row, counts, tally) -> None:
        m, size = self.model, self.model.customers.size
        millions = m.scale / 1e6
        bank_customers, by_bank_channel = tally.bank_customers.tolist(), tally.bank_channel.tolist()
        deposits = (tally.deposits * (m.scale / 1e9)).tolist()
        offcounter = (counts[:, OFF_COUNTER].sum(axis=1) / np.maximum(counts.sum(axis=1), 1)).tolist()
        date, step = row["date"], row["step"]
        for b in m.banks:
            i = b.index
            self.institution_rows.append({
                "date": date, "step": step, "institution": b.name, "label": b.cfg.label or b.name,
                "kind": "bank",
                "group": b.cfg.group, "customers": bank_customers[i] * millions,
                "share": bank_customers[i] / size,
                "branch_users": by_bank_channel[i][0] * millions, "pc_users": by_bank_channel[i][1] * millions,
                "mobile_users": by_bank_channel[i][2] * millions,
                "balance": deposits[i], "off_counter_rate": offcounter[i],
                "revenue": b.revenue_bn, "cost": b.cost_bn, "profit": b.profit_bn,
                "marketing_per_year": b.marketing_bn, "digital_investment_per_year": b.digital_investment_bn,
                "branches": b.branches, "smart_branches": b.smart_branches, "app_quality": b.app_quality,
                "rate_offered": b.cfg.deposit_rate, "partner": b.partner or "",
            })
        users, holders = tally.platform_users.tolist(), tally.platform_holders.tolist()
        funds = (tally.funds * (m.scale / 1e9)).tolist()
        for p in m.platforms:
            i = p.index
            self.institution_rows.append({
                "date": date, "step": step, "institution": p.name, "label": p.cfg.label or p.name,
                "kind": "platform",
                "group": "platform", "customers": users[i] * millions, "share": users[i] / size,
                "account_holders": holders[i] * millions,
                "balance": funds[i], "revenue": p.revenue_bn, "cost": p.cost_bn, "profit": p.profit_bn,
                "marketing_per_year": p.marketing_bn, "subsidy_per_year": p.subsidy_bn,
                "rate_offered": p.mmf_yield,
            })

    def timeseries(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows)

    def institutions(self) -> pd.DataFrame:
        return pd.DataFrame(self.institution_rows)


def yearly(timeseries: pd.DataFrame) -> pd.DataFrame:
    """Yearly off-counter rate and mobile value share, as ratios of yearly sums."""
    df = timeseries.assign(year=timeseries["date"].str[:4].astype(int))
    g = df.groupby("year")[["tx_total", "tx_offcounter", "value_offcounter", "value_mobile"]].sum()
    out = pd.DataFrame({
        "off_counter_rate": g["tx_offcounter"] / g["tx_total"],
        "mobile_value_share": g["value_mobile"] / g["value_offcounter"],
        "offcounter_value_tn": g["value_offcounter"] / 1e3,
        "months": df.groupby("year").size(),
    })
    return out.reset_index()


def fit_to_targets(timeseries: pd.DataFrame, targets: pd.DataFrame) -> pd.DataFrame:
    """Each target beside the simulated yearly value (percent), for the series the model reproduces."""
    yr = yearly(timeseries).set_index("year")
    rows = []
    for t in targets.itertuples():
        if t.series not in ("off_counter_rate", "mobile_value_share") or t.year not in yr.index:
            continue
        if yr.loc[t.year, "months"] < 12:
            continue
        sim = 100 * yr.loc[t.year, t.series]
        rows.append({"target_set": t.target_set, "series": t.series, "year": t.year, "target": t.value, "simulated": sim,
                     "residual": sim - t.value, "unit": "percent", "source": t.source})
    return pd.DataFrame(rows)
