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
                 "institutions.parquet", "share_mobile.png", "off_counter_rate.png", "institutions_market_share.png"):
        assert (compared / name).stat().st_size > 0, name
    page = (compared / "report.html").read_text()
    images = re.findall(r'<img[^>]*src="([^"]*)"', page)
    assert images and all(src.startswith("data:image/png;base64,") for src in images)
    assert "<script" not in page and "http" not in page.replace("http-equiv", "")
    md = (compared / "report.md").read_text()
    for link in re.findall(r"!\[[^]]*\]\(([^)]+)\)", md):
        assert (compared / link).is_file(), link
    assert "Who gains, who loses" in md and "Alipay" in md
    inst = pd.read_csv(compared / "institution_effects.csv")
    assert {"market_share", "profit", "balance"} <= set(inst["measure"])


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
    # effects are paired by replicate
    ts["secondary_accounts_m"] = ts["customers_mobile"] + 1.0 * (ts["scenario"] == "no_ukey")
    out, _ = report.write(tmp_path / "r", ts, inst, "baseline", load_targets("seed"), {"subtitle": "test"})
    effects = pd.read_csv(out / "institution_effects.csv")
    assert "secondary_accounts" in set(effects["measure"])
    def effect(column):
        by = report.by_month(ts, column, "baseline")
        return by[(by["scenario"] == "no_ukey") & (by["kind"] == "effect")]["mean"].to_numpy()
    assert effect("secondary_accounts_m") == pytest.approx(effect("customers_mobile") + 1.0)   # paired by replicate