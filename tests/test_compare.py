"""`lab.comparison`: paired scenario-versus-baseline effects, the terminal summary and the report folder."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lab import briefing, hover, report
from lab.compose import CONFIG_DIR
from lab.headline import HEADLINE
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
    text = re.sub(r'src="data:image/png;base64,[^"]*"', "", page.split("</head>", 1)[1])  # base64 may spell 'http'
    assert not re.search(r"<script[^>]+src=|<link[^>]+href=", page)            # nothing fetched: no CDN, no file
    assert "http" not in text.replace("http-equiv", "")                      # (plotly.js, in the head, names sites)
    md = (compared / "report.md").read_text()
    for link in re.findall(r"!\[[^]]*\]\(([^)]+)\)", md):
        assert (compared / link).is_file(), link
    assert "Who gains, who loses" in md and "Alipay" in md
    gains = md[md.index("## Who gains, who loses"):]
    lever_table, lever_figure = gains.index("Spend (× plan)"), gains.index("institution_levers_no_ukey.png")
    assert lever_table < lever_figure < gains.index("\n## ")
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
    assert shown.loc[0, "Subsidies (RMB bn/yr)"] == "" and shown.loc[3, "Subsidies (RMB bn/yr)"] == "5.5"
    assert shown.loc[1, "Spend (× plan)"] == "2.00"
    assert list(report.lever_table(levers, {"war": "Rate war"})["Scenario"]) == ["baseline", "Rate war", "baseline",
                                                                               "Rate war"]
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
    assert (compared / "secondary_accounts_m.png").is_file()
    assert (compared / "institutions_secondary_accounts.png").is_file()
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
    # effects are paired by replicate (what report.write draws and tabulates)
    ts["secondary_accounts_m"] = ts["customers_mobile"] + 1.0 * (ts["scenario"] == "no_ukey")
    assert "secondary_accounts" in set(pd.read_csv(compared / "institution_effects.csv")["measure"])
    def effect(column):
        by = report.by_month(ts, column, "baseline")
        return by[(by["scenario"] == "no_ukey") & (by["kind"] == "effect")]["mean"].to_numpy()
    assert effect("secondary_accounts_m") == pytest.approx(effect("customers_mobile") + 1.0)   # paired by replicate

# ----------------------------------------------------------------------------- the report a board reads

PAGE_CHARACTERS = 160        # a table's natural width in characters at 14 px on a 1,280 px page (about 7 px each)


def tables_of(md: str) -> list[pd.DataFrame]:
    """Every Markdown table of a report, as text cells."""
    tables = []
    for block in re.findall(r"((?:^\|.*\|\n)+)", md, flags=re.M):
        rows = [[c.strip() for c in line.strip().strip("|").split("|")] for line in block.strip().splitlines()]
        tables.append(pd.DataFrame(rows[2:], columns=rows[0]))
    return tables


def natural_width(table: pd.DataFrame) -> int:
    """Characters a table needs on one line: each column as wide as its header or its longest cell."""
    return sum(max([len(str(c)), *(len(str(v)) for v in table[c])]) for c in table)


def _effects(scenarios: dict[str, list[tuple[float, float, float]]], replicates: int = 5) -> pd.DataFrame:
    """A headline effects table: the baseline at 0.5 (or 100 for amounts) and each scenario's
    (effect, low, high) per headline figure, in HEADLINE's order."""
    rows = []
    for f in HEADLINE:
        base = 0.5 if f.percent else 100.0
        rows.append({"measure": f.column, "scenario": "baseline", "level": base, "level_lo": base, "level_hi": base,
                     "effect": np.nan, "effect_lo": np.nan, "effect_hi": np.nan})
    for scenario, values in scenarios.items():
        for f, (e, lo, hi) in zip(HEADLINE, values):
            base = 0.5 if f.percent else 100.0
            rows.append({"measure": f.column, "scenario": scenario, "level": base + e, "level_lo": base + lo,
                         "level_hi": base + hi, "effect": e, "effect_lo": lo, "effect_hi": hi})
    df = pd.DataFrame(rows).assign(replicates=replicates, when="2020")
    df["figure"] = df["measure"].map({f.column: f.label for f in HEADLINE})
    return report._in_order(df, "measure", [f.column for f in HEADLINE], ["baseline", *scenarios])


def _share_effects(scenarios: dict[str, dict[str, tuple[float, float, float]]]) -> pd.DataFrame:
    """An institution effects table holding market share only: {scenario: {label: (effect, low, high)}}."""
    rows = [{"institution": label.lower(), "label": label, "kind": "bank", "measure": "market_share",
             "scenario": s, "level": 0.2, "effect": e, "effect_lo": lo, "effect_hi": hi, "replicates": 5}
            for s, by in scenarios.items() for label, (e, lo, hi) in by.items()]
    return pd.DataFrame(rows, columns=["institution", "label", "kind", "measure", "scenario", "level", "effect",
                                       "effect_lo", "effect_hi", "replicates"])


def test_the_summary_names_the_largest_effect_with_its_interval_and_who_gains_and_loses():
    small = [(0.001, 0.0005, 0.0015)] * len(HEADLINE)
    values = list(small)
    values[2] = (0.05, 0.03, 0.07)              # +5 points on a 50 % share: the largest, clear of zero
    values[3] = (0.20, -0.1, 0.5)               # larger still, but its interval spans zero: not first
    effects = _effects({"war": values})
    shares = _share_effects({"war": {"Alpha": (0.02, 0.01, 0.03), "Beta": (-0.03, -0.05, -0.01),
                                     "Gamma": (0.001, -0.01, 0.012)}})
    sentences = briefing.executive_summary(effects, shares, "baseline", {"baseline": "Baseline", "war": "Rate war"},
                                           "at 1,000 customers")
    assert 3 <= len(sentences) <= 5
    text = " ".join(sentences)
    assert sentences[0].startswith("This report compares Rate war with the baseline, at 1,000 customers")
    biggest = sentences[1]
    assert HEADLINE[2].label in biggest and "+5.00 pp (95 % interval +3.00 to +7.00)" in biggest
    assert HEADLINE[3].label not in biggest          # the clear effects come first
    assert "Alpha gain the most market share, +2.00 pp (95 % interval +1.00 to +3.00)" in text
    assert "Beta lose the most, -3.00 pp (95 % interval -5.00 to -1.00)" in text
    assert "Gamma" not in text and "unreliable" not in text and "replicate" not in text


def test_the_summary_says_when_nothing_is_clear_and_when_replicates_are_few():
    effects = _effects({"a": [(0.01, -0.02, 0.04)] * len(HEADLINE), "b": [(0.02, 0.01, 0.03)] * len(HEADLINE),
                        "c": [(0.03, 0.02, 0.04)] * len(HEADLINE)}, replicates=3)
    names = briefing.display_names(["baseline", "a", "b", "c"])
    sentences = briefing.executive_summary(effects, _share_effects({}), "baseline", names)
    assert 3 <= len(sentences) <= 5                      # three scenarios share one sentence of effects
    assert "under A, no headline figure moves beyond the noise" in sentences[1]
    assert "under B," in sentences[1] and "under C," in sentences[1]
    assert sentences[-1] == "With only 3 replicates the intervals are wide and unreliable."
    one = _effects({"a": [(0.01, np.nan, np.nan)] * len(HEADLINE)}, replicates=1)
    sentences = briefing.executive_summary(one, _share_effects({}), "baseline", names)
    assert "interval" not in " ".join(sentences[:-1]) and "one replicate" in sentences[-1]


def test_scenarios_are_named_in_words_and_titled_by_their_questions():
    names = briefing.display_names(["baseline", "no_ukey", "functional_regulation", "calibrated_cba"])
    assert names == {"baseline": "Baseline", "no_ukey": "No U-key", "functional_regulation": "Functional regulation",
                     "calibrated_cba": "Calibrated CBA"}
    questions = {"no_ukey": "How much faster?", "functional_regulation": ""}
    assert briefing.title(["baseline", "no_ukey"], "baseline", names, questions) == "How much faster?"
    assert briefing.title(["baseline", "no_ukey", "functional_regulation"], "baseline", names,
                          questions) == "How much faster? · Functional regulation"
    assert len(set(briefing.display_names(["a_b", "a__b"]).values())) == 2       # two presets never read alike


def test_headline_tables_are_split_to_fit_a_page_and_hold_no_interval_from_one_replicate():
    scenarios = {f"scenario_{i}": [(0.01, 0.005, 0.015)] * len(HEADLINE) for i in range(5)}
    tables = report.headline_tables(_effects(scenarios), "baseline", briefing.display_names(["baseline", *scenarios]))
    assert [len(t.columns) for t in tables] == [3 + 3, 3 + 2]             # figure, when, unit and 3 + 2 scenarios
    assert all(natural_width(t) <= PAGE_CHARACTERS for t in tables)
    assert tables[0].loc[0, "Scenario 0"] == "+1.00 [+0.50, +1.50]" and tables[0].loc[0, "Unit"] == "pp"
    one = report.headline_tables(_effects({"a": [(0.01, np.nan, np.nan)] * len(HEADLINE)}, replicates=1), "baseline")
    assert one[0].loc[0, "a"] == "+1.00"
    assert not one[0].apply(lambda c: c.astype(str).str.contains(r"\[|nan")).any().any()
    levels = report.level_tables(_effects(scenarios), "baseline")
    assert sum(len(t.columns) - 3 for t in levels) == 6 and all(len(t.columns) <= 3 + 4 for t in levels)


def test_who_gains_is_one_table_a_scenario_sorted_from_largest_gain_to_largest_loss():
    shares = _share_effects({"b": {"X": (-0.01, -0.02, 0.0), "Y": (0.03, 0.01, 0.05), "Z": (0.0, -0.01, 0.01)},
                             "a": {"X": (0.02, 0.01, 0.03), "Y": (-0.04, -0.05, -0.03), "Z": (0.01, -0.01, 0.03)}})
    tables = report.who_gains(pd.concat([shares, shares.assign(scenario="baseline")]), "baseline")
    assert list(tables) == ["b", "a"]                                    # in the order they were compared
    assert list(tables["b"]["Institution"]) == ["Y", "Z", "X"] and list(tables["a"]["Institution"]) == ["X", "Z", "Y"]
    assert list(tables["a"]["Customers"]) == ["gains", "no clear change", "loses"]
    values = tables["a"]["Market share (pp)"].str.split(" ").str[0].astype(float)
    assert values.is_monotonic_decreasing


def test_headline_numbers_are_numbers_with_their_units():
    numbers = report.headline_numbers(_effects({"war": [(0.01, 0.005, 0.015)] * len(HEADLINE)}))
    assert {"value", "low", "high", "unit"} <= set(numbers)
    assert all(pd.api.types.is_float_dtype(numbers[c]) for c in ("value", "low", "high"))
    effect = numbers[(numbers["quantity"] == "effect") & (numbers["figure"] == HEADLINE[0].label)].iloc[0]
    assert effect["unit"] == "pp" and [effect["value"], effect["low"], effect["high"]] == pytest.approx([1.0, 0.5, 1.5])
    assert set(numbers.loc[numbers["quantity"] == "level", "unit"]) <= {"%", *(f.unit for f in HEADLINE)}
    assert len(numbers) == len(HEADLINE) * 3                            # two levels and one effect a figure


@pytest.mark.slow
def test_the_compared_report_opens_with_its_summary_and_fits_the_page(compared):
    md = (compared / "report.md").read_text()
    html = (compared / "report.html").read_text()
    lines = md.splitlines()
    from lab.compose import load_config
    assert lines[0] == f"# {load_config(['experiment=no_ukey']).question}"            # titled by its question
    assert lines[2] == "## Summary" and "No U-key" in lines[4] and "no_ukey" not in lines[4]
    assert "wide and unreliable" in md and "wide and unreliable" in html           # 3 replicates are too few
    assert "### No U-key:" in md and "(95 % CI)" not in md
    for table in tables_of(md):
        if list(table.columns) != ["Mark", "Month", "Change"]:                    # free text that wraps
            assert len(table.columns) <= 8 and natural_width(table) <= PAGE_CHARACTERS, list(table.columns)
    # the summary's biggest effect is the one the rule picks from effects.csv, with its interval
    effects = pd.read_csv(compared / "effects.csv")
    top = briefing.largest_effects(effects, "baseline").iloc[0]
    said = briefing.interval_text(briefing.FIGURES[top.measure], top.effect, top.effect_lo, top.effect_hi)
    assert f"the biggest effects are {said} in \u201c{top.figure}\u201d and " in lines[4]    # one scenario: two named


SHIPPED = sorted(p.stem for p in (CONFIG_DIR / "experiment").glob("*.yaml") if p.stem != "baseline")


@pytest.mark.slow
def test_every_shipped_preset_compares_with_the_baseline():
    """Every preset in configs/experiment/ against the baseline: the paired effects and who-gains tables the
    report is written from (an institution the baseline lacks once ended a compare in a traceback)."""
    from lab.comparison import configs, run_all
    overrides = ["population.size=300", "figures=false"]
    ts, inst = run_all(configs(SHIPPED, overrides, "baseline"), 1, overrides, progress=False)
    c = report.compared(ts, inst, "baseline", {"subtitle": "test"})
    assert set(c.effects["scenario"]) == set(c.inst_effects["scenario"]) == {"baseline", *SHIPPED}
    assert set(report.who_gains(c.inst_effects, "baseline", c.names)) == set(SHIPPED)


@pytest.mark.slow
def test_one_replicate_draws_no_interval_and_says_so_and_a_bank_the_baseline_lacks_counts_from_zero(tmp_path,
                                                                                                   capsys):
    out = tmp_path / "one"
    assert main(["direct_bank", "--replicates", "1", "population.size=500", "--out", str(out)]) == 0
    effects = pd.read_csv(out / "institution_effects.csv")
    direct = effects[(effects["institution"] == "direct") & (effects["scenario"] == "direct_bank")]
    assert len(direct) and not direct["in_baseline"].any()
    np.testing.assert_allclose(direct["effect"], direct["level"])          # from zero: its effect is its level
    assert "(not in the baseline: from zero)" in (out / "report.md").read_text()
    assert (out / "institutions_market_share.png").stat().st_size > 10_000
    terminal = capsys.readouterr().out
    said = "No interval can be drawn from one replicate"
    texts = {"terminal": terminal, **{p.name: p.read_text() for p in out.glob("*") if p.suffix in (".md", ".html",
                                                                                                    ".csv")}}
    shown = {**texts, "report.html": texts["report.html"].split("</head>", 1)[1]}    # not plotly.js's own code
    for name, text in shown.items():
        assert not re.search(r"\bnan\b", text, flags=re.I), name
    for name in ("terminal", "report.md", "report.html"):
        assert said in texts[name], name
    md = texts["report.md"]
    assert "95 % CI" not in md and "95 % interval [" not in md and "interval_covers: none (one replicate)" in md
    headline = tables_of(md)[0]
    assert not headline.apply(lambda c: c.str.contains(r"\[")).any().any()
    for csv in ("effects.csv", "institution_effects.csv"):
        assert not [c for c in pd.read_csv(out / csv) if c.endswith(("_lo", "_hi"))], csv
    assert "interval_covers: none (one replicate)" in terminal and "95 % t interval" not in terminal


# ----------------------------------------------------------------------------- hover charts

@pytest.fixture(scope="module")
def tiny():
    """A four-month comparison at 1,000 customers, with one replicate and with two."""
    from lab.comparison import configs, run_all
    overrides = ["population.size=1000", "end=2013-04", "figures=false"]
    return {r: run_all(configs(["marketing_war"], overrides, "baseline"), r, overrides, progress=False)
            for r in (1, 2)}


def _templates(fragment: str) -> list[str]:
    return [t.get("hovertemplate", "") for t in hover.json_of(fragment)]


def test_hover_charts_show_dates_values_with_units_and_intervals_from_two_replicates(tiny, monkeypatch):
    pytest.importorskip("plotly")
    ts, inst = tiny[2]
    c = report.compared(ts, inst, "baseline", {"subtitle": "tiny"})
    share = _templates(report.hover_chart(c, "share_mobile", None))
    assert any(t.startswith("%{x|%b %Y}<br>Marketing war: %{y:,.2f} %") and "95 % interval" in t for t in share)
    assert any("Marketing war − Baseline: %{y:+,.2f} pp" in t for t in share)          # effects signed, in points
    money = _templates(report.hover_chart(c, "balance_platform_mmf", None))
    assert any("RMB bn" in t for t in money)
    one = report.compared(*tiny[1], "baseline", {"subtitle": "tiny"})
    assert not any("interval" in t for t in _templates(report.hover_chart(one, "share_mobile", None)))
    monkeypatch.setattr(hover, "go", None)                                 # without plotly: the PNG instead
    assert report.hover_chart(c, "share_mobile", None) == ""


def test_a_page_carries_plotly_js_once_and_only_with_a_chart(tmp_path, tiny):
    pytest.importorskip("plotly")
    png = tmp_path / "x.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n")
    c = report.compared(*tiny[2], "baseline", {"subtitle": "tiny"})
    page = report.Report("t")
    for column in ("share_mobile", "share_platform", "deposits_bank"):
        page.figure(png, column, report.hover_chart(c, column, None))
    text = page.html()
    head, body = text.split("</head>", 1)
    assert head.count("<script") == 1 and len(re.findall(r"plotly\.js v\d", text)) == 1
    assert len(re.findall(r'<div id="chart_\w+"', body)) == 3 and "data:image/png" not in body
    assert len(text) - len(hover.script()) < 200_000                  # the charts' data: small beside plotly.js
    assert page.markdown().count("](x.png)") == 3                     # report.md keeps the PNGs
    static = report.Report("t")
    static.figure(png, "a figure")
    assert "<script" not in static.html() and "data:image/png;base64," in static.html()


@pytest.mark.slow
def test_the_compared_page_hovers_every_time_series_and_keeps_the_pngs(compared):
    pytest.importorskip("plotly")
    page = (compared / "report.html").read_text()
    md = (compared / "report.md").read_text()
    ts = pd.read_parquet(compared / "timeseries.parquet")
    series = {c for _, columns in report.SECTIONS for c in columns if c in ts}
    assert set(re.findall(r'<div id="chart_(\w+)"', page)) == series
    assert {link[:-4] for link in re.findall(r"!\[[^]]*\]\(([^)]+)\)", md)} >= series       # their PNGs, in the md
    assert len(re.findall(r"plotly\.js v\d", page)) == 1 and len(page.encode()) < 4_700_000 + 4_000_000


@pytest.mark.slow
def test_the_page_fits_1280_px_and_hovering_a_line_shows_its_month_value_and_interval(compared):
    """In headless Chromium (as the dashboard's browser tests): no table or chart wider than the page, no
    request outside the file, and a hover label with the month, the scenario and the value in percent."""
    import shutil
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium; .ci/run does)")
    pytest.importorskip("plotly")
    playwright = pytest.importorskip("playwright.sync_api")
    args = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"]
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=args)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        fetched = []
        page.on("request", lambda r: fetched.append(r.url))
        page.goto((compared / "report.html").as_uri())
        chart = page.locator("#chart_share_mobile")
        chart.locator(".main-svg").first.wait_for(timeout=60_000)
        assert page.evaluate("document.documentElement.scrollWidth") <= 1280
        chart.scroll_into_view_if_needed()
        box = chart.bounding_box()
        page.mouse.move(box["x"] + 0.35 * box["width"], box["y"] + 0.45 * box["height"])
        page.wait_for_timeout(500)
        label = page.evaluate("Array.from(document.querySelectorAll('.hoverlayer')).map(e => e.textContent).join(' ')")
        browser.close()
    assert not [u for u in fetched if not u.startswith(("file:", "data:", "blob:"))]
    assert re.search(r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) 20\d\d", label), label
    assert re.search(r"(Baseline|No U-key): [\d.]+ % \(95 % interval", label), label


# ----------------------------------------------------------------------------- on the study runner

def test_out_is_refused_when_it_holds_a_run_another_comparison_or_a_file(tmp_path):
    from lab.comparison import IDENTITY_FILE, claim_folder
    from lab.errors import CommandError
    mine = {"baseline": "baseline", "scenarios": {"baseline": "a", "no_ukey": "b"}, "overrides": []}
    run = tmp_path / "run"
    run.mkdir()
    (run / "run.json").write_text("{}")
    (tmp_path / "file").write_text("x")
    for folder, says in ((run, "did not write"), (tmp_path / "file", "is a file")):
        with pytest.raises(CommandError, match=says):
            claim_folder(folder, mine)
    assert (run / "run.json").read_text() == "{}" and not (run / IDENTITY_FILE).exists()
    claim_folder(tmp_path / "new", mine)                              # a new folder is claimed ...
    claim_folder(tmp_path / "new", mine)                              # ... and the same comparison resumes there
    with pytest.raises(CommandError, match="another comparison"):
        claim_folder(tmp_path / "new", {**mine, "overrides": ["seed=2"]})


def test_bad_options_are_one_line(tmp_path, capsys):
    for args in (["no_ukey", "--replicates", "abc"], ["no_ukey", "--bogus"], ["../config"]):
        assert main([*args, "--out", str(tmp_path / "x")]) == 2, args
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith(("error:", "config error:")), err
    assert not (tmp_path / "x").exists()


@pytest.mark.slow
def test_a_killed_compare_resumes_running_only_what_is_missing_to_the_same_tables(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time
    from lab import dataset
    args = ["no_ukey", "--replicates", "4", "population.size=3000", "end=2015-12"]
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.Popen([sys.executable, "-m", "experiments.compare", *args, "--out", str(tmp_path / "killed")],
                            cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    runs = tmp_path / "killed" / "runs"
    deadline = time.time() + 300
    while time.time() < deadline and (not runs.exists() or len(dataset.complete_runs(runs)) < 2):
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)                   # the command and its workers
    proc.wait()
    stored = len(dataset.complete_runs(runs))
    assert 2 <= stored < 8 and not (tmp_path / "killed" / "report.md").exists()
    assert main([*args, "--out", str(tmp_path / "killed")]) == 0
    assert dataset.read_meta(runs)["skipped"] == stored                  # nothing stored was run again
    from lab.comparison import configs, run_all                 # the same runs, made at once in memory
    overrides = args[3:]
    whole, _ = run_all(configs(["no_ukey"], overrides, "baseline"), 4, overrides, progress=False)
    resumed = pd.read_parquet(tmp_path / "killed" / "timeseries.parquet")
    key = ["scenario", "replicate", "date"]
    pd.testing.assert_frame_equal(resumed.sort_values(key)[whole.columns].reset_index(drop=True),
                                  whole.sort_values(key).reset_index(drop=True), check_dtype=False)
    assert not (tmp_path / "killed" / ".report-staging").exists()
