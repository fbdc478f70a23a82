"""Bad design files and options end in one line naming what is allowed (SALib and numpy used to
raise 33-41-line tracebacks), before any point runs."""
from __future__ import annotations

from pathlib import Path

import pytest

from experiments import design
from lab.designs import read_design
from sim.config import ConfigError

BASE = {"name": "t", "method": "morris", "samples": 2, "outputs": ["share_platform"],
        "parameters": {"customers.habit": [0.5, 3.0], "switching_cost.bank": [1.0, 4.0]}}


def _file(tmp_path: Path, **changes) -> Path:
    import yaml
    path = tmp_path / "d.yaml"
    path.write_text(yaml.safe_dump({**BASE, **changes}))
    return path


@pytest.mark.parametrize("changes, key, allowed", [
    ({"num_levels": 0}, "design.num_levels", "an integer in [2, 100]"),
    ({"num_levels": "abc"}, "design.num_levels", "an integer in [2, 100]"),
    ({"seed": -3}, "design.seed", "an integer in [0, 4294967295]"),
    ({"overrides": ["customers.habit=1.0"]}, "design.overrides.customers.habit", "not also among the design's"),
])
def test_a_bad_design_file_names_the_key(tmp_path, changes, key, allowed):
    with pytest.raises(ConfigError) as err:
        read_design(_file(tmp_path, **changes))
    assert err.value.key == key and allowed in err.value.allowed


def test_a_good_design_file_reads(tmp_path):
    assert read_design(_file(tmp_path, num_levels=4, seed=3))["num_levels"] == 4


@pytest.mark.parametrize("jobs", ["0", "-5", "abc"])
def test_jobs_below_one_is_refused_in_one_line(tmp_path, jobs, capsys):
    assert design.main([str(_file(tmp_path)), "--jobs", jobs]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: python -m experiments.design: argument --jobs: --jobs={jobs} is not allowed; "
                   "expected an integer >= 1"]
