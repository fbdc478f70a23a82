"""The fit command on long override lists: a short folder name, kept apart by a hash."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _fit(tmp_path: Path, overrides: list[str]) -> Path:
    proc = subprocess.run([sys.executable, "-m", "experiments.fit", "--size", "200", "--seeds", "1",
                           "--out", str(tmp_path), *overrides, "end=2013-06"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-500:]
    return Path(proc.stdout.strip().splitlines()[-1])


@pytest.mark.slow                        # two fit commands in subprocesses: 7 s
def test_many_overrides_give_a_short_folder_each_its_own(tmp_path):
    banks = ("large_state", "joint_stock", "city_commercial", "rural_commercial")
    one = [f"banks.{b}.strategy.deposit_rate_premium=0.1" for b in banks]
    two = [f"banks.{b}.strategy.deposit_rate_premium=0.2" for b in banks]
    first, second = _fit(tmp_path, one), _fit(tmp_path, two)
    assert first.is_file() and second.is_file() and first.parent != second.parent
    assert max(len(first.parent.name), len(second.parent.name)) <= 80


def test_fit_options_and_a_damaged_observations_file_are_one_line(tmp_path, monkeypatch, capsys):
    import pandas as pd

    from experiments import fit
    from sim.evidence import observations
    assert fit.main(["--size", "abc"]) == 2
    assert capsys.readouterr().err.strip() == "error: python -m experiments.fit: argument --size: invalid int value: 'abc'"
    assert fit.main(["--bogus"]) == 2
    assert "unrecognized arguments: --bogus" in capsys.readouterr().err
    table = pd.read_csv(observations.OBSERVATIONS_CSV, dtype=str)
    for broken, says in ((table.drop(columns=["value"]), "value is missing"),
                         (table.assign(value=table["value"].where(table["series"] != "yuebao_aum_bn", "nan")),
                          "yuebao_aum_bn 2013-12")):
        path = tmp_path / "observations.csv"
        broken.to_csv(path, index=False)
        monkeypatch.setattr(observations, "OBSERVATIONS_CSV", path)
        monkeypatch.setattr(observations.load_observations, "__defaults__", (path,))
        assert fit.main(["--size", "200", "--seeds", "1", "--out", str(tmp_path / "out"), "end=2013-02"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and says in err[0], err
        assert not (tmp_path / "out").exists()
