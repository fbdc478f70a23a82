"""Targets with standard errors (data/targets.csv, lab/target_fit.py)."""
import numpy as np
import pandas as pd
import pytest

from lab.compose import load_config
from lab.target_fit import load_target_set, simulated_vector, standardized_residuals, tolerance_ratio
from sim.config import ConfigError
from sim.market import MarketModel
from sim.evidence.observations import load_observations
from sim.evidence.targets import TARGETS_CSV
from sim.evidence.targets import load_targets as fitted_series


@pytest.fixture(scope="module")
def named_run():
    """A small run with the named roster, so that the bank figures exist too."""
    model = MarketModel(load_config(["population.size=2000", "figures=false", "banks=named", "end=2018-12"])).run()
    return model.recorder.timeseries(), model.recorder.institutions()


@pytest.mark.parametrize("target_set", ["seed", "cba"])
def test_every_target_is_produced_by_a_small_run(named_run, target_set):
    values = simulated_vector(load_target_set(target_set), [named_run])
    assert values.shape == (1, len(load_target_set(target_set)))
    assert not values.isna().any().any(), values.columns[values.isna().iloc[0]].tolist()


def test_bank_figures_are_missing_without_the_named_roster(named_run):
    ts, inst = named_run
    targets = load_target_set("seed")
    values = simulated_vector(targets, [(ts, inst[~inst["institution"].isin(["icbc", "boc", "citic"])])]).iloc[0]
    banks = targets["series"].str.startswith(("icbc", "boc", "citic"))
    assert values[banks].isna().all() and values[~banks].notna().all()


def test_every_target_is_an_observation():
    obs = load_observations()
    for t in pd.read_csv(TARGETS_CSV, dtype={"date": str}).itertuples():
        same = obs[(obs["series"] == t.series) & ((obs["date"] == t.date) | (t.kind == "range"))]
        observed = {f"{t.low:g}..{t.high:g}"} if t.kind == "range" else {t.value}
        assert len(same) and set(same["value"].map(lambda v: v if ".." in v else float(v))) & observed, t


def test_seed_and_cba_sets_differ_only_in_the_2013_off_counter_rate():
    seed, cba = load_target_set("seed"), load_target_set("cba")
    assert seed.index.tolist() == cba.index.tolist()
    differ = seed.index[seed["value"] != cba["value"]].tolist()
    assert differ == ["off_counter_rate 2013"]
    assert (seed.loc[differ[0], "value"], cba.loc[differ[0], "value"]) == (54.37, 63.23)


def test_fitted_series_view_keeps_the_calibration_targets():
    for target_set, first in (("seed", 54.37), ("cba", 63.23)):
        view = fitted_series(target_set)
        assert list(zip(view["series"], view["year"], view["value"])) == [
            ("off_counter_rate", 2013, first), ("off_counter_rate", 2018, 88.67),
            ("mobile_value_share", 2015, 4.01), ("mobile_value_share", 2018, 14.62)]
        assert (view["target_set"] == target_set).all()


def _edit(tmp_path, change):
    df = pd.read_csv(TARGETS_CSV, dtype={"date": str})
    change(df)
    path = tmp_path / "targets.csv"
    df.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("change, target_set, named", [
    (lambda df: df.pop("se"), "seed", "column 'se'"),
    (lambda df: df.loc.__setitem__((0, "se"), 0.0), "seed", "line 2 (off_counter_rate 2013): se=0.0"),
    (lambda df: df.loc.__setitem__((3, "se"), -1.0), "seed", "line 5 (mobile_value_share 2015): se=-1.0"),
    (lambda df: df.loc.__setitem__((0, "target_set"), "imf"), "seed", "target_set='imf'"),
    (lambda df: df.loc.__setitem__((0, "series"), "gdp_tn"), "seed", "series='gdp_tn'"),
    (lambda df: df.loc.__setitem__((1, "target_set"), "both"), "seed", "off_counter_rate 2013"),
    (lambda df: None, "imf", "target_set='imf'"),
])
def test_bad_target_files_are_refused_in_one_line(tmp_path, change, target_set, named):
    path = _edit(tmp_path, change)
    with pytest.raises(ConfigError) as e:
        load_target_set(target_set, path)
    message = str(e.value)
    assert "\n" not in message and str(path) in message and named in message and "expected" in message


def test_an_empty_targets_file_is_refused_in_one_line(tmp_path):
    path = tmp_path / "targets.csv"
    path.write_text("")
    with pytest.raises(ConfigError, match="a CSV file of targets") as e:
        load_target_set("seed", path)
    assert "\n" not in str(e.value) and str(path) in str(e.value)


def test_residuals_move_with_the_observed_value(named_run):
    targets = load_target_set("seed")
    before = standardized_residuals(targets, [named_run])
    point = targets["kind"] == "point"
    shifted = targets.assign(value=targets["value"] + np.where(point, targets["se"], 0.0))
    after = standardized_residuals(shifted, [named_run])
    assert np.allclose(after[point], before[point] - 1.0)    # the run now sits one se lower than the target
    switching = targets[~point].index[0]
    assert before[switching] == 0.0                           # inside 2-8 % a year
    above = targets.assign(low=targets["low"] + 20, high=targets["high"] + 20)
    below = targets.assign(low=targets["low"] - 20, high=targets["high"] - 20)
    assert standardized_residuals(above, [named_run])[switching] < 0 < standardized_residuals(below, [named_run])[switching]


def test_residuals_average_over_runs(named_run):
    ts, inst = named_run
    targets = load_target_set("seed").loc[["mobile_payment_users_m 2013-12"]]
    se = targets["se"].iloc[0]
    higher = ts.assign(mobile_payers_m=ts["mobile_payers_m"] + 2 * se)
    one = standardized_residuals(targets, [named_run]).iloc[0]
    assert standardized_residuals(targets, [named_run, (higher, inst)]).iloc[0] == pytest.approx(one + 1.0)


def test_tolerance_ratio_is_one_at_the_fit_commands_tolerance_for_every_kind():
    t = load_target_set("seed")
    keys = ["off_counter_rate 2018", "yuebao_aum_bn 2015-12", "primary_bank_switching each year"]
    t = t.loc[keys]
    mean = pd.Series({keys[0]: 88.67 + 3.0, keys[1]: 620.7 * 0.75, keys[2]: 8.0})   # each at its edge
    assert np.allclose(tolerance_ratio(t, mean), 1.0)
    inside = pd.Series({keys[0]: 88.67 - 1.5, keys[1]: 620.7 * 1.125, keys[2]: 5.0})
    assert np.allclose(tolerance_ratio(t, inside), [0.5, 0.5, 0.0])
    assert tolerance_ratio(t, pd.Series({keys[0]: np.nan, keys[1]: 620.7, keys[2]: 2.0})).tolist() == [np.inf, 0.0, 1.0]


def test_the_fit_table_judges_the_2013_figure_of_the_runs_target_set(named_run):
    from sim.evidence.observations import compare
    for target_set, judged in (("seed", "54.37"), ("cba", "63.23")):
        rows = compare([named_run], target_set=target_set)
        rows = rows[(rows["series"] == "off_counter_rate") & (rows["date"].astype(str) == "2013")]
        assert rows.loc[rows["fitted"].notna(), "observed"].tolist() == [judged]
        assert rows.loc[rows["fitted"].isna(), "tolerance"].tolist() == ["alternative figure (not fitted)"]


def test_fit_command_ratio_judges_switching_by_its_worst_year(named_run):
    from lab.target_fit import fit_command_ratio
    ts, inst = named_run
    targets = load_target_set("seed")
    spiked = ts.copy()
    spiked.loc[spiked["date"].astype(str).str.startswith("2015"), "churn_rate"] = 0.01     # 12 % in 2015 alone
    ratio = fit_command_ratio(targets, [(spiked, inst)])["primary_bank_switching each year"]
    assert ratio > 1 and tolerance_ratio(targets, simulated_vector(targets, [(spiked, inst)]).mean())[
        "primary_bank_switching each year"] < ratio
