"""Benchmark: what a study costs beyond the model, on the same runs, in one process run.

  python -m experiments.bench.sweep [--sizes 1000x24,10000x96,100000x96] [--runs 400,200,20]
                                    [--repeat 3] [--workers N] [--no-ray] [--no-cli]

For each size (customers x months) it times, on the same runs (20 points, seeds 1..20, with
the runs split into replicates):
  pure     a plain loop: MarketModel(cfg, replicate=r).run() for every run, nothing stored
           (kernels loaded beforehand, so their load is not counted)
  serial   the study runner in this process, storing every run in a Parquet dataset
  local    the study runner on every core (`--workers`, default all), forked workers
  ray      the study runner on a local Ray instance (its start-up included)
and prints wall seconds, runs per second, each one's wall time over the pure loop, and the
parallel runs' speed-up over serial. The pure loop, the serial study and the local one are
timed `--repeat` times, interleaved, and their medians reported (this VM's speed drifts by
10 % or more from one minute to the next); Ray once. Then (unless --no-cli) it times a Hydra multirun typed
as a user would, `python -m experiments.run -m seed=1,...,20 replicates=5
population.size=10000` (process start-up and imports included), on the default launcher
(every core) and on `hydra/launcher=basic` (serial), against the pure loop of those 100 runs.
Writes results/bench/sweep_overhead.csv. Timings vary with machine load: run it on a quiet
machine.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from lab.compose import load_config
from lab.errors import CommandError, Parser, command, last_line
from lab.changes import with_changes
from lab.points import Point
from lab.study import Study, run_study, warm_up
from sim.market import MarketModel

ROOT = Path(__file__).resolve().parents[2]
POINTS = 20


def _end(months: int) -> str:
    return f"{2013 + (months - 1) // 12}-{(months - 1) % 12 + 1:02d}"


def study_of(size: int, months: int, runs: int, root: Path) -> Study:
    base = load_config([f"population.size={size}", f"end={_end(months)}", "figures=false"])
    replicates = max(1, runs // POINTS)
    points = [Point.make(i, with_changes(base, {"seed": i + 1, "replicates": replicates}), [f"seed={i + 1}"],
                         {"seed": i + 1}) for i in range(min(POINTS, runs))]
    return Study(f"bench_{size}x{months}", root, points, {"seed": "seed"})


def pure_loop(study: Study) -> float:
    started = time.perf_counter()
    for p in study.points:
        for r in range(p.config.replicates):
            MarketModel(p.config, replicate=r).run()
    return time.perf_counter() - started


def timed_study(study: Study, backend: str, workers: int) -> float:
    started = time.perf_counter()
    result = run_study(study, backend=backend, workers=workers, show_progress=False)
    wall = time.perf_counter() - started
    if result["complete"] != len(study.runs()):
        raise CommandError(f"error: the {backend} study stored {result['complete']} of {len(study.runs())} runs")
    return wall


def cli_multirun(tmp: Path, launcher: list[str]) -> float:
    cmd = [sys.executable, "-m", "experiments.run", "-m", "seed=" + ",".join(str(s) for s in range(1, 21)),
           "replicates=5", "population.size=10000", f"hydra.sweep.dir={tmp}", *launcher]
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - started
    if proc.returncode:
        raise CommandError(f"error: the multirun failed: {last_line(proc.stderr)}")
    return wall


@command
def main(argv: list[str] | None = None) -> int:
    parser = Parser(prog="python -m experiments.bench.sweep", description=__doc__,
                    formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000x24,10000x96,100000x96", help="customers x months, comma-separated")
    parser.add_argument("--runs", default="400,200,20", help="runs per size, comma-separated")
    parser.add_argument("--repeat", type=int, default=3, help="times the pure loop, serial and local studies are run, interleaved (median)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="local workers (default: every core)")
    parser.add_argument("--no-ray", action="store_true", help="skip the Ray runs")
    parser.add_argument("--no-cli", action="store_true", help="skip the Hydra multirun typed as a user would")
    args = parser.parse_args(argv)
    try:
        sizes = [tuple(int(v) for v in s.lower().split("x")) for s in args.sizes.split(",")]
        runs = [int(r) for r in args.runs.split(",")]
        assert len(sizes) == len(runs) and all(len(s) == 2 and s[0] >= 100 and 1 <= s[1] <= 96 for s in sizes)
        assert all(r >= 1 for r in runs) and args.workers >= 1 and args.repeat >= 1
    except (ValueError, AssertionError):
        raise CommandError("error: --sizes must be CUSTOMERSxMONTHS items (>= 100 customers, 1-96 months), --runs "
                           "as many counts >= 1, --workers and --repeat >= 1") from None
    warm_up(load_config(["figures=false"]))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for (size, months), n in zip(sizes, runs):
            study = study_of(size, months, n, Path(tmp) / "x")
            n = len(study.runs())
            pure, serial, local = [], [], []
            for k in range(args.repeat):           # interleaved, medians: this VM's speed drifts by ~10 %
                pure.append(pure_loop(study))
                for backend, workers, times in (("serial", 1, serial), ("local", args.workers, local)):
                    root = Path(tmp) / f"{size}x{months}_{backend}_{k}"
                    times.append(timed_study(dataclasses.replace(study, root=root), backend, workers))
            row = {"customers": size, "months": months, "runs": n, "pure_s": float(np.median(pure)),
                   "serial_s": float(np.median(serial)), "local_s": float(np.median(local))}
            if not args.no_ray:
                root = Path(tmp) / f"{size}x{months}_ray"
                row["ray_s"] = timed_study(dataclasses.replace(study, root=root), "ray", args.workers)
            rows.append(row)
            print(f"{size:,} customers x {months} months, {n} runs: pure {row['pure_s']:.2f} s, serial study "
                  f"{row['serial_s']:.2f} s ({row['serial_s'] / row['pure_s']:.2f}x)", file=sys.stderr)
        table = pd.DataFrame(rows)
        for backend in ("serial", "local", "ray"):
            if f"{backend}_s" in table:
                table[f"{backend}_over_pure"] = (table[f"{backend}_s"] / table["pure_s"]).round(3)
                table[f"{backend}_runs_per_s"] = (table["runs"] / table[f"{backend}_s"]).round(2)
        for backend in ("local", "ray"):
            if f"{backend}_s" in table:
                table[f"{backend}_speedup_vs_serial"] = (table["serial_s"] / table[f"{backend}_s"]).round(2)
        table["pure_runs_per_s"] = (table["runs"] / table["pure_s"]).round(2)
        if not args.no_cli:
            pure = pure_loop(study_of(10_000, 96, 100, Path(tmp) / "y"))
            default = cli_multirun(Path(tmp) / "cli_default", [])
            basic = cli_multirun(Path(tmp) / "cli_basic", ["hydra/launcher=basic"])
            cli = pd.DataFrame([{"command": "experiments.run -m seed=1,...,20 replicates=5 population.size=10000",
                                 "launcher": name, "runs": 100, "pure_s": round(pure, 2), "wall_s": round(wall, 2),
                                 "over_pure": round(wall / pure, 3)}
                                for name, wall in (("default (every core)", default), ("basic (serial)", basic))])
    table = table.round(3)
    print(f"study runner against the pure model loop on the same runs ({args.workers} local workers)")
    print(table.to_string(index=False))
    out = ROOT / "results" / "bench" / "sweep_overhead.csv"
    out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out, index=False)
    if not args.no_cli:
        print("\nHydra multirun typed as a user would (process start-up and imports included)")
        print(cli.to_string(index=False))
        cli.to_csv(out.with_name("sweep_cli.csv"), index=False)
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
