"""Every output column, declared once: its table, name, unit and meaning.

`columns.csv` in every run folder is written from this list, and a test compares it with
the columns each table really has (tests/test_schema.py), so a column cannot be added,
renamed or dropped without its unit and meaning following. A name with `*` stands for a
family of columns (one per place, channel or group).

Units are at real scale: each simulated customer stands for `population.represents_adults
/ population.size` adults. Shares and rates are fractions in [0, 1].
"""
from __future__ import annotations

import fnmatch
from typing import NamedTuple

import pandas as pd


class Column(NamedTuple):
    table: str          # timeseries | institutions | yearly
    name: str           # the column, or a pattern with * for a family
    unit: str
    meaning: str


def _identity(table: str) -> list[Column]:
    """The columns that say which run a row comes from, first in every stored table."""
    return [
        Column(table, "scenario", "name", "the scenario preset (configs/experiment/)"),
        Column(table, "overrides", "text", "command-line overrides that change results, sorted, comma-joined"),
        Column(table, "seed", "integer", "the run's seed"),
        Column(table, "replicate", "integer", "replicate number r; it draws from SeedSequence(seed, spawn_key=(r,))"),
        Column(table, "config_hash", "hex", "hash of everything that determines the replicate's results"),
    ]


COLUMNS = [
    # ---------------------------------------------------------------- timeseries: one row a month
    *_identity("timeseries"),
    Column("timeseries", "date", "date", "the month, as its first day"),
    Column("timeseries", "step", "count", "month number, 1 = first simulated month"),
    Column("timeseries", "tx_*", "million transactions", "bank transactions by place: total, offcounter, counter, self_service (machines in branches), pc, mobile, platform_link (wallet payments drawn on a bank account)"),
    Column("timeseries", "value_*", "RMB bn", "value of those transactions"),
    Column("timeseries", "off_counter_rate", "fraction", "tx_offcounter / tx_total (seed 004's 离柜率)"),
    Column("timeseries", "corporate_offcounter_value", "RMB bn", "corporate (non-retail) off-counter value this month, exogenous: market.corporate_offcounter_value_tn"),
    Column("timeseries", "mobile_value_share", "fraction", "value_mobile / (value_offcounter + corporate_offcounter_value): seed 004's mobile share of all off-counter value"),
    Column("timeseries", "retail_mobile_value_share", "fraction", "value_mobile / value_offcounter: mobile's share of the simulated (retail) off-counter value"),
    Column("timeseries", "share_*", "fraction", "adults by most-used channel of the month (the one with most transactions); the four sum to 1"),
    Column("timeseries", "customers_*", "million adults", "adults by most-used channel of the month"),
    Column("timeseries", "preferring_*", "million adults", "adults by preferred channel (the logit choice, which gets preferred_bonus in the split of purposes)"),
    Column("timeseries", "deposits_bank", "RMB bn", "balances held at banks (primary and secondary accounts)"),
    Column("timeseries", "balance_platform_mmf", "RMB bn", "balances in platforms' money-market funds"),
    Column("timeseries", "income_inflow", "RMB bn", "new savings this month (wealth growth), the only flow into balances"),
    Column("timeseries", "hhi_banks", "index 0-10000", "Herfindahl index of banks' shares of primary customers"),
    Column("timeseries", "hhi_platforms", "index 0-10000", "Herfindahl index of platforms' shares of customers preferring a platform"),
    Column("timeseries", "branches_total", "branches", "branches open, all banks"),
    Column("timeseries", "reconsidered", "million adults", "adults who reconsidered their preferred channel and primary bank this month"),
    Column("timeseries", "bank_switches", "million adults", "adults who changed primary bank this month"),
    Column("timeseries", "churn_rate", "fraction per month", "bank_switches / all adults"),
    Column("timeseries", "platform_switches", "million adults", "adults whose preferred platform changed this month, first choices included"),
    Column("timeseries", "flow_*_to_*", "million adults", "adults changing their preferred channel (the logit choice) this month"),
    Column("timeseries", "digital_share_*", "fraction", "adults of the group whose most-used channel of the month is not the branch"),
    Column("timeseries", "platform_share_*", "fraction", "adults of the group whose most-used channel of the month is a platform wallet"),
    Column("timeseries", "holders_pc_m", "million adults", "adults holding their primary bank's PC banking (adopted; active or dormant)"),
    Column("timeseries", "holders_mobile_m", "million adults", "adults holding their primary bank's mobile app (adopted; active or dormant)"),
    Column("timeseries", "holders_platform_m", "million adults", "adults holding at least one platform wallet (adopted; active or dormant)"),
    Column("timeseries", "users_pc_m", "million adults", "monthly active PC banking users: at least one transaction this month"),
    Column("timeseries", "users_mobile_m", "million adults", "monthly active bank-app users: at least one transaction this month"),
    Column("timeseries", "users_platform_m", "million adults", "monthly active platform users: at least one wallet transaction this month"),
    Column("timeseries", "multihoming_share", "fraction", "adults active this month on both their bank's app and a platform wallet"),
    Column("timeseries", "mobile_payers_m", "million adults", "adults who paid by phone this month, by wallet or bank app (the counterpart of CNNIC's mobile-payment users, who paid in the last half year)"),
    Column("timeseries", "secondary_accounts_m", "million accounts", "secondary (Class II) bank accounts held, at most one per adult"),
    Column("timeseries", "secondary_opened_m", "million accounts", "secondary accounts opened this month"),
    Column("timeseries", "mmf_yield_market", "percent per year", "market money-fund yield"),
    Column("timeseries", "policy_*", "lever value", "regulation in force this month; an empty cap or limit means none"),
    # ---------------------------------------------------------------- institutions: a row a month and institution
    *_identity("institutions"),
    Column("institutions", "date", "date", "the month, as its first day"),
    Column("institutions", "step", "count", "month number, 1 = first simulated month"),
    Column("institutions", "institution", "name", "the bank's or platform's key in the config"),
    Column("institutions", "label", "name", "its display name"),
    Column("institutions", "kind", "bank | platform", "what it is"),
    Column("institutions", "group", "name", "bank group (seed 004's maturity matrix), or 'platform'"),
    Column("institutions", "customers", "million adults", "banks: primary-bank customers; platforms: adults whose preferred channel is its app"),
    Column("institutions", "share", "fraction", "customers / all adults: customer_share for banks, user_share for platforms (kept for compatibility)"),
    Column("institutions", "customer_share", "fraction", "banks: primary-bank customers over all adults (empty for platforms)"),
    Column("institutions", "user_share", "fraction", "platforms: adults preferring its app over all adults (empty for banks)"),
    Column("institutions", "branch_users", "million adults", "banks: primary customers whose most-used channel of the month is the branch"),
    Column("institutions", "pc_users", "million adults", "banks: primary customers whose most-used channel of the month is PC banking"),
    Column("institutions", "mobile_users", "million adults", "banks: primary customers whose most-used channel of the month is the app"),
    Column("institutions", "balance", "RMB bn", "banks: deposits (primary and secondary accounts); platforms: money-fund balance"),
    Column("institutions", "off_counter_rate", "fraction", "banks: its transactions not made at the counter"),
    Column("institutions", "mobile_value", "RMB bn", "banks: value of its mobile-banking transactions this month"),
    Column("institutions", "offcounter_value", "RMB bn", "banks: value of its (retail) off-counter transactions this month: machines, PC, app and wallet payments drawn on it"),
    Column("institutions", "revenue", "RMB bn per month", "revenue this month"),
    Column("institutions", "cost", "RMB bn per month", "cost this month"),
    Column("institutions", "profit", "RMB bn per month", "revenue - cost"),
    Column("institutions", "marketing_per_year", "RMB bn per year", "marketing spend at this month's rate"),
    Column("institutions", "digital_investment_per_year", "RMB bn per year", "banks: digital investment at this month's rate"),
    Column("institutions", "branches", "branches", "banks: branches open"),
    Column("institutions", "smart_branches", "branches", "banks: of them, upgraded to smart branches"),
    Column("institutions", "app_quality", "index 0-1", "banks: quality of its apps"),
    Column("institutions", "rate_offered", "percent per year", "banks: rate paid on deposits (its deposit_rate plus the premium paid); platforms: fund yield"),
    Column("institutions", "partner", "name", "banks: partner platform, empty for none"),
    Column("institutions", "account_holders", "million adults", "banks: adults with any account there (primary, secondary, dormant or former primary); platforms: adults whose preferred platform it is"),
    Column("institutions", "holders", "million adults", "banks: registered users of its mobile app (its primary customers' and others'); platforms: holders of its wallet (active or dormant)"),
    Column("institutions", "active_users", "million adults", "of the holders, those who used it at least once this month (monthly active users)"),
    Column("institutions", "pc_holders", "million adults", "banks: holders of its PC banking"),
    Column("institutions", "pc_active_users", "million adults", "banks: of them, used this month"),
    Column("institutions", "secondary_accounts", "million accounts", "banks: secondary (Class II) accounts held at it"),
    Column("institutions", "subsidy_per_year", "RMB bn per year", "platforms: user subsidies at this month's rate"),
    Column("institutions", "spend_multiplier", "multiple", "times the plan's spend its strategy sets this quarter (banks: marketing and digital investment; platforms: subsidies and marketing)"),
    Column("institutions", "deposit_rate_premium", "percentage points", "banks: paid over the one-year deposit benchmark, as far as the ceiling in force allows"),
    Column("institutions", "balance_product_yield", "percent per year", "banks: its balance product's (T+0 money fund's) yield, empty while it has none"),
    Column("institutions", "balance_product_balance", "RMB bn", "banks: of the balance, held in its balance product"),
    Column("institutions", "fund_yield_spread", "percentage points", "platforms: its fund's yield over the market money-fund yield, before any cap"),
    Column("institutions", "interest_margin", "RMB bn per month", "banks: earned on deposits less the rate paid on them"),
    Column("institutions", "fee_income", "RMB bn per month", "banks: fees from primary customers (an assumption, 0 by default)"),
    Column("institutions", "balance_product_fees", "RMB bn per month", "banks: fees earned on the balance product's assets"),
    Column("institutions", "payment_fees", "RMB bn per month", "platforms: fees on the wallet payment value it carries"),
    Column("institutions", "fund_fees", "RMB bn per month", "platforms: management fees on its fund"),
    Column("institutions", "float_income", "RMB bn per month", "platforms: earned on client funds not reserved at the central bank"),
    Column("institutions", "other_income", "RMB bn per month", "platforms: other lines (an assumption per active user, 0 by default)"),
    # ---------------------------------------------------------------- yearly: a row a year
    *_identity("yearly"),
    Column("yearly", "year", "year", "calendar year"),
    Column("yearly", "off_counter_rate", "fraction", "yearly off-counter transactions / yearly transactions"),
    Column("yearly", "mobile_value_share", "fraction", "yearly mobile value / yearly off-counter value, retail and corporate"),
    Column("yearly", "retail_mobile_value_share", "fraction", "yearly mobile value / yearly retail off-counter value"),
    Column("yearly", "offcounter_value_tn", "RMB tn", "yearly off-counter value, retail (simulated) and corporate (exogenous)"),
    Column("yearly", "retail_offcounter_value_tn", "RMB tn", "yearly retail off-counter value (simulated)"),
    Column("yearly", "months", "count", "months of the year simulated"),
    # ---------------------------------------------------------------- added to every row of a study's dataset
    Column("study", "study", "name", "the study's name (a sweep's `study`)"),
    Column("study", "point", "index", "the configuration's number within the study as it was started"),
    Column("study", "replicate_seed", "integer", "the replicate's own stream, from SeedSequence(seed, spawn_key=(replicate,))"),
    # ---------------------------------------------------------------- a study's runs table: a row per run
    Column("runs", "status", "text", "complete, or failed (then re-run when the study resumes)"),
    Column("runs", "error", "text", "why a failed run failed, one line"),
    Column("runs", "model_seconds", "seconds", "time in the model: population built and months stepped"),
    Column("runs", "finished", "UTC time", "when the run finished"),
    Column("runs", "worker", "host:pid", "the process that ran it"),
    Column("runs", "posterior", "name", "the calibration whose posterior draws the replicates ran, empty for none"),
    Column("runs", "posterior_draw", "index", "the posterior draw this replicate ran (its replicate number), empty for none"),
    Column("runs", "model_version", "hex", "hash of the model's code (sim/) that ran it; a study refuses to mix versions"),
]



SCHEMA_COLUMNS = ["table", "column", "unit", "meaning", "config_key"]


def columns_table() -> pd.DataFrame:
    """The schema as written to columns.csv (config_key is filled for the swept columns of a study)."""
    return pd.DataFrame([(*c, "") for c in COLUMNS], columns=SCHEMA_COLUMNS)


def undeclared(table: str, names) -> list[str]:
    """Columns of `table` that no entry of the schema declares."""
    patterns = [c.name for c in COLUMNS if c.table == table]
    return [n for n in names if not any(fnmatch.fnmatchcase(n, p) for p in patterns)]


def unused(table: str, names) -> list[str]:
    """Entries of the schema for `table` that match none of `names`."""
    return [c.name for c in COLUMNS if c.table == table and not any(fnmatch.fnmatchcase(n, c.name) for n in names)]


# unit and meaning of every stored column by name; plots read their labels here
UNITS = {c.name: (c.unit, c.meaning) for c in COLUMNS}
