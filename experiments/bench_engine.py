"""Benchmark of the model engine (not a test): throughput, memory, scaling, and two baselines.

  python -m experiments.bench_engine [--sizes 10000,100000,1000000,10000000] [--months 24]

For each population size, in a fresh process: set-up time, time per simulated month
(model.step, all of it), customer-steps per second, and peak resident memory per
customer (peak RSS after the run minus RSS before the model was built). Two baselines,
timed in the same run:
  floor      a bare vectorized multinomial-logit draw over the same number of options
             for every customer, once per month, for the same population
  reference  the same decision rules the standard Mesa way (sim/reference.py: one Agent
             per customer, AgentSet.shuffle_do), at the smallest size
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

ROOT = Path(__file__).resolve().parents[1]


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
    from experiments.config import load_config
    from sim.market import MarketModel
    from sim.reference import ReferenceMarketModel

    end_year, end_month = 2013 + (months - 1) // 12, (months - 1) % 12 + 1
    cfg = load_config([f"population.size={size}", f"end={end_year}-{end_month:02d}", "figures=false"])
    before = rss()
    started = time.perf_counter()
    model = (ReferenceMarketModel if engine == "reference" else MarketModel)(cfg)
    setup = time.perf_counter() - started
    started = time.perf_counter()
    model.run()
    per_month = (time.perf_counter() - started) / months
    peak = rss()
    row = {"engine": engine, "customers": size, "months": months, "setup_s": round(setup, 3),
           "s_per_month": per_month, "customer_steps_per_s": size / per_month,
           "bytes_per_customer": round((peak - before) / size, 1)}
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
    out = subprocess.run([sys.executable, "-m", "experiments.bench_engine", "--one", str(size),
                          "--months", str(months), "--engine", engine],
                         cwd=ROOT, capture_output=True, text=True, check=True)
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
        ax.loglog([r["customers"] for r in ref], [r["s_per_month"] for r in ref], "D", color="#e76f51",
                  label="Reference: one Mesa Agent per customer")
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,1000000,10000000")
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--engine", default="fast", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one, args.months, args.engine)))
        return
    import pandas as pd
    sizes = [int(s) for s in args.sizes.split(",")]
    rows = [in_subprocess(size, args.months, "fast") for size in sizes]
    rows.append(in_subprocess(sizes[0], args.months, "reference"))
    table = pd.DataFrame(rows)
    fast = table[table["engine"] == "fast"].set_index("customers")
    ref = table[table["engine"] == "reference"].iloc[0]
    table["x_reference_same_size"] = np.nan
    table.loc[table["customers"] == ref["customers"], "x_reference_same_size"] = (
        table["customer_steps_per_s"] / ref["customer_steps_per_s"])
    table["x_reference"] = table["customer_steps_per_s"] / ref["customer_steps_per_s"]
    table["x_floor_time"] = table["s_per_month"] / table["floor_s_per_month"]
    logn, logt = np.log(fast.index.to_numpy(float)), np.log(fast["s_per_month"].to_numpy())
    slope = np.polyfit(logn[1:], logt[1:], 1)[0] if len(logn) > 2 else np.nan
    pd.set_option("display.width", 200)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(f"\nscaling: time per month ~ population^{slope:.2f} (100k and up; 1.00 is linear)")
    out = ROOT / "results" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "engine.csv", index=False)
    figure(rows, out / "engine.png")
    print(out / "engine.csv")


if __name__ == "__main__":
    main()
