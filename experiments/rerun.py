"""Re-run a stored run from its folder and report whether the tables match.

  python -m experiments.rerun results/baseline/<time>_seed42 [--out FOLDER]

Reads the folder's resolved config.yaml and run.json (seed, replicate), runs the model
again, and compares the new timeseries and institutions tables with the stored ones,
value for value. Exits 0 when they are identical and 1 when they differ (naming the
first differing column); with --out the new run is also written there.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import pandas as pd
from omegaconf import OmegaConf

from sim.config import Config, ConfigError, validate
from sim.market import MarketModel
from sim.outputs import as_recorded, write_run


def stored_config(folder: Path) -> tuple[Config, int]:
    """The Config and replicate a run folder was made with."""
    merged = OmegaConf.merge(OmegaConf.structured(Config), OmegaConf.load(folder / "config.yaml"))
    config = OmegaConf.to_object(merged)
    validate(config)
    replicate = json.loads((folder / "run.json").read_text()).get("replicate") or 0
    return config, int(replicate)


def first_difference(stored: pd.DataFrame, fresh: pd.DataFrame) -> str | None:
    """None when the tables hold the same values exactly (missing values compare equal)."""
    try:
        pd.testing.assert_frame_equal(stored, fresh, check_dtype=False, check_exact=True)
    except AssertionError as e:
        return " ".join(str(e).split())[:300]
    return None


def rerun(folder: Path, out: Path | None = None) -> dict[str, str | None]:
    logging.getLogger("MESA").setLevel(logging.WARNING)
    config, replicate = stored_config(folder)
    started = time.perf_counter()
    model = MarketModel(config, replicate=replicate).run()
    if out is not None:
        write_run(model, out, time.perf_counter() - started, extra={"rerun_of": str(folder)},
                  figures=config.figures)
    fresh = {"timeseries": model.recorder.timeseries(), "institutions": model.recorder.institutions()}
    return {name: first_difference(as_recorded(pd.read_parquet(folder / f"{name}.parquet")), table)
            for name, table in fresh.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.rerun", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path, help="a run folder holding config.yaml and run.json")
    parser.add_argument("--out", type=Path, help="also write the new run here")
    args = parser.parse_args(argv)
    if not (args.folder / "run.json").is_file() or not (args.folder / "config.yaml").is_file():
        print(f"error: {args.folder} is not a complete run folder (config.yaml and run.json needed)", file=sys.stderr)
        return 2
    try:
        result = rerun(args.folder, args.out)
    except ConfigError as e:
        print(str(e), file=sys.stderr)
        return 2
    for name, problem in result.items():
        print(f"{name}: {'identical' if problem is None else 'DIFFERENT - ' + problem}")
    same = all(p is None for p in result.values())
    print("reproduced exactly" if same else "not reproduced")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
