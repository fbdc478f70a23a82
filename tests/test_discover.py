"""Scenario discovery (`python -m experiments.discover`): PRIM finds planted boxes and no box in noise; the
command reads a study's runs as cases, writes its folder, and refuses every bad input in one line."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("ema_workbench", reason="the strategy extra (pip install -e '.[strategy]') is not installed")

from experiments.discover import main as discover_main  # noqa: E402
from lab import dataset  # noqa: E402
from lab.discovery_cases import parse_outcome  # noqa: E402
from lab.errors import CommandError  # noqa: E402
from lab.prim_boxes import find_boxes  # noqa: E402
from tests.discover_study import write_study  # noqa: E402

BOX_COLUMNS = ["box", "coverage", "density", "mass", "parameter", "low", "high"]
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module", autouse=True)
def prim_loaded():
    """The EMA Workbench's import (5-15 s here) once for the module, not inside the first test that needs it."""
    from lab.prim_boxes import load_prim
    load_prim()


def planted(n: int, seed: int, noise: float = 0.03) -> tuple[pd.DataFrame, np.ndarray]:
    """Uniform x1, x2, x4 and an integer x3; y = x1 in [0.2, 0.5] and x2 > 0.7, a share `noise` of labels flipped."""
    rng = np.random.default_rng(seed)
    x = pd.DataFrame({"x1": rng.uniform(size=n), "x2": rng.uniform(size=n),
                      "x3": rng.integers(0, 5, size=n), "x4": rng.uniform(size=n)})
    y = ((x["x1"] >= 0.2) & (x["x1"] <= 0.5) & (x["x2"] > 0.7)).to_numpy()
    return x, np.where(rng.uniform(size=n) < noise, ~y, y)


@pytest.mark.parametrize("seed", [0, 1])
def test_prim_recovers_a_planted_box(seed):
    x, y = planted(600, seed)
    assert x["x3"].dtype == np.int64                     # the EMA Workbench's integer peel fails under pandas 3
    search = find_boxes(x, y)
    assert search.boxes, "no box found for a planted one"
    box = search.boxes[0]
    assert set(box.limits) == {"x1", "x2"}               # x3 and x4 play no part and are not restricted
    (x1_low, x1_high), (x2_low, x2_high) = box.limits["x1"], box.limits["x2"]
    assert abs(x1_low - 0.2) < 0.05 and abs(x1_high - 0.5) < 0.05
    assert abs(x2_low - 0.7) < 0.05 and x2_high > 0.95
    assert box.density > 0.8 and box.density > 3 * search.base_rate
    inside = x["x1"].between(x1_low, x1_high) & x["x2"].between(x2_low, x2_high)
    assert box.mass == pytest.approx(inside.mean(), abs=0.01)
    assert box.coverage == pytest.approx(y[inside].sum() / y.sum(), abs=0.01)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_prim_finds_no_box_where_the_outcome_is_noise(seed):
    rng = np.random.default_rng(100 + seed)
    x = pd.DataFrame(rng.uniform(size=(300, 4)), columns=["a", "b", "c", "d"])
    y = rng.uniform(size=300) < 0.3
    search = find_boxes(x, y)
    assert search.trajectories                           # PRIM did peel; the rule chose nothing
    for box in search.boxes:
        assert box.density < search.base_rate + 0.15


# ----------------------------------------------------------------------------- the command, on a study

def listing(root: Path) -> dict[str, float]:
    return {str(p.relative_to(root)): p.stat().st_mtime for p in sorted(root.rglob("*"))}


LOSS = ["--institution", "large_state", "--outcome", "customer_share < 0.40", "--at", "2020-12"]


def test_the_command_finds_the_planted_condition_and_writes_its_folder(tmp_path, capsys):
    root = write_study(tmp_path / "study")
    assert discover_main([str(root), *LOSS]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    folder = root / "discover"
    assert out[-1] == str(folder)
    cases = pd.read_parquet(folder / "cases.parquet")
    assert len(cases) == 120 and cases[["point", "replicate"]].drop_duplicates().shape[0] == 120
    assert {"switching_cost_scale", "banks_large_state_strategy_marketing_budget_bn", "customer_share",
            "of_interest"} <= set(cases.columns)
    assert (cases["of_interest"] == (cases["customer_share"] < 0.40)).all()
    boxes = pd.read_csv(folder / "boxes.csv")
    assert list(boxes.columns) == BOX_COLUMNS
    first = boxes[boxes["box"] == 1].set_index("parameter")
    assert first.loc["switching_cost_scale", "high"] == pytest.approx(0.9, abs=0.1)
    assert first.loc["banks_large_state_strategy_marketing_budget_bn", "high"] == pytest.approx(16, abs=2)
    assert first["density"].iloc[0] > 0.8 and first["coverage"].iloc[0] > 0.8
    for name in ("tradeoff.png", "box_1.png", "report.md", "discover.json"):
        assert (folder / name).stat().st_size > 0
    assert "switching_cost.scale" in (folder / "report.md").read_text()
    assert not list(root.glob(".discover-staging-*"))


@pytest.mark.slow
def test_a_second_question_gets_its_own_folder_and_the_same_one_its_old(tmp_path, capsys):
    root = write_study(tmp_path / "study")
    assert discover_main([str(root), *LOSS]) == 0
    first = json.loads((root / "discover" / "discover.json").read_text())
    assert discover_main([str(root), "--outcome", "share_mobile > 0.4"]) == 0
    other = Path(capsys.readouterr().out.strip().splitlines()[-1])
    assert other.parent == root / "discover" and other.name == "share_mobile_gt_0.4_at_2020-12"
    assert json.loads((root / "discover" / "discover.json").read_text()) == first      # untouched
    assert pd.read_parquet(other / "cases.parquet")["of_interest"].any()
    assert discover_main([str(root), *LOSS]) == 0                                      # same question
    assert capsys.readouterr().out.strip().splitlines()[-1] == str(root / "discover")
    assert discover_main([str(root), "--outcome", "share_mobile > 0.4"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == str(other)


@pytest.mark.parametrize("args, says", [
    (["--outcome", "customer_share"], "--outcome"),
    (["--outcome", "customer_share <"], "--outcome"),
    (["--outcome", "< 0.4"], "--outcome"),
    (["--outcome", "customer_share =< 0.4"], "--outcome"),
    (["--outcome", "customer_share < abc"], "--outcome"),
    (["--outcome", "customer_share < nan"], "--outcome"),
    (["--outcome", "customer_share < 1e999"], "finite"),
    (["--outcome", "customer_share < 0.4; rm -rf /"], "--outcome"),
    (["--outcome", ""], "--outcome"),
    (["--outcome", "customer_share < 0.40"], "--institution"),          # an institutions column without it
    (["--outcome", "share_mobile > 0.3", "--institution", "large_state"], "drop --institution"),
    (["--outcome", "nonsense_column < 1"], "nonsense_column"),
    (["--outcome", "label < 1"], "'label'"),                           # a text column
    (["--outcome", "customer_share < 0.4", "--institution", "hsbc"], "'hsbc'"),
    (["--outcome", "customer_share < 0.4", "--institution", "alipay"], "no value"),   # a platform has none
    (["--outcome", "customer_share < 0.1", "--institution", "large_state"], "no run meets"),
    (["--outcome", "customer_share < 0.9", "--institution", "large_state"], "every run meets"),
    (["--outcome", "share_mobile > 0.3", "--at", "2020-13"], "--at"),
    (["--outcome", "share_mobile > 0.3", "--at", "2020/12"], "--at"),
    (["--outcome", "share_mobile > 0.3", "--at", "2019-12"], "2020-11 to 2020-12"),
    ([], "--outcome"),                                                  # required
    (["--outcome", "share_mobile > 0.3", "--bogus"], "--bogus"),
])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, capsys, args, says):
    root = write_study(tmp_path / "study")
    before = listing(root)
    assert discover_main([str(root), *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error") and says in err[0], err
    assert listing(root) == before


@pytest.mark.parametrize("make, says", [
    (lambda p: p, "not a study"),                                       # missing
    (lambda p: (p.mkdir(), p)[1], "not a study"),                       # an empty folder
    (lambda p: (p.write_text("x"), p)[1], "not a study"),               # a file
    (lambda p: (p.mkdir(), (p / "runs").mkdir(), p)[2], "no complete run"),
    (lambda p: write_study(p, swept=("seed_like", "other")), "swept"),  # nothing that varies is swept
])
def test_a_folder_that_is_no_usable_study_is_refused(tmp_path, capsys, make, says):
    root = make(tmp_path / "target")
    if says == "swept":                                                 # the swept columns named are absent
        dataset.write_meta(root, {"swept": ["seed"], "config_keys": {}})
    before = listing(tmp_path)
    assert discover_main([str(root), "--outcome", "share_mobile > 0.3"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and says in err[0], err
    assert listing(tmp_path) == before


@pytest.mark.parametrize("foreign", ["a folder", "a file"])
def test_a_discover_folder_it_did_not_write_is_never_touched(tmp_path, capsys, foreign):
    root = write_study(tmp_path / "study")
    if foreign == "a file":
        (root / "discover").write_text("mine")
    else:
        (root / "discover").mkdir()
        (root / "discover" / "notes.txt").write_text("mine")
    before = listing(root)
    assert discover_main([str(root), *LOSS]) == 2
    assert "not written by discover" in capsys.readouterr().err
    assert listing(root) == before


def test_without_the_ema_workbench_it_says_how_to_get_it(tmp_path, capsys, monkeypatch):
    import importlib.util
    root = write_study(tmp_path / "study")
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "ema_workbench" else real(name, *a))
    before = listing(root)
    assert discover_main([str(root), *LOSS]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and '.[strategy]' in err[0]
    assert listing(root) == before


def test_outcome_parsing_reads_each_operator():
    for op in ("<", "<=", ">", ">=", "==", "!="):
        o = parse_outcome(f"customer_share {op} 0.4")
        assert (o.column, o.op, o.value) == ("customer_share", op, 0.4)
    o = parse_outcome("x >= -1.5e-2")
    assert o.value == -0.015 and list(o.holds(np.array([-0.02, -0.015, 0.0, np.nan]))) == [False, True, True, False]
    with pytest.raises(CommandError):
        parse_outcome("x < 1", at="20-12")


@pytest.mark.slow
def test_discover_on_a_design_run_by_the_study_runner(tmp_path, capsys):
    """The real runner's dataset: a tiny Latin hypercube (2,000 customers, 2013-2014), then discover on it."""
    from experiments.design import main as design_main
    path = tmp_path / "tiny.yaml"
    path.write_text("name: tiny\nmethod: lhs\nsamples: 10\nreplicates: 2\noutputs: [share_platform]\n"
                    "date: '2014-12'\noverrides: [population.size=2000, end=2014-12, figures=false]\nparameters:\n"
                    "  switching_cost.scale: [0.3, 1.5]\n"
                    "  banks.large_state.strategy.marketing_budget_bn: [2.0, 30.0]\n")
    assert design_main([str(path), "--jobs", "1", "--out", str(tmp_path / "designs")]) == 0
    root = tmp_path / "designs" / "tiny"
    share = dataset.load(root, "institutions", columns=["customer_share", "institution"])
    share = share[(share["institution"] == "large_state") & (share["date"] == share["date"].max())]
    threshold = float(share["customer_share"].median())
    capsys.readouterr()
    assert discover_main([str(root), "--institution", "large_state", "--outcome",
                          f"customer_share < {threshold}"]) == 0
    folder = Path(capsys.readouterr().out.strip().splitlines()[-1])
    assert folder == root / "discover"
    cases = pd.read_parquet(folder / "cases.parquet")
    assert len(cases) == 20 and cases["of_interest"].sum() == (share["customer_share"] < threshold).sum()
    assert {"switching_cost_scale", "banks_large_state_strategy_marketing_budget_bn"} <= set(cases.columns)
    assert list(pd.read_csv(folder / "boxes.csv").columns) == BOX_COLUMNS
    assert json.loads((folder / "discover.json").read_text())["at"] == "2014-12"


@pytest.mark.slow
def test_the_command_line_itself_refuses_in_one_line(tmp_path):
    """As a user types it: `python -m experiments.discover` in a subprocess, a bad outcome, exit 2, one line."""
    root = write_study(tmp_path / "study")
    before = listing(root)
    proc = subprocess.run([sys.executable, "-m", "experiments.discover", str(root), "--outcome", "customer_share <"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip().splitlines() == [
        "error: --outcome='customer_share <' is not allowed; expected '<column> <op> <number>' with op one of "
        '<, <=, >, >=, ==, !=, e.g. "customer_share < 0.4"']
    assert listing(root) == before
