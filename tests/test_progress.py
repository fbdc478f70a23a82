"""Progress with time left: runs count their customer-months on the current bar, and the totals add up."""
from __future__ import annotations

from lab import progress
from tests.conftest import make_config


def test_runs_count_their_customer_months_on_the_current_bar():
    cfg = make_config("end=2013-06", size=1000)
    with progress.tracking(progress.work(cfg, 2), "test") as bar:
        progress.run(cfg, 0)
        progress.run(cfg, 1)
        assert bar.n == bar.total == 2 * 1000 * 6
    progress.run(cfg, 0)                  # outside a tracked block: runs, counts nowhere
