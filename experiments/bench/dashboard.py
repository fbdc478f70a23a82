"""Memory and time of the dashboard's monthly redraw, without a browser: `python -m experiments.bench.dashboard`.

Steps a what-if Session (these settings and the baseline) month by month and draws the
page's charts to PNG each month, as the page does, printing the process's peak resident memory
every 24 months and the mean seconds per month. A figure kept from month to month shows as
memory growing with the months.
"""
from __future__ import annotations

import argparse
import io
import resource
import sys
import time

from lab.dashboard import charts
from lab.whatif import Levers, Session


def peak() -> int:
    """Peak resident memory of this process so far, in bytes (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.bench.dashboard", description=__doc__)
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--months", type=int, default=96)
    args = parser.parse_args(argv)
    session = Session(Levers(population=args.size))
    session.step()
    charts(session).savefig(io.BytesIO(), format="png")
    first, started = peak(), time.perf_counter()
    for month in range(2, args.months + 1):
        session.step()
        charts(session).savefig(io.BytesIO(), format="png")
        if month % 24 == 0:
            print(f"month {month}: {peak() / 2**20:,.0f} MB", flush=True)
    seconds = (time.perf_counter() - started) / max(args.months - 1, 1)
    print(f"{args.size:,} customers: {first / 2**20:,.0f} MB after month 1, "
          f"{peak() / 2**20:,.0f} MB after month {args.months}; {seconds:.2f} s a month")
    return 0


if __name__ == "__main__":
    sys.exit(main())
