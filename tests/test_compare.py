"""`lab.comparison`: paired scenario-versus-baseline effects, the terminal summary and the report folder."""
from __future__ import annotations

import re

import pandas as pd
import pytest

from lab import report
from experiments.compare import main
from sim.evidence.targets import load_targets

SMALL = ["population.size=2000", "end=2016-12"]


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    out = tmp_path_factory.mktemp("compare") / "no_ukey"
    assert main(["no_ukey", "--replicates", "3", *SMALL, "--out", str(out)]) == 0
    return out


@pytest.mark.slow
def test_no_ukey_raises_mobile_use_in_every_paired_replicate(compared):
    ts = pd.read_parquet(compared / "timeseries.parquet")
    end = ts[ts["date"] == ts["date"].max()].pivot(index="replicate", columns="scenario", values="share_mobile")
    assert len(end) == 3 and (end["no_ukey"] - end["baseline"] > 0).all()
    effects = pd.read_csv(compared / "effects.csv")
    mobile = effects[(effects["measure"] == "share_mobile") & (effects["scenario"] == "no_ukey")].iloc[0]
    assert mobile["effect"] == pytest.approx((end["no_ukey"] - end["baseline"]).mean())
    assert mobile["effect_lo"] < mobile["effect"] < mobile["effect_hi"]
    # the main-channel share moves by about a point at 2,000 customers, within three replicates' noise;
    # adults active on both a bank app and a wallet move by several points: their interval excludes 0
    both = effects[(effects["measure"] == "multihoming_share") & (effects["scenario"] == "no_ukey")].iloc[0]
    assert 0 < both["effect_lo"] < both["effect"] < both["effect_hi"]
    # before 2015 the scenarios are the same settings on the same random numbers: identical
    early = ts[ts["date"] < "2015-01-01"].pivot_table(index=["replicate", "date"], columns="scenario",
                                                       values="share_mobile")
    assert (early["no_ukey"] == early["baseline"]).all()


@pytest.mark.slow
def test_the_report_folder_holds_a_self_contained_page_and_its_tables(compared, capsys):
    for name in ("report.md", "report.html", "effects.csv", "institution_effects.csv", "timeseries.parquet",
                 "institutions.parquet", "share_mobile.png", "off_counter_rate.png", "institutions_market_share.png",
                 "institution_levers.csv", "institution_levers_no_ukey.png"):
        assert (compared / name).stat().st_size > 0, name
    page = (compared / "report.html").read_text()
    images = re.findall(r'<img[^>]*src="([^"]*)"', page)
    assert images and all(src.startswith("data:image/png;base64,") for src in images)
    text = re.sub(r'src="data:image/png;base64,[^"]*"', "", page)    # base64 may spell 'http' by chance
    assert "<script" not in text and "http" not in text.replace("http-equiv", "")
    md = (compared / "report.md").read_text()
    for link in re.findall(r"!\[[^]]*\]\(([^)]+)\)", md):
        assert (compared / link).is_file(), link
    assert "Who gains, who loses" in md and "Alipay" in md
    gains = md[md.index("Who gains, who loses"):]
    lever_table, lever_figure = gains.index("spend multiplier (× plan)"), gains.index("institution_levers_no_ukey.png")
    assert lever_table < lever_figure < gains.index("## ")
    levers = pd.read_csv(compared / "institution_levers.csv")
    assert set(levers["scenario"]) == {"baseline", "no_ukey"} and set(levers["strategy"]) == {"fixed"}
    assert len(levers) == 2 * inst_count(compared)
    inst = pd.read_csv(compared / "institution_effects.csv")
    assert {"market_share", "profit", "balance"} <= set(inst["measure"])


def inst_count(folder) -> int:
    return pd.read_parquet(folder / "institutions.parquet", columns=["institution"])["institution"].nunique()


def _levers_table() -> pd.DataFrame:
    """A small institutions table: a bank and a platform, two scenarios, three replicates, three months."""
    rows = []
    for scenario, shift in (("baseline", 0.0), ("war", 0.5)):
        for r in range(3):
            for m in range(3):
                date = pd.Timestamp(2020, 10 + m, 1)
                rows.append({"scenario": scenario, "replicate": r, "date": date, "institution": "js", "label": "Joint",
                             "kind": "bank", "rate_offered": 0.4 + shift + 0.1 * r, "deposit_rate_premium": shift,
                             "fund_yield_spread": float("nan"), "spend_multiplier": 1.0 + r, "marketing_per_year": 10.0,
                             "subsidy_per_year": float("nan"), "profit": 5.0 - shift + m})
                rows.append({"scenario": scenario, "replicate": r, "date": date, "institution": "ali", "label": "Ali",
                             "kind": "platform", "rate_offered": 2.0 - m * 0.1, "deposit_rate_premium": float("nan"),
                             "fund_yield_spread": 0.3 - shift, "spend_multiplier": 1.0, "marketing_per_year": 8.0,
                             "subsidy_per_year": 5.0 + shift, "profit": -1.0 + r})
    return pd.DataFrame(rows)


def test_levers_at_the_end_are_the_last_months_median_over_replicates(tmp_path):
    inst = _levers_table()
    levers = report.levers_at_end(inst, "baseline", {"war": {"js": "responsive", "ali": "fixed"}})
    assert list(zip(levers["institution"], levers["scenario"])) == [("Joint", "baseline"), ("Joint", "war"),
                                                                    ("Ali", "baseline"), ("Ali", "war")]
    war = levers.set_index(["institution", "scenario"])
    assert war.loc[("Joint", "war"), "rate_offered"] == pytest.approx(1.0)         # median of 0.9, 1.0, 1.1
    assert war.loc[("Joint", "war"), "spend_multiplier"] == 2.0
    assert war.loc[("Joint", "war"), "premium"] == 0.5                             # a bank's premium over benchmark
    assert war.loc[("Ali", "war"), "premium"] == pytest.approx(-0.2)               # a platform's fund spread
    assert war.loc[("Ali", "baseline"), "rate_offered"] == pytest.approx(1.8)      # the last month's
    assert (war.loc[("Joint", "war"), "strategy"], war.loc[("Joint", "baseline"), "strategy"]) == ("responsive", "")
    assert set(levers["date"]) == {"2020-12"}
    shown = report.lever_table(levers)
    assert shown.loc[0, "subsidies (RMB bn a year)"] == "" and shown.loc[3, "subsidies (RMB bn a year)"] == "5.5"
    assert shown.loc[1, "spend multiplier (× plan)"] == "2.00"
    path = report.lever_figure(inst, "war", "baseline", [], tmp_path / "levers.png", "a note")
    assert path.stat().st_size > 10_000
    # a table from before competition (no lever columns): no lever table
    assert not report.has_levers(inst.drop(columns=["rate_offered", "spend_multiplier"]))


def test_the_report_names_each_scenarios_strategies():
    from lab.comparison import configs, strategies
    kinds = strategies(configs(["deposit_rate_war"], ["population.size=2000"], "baseline"))
    assert set(kinds["baseline"].values()) == {"fixed"}
    assert kinds["deposit_rate_war"]["large_state"] == "responsive" and kinds["deposit_rate_war"]["alipay"] == "fixed"


def test_bad_input_is_one_line_and_writes_nothing(tmp_path, capsys):
    assert main(["no_such_preset", "--replicates", "2", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no_such_preset" in err[0]
    assert main(["no_ukey", "population.size=-5", "--out", str(tmp_path / "x")]) == 2
    assert main(["experiment=no_ukey", "--out", str(tmp_path / "x")]) == 2
    assert not (tmp_path / "x").exists()


@pytest.mark.slow
def test_report_sections_show_columns_the_tables_have_and_skip_the_rest(compared, tmp_path):
    ts = pd.read_parquet(compared / "timeseries.parquet")
    inst = pd.read_parquet(compared / "institutions.parquet")
    md = (compared / "report.md").read_text()
    # the portfolio's columns are in the tables, so their section and figures are in the report
    assert "Active users and accounts" in md
    assert (compared / "secondary_accounts_m.png").is_file() and (compared / "institutions_secondary_accounts.png").is_file()
    # without them, the section is skipped
    portfolio = [c for c in ts if c.startswith(("users_", "holders_", "secondary_", "multihoming", "mobile_payers"))]
    out, _ = report.write(tmp_path / "without", ts.drop(columns=portfolio),
                          inst.drop(columns=["secondary_accounts", "active_users", "holders"]), "baseline",
                          load_targets("seed"), {"subtitle": "test"})
    assert "Active users and accounts" not in (out / "report.md").read_text()
    assert not list(out.glob("secondary_accounts*"))
    # tables from before competition: no lever table or figure, the rest as before
    out, _ = report.write(tmp_path / "no_levers", ts, inst.drop(columns=["rate_offered", "spend_multiplier"]),
                          "baseline", load_targets("seed"), {"subtitle": "test"})
    assert not list(out.glob("institution_levers*")) and "Who gains, who loses" in (out / "report.md").read_text()
    # effects are paired by replicate
    ts["secondary_accounts_m"] = ts["customers_mobile"] + 1.0 * (ts["scenario"] == "no_ukey")
    out, _ = report.write(tmp_path / "r", ts, inst, "baseline", load_targets("seed"), {"subtitle": "test"})
    effects = pd.read_csv(out / "institution_effects.csv")
    assert "secondary_accounts" in set(effects["measure"])
    def effect(column):
        by = report.by_month(ts, column, "baseline")
        return by[(by["scenario"] == "no_ukey") & (by["kind"] == "effect")]["mean"].to_numpy()
    assert effect("secondary_accounts_m") == pytest.approx(effect("customers_mobile") + 1.0)   # paired by replicate