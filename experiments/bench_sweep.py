"""Benchmark: a sweep of small runs, serial vs joblib vs Ray, through the real CLI.

  python -m experiments.bench_sweep [--jobs 20] [--replicates 10] [--size 1000] [--end 2014-12]

Runs the same sweep (jobs x replicates runs) with Hydra's basic launcher, the joblib
launcher and the Ray launcher (a local Ray instance), each into a fresh folder, and
prints and saves (results/bench/sweep_overhead.csv) for each: runs per second, and the
share of wall time spent outside the model, 1 - (sum of model seconds) / (wall x workers).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from experiments.errors import CommandError, Parser, command, last_line

ROOT = Path(__file__).resolve().parents[1]
LAUNCHERS = {
    "serial": [],
    "joblib": ["hydra/launcher=joblib", "hydra.launcher.n_jobs=-1"],
    "ray": ["hydra/launcher=ray", f"+hydra.launcher.ray.init.num_cpus={os.cpu_count()}",
            "+hydra.launcher.ray.init.include_dashboard=false"],
}


def bench(mode: str, args, tmp: Path) -> dict:
    sweep_dir = tmp / mode
    cmd = [sys.executable, "-m", "experiments.run", "-m", f"seed=range(0,{args.jobs})",
           f"replicates={args.replicates}", f"population.size={args.size}", f"end={args.end}", "figures=false",
           f"study=bench_{mode}", f"hydra.sweep.dir={sweep_dir}", *LAUNCHERS[mode]]
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - started
    if proc.returncode:
        raise CommandError(f"error: the {mode} sweep failed: {last_line(proc.stderr)}")
    infos = [json.loads(p.read_text()) for p in sweep_dir.rglob("run.json")]
    workers = 1 if mode == "serial" else os.cpu_count()
    model = sum(i["model_seconds"] for i in infos)
    return {"launcher": mode, "runs": len(infos), "workers": workers, "wall_s": round(wall, 2),
            "runs_per_s": round(len(infos) / wall, 2), "model_s": round(model, 2),
            "share_outside_model": round(1 - model / (wall * workers), 3)}


@command
def main() -> int:
    parser = Parser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=20)
    parser.add_argument("--replicates", type=int, default=10)
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--end", default="2014-12")
    parser.add_argument("--launchers", default="serial,joblib,ray")
    args = parser.parse_args()
    unknown = [m for m in args.launchers.split(",") if m not in LAUNCHERS]
    if unknown or args.jobs < 1 or args.replicates < 1:
        raise CommandError(f"error: --launchers must name {list(LAUNCHERS)} (got {unknown or args.launchers}), "
                           "--jobs and --replicates must be >= 1")
    with tempfile.TemporaryDirectory() as tmp:
        rows = [bench(mode, args, Path(tmp)) for mode in args.launchers.split(",")]
    table = pd.DataFrame(rows)
    base = table.loc[table["launcher"] == "serial", "runs_per_s"]
    if len(base):
        table["speedup_vs_serial"] = (table["runs_per_s"] / base.item()).round(2)
    print(f"sweep: {args.jobs} jobs x {args.replicates} replicates, {args.size} customers, 2013-01..{args.end}")
    print(table.to_string(index=False))
    out = ROOT / "results" / "bench" / "sweep_overhead.csv"
    out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out, index=False)
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
