"""The model: customers, banks, platforms and the regulator, month by month (docs/model.md).

Compiled kernels are cached on disk by numba, which notices a change to a compiled
function's own file but not to the files of the functions it calls (numba's documentation,
"Cache invalidation"): an edit to `portfolio.py` would leave `kernels.decide_month`'s cached
machine code calling the old `portfolio_month`. So the cache lives in a folder named by a
hash of every module of `sim/` (no list to keep up to date; an edit to a module without
compiled code costs one recompile, about a minute). Folders of earlier versions are removed.
"""
import hashlib
import os
import shutil
import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent


def model_version() -> str:
    """A hash of every module of `sim/`: runs of one config by two versions of the model differ, so
    a study records it and refuses to mix versions (lab/study.py)."""
    return hashlib.sha256(b"".join(p.read_bytes() for p in sorted(_HERE.rglob("*.py")))).hexdigest()[:16]


def _kernel_cache_dir() -> Path:
    digest = model_version()
    if "SIM_NUMBA_CACHE_BASE" in os.environ:       # a child of a process that set NUMBA_CACHE_DIR below
        given = os.environ["SIM_NUMBA_CACHE_BASE"]
    else:
        given = os.environ.get("NUMBA_CACHE_DIR", "")
        os.environ["SIM_NUMBA_CACHE_BASE"] = given
    base = Path(given or _HERE / "__pycache__")
    for stale in base.glob("kernels-*"):
        if stale.name != f"kernels-{digest}":
            shutil.rmtree(stale, ignore_errors=True)
    return base / f"kernels-{digest}"


def _use_kernel_cache() -> None:
    folder = str(_kernel_cache_dir())
    os.environ["NUMBA_CACHE_DIR"] = folder          # read when numba is first imported
    if "numba" in sys.modules:                      # imported already: its config is read
        import numba
        numba.config.CACHE_DIR = folder


_use_kernel_cache()
