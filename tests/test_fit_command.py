"""The fit command on long override lists: a short folder name, kept apart by a hash."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _fit(tmp_path: Path, overrides: list[str]) -> Path:
    proc = subprocess.run([sys.executable, "-m", "experiments.fit", "--size", "200", "--seeds", "1",
                           "--out", str(tmp_path), *overrides, "end=2013-06"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-500:]
    return Path(proc.stdout.strip().splitlines()[-1])


def test_many_overrides_give_a_short_folder_each_its_own(tmp_path):
    banks = ("large_state", "joint_stock", "city_commercial", "rural_commercial")
    one = [f"banks.{b}.strategy.deposit_rate_premium=0.1" for b in banks]
    two = [f"banks.{b}.strategy.deposit_rate_premium=0.2" for b in banks]
    first, second = _fit(tmp_path, one), _fit(tmp_path, two)
    assert first.is_file() and second.is_file() and first.parent != second.parent
    assert max(len(first.parent.name), len(second.parent.name)) <= 80
