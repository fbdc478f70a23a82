"""Golden tables: the model's output for fixed seeds, as written by an earlier commit.

The architecture work (issue 22) promises to change no number: `test_golden.py` runs these
cases with the code as it stands and compares every table byte for byte (as CSV text) with
the fixtures in `tests/fixtures/golden/`. The fixtures are written by

    python -m tests.golden --write      # only when a change of numbers is intended

which refuses to overwrite them without `--write`. The SHA-256 of every table is kept for
every case; the full text of the first case's tables is kept too (gzip), so that a failure
can name the first column and row that differ.
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
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
    for i, (name, overrides, replicate) in enumerate(all_cases()):
        print(f"  {name} ...", file=sys.stderr, flush=True)
        texts, hashed = tables(overrides, replicate)
        index[name] = {"overrides": overrides, "replicate": replicate, "config_hash": hashed,
                       "sha256": {k: digest(v) for k, v in texts.items()}}
        if i == 0:
            for k, v in texts.items():
                (FIXTURES / f"{name}.{k}.csv.gz").write_bytes(gzip.compress(v.encode(), mtime=0))
    (FIXTURES / "index.json").write_text(json.dumps(index, indent=1, sort_keys=True) + "\n")


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
