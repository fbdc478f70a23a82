"""The work of `python -m experiments.discover`: under which swept or sampled parameters does an outcome hold?

  python -m experiments.discover FOLDER --outcome "<column> <op> <value>" [--at YYYY-MM] [--institution NAME]

FOLDER is a design's or sweep's dataset. One case per run (point x replicate), its parameters the
study's swept values, its outcome a timeseries column (or, with --institution, an institutions
column of that institution) at --at (default: the last month); PRIM (lab/prim_boxes.py) finds the
boxes of parameters where the outcome holds. Writes into FOLDER/discover/:
  cases.parquet   one row per case: point, replicate, config_hash, the parameters, the outcome's
                  value (under its column's name) and of_interest
  boxes.csv, tradeoff.png, box_<k>.png, report.md   (lab/discovery_figures.py)
  discover.json   the question it answers, so that it is never mistaken for another
A second question about the same study goes to FOLDER/discover/<question tag>/; asking the same
question again rewrites its own folder (the study may have grown). Everything is written in a
staging folder first and moved into place whole; a folder discover did not write is never touched.
Bad input (not a study, an unknown column, institution or month, bad outcome syntax, an outcome no
run or every run meets) is refused in one line before anything is written.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import uuid
from pathlib import Path

from lab import progress
from lab.discovery_cases import Cases, parse_outcome, read_cases
from lab.discovery_figures import box_limits, boxes_table, report, tradeoff
from lab.errors import CommandError, read_json, writable_folder
from lab.prim_boxes import Search, find_boxes, load_prim, require_prim

RECORD = "discover.json"


def destination(root: Path, tag: str) -> Path:
    """Where this question's results go: FOLDER/discover/ if free or holding this question,
    else FOLDER/discover/<tag>/; CommandError for a folder that discover did not write."""
    top = Path(root) / "discover"
    for folder in (top, top / tag):
        if not folder.exists():
            return folder
        record = folder / RECORD
        if not folder.is_dir() or not record.is_file():
            raise CommandError(f"error: {folder} exists and was not written by discover (no {RECORD}); "
                               "move it away, discover never overwrites what it did not write")
        if read_json(record, "discover record").get("tag") == tag:
            return folder
    raise CommandError(f"error: {top / tag} holds another question than {tag}; move it away")


def _write(staging: Path, cases: Cases, search: Search, root: Path, target: Path) -> list[str]:
    """Every output into `staging`; returns the file names (discover.json last, report.md before it)."""
    staging.mkdir(parents=True)
    cases.table.to_parquet(staging / "cases.parquet", index=False)
    boxes_table(search).to_csv(staging / "boxes.csv", index=False)
    tradeoff(search, cases.outcome.describe(), staging / "tradeoff.png")
    files = ["cases.parquet", "boxes.csv", "tradeoff.png"]
    for box in search.boxes:
        box_limits(box, cases, staging / f"box_{box.number}.png")
        files.append(f"box_{box.number}.png")
    files.append("report.md")
    (staging / "report.md").write_text(report(root, cases, search, files), encoding="utf-8")
    o = cases.outcome
    record = {"tag": o.tag(), "outcome": o.text, "at": o.at, "institution": o.institution, "study": str(root),
              "cases": len(cases.table), "of_interest": int(cases.table["of_interest"].sum()),
              "parameters": cases.config_keys, "boxes": len(search.boxes), "settings": search.settings,
              "files": files, "folder": str(target)}
    (staging / RECORD).write_text(json.dumps(record, indent=2), encoding="utf-8")
    return [*files, RECORD]


def _move_into_place(staging: Path, target: Path, files: list[str]) -> None:
    """A new folder is renamed into place whole; a folder of the same question gets each file replaced
    (the record last) and loses the box figures this run no longer draws."""
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging, target)
        return
    old = read_json(target / RECORD, "discover record").get("files", [])
    for name in files:
        os.replace(staging / name, target / name)
    for name in set(old) - set(files):
        if name.startswith("box_") and name.endswith(".png"):
            (target / name).unlink(missing_ok=True)
    shutil.rmtree(staging, ignore_errors=True)


def discover(root: Path, outcome: str, at: str | None = None, institution: str | None = None,
             max_boxes: int = 3) -> Path:
    """Scenario discovery on the study at `root` (see the module docstring); returns the output folder."""
    root = Path(root)
    question = parse_outcome(outcome, at, institution)
    cases = read_cases(root, question)                  # every refusal comes before anything is shown or written
    target = destination(root, cases.outcome.tag())
    writable_folder(target)
    require_prim()
    with progress.bar(2 + max_boxes, "discover", "step") as bar:
        load_prim()
        bar.update(1)
        search = find_boxes(cases.table[cases.parameters], cases.table["of_interest"].to_numpy(), max_boxes)
        bar.update(max_boxes)
        staging = root / f".discover-staging-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        try:
            files = _write(staging, cases, search, root, target)
            _move_into_place(staging, target, files)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        bar.update(1)
    hits = int(cases.table["of_interest"].sum())
    print(f"discover: {cases.outcome.describe()} holds in {hits} of {len(cases.table)} runs; "
          f"{len(search.boxes)} box(es) found", file=sys.stderr)
    for b in search.boxes:
        limits = "; ".join(f"{cases.config_keys[n]} {_words(lim)}" for n, lim in b.limits.items())
        print(f"  box {b.number}: coverage {b.coverage:.0%}, density {b.density:.0%}, mass {b.mass:.0%}: {limits}",
              file=sys.stderr)
    return target


def _words(limits: tuple) -> str:
    low, high = limits
    return f"in {sorted(map(str, low))}" if high is None else f"{low:.3g} to {high:.3g}"
