"""A study's results as one Parquet dataset: the layout, how parts are committed, how to read it.

  <study>/timeseries/part-<id>.parquet     one row per run and month
  <study>/institutions/part-<id>.parquet   one row per run, month and institution
  <study>/runs/part-<id>.parquet           one row per run: keys, status, error, model seconds
  <study>/study.json, columns.csv, runs.csv   what was swept, units and meanings, the runs table as CSV
  <study>/damaged/                          parts found unreadable, moved aside (their runs are re-run)

Every writer (a worker process, a Ray task, or the command itself) writes whole parts
under its own unique id, so writers never collide. A part is written in a staging folder,
then renamed into place, data first and the runs part last: the runs part is the commit
record. `load` reads only data parts whose runs part exists, so a reader never sees a
run a crash left half-committed; `clean` removes such leftovers when a study resumes.
The same run (config hash and replicate) stored twice, by two studies writing at once,
is read once.

Query with pandas (`pd.read_parquet("<study>/timeseries")`), DuckDB
(`SELECT ... FROM '<study>/timeseries/*.parquet'`) or `load`, which also keeps one copy of
each run and leaves out anything uncommitted.
"""
from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Iterable

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sim.writers.files import atomic_write

TABLES = ("timeseries", "institutions")
RUNS = "runs"
STAGING = ".staging"
DAMAGED = "damaged"
RUN_KEY = ["config_hash", "replicate"]
ROW_KEYS = {"timeseries": RUN_KEY + ["date"], "institutions": RUN_KEY + ["date", "institution"]}
ORPHAN_AGE_S = 60.0         # a data part without its runs part for this long was left by a crash


def column_name(key: str) -> str:
    """A config key as a column name that pandas `query` and DuckDB take unquoted: 'switching_cost_scale'."""
    return key.replace(".", "_").replace("/", "_")


def new_part_id() -> str:
    """A part name no other writer uses: time, process and a random suffix, sortable by time."""
    return f"{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def commit(root: Path, tables: dict[str, pa.Table], runs: pa.Table) -> str:
    """Write one part of each table under `root` and commit it (runs part last); returns its id."""
    root = Path(root)
    part = new_part_id()
    staging = root / STAGING / part
    staging.mkdir(parents=True, exist_ok=True)
    try:
        for name, table in [*tables.items(), (RUNS, runs)]:
            pq.write_table(table, staging / f"{name}.parquet", compression="zstd")
        for name in [*tables, RUNS]:                       # data first: the runs part is the commit
            (root / name).mkdir(exist_ok=True)
            os.replace(staging / f"{name}.parquet", root / name / f"part-{part}.parquet")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return part


def parts(root: Path, table: str) -> dict[str, Path]:
    """{part id: file} of a table's parts."""
    folder = Path(root) / table
    if not folder.is_dir():
        return {}
    return {p.stem.removeprefix("part-"): p for p in sorted(folder.glob("part-*.parquet"))}


def committed(root: Path) -> set[str]:
    """Ids of the committed parts whose files are all readable Parquet (see `damaged`)."""
    return set(parts(root, RUNS)) - set(damaged(root))


def damaged(root: Path) -> dict[str, str]:
    """{part id: what is wrong} for committed parts with a file that is not readable Parquet (truncated,
    overwritten). Their runs count as not done, so a resumed study runs them again."""
    out = {}
    for table in (RUNS, *TABLES):
        for part, path in parts(root, table).items():
            if part in out:
                continue
            try:
                pq.ParquetFile(path).close()
            except Exception as e:  # noqa: BLE001 - pyarrow raises several kinds for a damaged file
                out[part] = f"{table}/{path.name} is not readable Parquet ({type(e).__name__})"
    return out


def clean(root: Path, older_than_s: float = ORPHAN_AGE_S) -> int:
    """Remove data parts that were never committed (a crash between the renames) and stale staging
    folders, once older than `older_than_s` (a writer at work is never touched); move damaged parts
    to <root>/damaged/ (kept, but out of the way of readers that glob the tables); returns how many."""
    root, now, removed = Path(root), time.time(), 0
    for part in damaged(root):
        for table in (RUNS, *TABLES):
            path = parts(root, table).get(part)
            if path is not None:
                (root / DAMAGED / table).mkdir(parents=True, exist_ok=True)
                os.replace(path, root / DAMAGED / table / path.name)
                removed += 1
    done = set(parts(root, RUNS))
    for table in TABLES:
        for part, path in parts(root, table).items():
            if part not in done and now - path.stat().st_mtime > older_than_s:
                path.unlink(missing_ok=True)
                removed += 1
    staging = root / STAGING
    if staging.is_dir():
        for folder in staging.iterdir():
            if now - folder.stat().st_mtime > older_than_s:
                shutil.rmtree(folder, ignore_errors=True)
                removed += 1
    return removed


def _read(files: list[Path], columns: list[str] | None = None, hashes: Iterable[str] | None = None) -> pd.DataFrame:
    filters = None if hashes is None else [("config_hash", "in", sorted(hashes))]
    frames = [pq.read_table(f, columns=columns, filters=filters).to_pandas() for f in files]
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


def load_runs(root: Path) -> pd.DataFrame:
    """The runs table, one row per config hash and replicate: its first complete attempt, or, if none
    completed, its latest failure (a failed run is retried on resume). Damaged parts are left out."""
    done = committed(root)
    runs = _read([p for part, p in parts(root, RUNS).items() if part in done])
    if runs.empty:
        return runs
    complete = runs["status"] == "complete"
    first = runs[complete].sort_values("finished", kind="stable").drop_duplicates(RUN_KEY, keep="first")
    latest = runs[~complete].sort_values("finished", kind="stable").drop_duplicates(RUN_KEY, keep="last")
    latest = latest[~latest.set_index(RUN_KEY).index.isin(first.set_index(RUN_KEY).index)]
    return pd.concat([first, latest]).sort_values(["point", "replicate"], kind="stable").reset_index(drop=True)


def complete_runs(root: Path) -> set[tuple[str, int]]:
    """(config hash, replicate) of every committed complete run."""
    done = committed(root)
    files = [p for part, p in parts(root, RUNS).items() if part in done]
    if not files:
        return set()
    runs = _read(files, ["config_hash", "replicate", "status"])
    done = runs[runs["status"] == "complete"]
    return set(zip(done["config_hash"], done["replicate"].astype(int)))


def load(root: Path, table: str = "timeseries", columns: list[str] | None = None,
         hashes: Iterable[str] | None = None) -> pd.DataFrame:
    """A table of the study: committed parts only, each run once, in point, replicate and date order;
    only `columns` (and the keys) and only the runs of the config `hashes`, if given, read from disk."""
    if table == RUNS:
        return load_runs(root)
    if table not in TABLES:
        raise ValueError(f"table must be one of {[*TABLES, RUNS]}, not {table!r}")
    done = committed(root)
    files = [p for part, p in parts(root, table).items() if part in done]
    if columns is not None:
        columns = list(dict.fromkeys([*ROW_KEYS[table], "point", *columns]))
    df = _read(files, columns, hashes)
    if df.empty:
        return df
    df = df.drop_duplicates(ROW_KEYS[table], keep="first")
    return df.sort_values(["point", "replicate", *ROW_KEYS[table][2:]], kind="stable").reset_index(drop=True)


def read_meta(root: Path) -> dict:
    """study.json ({} before a study first wrote it); CommandError naming it when it is damaged."""
    from lab.errors import read_json
    path = Path(root) / "study.json"
    return read_json(path, "study summary") if path.exists() else {}


def write_meta(root: Path, meta: dict) -> None:
    atomic_write(Path(root) / "study.json", lambda p: p.write_text(json.dumps(meta, indent=2, default=str)))


def is_study(root: Path) -> bool:
    return (Path(root) / "study.json").is_file() or (Path(root) / RUNS).is_dir()
