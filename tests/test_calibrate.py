"""Calibration: common random numbers, a loss that improves, a preset that runs unchanged."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf

from experiments.calibrate import Objective, main as calibrate_main, read_calibration
from experiments.config import CONFIG_DIR, load_config
from sim.config import ConfigError

SMALL = """
name: tiny
preset: tiny_fit
target_set: {target_set}
population: 1500
replicates: 2
seed: 3
max_evaluations: 8
parameters:
  customers.channel_constant.mobile: [-3.0, -1.0]
  transactions.purposes.transfer_bill.ticket_rmb: [2000.0, 8000.0]
"""


def test_objective_uses_common_random_numbers(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(SMALL.format(target_set="seed"))
    f = Objective(read_calibration(path))
    x = np.array([-2.0, 4000.0])
    assert f(x) == f(x)                      # same candidate, same replicates, same loss
    assert f(np.array([-2.0, 7000.0])) != f(x)


@pytest.mark.parametrize("target_set", ["seed", "cba"])
def test_calibration_writes_preset_table_and_figure(tmp_path, target_set):
    path = tmp_path / "c.yaml"
    path.write_text(SMALL.format(target_set=target_set))
    assert calibrate_main([str(path), "--out", str(tmp_path / "out"), "--preset-dir", str(tmp_path)]) == 0
    history = pd.read_csv(tmp_path / "out" / "tiny" / "history.csv")
    assert history["loss"].min() <= history["loss"].iloc[0]
    best = history.loc[history["loss"].idxmin()]
    preset = OmegaConf.load(tmp_path / "tiny_fit.yaml")
    assert preset.customers.channel_constant.mobile == pytest.approx(best["customers.channel_constant.mobile"])
    assert preset.target_set == target_set
    fit = pd.read_csv(tmp_path / "out" / "tiny" / "fit.csv")
    assert len(fit) == 4 and {"target", "fitted", "residual", "replicate_sd"} <= set(fit.columns)
    assert np.allclose(fit["residual"], fit["fitted"] - fit["target"])
    if target_set == "cba":
        assert fit.loc[(fit["series"] == "off_counter_rate") & (fit["year"] == 2013), "target"].item() == 63.23
    assert (tmp_path / "out" / "tiny" / "fit.png").stat().st_size > 0


def test_committed_preset_runs_as_an_experiment():
    preset = OmegaConf.load(CONFIG_DIR / "experiment" / "calibrated.yaml")
    cfg = load_config(["experiment=calibrated"])
    assert cfg.scenario == "calibrated"
    assert cfg.customers.channel_constant["mobile"] == pytest.approx(preset.customers.channel_constant.mobile)


def test_bad_calibration_files_are_refused(tmp_path, capsys):
    path = tmp_path / "c.yaml"
    path.write_text(SMALL.format(target_set="imf"))
    with pytest.raises(ConfigError, match="calibration.target_set"):
        read_calibration(path)
    path.write_text(SMALL.format(target_set="seed").replace("customers.channel_constant.mobile",
                                                             "customers.channel_constant.mobil"))
    assert calibrate_main([str(path), "--out", str(tmp_path / "out"), "--preset-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "did you mean 'customers.channel_constant.mobile'" in err[0]
