"""The work of `python -m experiments.collect`: summarise a stored study: `python -m experiments.collect results/sweeps/<study>`.

A study's runs are already one Parquet dataset (lab/dataset.py): every run's tables
are streamed into <study>/timeseries/ and <study>/institutions/ as it finishes, and the runs
table into <study>/runs/. This command tidies and summarises it, as the end of every study
does: it removes parts a crash left uncommitted, and rewrites
  runs.csv      one row per run (config hash and replicate): status (complete or failed),
                error, model seconds, the swept values
  columns.csv   unit and meaning of every column; swept keys with their config key
  study.json    what was swept, and how many runs are complete and failed
Parts found unreadable (truncated, overwritten) are moved to <study>/damaged/ and listed;
their runs count as not done, so running the study again re-runs them.
Swept config keys are columns with '.' as '_' (switching_cost.scale -> switching_cost_scale), so
pandas `query` and DuckDB take them unquoted.
Query with pandas (`pd.read_parquet("<study>/timeseries")`), DuckDB
(`SELECT ... FROM '<study>/timeseries/*.parquet'`) or `lab.dataset.load`.
"""
from __future__ import annotations

from pathlib import Path

from lab import dataset
from sim.writers.files import atomic_write
from sim.writers.run_folder import write_units


def collect(root: Path, **meta) -> Path:
    """Tidy and summarise the study at root (see the module docstring), recording `meta` in study.json
    beside the counts; returns root."""
    root = Path(root)
    if not dataset.is_study(root):
        raise FileNotFoundError(f"no study at {root} (no runs/ or study.json)")
    dataset.clean(root)
    runs = dataset.load_runs(root)
    atomic_write(root / "runs.csv", lambda p: runs.to_csv(p, index=False))
    recorded = dataset.read_meta(root)
    write_units(root, {key: column for column, key in recorded.get("config_keys", {}).items()})
    stored = runs["status"].value_counts().to_dict() if len(runs) else {}
    moved = sorted(str(p.relative_to(root)) for p in (root / dataset.DAMAGED).rglob("*.parquet"))
    recorded.update(meta, complete=int(stored.get("complete", 0)), failed=int(stored.get("failed", 0)), damaged=moved)
    dataset.write_meta(root, recorded)
    return root


def summary(root: Path) -> str:
    meta = dataset.read_meta(root)
    moved = {Path(p).stem for p in meta.get("damaged") or []}
    return (f"{meta.get('complete', 0)} complete and {meta.get('failed', 0)} failed runs"
            + (f"; {len(moved)} unreadable part(s) moved to {Path(root) / dataset.DAMAGED} (their runs are re-run "
               "when the study resumes)" if moved else ""))
