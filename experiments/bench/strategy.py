"""Benchmark: the strategy commands as a user types them, against their 5-minute bars.

  python -m experiments.bench.strategy [--ray | --backends ray] [--bar 300]

Times, each in a fresh process (start-up, imports and the kernels' load included), into a
temporary folder so nothing is resumed:
  optimise  python -m experiments.optimise joint_stock_growth: 40 candidates (and the status quo)
            x 2 replicates at 20,000 customers, 2013-2020, then the Pareto set out of sample
  game      python -m experiments.game banks_vs_alipay: 27 profiles x 3 replicates, 20,000 customers
and, with --ray, both again with backend=ray (one local Ray on every core for the whole command);
`--backends` names the backends to time (default local; --ray is local,ray). Prints each one's wall
seconds and runs against the bar, and writes results/bench/strategy.csv. Timings vary with machine
load: run it on a quiet machine.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from lab.errors import CommandError, Parser, command, last_line
from sim.writers.files import atomic_write

ROOT = Path(__file__).resolve().parents[2]
CASES = (("optimise", "joint_stock_growth"), ("game", "banks_vs_alipay"))


def timed(name: str, config: str, extra: list[str], out: Path) -> tuple[float, int]:
    """Wall seconds of one command in a fresh process, and the runs it stored."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", f"experiments.{name}", config, *extra, "--out", str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if proc.returncode:
        raise CommandError(f"error: {name} {config} failed: {last_line(proc.stderr)}")
    folder = Path(proc.stdout.strip().splitlines()[-1])
    runs = pd.read_csv(folder / "runs.csv")
    return wall, int((runs["status"] == "complete").sum())


@command
def main(argv: list[str] | None = None) -> int:
    """Time each command on each backend, print the lines and write results/bench/strategy.csv."""
    parser = Parser(prog="python -m experiments.bench.strategy", description=__doc__)
    parser.add_argument("--ray", action="store_true", help="also time both commands with backend=ray")
    parser.add_argument("--backends", default="local", help="comma-separated backends to time (local, ray, serial)")
    parser.add_argument("--bar", type=float, default=300.0, help="the bar in seconds (default 300)")
    args = parser.parse_args(argv)
    rows = []
    backends = list(dict.fromkeys([*args.backends.split(","), *(["ray"] if args.ray else [])]))
    bad = [b for b in backends if b not in ("local", "ray", "serial")]
    if bad:
        raise CommandError(f"error: --backends={args.backends} is not allowed; expected local, ray or serial")
    for backend in backends:
        for name, config in CASES:
            with tempfile.TemporaryDirectory() as tmp:
                wall, runs = timed(name, config, [f"backend={backend}"], Path(tmp))
            rows.append({"command": name, "config": config, "backend": backend, "wall_s": round(wall, 1),
                         "runs": runs, "bar_s": args.bar, "within_bar": wall <= args.bar, "cores": os.cpu_count()})
            print(f"{name} {config} ({backend}): {wall:.1f} s for {runs} runs; bar {args.bar:.0f} s: "
                  f"{'within' if wall <= args.bar else 'OVER'}", flush=True)
    table = pd.DataFrame(rows)
    out = ROOT / "results" / "bench" / "strategy.csv"
    atomic_write(out, lambda p: table.to_csv(p, index=False))
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
