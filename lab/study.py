"""One runner for everything that runs many configurations: sweeps, designs, ensembles.

A study is a list of points (a validated `Config` each, with the swept values that tell
it apart) and a number of replicates per point. The runner
- composes nothing itself: callers compose each distinct configuration once and make the
  points from it with `lab.changes.with_changes`, which applies typed changes to the dataclasses
  (no Hydra composition per point);
- skips every run whose config hash and replicate the study's dataset already holds
  complete (`lab.dataset`), and retries failed ones;
- runs chunks of runs per task, serially in this process, in local worker processes
  (`concurrent.futures`, forked after the compiled kernels are loaded, so a worker starts
  at once), or as Ray tasks (a local Ray or a cluster by address);
- streams each run's tables as Arrow into the study's Parquet dataset: a writer commits a
  part at least every `FLUSH_S` seconds and when its chunk ends, so a killed study loses at
  most the last second of a worker's runs and never leaves a part a reader would take;
- records a failed run as a row of the runs table with its error and goes on;
- runs, for a point with `posterior=<name>`, draw r of that posterior as replicate r
  (lab/posterior.py), recorded in the runs table's `posterior` and `posterior_draw`;
- shows runs done, failures and time left, updated as runs (serial) or chunks finish,
  at a cost that does not grow with the number of runs.
Per-run folders with CSV and figures (as a single run writes) are written only on request.
"""
from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import socket
import sys
import threading
import time
from datetime import datetime, timezone
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pyarrow as pa
from omegaconf import OmegaConf

from lab import dataset

from lab import progress
from lab.errors import BetweenMonths, CommandError, interrupted_during
from lab.points import Point
from lab.posterior import replicate_config
from sim.config import Config, ConfigError, month_index, replicate_seed
from sim import model_version
from sim.market import MarketModel
from sim.writers.run_folder import IDENTITY, arrow_table, override_tag, stored_columns, write_run

FLUSH_S = 1.0                   # a writer commits its finished runs at least this often
CHUNK_S = 8.0                   # a task holds about this much work (at RATE), so progress stays fresh
RATE = 4e6                      # customer-months per second assumed when sizing chunks (bench_engine: 4-16 M)
BACKENDS = ("serial", "local", "ray")


@dataclass
class Study:
    """What to run and where to store it."""
    name: str
    root: Path
    points: list[Point]
    config_keys: dict[str, str] = field(default_factory=dict)   # swept column -> config key
    folders: bool = False            # also write each run's folder (CSV, figures) under <root>/folders/
    command: list[str] = field(default_factory=list)
    replicates: dict[int, tuple[int, ...]] = field(default_factory=dict)
                                     # point -> the replicates it runs, where not 0..replicates-1 (an evaluation
                                     # that holds replicates back for an out-of-sample check: lab/evaluation.py)

    def runs(self) -> list[tuple[int, int]]:
        return [(p.index, r) for p in self.points
                for r in self.replicates.get(p.index, range(p.config.replicates))]


# ----------------------------------------------------------------------------- running

def _keys(study: str, p: Point, r: int) -> dict:
    stream = int(replicate_seed(p.config.seed, r).generate_state(1)[0])
    return {"study": study, "point": p.index, "config_hash": p.config_hash, "replicate": r,
            "seed": p.config.seed, "replicate_seed": stream, "scenario": p.config.scenario,
            "overrides": override_tag(list(p.overrides)),
            "posterior": p.config.posterior, "posterior_draw": r if p.config.posterior else None}


class _Writer:
    """Finished runs of one task, committed as a part every FLUSH_S seconds and at the end."""

    def __init__(self, root: Path, flush_s: float):
        self.root, self.flush_s = Path(root), flush_s
        self.runs: list[tuple[dict, dict]] = []          # (key columns, {table: columns}) of complete runs
        self.rows: list[dict] = []
        self.last = time.monotonic()

    def add(self, row: dict, keys: dict | None = None, tables: dict | None = None) -> None:
        self.rows.append(row)
        if tables is not None:
            self.runs.append((keys, tables))
        if time.monotonic() - self.last >= self.flush_s:
            self.flush()

    def flush(self) -> None:
        if self.rows:
            data = {name: arrow_table([(keys, tables[name]) for keys, tables in self.runs])
                    for name in dataset.TABLES} if self.runs else {}
            dataset.commit(self.root, data, _runs_table(self.rows))
        self.runs, self.rows = [], []
        self.last = time.monotonic()


def _runs_table(rows: list[dict]) -> pa.Table:
    table = pa.Table.from_pylist(rows)
    fixed = {"model_seconds": pa.float64(), "error": pa.string(), "status": pa.string(),
             "posterior": pa.string(), "posterior_draw": pa.int64()}
    return table.cast(pa.schema([pa.field(f.name, fixed.get(f.name, f.type)) for f in table.schema]))


def run_chunk(root: str, study: str, points: dict[int, Point], items: list[tuple[int, int]],
              folders: bool = False, flush_s: float = FLUSH_S,
              on_run: Callable[[dict], None] | None = None) -> list[dict]:
    """Run `items` ((point, replicate) pairs) and commit their tables; returns their runs rows.

    A failing run becomes a row with its error. On Ctrl-C the runs already finished are
    committed before the interrupt goes on."""
    import logging
    logging.getLogger("MESA").setLevel(logging.WARNING)
    if items:
        warm_up(points[items[0][0]].config)
    writer = _Writer(Path(root), flush_s)
    done: list[dict] = []
    with BetweenMonths() as interrupt:
        try:
            _run_items(study, points, items, folders, root, writer, done, interrupt, on_run)
        finally:
            writer.flush()
        interrupt.check()
    return done


def _run_items(study: str, points: dict[int, Point], items: list[tuple[int, int]], folders: bool, root: str,
               writer: _Writer, done: list[dict], interrupt: BetweenMonths, on_run) -> None:
    from lab.compose import explain
    worker = f"{socket.gethostname()}:{os.getpid()}"
    for index, r in items:
        interrupt.check()
        p = points[index]
        keys = _keys(study, p, r)
        tables = None
        try:
            config, drawn = replicate_config(p.config, r)      # draw r of a posterior, if any
            started = time.perf_counter()
            model = MarketModel(config, replicate=r).run(progress=interrupt.check)
            seconds = time.perf_counter() - started
            tables = stored_columns(model)
            if folders:
                folder = Path(root) / "folders" / (override_tag(list(p.overrides)) or "base") / f"rep_{r:03d}"
                write_run(model, folder, seconds, extra={**keys, "overrides": list(p.overrides), **drawn},
                          figures=p.config.figures,     # config.yaml: the point's own, as its hash says
                          config_yaml=OmegaConf.to_yaml(OmegaConf.structured(p.config)) if drawn else None)
            row = {**keys, **p.values, "status": "complete", "error": "", "model_seconds": seconds,
                   "model_version": MODEL_VERSION}
        except KeyboardInterrupt:
            raise
        except Exception as e:  # noqa: BLE001 - a failed run is a row; the study goes on
            if interrupted_during(e):     # Ctrl-C that compiled code reported as another error
                raise KeyboardInterrupt from e
            text = explain(e) if isinstance(e, ConfigError) else f"{type(e).__name__}: {e}"
            row = {**keys, **p.values, "status": "failed", "error": text.splitlines()[0] if text else "",
                   "model_seconds": None, "model_version": MODEL_VERSION}
            tables = None
        row.update(finished=datetime.now(timezone.utc), worker=worker)
        columns = {**{k: keys[k] for k in IDENTITY}, "study": study, "point": p.index,
                   "replicate_seed": keys["replicate_seed"], **p.values}
        writer.add(row, columns, tables)
        done.append(row)
        if on_run is not None:
            on_run(row)


def _chunks(items: list[tuple[int, int]], points: dict[int, Point], workers: int) -> list[list[tuple[int, int]]]:
    """Items in order, cut into chunks: at least 4 per worker, each about CHUNK_S seconds of work."""
    if not items:
        return []
    cfg = points[items[0][0]].config
    per_run = cfg.population.size * (month_index(cfg.end) - month_index(cfg.start) + 1)
    size = max(1, min(math.ceil(len(items) / (4 * workers)), math.ceil(CHUNK_S * RATE / per_run)))
    return [items[i:i + size] for i in range(0, len(items), size)]


_warm: list[bool] = []


def warm_up(config: Config) -> None:
    """Load the compiled kernels in this process (a run of `config` with 100 customers for one month),
    so that forked workers start with them and model seconds do not count kernel load."""
    if _warm:
        return
    _warm.append(True)
    tiny = dataclasses.replace(config, population=dataclasses.replace(config.population, size=100), end=config.start)
    try:
        MarketModel(tiny).run()
    except Exception as e:  # noqa: BLE001 - a config that cannot run fails its runs, recorded there
        if interrupted_during(e):
            raise KeyboardInterrupt from e


MODEL_VERSION = model_version()


def refuse_other_versions(root: Path) -> None:
    """A study's runs all come from one version of the model: resuming or extending a study that
    holds runs of another version (or of one that did not record it) is refused in one line."""
    stored = dataset.load_runs(root) if dataset.committed(root) else None
    if stored is None or stored.empty:
        return
    versions = set(stored["model_version"].fillna("unrecorded")) if "model_version" in stored else {"unrecorded"}
    others = sorted(versions - {MODEL_VERSION})
    if others:
        raise CommandError(f"error: {root} holds runs of another version of the model (sim/ code {others[0]}, now "
                           f"{MODEL_VERSION}); the two would mix in one dataset. Resume it with the code that started "
                           "it, or give this study a new name (study=...)")


@contextlib.contextmanager
def one_writer(root: Path):
    """Hold the study folder's lock while writing it: a second process writing the same study waits
    (and says so) until the first is done, then finds its runs stored; the lock goes with the holder."""
    import fcntl
    with open(root / ".lock", "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"waiting: another process is writing {root}", file=sys.stderr, flush=True)
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def run_study(study: Study, backend: str = "serial", workers: int | None = None, address: str | None = None,
              show_progress: bool = True, flush_s: float = FLUSH_S) -> dict:
    """Run every run of the study not yet complete in its dataset; returns counts and the root.

    backend: serial (this process), local (`workers` processes, default every core), or ray
    (a Ray cluster at `address`, or a local one with `workers` CPUs). One process writes a study
    at a time (`one_writer`)."""
    if backend not in BACKENDS:
        raise ConfigError("backend", backend, f"one of {list(BACKENDS)}")
    root = Path(study.root)
    root.mkdir(parents=True, exist_ok=True)
    with one_writer(root):
        return _run_study(study, root, backend, workers, address, show_progress, flush_s)


def _run_study(study: Study, root: Path, backend: str, workers: int | None, address: str | None,
               show_progress: bool, flush_s: float) -> dict:
    dataset.clean(root)
    refuse_other_versions(root)
    done = dataset.complete_runs(root)
    points = {p.index: p for p in study.points}
    todo, scheduled = [], set(done)
    for i, r in study.runs():               # a point that repeats another (same hash) runs once
        if (points[i].config_hash, r) not in scheduled:
            scheduled.add((points[i].config_hash, r))
            todo.append((i, r))
    skipped = len(study.runs()) - len(todo)
    _write_meta(study, root, skipped)
    workers = max(1, workers or os.cpu_count() or 1) if backend != "serial" else 1
    counts = {"complete": 0, "failed": 0}
    desc = f"study {study.name}" + (f" ({skipped} done before)" if skipped else "")
    with progress.bar(len(todo), desc, "run", show=show_progress) as bar:
        def tally(rows: list[dict]) -> None:
            for row in rows:
                counts[row["status"]] += 1
            bar.update(len(rows))
            if counts["failed"]:
                bar.set_postfix(failed=counts["failed"], refresh=False)
        if todo and backend != "ray":
            warm_up(points[todo[0][0]].config)
        if backend == "serial" or not todo:
            run_chunk(str(root), study.name, points, todo, study.folders, flush_s, on_run=lambda row: tally([row]))
        elif backend == "local":
            _run_local(study, root, points, todo, workers, flush_s, tally)
        else:
            _run_ray(study, root, points, todo, workers, address, flush_s, tally)
    return _finish(study, root, skipped, counts)


def _die_with_parent(parent: int) -> None:
    """A worker ends when the process that started it is gone (killed with SIGKILL, say), instead of
    committing runs into a study nobody watches: Linux's parent-death signal, and a watch on the
    parent's pid where that is not available."""
    try:
        import ctypes
        PR_SET_PDEATHSIG = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, 9)
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:                # the parent died before the signal was asked for
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os._exit(1)
    threading.Thread(target=watch, daemon=True).start()


def _run_local(study, root, points, todo, workers, flush_s, tally) -> None:
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    chunks = _chunks(todo, points, workers)
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_die_with_parent,
                             initargs=(os.getpid(),)) as pool:
        pending = {pool.submit(run_chunk, str(root), study.name, {i: points[i] for i in {i for i, _ in c}}, c,
                               study.folders, flush_s) for c in chunks}
        try:
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for f in finished:
                    tally(f.result())
        except BaseException:
            for f in pending:
                f.cancel()
            raise


def _run_ray(study, root, points, todo, workers, address, flush_s, tally) -> None:
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    import ray
    started_here = not ray.is_initialized()
    if started_here:
        kwargs = {"address": address} if address else {"num_cpus": workers, "include_dashboard": False}
        ray.init(**kwargs, log_to_driver=False, configure_logging=False)
    try:
        task = ray.remote(run_chunk)
        total_cpus = int(ray.cluster_resources().get("CPU", workers))
        chunks = _chunks(todo, points, max(1, total_cpus))
        pending = [task.remote(str(root), study.name, {i: points[i] for i in {i for i, _ in c}}, c,
                               study.folders, flush_s) for c in chunks]
        while pending:
            finished, pending = ray.wait(pending, num_returns=1)
            for f in finished:
                tally(ray.get(f))
    finally:
        if started_here:
            ray.shutdown()


def _write_meta(study: Study, root: Path, skipped: int) -> None:
    old = dataset.read_meta(root)
    swept = list(dict.fromkeys([*old.get("swept", []), *study.config_keys]))
    meta = {"study": study.name, "swept": swept, "config_keys": {**old.get("config_keys", {}), **study.config_keys},
            "points": len(study.points), "runs": len(study.runs()), "skipped": skipped,
            "command": study.command, "started": time.strftime("%Y-%m-%dT%H:%M:%S"), "status": "running"}
    dataset.write_meta(root, meta)


def _finish(study: Study, root: Path, skipped: int, counts: dict) -> dict:
    from lab.collection import collect
    collect(root, status="finished", finished=time.strftime("%Y-%m-%dT%H:%M:%S"))
    meta = dataset.read_meta(root)
    return {"root": root, "skipped": skipped, "complete": counts["complete"], "failed": counts["failed"],
            "stored_complete": meta["complete"], "stored_failed": meta["failed"], "expected": len(study.runs())}
