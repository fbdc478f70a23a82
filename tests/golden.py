"""Golden tables: the model's output for fixed seeds, as written by an earlier commit.

The architecture work (issue 22) promises to change no number: `test_golden.py` runs these
cases with the code as it stands and compares every table with the fixtures in
`tests/fixtures/golden/`: byte for byte (as CSV text) where the machine is the one that wrote
them; elsewhere every count, label and date must still be identical and every real number
equal to 12 significant digits. A different CPU or build of NumPy may round a sum of many
transaction values differently in its 16th digit (seen between two machines of this
workplace: at most 6e-16 relative, with every customer's decision the same); a change to the
model moves far more than 1e-12. The fixtures are written by

    python -m tests.golden --write      # only when a change of numbers is intended

which refuses to overwrite them without `--write`. The SHA-256 of every table and its full
text (gzip) are kept for every case, so that a failure can name the first column and row
that differ.
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import logging
import sys
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "golden"
SIZE, SEED = 2000, 11

# (name, overrides): every shipped single-run preset, the named roster, a second replicate's stream
CASES = [
    ("baseline", []),
    ("named_banks", ["banks=named"]),
    ("partnership", ["experiment=partnership"]),
    ("direct_bank", ["experiment=direct_bank"]),
    ("marketing_war", ["experiment=marketing_war"]),
    ("functional_regulation", ["experiment=functional_regulation"]),
    ("no_ukey", ["experiment=no_ukey"]),
    ("branch_closure", ["experiment=branch_closure"]),
    ("low_switching_cost", ["experiment=low_switching_cost"]),
    ("calibrated", ["experiment=calibrated"]),
    ("calibrated_cba", ["experiment=calibrated_cba", "target_set=cba"]),
    ("population_mixing", ["customers.word_of_mouth_scope=population"]),
]
REPLICATE_CASE = ("baseline_replicate_1", [], 1)
TABLES = ("timeseries", "institutions", "yearly", "targets_fit")


def _api():
    """The public API the tables are made with (README, "The Python API")."""
    from lab.compose import load_config
    from lab.points import config_hash
    from sim.evidence.targets import load_targets
    from sim.market import MarketModel
    from sim.writers.metrics import fit_to_targets, yearly
    return load_config, config_hash, MarketModel, yearly, fit_to_targets, load_targets


def tables(overrides: list[str], replicate: int = 0) -> tuple[dict[str, str], str]:
    """A case's tables as CSV text, and its config hash."""
    load_config, config_hash, MarketModel, yearly, fit_to_targets, load_targets = _api()
    logging.getLogger("MESA").setLevel(logging.WARNING)
    cfg = load_config([f"population.size={SIZE}", f"seed={SEED}", *overrides])
    model = MarketModel(cfg, replicate=replicate).run()
    ts, inst = model.recorder.timeseries(), model.recorder.institutions()
    frames = {"timeseries": ts, "institutions": inst, "yearly": yearly(ts),
              "targets_fit": fit_to_targets(ts, load_targets(cfg.target_set))}
    return {k: v.to_csv(index=False) for k, v in frames.items()}, config_hash(cfg)


def all_cases():
    for name, overrides in CASES:
        yield name, overrides, 0
    yield REPLICATE_CASE


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def write() -> None:
    FIXTURES.mkdir(parents=True, exist_ok=True)
    index = {}
    for name, overrides, replicate in all_cases():
        print(f"  {name} ...", file=sys.stderr, flush=True)
        texts, hashed = tables(overrides, replicate)
        index[name] = {"overrides": overrides, "replicate": replicate, "config_hash": hashed,
                       "sha256": {k: digest(v) for k, v in texts.items()}}
        for k, v in texts.items():
            (FIXTURES / f"{name}.{k}.csv.gz").write_bytes(gzip.compress(v.encode(), mtime=0))
    (FIXTURES / "index.json").write_text(json.dumps(index, indent=1, sort_keys=True) + "\n")


RELATIVE = 1e-12    # real numbers must agree to this share of their column's largest magnitude


def _frame(text: str):
    import pandas as pd
    return pd.read_csv(io.StringIO(text), keep_default_na=False, na_values=[""], dtype_backend="numpy_nullable")


def difference(expected: str, got: str) -> str | None:
    """The first material difference between two tables' CSV texts, or None: columns, row count
    and every non-real value identical, every real number within `RELATIVE` of its column's scale."""
    import numpy as np
    if expected == got:
        return None
    a, b = _frame(expected), _frame(got)
    if list(a.columns) != list(b.columns):
        return f"columns differ: {sorted(set(a.columns) ^ set(b.columns))}"
    if len(a) != len(b):
        return f"{len(a)} rows expected, {len(b)} found"
    for column in a.columns:
        x, y = a[column], b[column]
        if x.dtype.kind == "f" and y.dtype.kind in "fi":
            u, v = x.to_numpy(float, na_value=np.nan), y.to_numpy(float, na_value=np.nan)
            scale = max(float(np.nanmax(np.abs(u), initial=0.0)), 1e-300)
            same = (np.abs(u - v) <= RELATIVE * scale) | (np.isnan(u) & np.isnan(v))
        else:
            same = ((x == y) | (x.isna() & y.isna())).fillna(False).to_numpy(bool)
        if not same.all():
            row = int(np.argmin(same))
            return f"first difference in column {column!r}, row {row}: {x[row]!r} -> {y[row]!r}"
    return None


def load_index() -> dict:
    return json.loads((FIXTURES / "index.json").read_text())


def full_text(name: str, table: str) -> str | None:
    path = FIXTURES / f"{name}.{table}.csv.gz"
    return gzip.decompress(path.read_bytes()).decode() if path.exists() else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.golden", description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="write the fixtures (overwrites them)")
    args = parser.parse_args(argv)
    if not args.write and (FIXTURES / "index.json").exists():
        print(f"error: {FIXTURES}/index.json exists; pass --write to replace it", file=sys.stderr)
        return 2
    write()
    return 0


if __name__ == "__main__":
    sys.exit(main())
