"""One error policy for every command: one line on stderr, a non-zero exit, nothing overwritten.

Every command's `main` is wrapped by `command`, so bad input (`CommandError`,
`ConfigError`), an unusable file or folder (`OSError`) and Ctrl-C each end with one line
and a known exit status instead of a traceback:
  2    bad input, a damaged file, a folder that cannot be written
  130  interrupted (Ctrl-C)
Files that other commands wrote are read through `read_yaml`, `read_json` and
`read_table`, which name the file and what is wrong with it. Committed files (presets,
designs) are overwritten only with --force (`refuse_committed`).
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Callable

from sim.config import ConfigError, check_name  # noqa: F401 - check_name is part of this policy

BAD_INPUT = 2
INTERRUPTED = 130


class BetweenMonths:
    """Ctrl-C taken between months: the handler only notes it, and `check` (called after each month
    and between runs) raises it. A KeyboardInterrupt raised while a compiled kernel is being called
    or compiled can crash the process (numba: a segmentation fault), and a crash would lose the
    runs not yet written. Used by single runs (experiments/run.py) and studies (lab/study.py)."""

    def __enter__(self) -> "BetweenMonths":
        self.pending, self.previous = False, None
        if (threading.current_thread() is threading.main_thread()
                and signal.getsignal(signal.SIGINT) is signal.default_int_handler):
            self.previous = signal.signal(signal.SIGINT, self._note)
        return self

    def _note(self, signum, frame) -> None:
        self.pending = True

    def check(self, *_) -> None:
        if self.pending:
            raise KeyboardInterrupt

    def __exit__(self, *exc) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)


class CommandError(Exception):
    """Bad input or an unusable file; the message is the one line the user sees."""


def _lines(text: str) -> list[str]:
    return [ln.strip() for ln in str(text).splitlines() if ln.strip()]


def interrupted_during(exc: BaseException | None) -> bool:
    """Whether a KeyboardInterrupt is in the exception's chain: Ctrl-C that compiled code (numba)
    reported as another error. Never a failed run."""
    while exc is not None:
        if isinstance(exc, KeyboardInterrupt):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def one_line(text: str) -> str:
    """The first non-empty line of a message (Hydra, YAML and pyarrow errors run over many)."""
    return (_lines(text) or [""])[0]


def describe(exc: BaseException) -> str:
    """The one line shown for an error a command refuses to go on after."""
    if isinstance(exc, (CommandError, ConfigError)):
        return one_line(str(exc))
    if isinstance(exc, OSError):
        where = f": {exc.filename}" if exc.filename else ""
        return f"error: {exc.strerror or one_line(str(exc)) or type(exc).__name__}{where}"
    return f"error: {type(exc).__name__}: {one_line(str(exc))}"


class Parser(argparse.ArgumentParser):
    """argparse with the same policy: a bad option is one line (not usage plus error) and exit 2."""

    def error(self, message: str):
        raise CommandError(f"error: {self.prog}: {message}")


def writable_folder(path: Path) -> None:
    """`path`, or the nearest folder above it that exists, must be a writable folder (checked before
    the work, so that nothing is computed only to fail when it is written)."""
    target = Path(path)
    while not target.exists() and target != target.parent:
        target = target.parent
    if not target.is_dir():
        raise CommandError(f"error: cannot write results under {target}: it is a file, not a folder")
    if not os.access(target, os.W_OK | os.X_OK):
        raise CommandError(f"error: cannot write results under {target}: permission denied")


def last_line(stderr: str) -> str:
    """The line that says why a child command failed (its stderr ends with it under this policy)."""
    return (_lines(stderr) or ["no message"])[-1]


def command(main: Callable[..., int | None]) -> Callable[..., int]:
    """Wrap a command's main: bad input, unusable files and Ctrl-C end with one line and a status."""
    @functools.wraps(main)
    def wrapper(*args, **kwargs) -> int:
        if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:    # see experiments/__init__.py
            signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            return main(*args, **kwargs) or 0
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            return INTERRUPTED
        except (CommandError, ConfigError, OSError) as e:
            print(describe(e), file=sys.stderr)
            return BAD_INPUT
    return wrapper


def read_yaml(path: Path, kind: str) -> dict:
    """A YAML mapping from a user's file, or CommandError naming the file and what is wrong."""
    from omegaconf import OmegaConf
    path = Path(path)
    if not path.is_file():
        raise CommandError(f"error: no {kind} file at {path}")
    try:
        text = path.read_text(encoding="utf-8")
        content = OmegaConf.to_container(OmegaConf.create(text), resolve=True) if text.strip() else None
    except UnicodeDecodeError:
        raise CommandError(f"error: {kind} file {path} is not UTF-8 text") from None
    except Exception as e:  # noqa: BLE001 - YAML syntax and interpolation errors alike
        raise CommandError(f"error: {kind} file {path} is not valid YAML: {one_line(str(e))}") from None
    if not isinstance(content, dict):
        raise CommandError(f"error: {kind} file {path} must hold a mapping of keys to values")
    return content


def read_json(path: Path, kind: str) -> dict:
    """A JSON object another command wrote, or CommandError naming the file."""
    try:
        content = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CommandError(f"error: {kind} {path} is missing") from None
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise CommandError(f"error: {kind} {path} is damaged: {one_line(str(e))}") from None
    if not isinstance(content, dict):
        raise CommandError(f"error: {kind} {path} is damaged: not a JSON object")
    return content


def read_table(path: Path, kind: str = "table"):
    """A Parquet or CSV table another command wrote, or CommandError naming the file."""
    import pandas as pd
    path = Path(path)
    try:
        return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    except FileNotFoundError:
        raise CommandError(f"error: {kind} {path} is missing") from None
    except Exception as e:  # noqa: BLE001 - pyarrow and the CSV parser raise many kinds
        raise CommandError(f"error: {kind} {path} is damaged: {one_line(str(e))}") from None


def is_committed(path: Path) -> bool:
    """Whether git tracks `path` (a shipped preset, design or calibration file)."""
    path = Path(path).resolve()
    try:
        proc = subprocess.run(["git", "ls-files", "--error-unmatch", path.name], cwd=path.parent,
                              capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return False
    return proc.returncode == 0


def refuse_committed(path: Path, force: bool) -> None:
    """Refuse to overwrite a committed file unless the user passed --force."""
    if not force and Path(path).exists() and is_committed(path):
        raise CommandError(f"error: {path} is a committed file; pass --force to overwrite it")

