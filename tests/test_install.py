"""What each set-up installs: `make run` the model and its commands only; the optional extras
(calibration: sbi with torch; Ray; the test tools) only where a job needs them, and a command that
needs a missing extra says in one line how to get it."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
COMMANDS = ["run", "compare", "plot", "collect", "design", "fit", "rerun", "validate", "timings", "dashboard",
            "calibrate", "discover", "optimise", "game"]
# importing any of these fails in the child, as on a machine with the base install only
BLOCK = """
import sys
class Missing:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {blocked!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
sys.meta_path.insert(0, Missing())
"""
EXTRAS_ONLY = {"sbi", "torch", "ray", "pytest", "xdist", "hypothesis", "playwright", "ema_workbench", "platypus",
               "optuna", "nashpy"}


def _name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _child(code: str, blocked: set[str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", BLOCK.format(blocked=sorted(blocked)) + code], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def test_the_base_dependencies_leave_out_torch_sbi_ray_and_the_test_tools():
    base = {_name(r) for r in PROJECT["dependencies"]}
    assert not base & {"sbi", "torch", "ray", "hydra-ray-launcher", "pytest", "hypothesis", "playwright",
                       "ema-workbench"}, base
    extras = {k: {_name(r) for r in v} for k, v in PROJECT["optional-dependencies"].items()}
    assert "sbi" in extras["calibrate"] and "ray" in extras["ray"] and "pytest" in extras["test"]
    assert "ema-workbench" in extras["strategy"]
    assert {"optuna", "nashpy"} <= extras["strategy"] and not base & {"optuna", "nashpy"}


@pytest.mark.slow
def test_every_command_imports_without_the_optional_extras():
    code = ("import importlib\n"
            f"for c in {COMMANDS!r}:\n"
            "    importlib.import_module('experiments.' + c)\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & " + repr(EXTRAS_ONLY) + "))\n")
    proc = _child(code, EXTRAS_ONLY)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == "[]"


def test_calibrate_without_sbi_says_in_one_line_how_to_install_it(tmp_path):
    out = tmp_path / "out"
    code = ("from experiments.calibrate import main\n"
            f"sys.exit(main(['configs/calibration/small.yaml', '--out', {str(out)!r}]))\n")
    proc = _child(code, {"sbi", "torch"})
    err = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert len(err) == 1 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert "calibration extra" in err[0] and "make calibrate" in err[0] and '".[calibrate]"' in err[0]
    assert not out.exists()


@pytest.mark.parametrize("name, config, blocked", [("optimise", "joint_stock_growth", "optuna"),
                                                   ("game", "banks_vs_alipay", "nashpy")])
def test_the_strategy_commands_without_their_extra_say_in_one_line_how_to_install_it(tmp_path, name, config,
                                                                                     blocked):
    out = tmp_path / "out"
    code = f"from experiments.{name} import main\nsys.exit(main([{config!r}, '--out', {str(out)!r}]))\n"
    proc = _child(code, {blocked})
    err = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert len(err) == 1 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert blocked in err[0] and '".[strategy]"' in err[0]
    assert not out.exists()


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
@pytest.mark.parametrize("target, extras", [("run", None), ("dashboard", None), ("setup", None),
                                            ("calibrate", "calibrate"), ("test", "test,calibrate,ray,strategy"),
                                            ("test-fast", "test,calibrate,ray,strategy")])
def test_each_make_target_installs_only_what_its_job_needs(target, extras):
    """`make -n -B` prints the commands a fresh clone would run, without running them."""
    proc = subprocess.run(["make", "-n", "-B", target], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    installs = [ln for ln in proc.stdout.splitlines() if "pip install" in ln and "--upgrade pip" not in ln]
    assert installs[0].endswith("pip install -q -e ."), installs
    assert [ln.split()[-1] for ln in installs[1:]] == ([f'".[{extras}]"'] if extras else []), installs


@pytest.mark.slow                                    # a child process that writes a study and imports the commands
def test_discover_without_the_ema_workbench_says_in_one_line_how_to_install_it(tmp_path):
    study = tmp_path / "study"
    code = ("from tests.discover_study import write_study\n"
            "from experiments.discover import main\n"
            f"write_study(__import__('pathlib').Path({str(study)!r}))\n"
            f"sys.exit(main([{str(study)!r}, '--outcome', 'share_mobile > 0.4']))\n")
    proc = _child(code, {"ema_workbench"})
    err = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert len(err) == 1 and "EMA Workbench" in err[0] and '".[strategy]"' in err[0], proc.stderr[-3000:]
    assert not (study / "discover").exists()


def test_the_ray_launcher_without_the_ray_extra_says_how_to_install_it():
    from lab.compose import explain
    hydra_says = "Could not find 'hydra/launcher/ray'\nAvailable options in 'hydra/launcher':\n\tbasic\n\tjoblib\n"
    assert explain(Exception(hydra_says), ["-m", "hydra/launcher=ray"]) == \
        'config error: hydra/launcher=ray needs the ray extra: pip install -e ".[ray]"'
    other = explain(Exception(hydra_says.replace("/ray'", "/nosuch'")), ["hydra/launcher=nosuch"])
    assert other.startswith("config error: hydra/launcher='nosuch' is not allowed")
