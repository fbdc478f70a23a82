"""The what-if dashboard: levers -> config, saved experiments, and the page in headless Chromium."""
from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

import matplotlib.pyplot as plt
import pandas as pd

from lab.compose import CONFIG_DIR, load_config
from lab.whatif import (Levers, Session, build_config, changes, levers_from_preset, presets,
                                save_experiment)
from sim.config import ConfigError
from sim.market import MarketModel

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / "results" / "test-artifacts"


def test_a_preset_that_is_not_utf8_is_left_out_instead_of_stopping_the_dashboard(tmp_path, monkeypatch, caplog):
    import lab.whatif as whatif
    (tmp_path / "experiment").mkdir()
    (tmp_path / "experiment" / "good.yaml").write_text("scenario: good\n")
    (tmp_path / "experiment" / "bad.yaml").write_bytes(b"scenario: \xff\xfe bad\n")
    monkeypatch.setattr(whatif, "CONFIG_DIR", tmp_path)
    assert whatif.presets() == ["good"]
    assert "bad.yaml" in caplog.text


def test_levers_become_the_config():
    cfg = build_config(Levers(preset="no_ukey", population=2000, functional_from="2017-01", partnership=True,
                              ukey_friction=0.3, marketing_bn={"joint_stock": 25.0}, switching_cost_scale=2.0))
    assert cfg.population.size == 2000 and cfg.regulation.ukey_friction == 0.3
    assert cfg.switching_cost.scale == 2.0
    assert [e.date for e in cfg.regulation.scenario_events] == ["2015-01", "2017-01"]   # preset's, then ours
    assert cfg.banks["large_state"].strategy.partner_platform == "jd_finance"
    assert cfg.banks["joint_stock"].strategy.marketing_budget_bn == 25.0


def test_strategy_and_premium_levers_become_the_config():
    cfg = build_config(Levers(population=2000,
                              bank_strategy={"joint_stock": "responsive", "city_commercial": "adaptive"},
                              deposit_premium_pp={"joint_stock": 0.75, "rural_commercial": 1.5},
                              platform_strategy={"alipay": "responsive", "wechat_pay": "responsive",
                                                 "jd_finance": "adaptive"}))
    history = {b: x.strategy.deposit_rate_premium for b, x in load_config(["population.size=2000"]).banks.items()}
    assert {b: (x.strategy.kind, x.strategy.deposit_rate_premium) for b, x in cfg.banks.items()} == {
        "large_state": ("fixed", history["large_state"]), "joint_stock": ("responsive", 0.75),
        "city_commercial": ("adaptive", history["city_commercial"]), "rural_commercial": ("fixed", 1.5)}
    assert history["large_state"] != 1.5 and history["joint_stock"] != 0.75      # the levers did move them
    assert {p: x.strategy.kind for p, x in cfg.platforms.items()} == {
        "alipay": "responsive", "wechat_pay": "responsive", "jd_finance": "adaptive"}
    # the same as the command line's overrides of those keys
    assert cfg == load_config(["population.size=2000", "seed=42", "end=2020-12", "figures=false",
                               "banks.joint_stock.strategy.kind=responsive",
                               "banks.city_commercial.strategy.kind=adaptive",
                               "banks.joint_stock.strategy.deposit_rate_premium=0.75",
                               "banks.rural_commercial.strategy.deposit_rate_premium=1.5",
                               "platforms.alipay.strategy.kind=responsive",
                               "platforms.wechat_pay.strategy.kind=responsive",
                               "platforms.jd_finance.strategy.kind=adaptive"])


@pytest.mark.parametrize("bad, key", [({"bank_strategy": {"joint_stock": "greedy"}}, "strategy.kind"),
                                      ({"deposit_premium_pp": {"joint_stock": 9.0}}, "deposit_rate_premium"),
                                      ({"platform_strategy": {"paypal": "fixed"}}, "platforms.paypal")])
def test_a_bad_strategy_or_premium_is_a_config_error(bad, key):
    with pytest.raises(ConfigError, match=key):
        build_config(Levers(population=2000, **bad))


STRATEGY_PRESET = ["banks.joint_stock.strategy.kind=responsive", "banks.joint_stock.strategy.deposit_rate_premium=0.4",
                   "banks.rural_commercial.strategy.kind=adaptive", "platforms.alipay.strategy.kind=responsive",
                   "platforms.wechat_pay.strategy.kind=adaptive"]


def test_strategy_levers_round_trip_through_a_preset(monkeypatch):
    """A preset's strategy kinds and premiums come back as the levers, and those levers build that preset.
    The preset is the baseline with STRATEGY_PRESET's settings, as a preset file would give them."""
    import lab.whatif as whatif
    compose = whatif._preset_config
    monkeypatch.setattr(whatif, "_preset_config",
                        lambda levers: load_config([f"experiment={levers.preset}",
                                                    f"population.size={levers.population}", f"seed={levers.seed}",
                                                    f"end={levers.end}", "figures=false", *STRATEGY_PRESET]))
    whatif._levers_from_preset.cache_clear()
    try:
        levers = levers_from_preset("baseline", population=2000, seed=3)
        assert levers.bank_strategy == {"large_state": "fixed", "joint_stock": "responsive",
                                        "city_commercial": "fixed", "rural_commercial": "adaptive"}
        history = {b: x.strategy.deposit_rate_premium for b, x in load_config(["population.size=2000"]).banks.items()}
        assert levers.deposit_premium_pp == {**history, "joint_stock": 0.4} and history["joint_stock"] != 0.4
        assert levers.platform_strategy == {"alipay": "responsive", "wechat_pay": "adaptive", "jd_finance": "fixed"}
        assert build_config(levers) == load_config(["population.size=2000", "seed=3", "end=2020-12", "figures=false",
                                                    *STRATEGY_PRESET])
        assert changes(levers) == []
        # moved off the preset: the header names each change with the preset's own value
        levers.bank_strategy["joint_stock"] = "fixed"
        levers.deposit_premium_pp["joint_stock"] = 1.25
        levers.platform_strategy = {p: "fixed" for p in levers.platform_strategy}
        assert changes(levers) == ["strategy joint_stock: fixed (preset: responsive)",
                                   "deposit premium joint_stock: 1.25 (preset: 0.4) pp",
                                   "strategy alipay: fixed (preset: responsive)",
                                   "strategy wechat_pay: fixed (preset: adaptive)"]
        cfg = build_config(levers)
        assert cfg.banks["joint_stock"].strategy.kind == "fixed"
        assert cfg.banks["joint_stock"].strategy.deposit_rate_premium == 1.25
        assert cfg.banks["rural_commercial"].strategy.kind == "adaptive"           # kept as the preset has it
        assert {x.strategy.kind for x in cfg.platforms.values()} == {"fixed"}
    finally:
        monkeypatch.setattr(whatif, "_preset_config", compose)
        whatif._levers_from_preset.cache_clear()


def test_the_header_names_the_platforms_strategy_once_when_all_change_together():
    levers = levers_from_preset("baseline")
    levers.platform_strategy = {p: "responsive" for p in levers.platform_strategy}
    levers.bank_strategy["large_state"] = "adaptive"
    assert changes(levers) == ["strategy large_state: adaptive (preset: fixed)",
                               "Platform strategy: responsive (preset: fixed)"]


def test_saved_strategies_run_unchanged_as_an_experiment(tmp_path):
    levers = Levers(population=2000, bank_strategy={"large_state": "responsive"},
                    deposit_premium_pp={"city_commercial": 0.3}, platform_strategy={"jd_finance": "adaptive"})
    path = save_experiment(levers, "pytest_saved_strategies")
    try:
        saved = load_config(["experiment=pytest_saved_strategies"])
        wanted = build_config(levers)
        saved.scenario, saved.question, saved.figures = wanted.scenario, wanted.question, wanted.figures
        assert saved == wanted
        assert "kind: responsive" in path.read_text() and "deposit_rate_premium: 0.3" in path.read_text()
    finally:
        path.unlink()


def test_saved_settings_run_unchanged_as_an_experiment():
    levers = Levers(preset="partnership", population=3000, seed=9, functional_from="2018-06",
                    remote_opening_from="2014-01", marketing_bn={"city_commercial": 12.0}, ukey_friction=1.1)
    path = save_experiment(levers, "pytest_saved_dashboard")
    try:
        saved = load_config(["experiment=pytest_saved_dashboard"])
        wanted = build_config(levers)
        saved.scenario, saved.question = wanted.scenario, wanted.question
        saved.figures = wanted.figures
        assert saved == wanted
    finally:
        path.unlink()


@pytest.mark.parametrize("name", presets())
def test_each_preset_sets_the_controls_to_exactly_that_preset(name):
    levers = levers_from_preset(name, population=2000, seed=3)
    assert build_config(levers) == load_config([f"experiment={name}", "population.size=2000", "seed=3",
                                                "end=2020-12", "figures=false"])
    assert changes(levers) == []


def test_presets_set_the_levers_they_are_about():
    assert levers_from_preset("low_switching_cost").switching_cost_scale == 0.5
    assert levers_from_preset("low_switching_cost").remote_opening_from == "2013-01"
    assert levers_from_preset("marketing_war").marketing_bn == {"large_state": 45.0, "joint_stock": 30.0,
                                                                "city_commercial": 12.0, "rural_commercial": 6.0}
    functional = levers_from_preset("functional_regulation")
    assert (functional.functional_from, functional.platform_compliance_cost) == ("2017-01", 0.6)
    assert levers_from_preset("partnership").partnership
    war = levers_from_preset("deposit_rate_war")
    assert war.deposit_premium_pp["joint_stock"] == 0.5 and war.bank_strategy["joint_stock"] == "fixed"
    assert {war.bank_strategy[g] for g in ("large_state", "city_commercial", "rural_commercial")} == {"responsive"}
    baseline = levers_from_preset("baseline")
    assert set(baseline.bank_strategy) == set(baseline.deposit_premium_pp) == set(baseline.marketing_bn)
    assert set(baseline.platform_strategy) == {"alipay", "wechat_pay", "jd_finance"}


def test_the_header_names_what_differs_from_the_preset():
    levers = levers_from_preset("low_switching_cost")
    levers.switching_cost_scale = 1.0
    levers.marketing_bn["joint_stock"] = 25.0
    assert changes(levers) == ["Switching cost: 1 (preset: 0.5)", "marketing joint_stock: 25 (preset: 10) RMB bn"]


def test_save_never_overwrites_a_shipped_preset_and_asks_before_replacing_a_save(tmp_path):
    shipped = CONFIG_DIR / "experiment" / "baseline.yaml"
    before = shipped.read_text()
    with pytest.raises(ConfigError, match="shipped preset"):
        save_experiment(Levers(population=2000), "baseline")
    with pytest.raises(ConfigError, match="shipped preset"):
        save_experiment(Levers(population=2000), "baseline", overwrite=True)
    assert shipped.read_text() == before
    first = save_experiment(Levers(population=2000), "mine", directory=tmp_path)
    with pytest.raises(ConfigError, match="Overwrite"):
        save_experiment(Levers(population=3000), "mine", directory=tmp_path)
    assert "2000" in first.read_text()
    save_experiment(Levers(population=3000), "mine", directory=tmp_path, overwrite=True)
    assert "3000" in first.read_text()


def test_save_refuses_a_long_name_a_folder_and_says_what_the_disk_refused(tmp_path, monkeypatch):
    """Each a line on the page, never an exception out of it (issue 26)."""
    with pytest.raises(ConfigError, match="1 to 64 letters"):
        save_experiment(Levers(population=2000), "x" * 300, directory=tmp_path)
    (tmp_path / "afolder.yaml").mkdir()
    with pytest.raises(ConfigError, match="not a folder"):
        save_experiment(Levers(population=2000), "afolder", directory=tmp_path)
    with pytest.raises(ConfigError, match="a preset in configs/experiment/"):
        build_config(Levers(population=2000, preset="nope"))
    import errno
    from lab import dashboard

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")
    monkeypatch.setattr(dashboard, "save_experiment", read_only)
    dashboard.save_name.set("mine")
    dashboard._save()
    assert dashboard.message.value == "error: cannot save mine.yaml: Read-only file system"
    assert dashboard.saved.value == ""


def test_drawing_a_month_keeps_no_figure():
    from lab.dashboard import charts
    session = Session(Levers(population=2000, end="2013-06"))
    before = plt.get_fignums()
    for _ in range(3):
        session.step()
        charts(session)
    assert plt.get_fignums() == before


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium; .ci/run does)")
    port = _free_port()
    proc = subprocess.Popen([str(Path(sys.executable).parent / "solara"), "run", "lab/dashboard.py",
                             "--host", "127.0.0.1", "--port", str(port), "--production"],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("the dashboard server did not start")
    yield url
    proc.terminate()
    proc.wait(timeout=10)


def _table(page) -> dict[str, tuple[float, float, float]]:
    text = page.inner_text("body")
    rows = re.findall(r"(Bank mobile app users|Platform app users|Branch counter users|Off-counter rate)\s+"
                      r"([\d.]+) %\s+([\d.]+) %\s+([+-][\d.]+) pp", text)
    return {name: (float(a), float(b), float(d)) for name, a, b, d in rows}


BROWSER_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture
def page(server):
    """The page in headless Chromium at 1,280 px, the narrowest width it is made for."""
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1000}, accept_downloads=True)
        page.goto(server, wait_until="networkidle")
        page.get_by_role("button", name="Run", exact=True).wait_for(timeout=60_000)
        yield page
        browser.close()


def _choose(page, label: str, option: str) -> None:
    page.locator(".v-select", has_text=label).locator(".v-field").click()
    page.locator(".v-overlay-container .v-list-item", has_text=re.compile(rf"^\s*{re.escape(option)}\s*$")).click()
    page.locator(".v-select", has_text=label).get_by_text(option, exact=True).wait_for(timeout=10_000)


def _cli_row(months: int, *overrides: str) -> dict:
    """The market row after `months` months of the run `python -m experiments.run` makes of these overrides."""
    model = MarketModel(load_config(list(overrides)), replicate=0)
    for _ in range(months):
        model.step()
    return model.recorder.rows[-1]


@pytest.mark.slow                        # the page runs 24 months of 10,000 customers: over a minute
def test_page_runs_months_and_shows_what_the_model_says(page):
    tracks = page.locator(".v-slider-track").all()              # usable at 1,280 px: tracks a fifth of the page
    assert len(tracks) == 11 and all(track.bounding_box()["width"] > 250 for track in tracks)
    _choose(page, "Simulated customers", "10000")
    slider = page.get_by_role("slider").nth(1)                        # U-key friction
    slider.focus()
    page.keyboard.press("Home")                                       # down to 0
    page.get_by_text("U-key friction on bank e-channels: 0.0 utils").wait_for(timeout=10_000)
    page.get_by_role("button", name="Run", exact=True).click()
    page.get_by_text("Month 2014-12").wait_for(timeout=120_000)
    shown = _table(page)
    assert "preset 'baseline' changed: U-key friction: 0 (preset: 0.8)" in page.inner_text("body")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)

    session = Session(Levers(population=10_000, ukey_friction=0.0))
    for _ in range(24):
        session.step()
    row, base = session.model.recorder.rows[-1], session.baseline.recorder.rows[-1]
    mobile = shown["Bank mobile app users"]
    assert mobile[0] == pytest.approx(100 * row["share_mobile"], abs=0.006)
    assert mobile[1] == pytest.approx(100 * base["share_mobile"], abs=0.006)
    assert mobile[2] > 0.5                        # no U-key: more mobile banking than the baseline
    assert shown["Off-counter rate"][0] == pytest.approx(100 * row["off_counter_rate"], abs=0.006)
    with page.expect_download() as download:                           # the shown months, as CSV
        page.get_by_text("Download the monthly table (CSV)").click()
    table = pd.read_csv(download.value.path())
    assert table["date"].iloc[-1] == "2014-12" and len(table) == 24
    assert table["share_mobile"].iloc[-1] == pytest.approx(row["share_mobile"])
    assert table["share_mobile_baseline"].iloc[-1] == pytest.approx(base["share_mobile"])

    page.locator(".v-text-field", has_text="Save these settings as experiment").locator("input").fill(
        "pytest_from_browser")
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Save", exact=True).click()
    saved = CONFIG_DIR / "experiment" / "pytest_from_browser.yaml"
    try:
        page.get_by_text("Saved pytest_from_browser.yaml").wait_for(timeout=10_000)
        cfg = load_config(["experiment=pytest_from_browser"])
        assert cfg.regulation.ukey_friction == 0.0 and cfg.population.size == 10_000
        page.get_by_role("button", name="Save", exact=True).click()           # again: refused, not replaced
        page.get_by_text("tick 'Overwrite'").wait_for(timeout=10_000)
    finally:
        saved.unlink(missing_ok=True)


@pytest.mark.slow
@pytest.mark.parametrize("preset", ["low_switching_cost", "marketing_war"])
def test_choosing_a_preset_in_the_page_runs_exactly_that_preset(page, preset):
    _choose(page, "Simulated customers", "10000")
    _choose(page, "Start from preset", preset)
    shown_lever = {"low_switching_cost": "Switching cost: 0.50 × default",
                   "marketing_war": "Joint-stock: 30 RMB bn a year"}[preset]
    page.get_by_text(shown_lever).wait_for(timeout=10_000)             # the controls show the preset's values
    _choose(page, "Months per run", "12")
    page.get_by_role("button", name="Run", exact=True).click()
    page.get_by_text("Month 2013-12").wait_for(timeout=120_000)
    assert f"scenario '{preset}'" in page.inner_text("body") and "changed" not in page.inner_text("body")
    shown = _table(page)
    row = _cli_row(12, f"experiment={preset}", "population.size=10000", "seed=42")
    base = _cli_row(12, "population.size=10000", "seed=42")
    for label, key in (("Bank mobile app users", "share_mobile"), ("Platform app users", "share_platform"),
                       ("Branch counter users", "share_branch"), ("Off-counter rate", "off_counter_rate")):
        assert shown[label][0] == pytest.approx(100 * row[key], abs=0.006), label
        assert shown[label][1] == pytest.approx(100 * base[key], abs=0.006), label


@pytest.mark.slow                        # a browser and the page's server: 8.7 s
def test_strategy_controls_show_the_preset_and_the_header_names_what_differs(page):
    _choose(page, "Start from preset", "deposit_rate_war")
    page.get_by_text("Joint-stock: 0.50 pp").wait_for(timeout=10_000)             # the preset's premium
    for group in ("Large state-owned", "City commercial", "Rural commercial"):
        page.locator(".v-select", has_text=f"{group} banks' strategy").get_by_text("responsive", exact=True).wait_for(
            timeout=10_000)
    _choose(page, "Joint-stock banks' strategy", "adaptive")
    _choose(page, "Platforms' strategy", "responsive")
    slider = page.get_by_role("slider").nth(8)                         # the joint-stock banks' premium
    slider.focus()
    page.keyboard.press("End")                                         # up to 1.5 pp
    page.get_by_text("Joint-stock: 1.50 pp").wait_for(timeout=10_000)
    page.get_by_text("strategy joint_stock: adaptive (preset: fixed)").wait_for(timeout=10_000)
    page.get_by_text("deposit premium joint_stock: 1.5 (preset: 0.5) pp").wait_for(timeout=10_000)  # the header
    shown = page.inner_text("body")                                    # follows the slider a moment later
    assert "deposit premium joint_stock: 1.5 (preset: 0.5) pp" in shown
    assert "Platform strategy: responsive (preset: fixed)" in shown


@pytest.mark.slow                        # a browser and the page's server: 7.4 s
def test_save_in_the_page_cannot_clobber_a_shipped_preset(page):
    shipped = CONFIG_DIR / "experiment" / "baseline.yaml"
    before = shipped.read_text()
    page.locator(".v-text-field", has_text="Save these settings as experiment").locator("input").fill("baseline")
    page.keyboard.press("Enter")
    page.locator("input[type=checkbox]").check()                       # even when asked to overwrite
    page.get_by_role("button", name="Save", exact=True).click()
    page.get_by_text("not a shipped preset").wait_for(timeout=10_000)
    assert shipped.read_text() == before


@pytest.mark.slow
def test_presets_side_by_side_show_the_paired_effects_compare_computes(page):
    from lab import comparison as compare
    from lab import report
    _choose(page, "Simulated customers", "10000")
    page.locator(".v-select", has_text="Up to three presets").locator(".v-field").click()
    for name in ("no_ukey", "marketing_war"):
        page.locator(".v-overlay-container .v-list-item", has_text=re.compile(rf"^\s*{name}\s*$")).click()
    page.keyboard.press("Escape")
    _choose(page, "Replicates", "3")
    page.get_by_role("button", name="Compare", exact=True).click()
    page.get_by_text("Download the headline table (CSV)").wait_for(timeout=120_000)
    overrides = ["population.size=10000", "seed=42", "figures=false"]
    ts, _ = compare.run_all(compare.configs(["no_ukey", "marketing_war"], overrides, "baseline"), 3, overrides,
                            progress=False)
    effects = report.headline_effects(ts, "baseline")
    table = report.headline_tables(effects, "baseline", {"no_ukey": "No U-key", "marketing_war": "Marketing war"})
    table = table[0].set_index("Figure")
    shown = page.inner_text("body")
    for name in ("No U-key", "Marketing war"):                         # by their names, with 95 % intervals
        assert table.loc["Most-used channel of the month: bank app", name] in shown and " [" in table.iloc[0][name]
    assert "wide and unreliable" in shown                              # 3 replicates are too few
    with page.expect_download() as download:                           # the effects shown, as numbers
        page.get_by_text("Download the headline table (CSV)").click()
    saved = pd.read_csv(download.value.path())
    assert all(pd.api.types.is_float_dtype(saved[c]) for c in ("value", "low", "high"))
    pd.testing.assert_frame_equal(saved, report.headline_numbers(effects), check_dtype=False)

# ----------------------------------------------------------------------------- what a preset changes, unclipped charts

@pytest.mark.slow
def test_a_preset_lists_what_it_changes_even_where_no_control_shows_it():
    from lab.whatif import dated_settings, first_change, preset_changes
    assert levers_from_preset("no_ukey").ukey_friction == levers_from_preset("baseline").ukey_friction  # the slider
    listed = preset_changes("no_ukey")                                  # shows history: its change is dated
    assert len(listed) == 1 and listed[0].startswith("2015-01: U-key friction 0")
    assert dated_settings("no_ukey") == {"ukey_friction": [("2015-01", 0.0)]} and first_change("no_ukey") == "2015-01"
    war = preset_changes("marketing_war")
    assert "banks.large_state.strategy.marketing_budget_bn: 45 (baseline 15)" in war and len(war) == 7
    assert preset_changes("baseline") == [] and first_change("marketing_war") == ""
    assert "banks.direct: added (Direct bank (online only)), not in the baseline" in preset_changes("direct_bank")
    for name in presets():                                              # every shipped preset other than the
        if name not in ("baseline",):                                   # baseline changes something
            assert preset_changes(name), name


@pytest.mark.slow
def test_the_header_says_a_dated_preset_equals_the_baseline_until_its_first_change():
    from lab.dashboard import header
    s = Session(Levers(preset="no_ukey", population=1000, end="2015-03"))
    s.step()
    assert "the same as the baseline until 2015-01" in header(s)
    s.levers.ukey_friction = 0.3                                        # a control moved: the header names that
    assert "until 2015-01" not in header(s) and "U-key friction: 0.3" in header(s)
    war = Session(Levers(preset="marketing_war", population=1000, end="2013-03"))
    war.step()
    assert "until" not in header(war)


def _outside(fig) -> list[float]:
    """How far (inches) what the figure draws (titles, tick labels, legends) reaches past its left, bottom,
    right and top edges, each clipped at 0: all zeros when nothing is cut off."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    FigureCanvasAgg(fig).draw()
    drawn = fig.get_tightbbox(fig.canvas.get_renderer())
    width, height = fig.get_size_inches()
    return [round(max(0.0, v), 2) for v in (-drawn.x0, -drawn.y0, drawn.x1 - width, drawn.y1 - height)]


@pytest.mark.slow
def test_the_charts_and_their_png_keep_every_title_tick_and_legend_inside():
    import base64
    import io
    from PIL import Image
    from lab import comparison as compare
    from lab.dashboard import charts, comparison_charts, download_links
    s = Session(Levers(population=1000, end="2020-12"))
    for _ in range(2):
        s.step()
    fig = charts(s)
    assert _outside(fig) == [0, 0, 0, 0]
    assert "2021" in {t.get_text() for ax in fig.axes for t in ax.get_xticklabels()}     # the last tick, drawn
    links = download_links("x", pd.DataFrame({"a": [1.0]}), fig, "table")
    png = base64.b64decode(re.search(r'href="data:image/png;base64,([^"]+)"', links).group(1))
    assert Image.open(io.BytesIO(png)).size[0] >= 1100                                 # 12 in at 100 dpi, whole
    overrides = ["population.size=1000", "end=2013-04", "figures=false"]
    ts, _ = compare.run_all(compare.configs(["marketing_war"], overrides, "baseline"), 2, overrides, progress=False)
    assert _outside(comparison_charts(ts)) == [0, 0, 0, 0]


def test_the_headline_csv_holds_numbers_and_units():
    import base64
    import io
    from lab import comparison as compare
    from lab import report
    from lab.dashboard import download_links
    overrides = ["population.size=1000", "end=2013-04", "figures=false"]
    ts, _ = compare.run_all(compare.configs(["marketing_war"], overrides, "baseline"), 2, overrides, progress=False)
    links = download_links("compare", report.headline_numbers(report.headline_effects(ts, "baseline")),
                           plt.figure(), "headline table")
    plt.close("all")
    csv = base64.b64decode(re.search(r'href="data:text/csv;base64,([^"]+)"', links).group(1)).decode()
    table = pd.read_csv(io.StringIO(csv))
    assert list(table.columns[:8]) == ["figure", "when", "scenario", "quantity", "value", "low", "high", "unit"]
    assert all(pd.api.types.is_float_dtype(table[c]) for c in ("value", "low", "high"))
    effect = table[(table["quantity"] == "effect") & (table["scenario"] == "marketing_war")]
    assert len(effect) and (effect["low"] <= effect["value"]).all() and (effect["value"] <= effect["high"]).all()
    assert set(effect["unit"]) <= {"pp", "million", "RMB bn"}


def test_run_folder_names_end_without_a_stray_separator():
    from sim.writers.run_folder import folder_suffix
    assert folder_suffix("") == "" and folder_suffix("experiment=no_ukey") == ""
    assert folder_suffix("experiment=no_ukey,seed=42") == ""
    assert folder_suffix("experiment=no_ukey,population.size=2000") == "_size=2000"
