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

from experiments.config import CONFIG_DIR, load_config
from experiments.whatif import Levers, Session, build_config, save_experiment

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / "results" / "test-artifacts"


def test_levers_become_the_config():
    cfg = build_config(Levers(preset="no_ukey", population=2000, functional_from="2017-01", partnership=True,
                              ukey_friction=0.3, marketing_bn={"joint_stock": 25.0}, switching_cost_scale=2.0))
    assert cfg.population.size == 2000 and cfg.regulation.ukey_friction == 0.3
    assert cfg.switching_cost.scale == 2.0
    assert [e.date for e in cfg.regulation.scenario_events] == ["2015-01", "2017-01"]   # preset's, then ours
    assert cfg.banks["large_state"].strategy.partner_platform == "jd_finance"
    assert cfg.banks["joint_stock"].strategy.marketing_budget_bn == 25.0


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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium; .ci/run does)")
    port = _free_port()
    proc = subprocess.Popen([str(Path(sys.executable).parent / "solara"), "run", "experiments/dashboard.py",
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


def test_page_runs_months_and_shows_what_the_model_says(server):
    from playwright.sync_api import sync_playwright
    args = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=args)
        page = browser.new_page(viewport={"width": 1500, "height": 1100})
        page.goto(server, wait_until="networkidle")
        run = page.get_by_role("button", name="Run", exact=True)
        run.wait_for(timeout=60_000)
        select = page.locator(".v-select", has_text="Simulated customers")   # population: 10,000
        select.locator(".v-field").click()
        page.locator(".v-overlay-container .v-list-item", has_text=re.compile(r"^\s*10000\s*$")).click()
        page.get_by_text("10000", exact=True).first.wait_for(timeout=10_000)
        slider = page.get_by_role("slider").nth(1)                        # U-key friction
        slider.focus()
        page.keyboard.press("Home")                                       # down to 0
        page.get_by_text("U-key friction on bank e-channels: 0.0 utils").wait_for(timeout=10_000)
        run.click()
        page.get_by_text("Month 2014-12").wait_for(timeout=120_000)
        shown = _table(page)
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

        page.locator(".v-text-field", has_text="Save these settings as experiment").locator("input").fill(
            "pytest_from_browser")
        page.keyboard.press("Enter")
        page.get_by_role("button", name="Save", exact=True).click()
        saved = CONFIG_DIR / "experiment" / "pytest_from_browser.yaml"
        try:
            page.get_by_text("Saved pytest_from_browser.yaml").wait_for(timeout=10_000)
            cfg = load_config(["experiment=pytest_from_browser"])
            assert cfg.regulation.ukey_friction == 0.0 and cfg.population.size == 10_000
        finally:
            saved.unlink(missing_ok=True)
        browser.close()
