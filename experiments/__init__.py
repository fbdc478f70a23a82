"""The commands (`python -m experiments.<name>`) over the model in `sim/`.

Ctrl-C while a command is still loading its libraries (a few seconds) ends it with one line
and exit 130, like Ctrl-C later on (`lab.errors.command` takes over once the
command starts). Only `python -m experiments.<name>` is affected, not an importing program.
"""
import os
import signal
import sys


def _interrupted_while_loading(signum, frame) -> None:
    print("interrupted", file=sys.stderr, flush=True)
    os._exit(130)


if sys.argv[:1] == ["-m"] and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
    signal.signal(signal.SIGINT, _interrupted_while_loading)
