"""How long the main commands take on this machine: `python -m experiments.timings`.

The README's timings come from this command, not from memory. Each command runs in a
fresh process, as a user would run it, writing under results/timings/ (never over a
committed file; calibrate runs the small calibration file). Prints a Markdown table and
writes results/timings/timings.csv.

  python -m experiments.timings                     # every command (about 6 min on 2 cores)
  python -m experiments.timings --only run compare  # some of them
"""
from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
OUT = Path("results/timings")
COMMANDS = {
    "run": ["experiments.run", f"hydra.run.dir={OUT}/run"],
    "compare": ["experiments.compare", "no_ukey", "functional_regulation", "--replicates", "10",
                "--out", f"{OUT}/compare"],
    "validate": ["experiments.validate", "--out", f"{OUT}/validation"],
    "calibrate": ["experiments.calibrate", "configs/calibration/small.yaml", "--out", f"{OUT}/calibration"],
    "design": ["experiments.design", "configs/design/morris_levers.yaml", "--out", f"{OUT}/designs"],
}


def measure(name: str) -> dict:
    """Wall time of one command in a fresh process; fails loudly if the command fails."""
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", *COMMANDS[name]], cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"timings: {name} failed: {proc.stderr.strip().splitlines()[-1:]}")
    return {"command": "python -m " + " ".join(COMMANDS[name]), "seconds": round(seconds, 1),
            "cores": os.cpu_count(), "machine": platform.machine(), "python": platform.python_version()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.timings", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", choices=list(COMMANDS), default=list(COMMANDS))
    args = parser.parse_args(argv)
    (ROOT / OUT / "presets").mkdir(parents=True, exist_ok=True)
    rows = []
    for name in args.only:
        print(f"timing {name} ...", file=sys.stderr, flush=True)
        rows.append(measure(name))
        print(f"  {rows[-1]['seconds']:.1f} s", file=sys.stderr, flush=True)
    table = pd.DataFrame(rows)
    table.to_csv(ROOT / OUT / "timings.csv", index=False)
    print(table[["command", "seconds"]].to_markdown(index=False))
    print(ROOT / OUT / "timings.csv")
    return 0


if __name__ == "__main__":
    sys.exit(main())
