"""Benchmark of the model engine (not a test): throughput, memory, scaling, and two baselines.

  python -m experiments.bench.engine [--sizes 10000,100000,1000000,10000000] [--months 24]
                                     [--reference-sizes 10000,100000,1000000] [--reference-months 24]

For each population size, in a fresh process: set-up time, time per simulated month
(model.step, all of it), customer-steps per second, and peak resident memory per
customer (peak RSS after the run minus RSS before the model was built). The compiled
customer loops (sim/engine/kernels.py) are loaded and warmed on a tiny model first; the time
that takes in a fresh process is reported as `kernel_load_s` (a first run after
checkout compiles them, once, into sim/__pycache__). Two baselines, timed in the same run:
  floor      a bare vectorized multinomial-logit draw over the same number of options
             for every customer, once per month, for the same population
  reference  the same decision rules the standard Mesa way (sim/oracle.py: one Agent
             per customer, AgentSet.shuffle_do), at each of --reference-sizes for the
             first --reference-months months (all of them by default); `x_reference`
             compares the engine with it at the same size over those same months
Every engine run, and every reference run at 100,000 customers and below, is repeated
(--repeat, interleaved) and the median run is reported with the fastest and slowest time
per month.
Prints a table and writes results/bench/engine.csv and engine.png (time per month
against population).
"""
from __future__ import annotations

import argparse
import json
import logging
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from lab.errors import CommandError, Parser, command, last_line

ROOT = Path(__file__).resolve().parents[2]


def rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def bare_logit_month(n: int, options: int, rng: np.random.Generator) -> np.ndarray:
    """Every customer draws one of `options` alternatives by multinomial logit."""
    v = rng.random((n, options), dtype=np.float32)
    v -= v.max(axis=1, keepdims=True)
    np.exp(v, out=v)
    np.cumsum(v, axis=1, out=v)
    u = rng.random(n, dtype=np.float32) * v[:, -1]
    return (v < u[:, None]).sum(axis=1)


def measure(size: int, months: int, engine: str) -> dict:
    logging.getLogger("MESA").setLevel(logging.WARNING)
    from lab.compose import load_config
    from sim.market import MarketModel
    from sim.oracle import ReferenceMarketModel

    def config(size):
        end_year, end_month = 2013 + (months - 1) // 12, (months - 1) % 12 + 1
        return load_config([f"population.size={size}", f"end={end_year}-{end_month:02d}", "figures=false"])

    started = time.perf_counter()
    MarketModel(config(1000)).run()              # load (or compile) and warm the customer kernels
    kernel_load = time.perf_counter() - started
    cfg = config(size)
    before = rss()
    started = time.perf_counter()
    model = (ReferenceMarketModel if engine == "reference" else MarketModel)(cfg)
    setup = time.perf_counter() - started
    month_s = []
    while model.running:
        started = time.perf_counter()
        model.step()
        month_s.append(time.perf_counter() - started)
    per_month = sum(month_s) / months
    peak = rss()
    row = {"engine": engine, "customers": size, "months": months, "setup_s": round(setup, 3),
           "kernel_load_s": round(kernel_load, 2), "s_per_month": per_month, "customer_steps_per_s": size / per_month,
           "bytes_per_customer": round((peak - before) / size, 1), "month_s": month_s}
    if engine == "fast":
        options = model._menu().utility.size
        rng = np.random.default_rng(0)
        bare_logit_month(size, options, rng)
        started = time.perf_counter()
        for _ in range(3):
            bare_logit_month(size, options, rng)
        row["floor_s_per_month"] = (time.perf_counter() - started) / 3
        row["options"] = options
    return row


def in_subprocess(size: int, months: int, engine: str) -> dict:
    print(f"  {engine} engine, {size:,} customers, {months} months ...", file=sys.stderr, flush=True)
    out = subprocess.run([sys.executable, "-m", "experiments.bench.engine", "--one", str(size),
                          "--months", str(months), "--engine", engine],
                         cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        raise CommandError(f"error: the {engine} run at {size:,} customers failed: {last_line(out.stderr)}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def figure(rows: list[dict], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fast = [r for r in rows if r["engine"] == "fast"]
    ref = [r for r in rows if r["engine"] == "reference"]
    n = np.array([r["customers"] for r in fast])
    fig, ax = plt.subplots(figsize=(7.5, 5))
    ax.loglog(n, [r["s_per_month"] for r in fast], "o-", label="Full model (this engine)")
    ax.loglog(n, [r["floor_s_per_month"] for r in fast], "s--", label="Floor: bare logit draw, every customer")
    if ref:
        ax.loglog([r["customers"] for r in ref], [r["s_per_month"] for r in ref], "D-", color="#e76f51",
                  label=f"Reference: one Mesa Agent per customer (first {ref[0]['months']} months)")
    t0 = fast[-1]["s_per_month"]
    ax.loglog(n, t0 * n / n[-1], ":", color="0.5", label="Linear in population")
    ax.set_xlabel("Simulated customers")
    ax.set_ylabel("Seconds per simulated month")
    ax.set_title("Time per month against population size")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.text(0.01, 0.005, f"{fast[0]['months']} months from 2013-01, one core", fontsize=8, color="0.35")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    fig.savefig(path, dpi=130)
    plt.close(fig)


def sizes_option(text: str, option: str) -> list[int]:
    """A comma-separated list of population sizes, each one this machine can hold."""
    from lab.compose import check_memory
    try:
        sizes = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise CommandError(f"error: {option}={text!r}: expected sizes like 10000,100000") from None
    for size in sizes:
        if size < 100:
            raise CommandError(f"error: {option}: {size} is below the smallest population, 100")
        check_memory(size)
    return sizes


@command
def main() -> int:
    parser = Parser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,1000000,10000000", help="engine population sizes")
    parser.add_argument("--months", type=int, default=24, help="months per engine run, from 2013-01")
    parser.add_argument("--reference-sizes", default="10000,100000,1000000", help="reference population sizes")
    parser.add_argument("--reference-months", type=int,
                        help="months per reference run, from 2013-01 (default: --months; at most --months; the "
                             "reference takes about 5 s a month at 1M customers)")
    parser.add_argument("--repeat", type=int, default=5,
                        help="runs of the engine at each size, and of the reference at 100,000 customers and below, "
                             "interleaved; the median run is reported "
                             "(small runs are the most exposed to a shared machine's noise)")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--engine", default="fast", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one, args.months, args.engine)))
        return 0
    import pandas as pd
    sizes = sizes_option(args.sizes, "--sizes")
    ref_sizes = sizes_option(args.reference_sizes, "--reference-sizes")
    if not sizes or args.months < 1:
        parser.error("--sizes must name at least one size and --months must be >= 1")
    if args.reference_months is None:
        args.reference_months = args.months
    if not 1 <= args.reference_months <= args.months:
        parser.error(f"--reference-months={args.reference_months}: must be in [1, --months={args.months}]")
    missing = sorted(set(ref_sizes) - set(sizes))
    if missing:
        parser.error(f"--reference-sizes: {missing} not in --sizes; the reference is compared at equal size")
    runs = {("fast", size): [] for size in sizes} | {("reference", size): [] for size in ref_sizes}
    todo = [(engine, size) for rep in range(max(1, args.repeat)) for engine, size in runs
            if rep == 0 or engine == "fast" or size <= 100_000]
    # time left weighed by the expected cost of each run: customer-months, the reference ~300x dearer
    cost = {key: key[1] * (args.months if key[0] == "fast" else 300 * args.reference_months) for key in runs}
    from lab import progress  # here, not at the top: a measured run (--one) imports only what it needs
    with progress.bar(sum(cost[k] for k in todo), "bench_engine", "customer-month") as bar:
        for engine, size in todo:
            runs[engine, size].append(in_subprocess(size, args.months if engine == "fast" else args.reference_months,
                                                    engine))
            bar.update(cost[engine, size])
    rows = []
    for done in runs.values():
        done.sort(key=lambda r: r["s_per_month"])
        row = done[len(done) // 2]
        row.update(runs=len(done), s_per_month_min=done[0]["s_per_month"], s_per_month_max=done[-1]["s_per_month"])
        rows.append(row)
    fast = {r["customers"]: r for r in rows if r["engine"] == "fast"}
    for r in rows:
        r["x_floor_time"] = r["s_per_month"] / r["floor_s_per_month"] if "floor_s_per_month" in r else np.nan
        r["x_reference"] = np.nan
    for r in rows:
        if r["engine"] == "reference":      # the engine over the same months, same size
            engine_s = np.mean(fast[r["customers"]]["month_s"][:r["months"]])
            fast[r["customers"]]["x_reference"] = np.mean(r["month_s"]) / engine_s
    table = pd.DataFrame(rows).drop(columns="month_s")
    fast_t = table[table["engine"] == "fast"].set_index("customers")
    large = fast_t[fast_t.index >= 100_000]              # small runs are dominated by fixed costs
    logn, logt = np.log(large.index.to_numpy(float)), np.log(large["s_per_month"].to_numpy())
    slope = np.polyfit(logn, logt, 1)[0] if len(logn) >= 2 else np.nan
    pd.set_option("display.width", 200)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(f"\nscaling: time per month ~ population^{slope:.2f} (100k and up; 1.00 is linear)" if slope == slope
          else "\nscaling: needs two --sizes of 100,000 and up")
    print(f"x_reference: reference time / engine time per month at the same size over the first "
          f"{args.reference_months} months, median runs of `runs`")
    out = ROOT / "results" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "engine.csv", index=False)
    figure(rows, out / "engine.png")
    print(out / "engine.csv")
    return 0


if __name__ == "__main__":
    sys.exit(main())
