"""Results never land in the repository's own files, and keys cannot be deleted: one line, exit 2,
nothing written (the hostile corpus's cases for where a run writes)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lab.compose import explain, load_config

ROOT = Path(__file__).resolve().parents[1]
TINY = ["population.size=200", "end=2013-03", "figures=false"]


@pytest.mark.slow
@pytest.mark.parametrize("override, says", [
    ("hydra.run.dir=configs", "results never go into the repository's own files (configs)"),
    ("hydra.run.dir=sim/engine/x", "(sim)"),
    ("hydra.run.dir=.", "results never go into the repository's own files"),
    ("hydra.run.dir=", "hydra.run.dir= is empty"),
    ("~seed", "~seed is not allowed; every key the model reads needs a value"),
])
def test_a_run_is_refused_before_it_writes(override, says):
    shipped = (ROOT / "configs" / "config.yaml").read_bytes()
    before = {p.name for p in ROOT.iterdir()}
    proc = subprocess.run([sys.executable, "-m", "experiments.run", *TINY, override], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and says in proc.stderr, proc.stderr[-400:]
    assert len(proc.stderr.strip().splitlines()) == 1
    assert (ROOT / "configs" / "config.yaml").read_bytes() == shipped
    assert {p.name for p in ROOT.iterdir()} == before


@pytest.mark.parametrize("key, allowed", [
    ("population.size", "an integer in [100, 2e9] customers"),
    ("banks.joint_stock.branches", "branches in [0, 1e7]"),
    ("customers.habit", "a number >= 0"),
])
def test_null_for_a_required_key_names_what_is_allowed(key, allowed):
    with pytest.raises(Exception) as err:
        load_config([f"{key}=null"])
    assert explain(err.value) == f"config error: {key}=null is not allowed; expected {allowed}"


@pytest.mark.parametrize("override, allowed", [
    ("seed=range(0,100000000)", "at most 1,000,000 runs in one study"),
    ("seed=range(5,1)", "a sweep of at least one value"),
    ("seed=choice()", "at least one value"),
])
def test_an_empty_or_huge_sweep_is_refused_before_anything_is_listed(override, allowed):
    from lab import sweep
    with pytest.raises(Exception) as err:
        sweep.plan(["population.size=200", "end=2013-02", override])
    assert allowed in explain(err.value)


def test_a_sweep_of_a_few_values_still_plans():
    from lab import sweep
    study, _ = sweep.plan(["population.size=200", "end=2013-02", "seed=range(0,3)", "replicates=1"])
    assert len(study.points) == 3


@pytest.mark.parametrize("n_jobs", ["0", "-5"])
def test_a_launcher_with_no_workers_is_refused(n_jobs):
    from omegaconf import OmegaConf
    from lab import sweep
    settings = OmegaConf.create({"launcher": {"_target_": "hydra_plugins.hydra_joblib_launcher.JoblibLauncher",
                                              "n_jobs": int(n_jobs)}})
    with pytest.raises(Exception) as err:
        sweep.backend(settings, ["hydra/launcher=joblib", f"hydra.launcher.n_jobs={n_jobs}"])
    assert explain(err.value) == (f"config error: hydra.launcher.n_jobs={n_jobs} is not allowed; "
                                  "expected a number of worker processes >= 1, or -1 for every core")
    assert sweep.backend(OmegaConf.create({"launcher": {"_target_": "joblib", "n_jobs": 2}}),
                         ["hydra/launcher=joblib"]) == ("local", 2, None)


def test_an_empty_preset_file_is_named_as_empty(tmp_path, monkeypatch):
    """Hydra reads an empty preset's name as a key ("'experiment' is not a known key"): say the file is empty."""
    from lab import compose
    (tmp_path / "experiment").mkdir()
    (tmp_path / "experiment" / "blank.yaml").write_text("\n# only a comment\n")
    (tmp_path / "experiment" / "real.yaml").write_text("# @package _global_\nseed: 3\n")
    monkeypatch.setattr(compose, "CONFIG_DIR", tmp_path)
    hydra_says = Exception("Key 'experiment' is not in struct")
    assert explain(hydra_says, ["experiment=blank"]) == (
        f"config error: {tmp_path / 'experiment' / 'blank.yaml'} is empty; a preset holds '# @package _global_' "
        "and the keys it changes (see configs/experiment/no_ukey.yaml)")
    assert "is not a known key" in explain(hydra_says, ["experiment=real"])        # negative control
