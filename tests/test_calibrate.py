"""Calibration by simulation-based inference: the machinery on the small file, the coverage
diagnostic on a problem with a known answer, resuming, presets and bad files.

The tests that train a posterior need the optional sbi package (with torch); without it
they are skipped, saying so, and the rest still run."""
from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf

from lab import dataset

from lab import inference
from experiments.calibrate import main as calibrate_main
from lab.calibration import read_calibration
from lab.compose import CONFIG_DIR
from sim.config import ConfigError

SMALL = CONFIG_DIR / "calibration" / "small.yaml"
TINY = """
name: tiny
target_sets: [seed, cba]
presets: {seed: tiny_fit, cba: tiny_fit_cba}
population: 800
seed: 3
simulations: 24
held_out: 0
posterior_draws: 200
predictive_runs: 2
max_epochs: 3
preset_screen: 2
preset_candidates: 2
preset_seeds: 2
preset_population: 800
overrides: [end=2014-12]
parameters:
  customers.channel_constant.mobile: [-3.0, -1.0]
  switching_cost.bank: [1.0, 4.0]
"""

SBI_MISSING = ("needs the optional sbi package (and torch) to train posteriors: "
               "pip install -e '.[calibrate]' (make setup)")


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """Training on one thread. Under pytest -n 2 the other worker keeps the second core busy, and torch's
    default of a thread per core then spins against it: the coverage test's training took 563 s on two
    threads and 38 s on one, with the same posterior and the same coverage table (the result does not
    depend on the thread count)."""
    try:
        import torch
    except ImportError:                   # the tests that need it skip; the rest need no thread setting
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def needs_sbi():
    pytest.importorskip("sbi", reason=SBI_MISSING)


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    pytest.importorskip("sbi", reason=SBI_MISSING)
    out = tmp_path_factory.mktemp("calibration")
    assert calibrate_main([str(SMALL), "--out", str(out)]) == 0
    return out / "small"


@pytest.mark.slow
def test_the_small_calibration_writes_every_output(small):
    c = read_calibration(SMALL)
    names = list(c["parameters"])
    post = pd.read_parquet(small / "posterior.parquet")
    assert list(post.columns) == ["target_set", "draw", *names]
    assert post.groupby("target_set").size().to_dict() == {"seed": 500, "cba": 500}
    for k, (low, high) in c["parameters"].items():
        assert post[k].between(low, high).all(), k               # the prior box bounds the posterior
    params = pd.read_csv(small / "parameters.csv")
    assert (params["low_5"] <= params["median"]).all() and (params["median"] <= params["high_95"]).all()
    cover = pd.read_csv(small / "coverage.csv")
    assert cover["case"].nunique() == 20 and set(cover["parameter"]) == set(names)
    assert cover["rank"].between(0, 1).all()
    predictive = pd.read_csv(small / "predictive.csv")
    fitted = predictive[predictive["median"].notna()]
    assert len(fitted) >= 2 * 19 and set(fitted["target_set"]) == {"seed", "cba"}
    report = (small / "report.md").read_text()
    for heading in ("What was fitted", "Parameters", "Coverage of known parameters", "Posterior predictive check",
                    "What the targets leave open"):
        assert heading in report
    for figure in ("predictive_seed.png", "predictive_cba.png", "pairs_seed.png", "pairs_cba.png"):
        assert (small / figure).stat().st_size > 10_000
    candidates = pd.read_csv(small / "preset_candidates.csv")
    for s, g in candidates.groupby("target_set"):
        assert len(g) == c["preset_candidates"] and g["chosen"].sum() == 1
        best = g[g["chosen"]].iloc[0]      # the smallest worst error in tolerance units
        assert best["worst_seed_mean"] == g["worst_seed_mean"].min()
        assert (g["outside_tolerance"] > 0).eq(g["worst_seed_mean"] > 1).all()
    assert "best-fitting posterior draw" in report
    effects = pd.read_csv(small / "open_questions.csv")
    assert effects["figure"].str.contains("effect of no_ukey").any()


@pytest.mark.slow
def test_the_targets_pin_down_the_wallet_adoption_rate(small):
    """CNNIC's and Yu'ebao's users depend strongly on it: even 300 simulations narrow it."""
    params = pd.read_csv(small / "parameters.csv").set_index(["target_set", "parameter"])
    assert params.loc[("seed", "customers.adoption_rate.platform"), "width_vs_prior"] < 0.6


@pytest.mark.slow
def test_coverage_is_nominal_on_a_problem_with_a_known_posterior(tmp_path, needs_sbi):
    """x = theta plus noise of sd 0.3 (before the unit noise the training adds): a calibrated
    posterior's 90 % intervals hold the truth about 90 % of the time. 1,000 training pairs suffice
    (covered 0.88-0.92, mean rank 0.50-0.55 on three seeds; 0.85 and 0.52 with 1,970) in half the time."""
    rng = np.random.default_rng(0)
    theta = rng.uniform(-2, 2, size=(1030, 2))
    x = theta / 0.3
    trained = inference.train(theta[:1000], x[:1000], np.array([-2.0, -2.0]), np.array([2.0, 2.0]), 1, 200,
                              tmp_path / "log")
    cover = inference.coverage(trained.posterior, theta[1000:], x[1000:], ["a", "b"], 300, 2)
    assert 0.75 <= cover["covered"].mean() <= 1.0
    assert abs(cover["rank"].mean() - 0.5) < 0.15


@pytest.mark.slow
def test_a_second_call_reuses_the_simulations_and_presets_need_asking(tmp_path, needs_sbi):
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    out = tmp_path / "out"
    assert calibrate_main([str(path), "--out", str(out), "--preset-dir", str(tmp_path)]) == 0
    assert not (tmp_path / "tiny_fit.yaml").exists()
    assert calibrate_main([str(path), "--out", str(out), "--preset-dir", str(tmp_path), "--write-preset"]) == 0
    assert dataset.read_meta(out / "tiny" / "simulations")["skipped"] == 24      # nothing simulated again
    chosen = pd.read_csv(out / "tiny" / "preset_candidates.csv").query("chosen").set_index("target_set")
    posterior = pd.read_parquet(out / "tiny" / "posterior.parquet")
    for s, name in (("seed", "tiny_fit"), ("cba", "tiny_fit_cba")):
        preset = OmegaConf.load(tmp_path / f"{name}.yaml")
        assert preset.target_set == s
        draw = posterior[(posterior["target_set"] == s) & (posterior["draw"] == chosen.loc[s, "draw"])].iloc[0]
        for key in ("switching_cost.bank", "customers.channel_constant.mobile"):   # a whole joint draw
            assert OmegaConf.select(preset, key) == pytest.approx(draw[key])
            assert OmegaConf.select(preset, key) == pytest.approx(chosen.loc[s, key])


def test_bad_calibration_files_are_refused(tmp_path, capsys):
    """Before any run, and before sbi is needed: a machine without it is told what is wrong with the file."""
    path = tmp_path / "c.yaml"
    path.write_text(TINY.replace("[seed, cba]", "[seed, imf]"))
    with pytest.raises(ConfigError, match="calibration.target_sets"):
        read_calibration(path)
    path.write_text(TINY.replace("switching_cost.bank", "switching_cost.bnk"))
    assert calibrate_main([str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "switching_cost.bnk" in err[0]
    assert not (tmp_path / "out").exists()


def test_without_sbi_a_good_file_gets_one_line_saying_how_to_install_it(tmp_path, capsys, monkeypatch):
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    monkeypatch.setitem(sys.modules, "sbi", None)            # as on a machine without the optional package
    assert calibrate_main([str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "calibration needs the sbi package" in err[0] and ".[calibrate]" in err[0]
    assert not (tmp_path / "out").exists()
