"""Re-run a stored run from its folder and report whether every table matches.

  python -m experiments.rerun results/baseline/<time>_seed42 [--out FOLDER]

Reads the folder's resolved config.yaml and run.json (seed, replicate, config hash, file
checksums), runs the model again (with `posterior`, the replicate's draw of it), writes its
tables to a scratch folder and compares
every stored table (timeseries and institutions as CSV and Parquet, yearly, targets_fit)
with the new one, value for value and type for type. It also checks that config.yaml
still has the hash run.json recorded and that no file changed after the run. Exits 0 when
everything is identical and 1 when anything differs (naming what); a folder that is not
a run folder, or whose files are damaged, gets one line and exit 2. With --out the new
run is also written there (over a committed file only with --force).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lab.errors import CommandError, Parser, command, refuse_committed
from lab.reruns import code_note, rerun
from sim.writers.run_folder import TABLES, read_run_info


@command
def main(argv: list[str] | None = None) -> int:
    parser = Parser(prog="python -m experiments.rerun", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path, help="a run folder holding config.yaml and run.json")
    parser.add_argument("--out", type=Path, help="also write the new run here")
    parser.add_argument("--force", action="store_true", help="let --out overwrite committed files")
    args = parser.parse_args(argv)
    if args.out is not None:
        for name in (*TABLES, "columns.csv", "config.yaml", "run.json"):
            refuse_committed(args.out / name, args.force)
    if not (args.folder / "run.json").is_file() or not (args.folder / "config.yaml").is_file():
        raise CommandError(f"error: {args.folder} is not a complete run folder (config.yaml and run.json needed)")
    result = rerun(args.folder, args.out)
    for name, problem in result.items():
        print(f"{name}: {'identical' if problem is None else 'DIFFERENT - ' + problem}")
    same = all(p is None for p in result.values())
    note = code_note(read_run_info(args.folder))
    if note:
        print(note)
    print("reproduced exactly" if same else "not reproduced" + (" (see the commit above)" if note else ""))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
