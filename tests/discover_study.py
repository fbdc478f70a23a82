"""A study in the dataset's format (lab/dataset.py), written directly: what `python -m experiments.discover`
reads, in a fraction of a second, with a condition planted in it (tests/test_discover.py, tests/test_install.py)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from lab import dataset


def write_study(root: Path, points: int = 60, replicates: int = 2, seed: int = 0, swept=("switching_cost_scale",
                "banks_large_state_strategy_marketing_budget_bn")) -> Path:
    """A study as lab/study.py stores one (runs, timeseries and institutions parts, study.json), whose
    large_state share at 2020-12 falls below 0.40 where switching cost < 0.9 and marketing < 16."""
    rng = np.random.default_rng(seed)
    scale = rng.permutation(np.linspace(0.3, 1.5, points))          # spread evenly, paired at random
    budget = rng.permutation(np.linspace(2, 30, points))
    runs, ts, inst = [], [], []
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    for p in range(points):
        for r in range(replicates):
            key = {"config_hash": f"h{p:04d}", "replicate": r, "point": p, "seed": 42, "study": "synthetic"}
            values = dict(zip(swept, (scale[p], budget[p])))
            runs.append({**key, **values, "status": "complete", "error": "", "model_seconds": 0.1,
                         "finished": start + timedelta(seconds=len(runs))})
            share = 0.47 - (0.1 if scale[p] < 0.9 and budget[p] < 16 else 0.0) + rng.normal(0, 0.01)
            for month in ("2020-11", "2020-12"):
                date = pd.Timestamp(month + "-01")
                ts.append({**key, **values, "date": date, "share_mobile": 0.3 + 0.1 * scale[p],
                           "label": "text"})
                inst.append({**key, **values, "date": date, "institution": "large_state", "kind": "bank",
                             "customer_share": share, "user_share": np.nan})
                inst.append({**key, **values, "date": date, "institution": "alipay", "kind": "platform",
                             "customer_share": np.nan, "user_share": 0.3})
    tables = {"timeseries": pa.Table.from_pylist(ts), "institutions": pa.Table.from_pylist(inst)}
    dataset.commit(root, tables, pa.Table.from_pylist(runs))
    dataset.write_meta(root, {"study": "synthetic", "swept": list(swept),
                              "config_keys": {"switching_cost_scale": "switching_cost.scale",
                                              "banks_large_state_strategy_marketing_budget_bn":
                                              "banks.large_state.strategy.marketing_budget_bn"}})
    return root
