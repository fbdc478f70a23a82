"""Merge a sweep's runs into one table: `python -m experiments.collect results/sweeps/<study>`.

Reads every complete run (a folder whose run.json, written last, lists every file with the
size and checksum it still has) and every failure (error.json) under the sweep folder,
and writes <sweep>/collected/:
  timeseries.parquet    one row per run, replicate and month, keyed by the swept values,
                        replicate, seed and config hash
  institutions.parquet  the same per institution
  runs.csv              one row per job and replicate: status (complete, failed, or damaged:
                        a truncated, edited or unreadable run, left out of the tables), error, keys
  columns.csv           unit and meaning of every column; swept keys with their config key
Swept config keys are columns with '.' as '_' (switching_cost.scale -> switching_cost_scale), so
pandas `query` and DuckDB take them unquoted. A replicate is counted once: the same job,
config hash and replicate found twice (a sweep extended from replicates=1 to 2 in an older
layout) is kept where first found.
Query with pandas (`pd.read_parquet`) or DuckDB (`SELECT ... FROM 'collected/timeseries.parquet'`).
A Hydra callback runs this at the end of every sweep.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import yaml
from hydra.experimental.callback import Callback
from omegaconf import DictConfig
from tqdm import tqdm

from experiments.errors import CommandError, Parser, command, describe, one_line, read_json
from sim.outputs import atomic_write, check_run, write_units

log = logging.getLogger("experiments.collect")
OUT = "collected"
KEY_COLUMNS = ["study", "job", "config_hash", "replicate", "seed", "replicate_seed", "scenario"]
LAST_SWEEP: dict = {}     # the summary of the sweep this process collected last, for run's exit status


def column_name(key: str) -> str:
    """A config key as a column name that pandas `query` and DuckDB take unquoted: 'switching_cost_scale'."""
    return key.replace(".", "_").replace("/", "_")


def swept_values(overrides: list[str]) -> dict:
    """{'switching_cost_scale': 0.5, ...} from a job's task overrides (numbers parsed as numbers), keyed by
    column_name; the config keys are kept in collected/columns.csv."""
    values = {}
    for item in overrides or []:
        key, _, raw = item.lstrip("+~").partition("=")
        if key.startswith("hydra") or key in ("replicates", "study", "figures"):
            continue
        try:
            values[column_name(key)] = yaml.safe_load(raw)
        except yaml.YAMLError:
            values[column_name(key)] = raw
    return values


def _config_keys(infos: list[dict]) -> dict[str, str]:
    """{config key: column name} for the swept keys whose column name differs."""
    keys = {item.lstrip("+~").partition("=")[0] for info in infos for item in info.get("overrides", [])}
    return {k: column_name(k) for k in sorted(keys) if column_name(k) != k and not k.startswith("hydra")}


def _run_keys(info: dict, folder: Path, root: Path) -> dict:
    job = folder.relative_to(root)
    if job.name.startswith("rep_"):
        job = job.parent
    return {"study": info.get("study", ""), "job": str(job), "config_hash": info.get("config_hash", ""),
            "replicate": info.get("replicate"), "seed": info.get("seed"),
            "replicate_seed": info.get("replicate_seed"), "scenario": info.get("scenario", "")}


def _read_run(folder: Path) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    """A complete run's record and tables; ValueError saying what is wrong with a damaged one."""
    problem = check_run(folder)
    if problem:
        raise ValueError(problem)
    info = json.loads((folder / "run.json").read_text())
    try:
        return info, pd.read_parquet(folder / "timeseries.parquet"), pd.read_parquet(folder / "institutions.parquet")
    except Exception as e:  # noqa: BLE001 - pyarrow raises many kinds for a damaged file
        raise ValueError(f"unreadable table: {one_line(str(e))}") from None


def collect(root: Path) -> Path:
    """Write <root>/collected/ from the runs under root; returns that folder.

    Damaged runs are skipped and listed in runs.csv with what is wrong; one never stops the others.
    """
    root = Path(root).resolve()
    if not root.is_dir():
        raise FileNotFoundError(f"no sweep folder at {root}")
    series, institutions, runs, infos = [], [], [], []
    swept_keys: list[str] = []
    seen: set[tuple] = set()
    for run_json in sorted(root.rglob("run.json"), key=lambda p: (len(p.parts), p)):
        folder = run_json.parent
        if OUT in folder.relative_to(root).parts:
            continue
        try:
            info, ts, inst = _read_run(folder)
        except ValueError as e:
            runs.append({"job": str(folder.relative_to(root)), "status": "damaged", "error": str(e)})
            continue
        infos.append(info)
        keys = _run_keys(info, folder, root)
        if (keys["job"], keys["config_hash"], keys["replicate"]) in seen:
            continue
        seen.add((keys["job"], keys["config_hash"], keys["replicate"]))
        swept = swept_values(info.get("overrides", []))
        swept_keys += [k for k in swept if k not in swept_keys]
        extra = {**keys, **{k: v for k, v in swept.items() if k not in keys}}
        series.append(ts.assign(**extra))
        institutions.append(inst.assign(**extra))
        runs.append({**extra, "status": "complete", "error": "", "model_seconds": info.get("model_seconds")})
    for err_json in sorted(root.rglob("error.json")):
        folder = err_json.parent
        if OUT in folder.relative_to(root).parts or (folder / "run.json").exists():
            continue
        try:
            info = read_json(err_json, "failure record")
        except CommandError as e:
            runs.append({"job": str(folder.relative_to(root)), "status": "damaged", "error": str(e)})
            continue
        swept = swept_values(info.get("overrides", []))
        keys = _run_keys(info, folder, root)
        runs.append({**keys, **{k: v for k, v in swept.items() if k not in keys}, "status": "failed",
                     "error": info.get("error", ""), "model_seconds": None})
    out = root / OUT
    out.mkdir(exist_ok=True)
    key_order = KEY_COLUMNS + [k for k in swept_keys if k not in KEY_COLUMNS]

    def ordered(frames: list[pd.DataFrame]) -> pd.DataFrame:
        if not frames:
            return pd.DataFrame(columns=key_order)
        df = pd.concat(frames, ignore_index=True)
        return df[[c for c in key_order if c in df] + [c for c in df if c not in key_order]]

    ts, inst = ordered(series), ordered(institutions)
    atomic_write(out / "timeseries.parquet", lambda p: ts.to_parquet(p, index=False))
    atomic_write(out / "institutions.parquet", lambda p: inst.to_parquet(p, index=False))
    table = pd.DataFrame(runs, columns=list(dict.fromkeys([*key_order, "status", "error", "model_seconds"])))
    atomic_write(out / "runs.csv", lambda p: table.to_csv(p, index=False))
    renamed = _config_keys(infos)
    meta = {"swept": swept_keys, "config_keys": {v: k for k, v in renamed.items()},
            **{status: int((table["status"] == status).sum()) for status in ("complete", "failed", "damaged")}}
    atomic_write(out / "sweep.json", lambda p: p.write_text(json.dumps(meta, indent=2)))
    write_units(out, renamed)
    for row in table[table["status"] == "damaged"].itertuples():
        log.info("skipped damaged run %s: %s", row.job, row.error)
    return out


def summary(out: Path) -> str:
    meta = read_json(out / "sweep.json", "sweep summary")
    return (f"{meta['complete']} complete, {meta['failed']} failed and {meta['damaged']} damaged runs"
            + (" (damaged ones skipped; see runs.csv)" if meta["damaged"] else ""))


def sweep_size(config: DictConfig) -> int:
    """Jobs in a multirun: the product of the sweep lengths on the command line and in hydra.sweeper.params."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    items = list(config.hydra.overrides.task)
    items += [f"{k}={v}" for k, v in (config.hydra.sweeper.get("params") or {}).items()]
    jobs = 1
    for override in OverridesParser.create().parse_overrides(items):
        if override.is_sweep_override():
            jobs *= len(list(override.sweep_string_iterator()))
    return jobs


def _finished(root: Path) -> int:
    return sum(1 for name in ("run.json", "error.json") for p in root.rglob(name) if OUT not in p.parts)


class CollectWhenSweepEnds(Callback):
    """Hydra callback: show the sweep's progress with time left, and collect it when it ends.

    Progress counts finished replicates (run.json or error.json) in the sweep folder, so it
    works whichever launcher runs the jobs, in this process or elsewhere.
    """

    def __getstate__(self) -> dict:
        return {}    # launchers pickle callbacks into workers; the watcher stays in this process

    def on_multirun_start(self, config: DictConfig, **kwargs) -> None:
        root = Path(config.hydra.sweep.dir)
        replicates = config.get("replicates", 1) if isinstance(config.get("replicates"), int) else 1
        total = sweep_size(config) * replicates
        self._total = total
        self._stop = threading.Event()
        bar = tqdm(total=total, desc=f"sweep {config.get('study', '')}", unit="run", file=sys.stderr,
                   disable=None, position=1, leave=True)

        def watch() -> None:
            seen, started, last_log = 0, time.monotonic(), time.monotonic()
            while not self._stop.wait(1.0):
                now = min(_finished(root), total) if root.exists() else 0
                if now != seen:
                    bar.update(now - seen)
                    seen = now
                if bar.disable and time.monotonic() - last_log >= 30 and 0 < seen < total:
                    elapsed = time.monotonic() - started
                    log.info("sweep: %d/%d runs finished, %.0f s elapsed, about %.0f s left",
                             seen, total, elapsed, elapsed / seen * (total - seen))
                    last_log = time.monotonic()
            bar.update(max(0, min(_finished(root), total) - seen))
            bar.close()
        self._watcher = threading.Thread(target=watch, daemon=True)
        self._watcher.start()
        log.info("sweep of %d jobs x %d replicates into %s", total // replicates, replicates, root)

    def on_multirun_end(self, config: DictConfig, **kwargs) -> None:
        if getattr(self, "_watcher", None) is not None:
            self._stop.set()
            self._watcher.join(timeout=5)
        root = Path(config.hydra.sweep.dir)
        try:
            out = collect(root)
        except Exception as e:  # noqa: BLE001 - Hydra would reduce it to a warning and exit 0
            LAST_SWEEP.update(error=describe(e), out=str(root / OUT))
            return
        LAST_SWEEP.update(json.loads((out / "sweep.json").read_text()), out=str(out),
                          expected=getattr(self, "_total", 0))
        log.info("collected %s into %s", summary(out), out)
        print(out)


@command
def main(argv: list[str] | None = None) -> int:
    parser = Parser(prog="python -m experiments.collect", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sweep", type=Path, help="a sweep folder, e.g. results/sweeps/<study>")
    args = parser.parse_args(argv)
    if not args.sweep.is_dir():
        raise CommandError(f"error: no sweep folder at {args.sweep}")
    out = collect(args.sweep)
    print(summary(out), file=sys.stderr)
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
