"""Calibration targets: the project's copy of the seed figures (data/targets.csv)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

TARGETS_CSV = Path(__file__).resolve().parents[1] / "data" / "targets.csv"


def load_targets(target_set: str = "seed", path: Path = TARGETS_CSV) -> pd.DataFrame:
    """Targets of one set ('seed' from seed 004, or 'cba' with the association's 2013 figure)."""
    df = pd.read_csv(path)
    sets = sorted(df["target_set"].unique())
    if target_set not in sets:
        raise ValueError(f"target_set={target_set!r} is not allowed; expected one of {sets}")
    return df[df["target_set"] == target_set].reset_index(drop=True)
