"""Every command the README and docs show still works: each `python -m` module exists and
answers --help, each preset, design and calibration file it names exists, each `run` and
`compare` line's overrides compose (or fail as the README says they do), and each `make`
target is in the Makefile. A deleted or renamed example fails here."""
from __future__ import annotations

import re
import runpy
import shlex
import sys
from pathlib import Path

import pytest

from lab.compose import explain, load_config

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
COMMAND = re.compile(r"python -m (experiments(?:\.[a-z_]+)+)([^`|\n]*)")


def _shown() -> list[tuple[str, str, str, bool]]:
    """(file, module, arguments, shown failing) for each command line, placeholders left out."""
    found = []
    for path in DOCS:
        lines = path.read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines):
            for module, rest in COMMAND.findall(line):
                args = rest.split("  #")[0].split(" # ")[0].strip().rstrip(".,;:)")
                if "<" in module + args or args.startswith(":"):
                    continue
                after = lines[i + 1] if i + 1 < len(lines) else ""
                found.append((path.name, module, args, after.startswith("config error")))
    return found


SHOWN = _shown()
MODULES = sorted({m for _, m, _, _ in SHOWN})


def test_the_docs_show_the_commands():
    assert {"experiments.run", "experiments.compare", "experiments.fit"} <= set(MODULES)


@pytest.mark.parametrize("module", MODULES)
def test_each_module_shown_answers_help(module, monkeypatch, capsys):
    """In this process (the imports are shared, so the whole list costs a few seconds), as
    `python -m module --help` would run it."""
    monkeypatch.setattr(sys, "argv", [module, "--help"])
    with pytest.raises(SystemExit) as done:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    assert done.value.code in (0, None)
    assert len(capsys.readouterr().out.strip()) > 20, module


def _overrides(args: list[str]) -> list[str]:
    """A sweep's first value for each key ('a=0,0.5,1' -> 'a=0'), options left out."""
    return [a.split(",")[0] if "=" in a else a for a in args if "=" in a and not a.startswith("-")]


RUNS = [(f, a, fails) for f, m, a, fails in SHOWN if m in ("experiments.run", "experiments.compare", "experiments.fit")
        and "--help" not in a and "--cfg" not in a]


@pytest.mark.parametrize("where, args, fails", RUNS, ids=[f"{m}:{a[:50]}" for m, a, _ in RUNS])
def test_each_run_lines_overrides_compose_or_fail_as_shown(where, args, fails):
    words = shlex.split(args)
    presets = [w for w in words if "=" not in w and not w.startswith("-") and not w.isdigit()]
    for name in presets:
        assert (ROOT / "configs" / "experiment" / f"{name}.yaml").is_file(), f"{where}: no preset {name}"
    overrides = _overrides(words)
    if fails:                                    # the README shows the one line it prints
        with pytest.raises(Exception) as err:
            load_config(overrides)
        assert explain(err.value, overrides).startswith("config error")
    else:
        load_config(overrides)


FILES = sorted({w for _, _, a, _ in SHOWN for w in shlex.split(a) if w.startswith("configs/")})


@pytest.mark.parametrize("path", FILES)
def test_each_file_a_command_names_exists(path):
    assert (ROOT / path).is_file()


def test_each_make_target_shown_is_in_the_makefile():
    targets = set(re.findall(r"^([a-z-]+):", (ROOT / "Makefile").read_text(), flags=re.M))
    shown = {t for path in DOCS for t in re.findall(r"\bmake ([a-z][a-z-]*)", path.read_text(encoding="utf-8"))}
    assert shown and shown <= targets, shown - targets
