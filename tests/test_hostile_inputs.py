"""The hostile-input corpus: ordinary mistakes and damaged files, across every command.

Each case is a row: the command, its arguments, an optional way to damage a copy of a
stored run or sweep first, the exit status and the pattern the first line must match.
Every case also asserts that there is no traceback, that stderr is at most one line,
that no earlier result (the stored run or sweep the case is given, configs/) changed, and
that nothing partial was left where the command would have written. Commands run in this
process (their `main`, as `python -m` calls it), so the corpus takes seconds;
`test_the_command_line_itself` runs a sample through real subprocesses.
"""
from __future__ import annotations

import hashlib
import importlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
SMALL = ["population.size=1500", "end=2014-06", "figures=false"]


def python_m(module: str, *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", f"experiments.{module}", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(scope="module")
def stored_run(tmp_path_factory) -> Path:
    """One plain run, made once by the command in a subprocess (about 5 s under -n 2, paid by the first
    test of a worker that needs it: those tests are marked slow); cases damage copies of it."""
    tmp = tmp_path_factory.mktemp("stored")
    run = python_m("run", *SMALL, "seed=3", f"hydra.run.dir={tmp}/run")
    assert run.returncode == 0, run.stderr
    return tmp / "run"


@pytest.fixture(scope="module")
def stored_sweep(tmp_path_factory) -> Path:
    """One collected four-job sweep, made once in this process (about 1.5 s); cases damage copies of it."""
    tmp = tmp_path_factory.mktemp("stored")
    # the sweep as `-m seed=1,2 switching_cost.scale=0.5,2` makes it, with a part per run (flush_s=0)
    from lab.study import run_study
    from lab.sweep import plan
    study, _ = plan([*SMALL, "seed=1,2", "switching_cost.scale=0.5,2", f"hydra.sweep.dir={tmp}/sweep"])
    assert run_study(study, show_progress=False, flush_s=0)["complete"] == 4
    return tmp / "sweep"


def snapshot(*folders: Path) -> dict[str, str]:
    """Every file under the folders with its checksum: what 'no earlier result changed' compares."""
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest()
            for folder in folders for p in sorted(Path(folder).rglob("*")) if p.is_file()}


COMMITTED = [ROOT / name for name in subprocess.run(["git", "ls-files", "configs"], cwd=ROOT, capture_output=True,
                                                    text=True).stdout.split()]


def committed() -> dict[str, str]:
    """The committed config files with their checksums (other tests may add files beside them)."""
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in COMMITTED}


# ----------------------------------------------------------------------------- ways to damage a copy

def find(folder: Path, name: str) -> Path:
    """The shallowest file called `name`; `timeseries/part` names a study's first timeseries part."""
    if name.endswith("/part"):
        return sorted((folder / name.split("/")[0]).glob("part-*.parquet"))[0]
    return next(p for p in sorted(folder.rglob(name), key=lambda p: (len(p.parts), p)))


def truncate(name: str) -> Callable[[Path], None]:
    def damage(folder: Path) -> None:
        path = find(folder, name)
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    return damage


def overwrite(name: str, text: str | bytes) -> Callable[[Path], None]:
    def damage(folder: Path) -> None:
        path = find(folder, name)
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return damage


def edit_csv(name: str) -> Callable[[Path], None]:
    def damage(folder: Path) -> None:
        path = find(folder, name)
        df = pd.read_csv(path)
        df.iloc[0, -1] = 0 if df.iloc[0, -1] != 0 else 1
        df.to_csv(path, index=False)
    return damage


def retype_parquet(folder: Path) -> None:
    path = folder / "timeseries.parquet"
    df = pd.read_parquet(path)
    df["step"] = df["step"].astype("float64")      # same values, another type
    df.to_parquet(path, index=False)


def reseed_config(folder: Path) -> None:
    path = folder / "config.yaml"
    path.write_text(re.sub(r"^seed: \d+", "seed: 99", path.read_text(), flags=re.M))


# ----------------------------------------------------------------------------- input files

DESIGN = """name: {name}
method: lhs
samples: 2
replicates: 1
outputs: [{output}]
overrides: [population.size=500, end=2013-06, figures=false]
parameters:
  switching_cost.scale: [0.5, 2.0]
  {param}: [{low}, {high}]
"""
CALIBRATION = """name: hostile
target_sets: [seed]
presets: {{seed: {preset}}}
population: 500
simulations: {simulations}
held_out: 0
predictive_runs: 2
overrides: [end=2013-12]
parameters:
  customers.channel_constant.mobile: [-3.0, -1.0]
"""


def design_file(name="d", output="share_platform", param="regulation.ukey_friction", low=0.0, high=1.0) -> str:
    return DESIGN.format(name=name, output=output, param=param, low=low, high=high)


def calibration_file(preset="hostile_fit", simulations="20") -> str:
    return CALIBRATION.format(preset=preset, simulations=simulations)


# ----------------------------------------------------------------------------- the corpus
# (id, command, args, input: (filename, content) | None, damage: (stored, fn) | None, exit, first-line regex)
# In args, {run}/{sweep} are a damaged-or-not copy of the stored run/sweep, {file} the input file,
# {out} a folder that must stay absent, {git} a repository with committed config.yaml and baseline.yaml
# (so that a regression overwrites those, not the project's own).
P = [*SMALL, "hydra.run.dir={out}"]
M = ["-m", *SMALL, "hydra.sweep.dir={out}"]
CONFIG = r"^config error: "
CASES = [
    # run: numbers that are not finite or not physical
    ("nan-mid-year", "run", [*P, "customers.mobile_tech_mid_year=nan"], None, None, 2,
     CONFIG + r"customers\.mobile_tech_mid_year=nan is not allowed; expected a finite number"),
    ("inf-tech-max", "run", [*P, "customers.mobile_tech_max=inf"], None, None, 2,
     CONFIG + r"customers\.mobile_tech_max=inf"),
    ("inf-count", "run", [*P, "transactions.purposes.small_payment.monthly_count=inf"], None, None, 2,
     CONFIG + r"transactions\.purposes\.small_payment\.monthly_count=inf is not allowed; expected a finite number"),
    ("huge-count", "run", [*P, "transactions.purposes.small_payment.monthly_count=50000"], None, None, 2,
     CONFIG + r"transactions\.purposes\.small_payment\.monthly_count=50000\.0 is not allowed; "
              r"expected transactions a month in \[0, 10000\]"),
    ("huge-wealth", "run", [*P, "population.wealth_median_urban=1e308"], None, None, 2,
     CONFIG + r"population\.wealth_median_urban=1e\+308 is not allowed; expected RMB in"),
    ("inf-subsidy", "run", [*P, "platforms.alipay.subsidy_bn=inf"], None, None, 2,
     CONFIG + r"platforms\.alipay\.subsidy_bn=inf"),
    ("inf-deposit-rate", "run", [*P, "banks.large_state.deposit_rate=inf"], None, None, 2,
     CONFIG + r"banks\.large_state\.deposit_rate=inf"),
    ("inf-switching", "run", [*P, "switching_cost.scale=inf"], None, None, 2, CONFIG + r"switching_cost\.scale=inf"),
    ("inf-habit", "run", [*P, "customers.habit=inf"], None, None, 2, CONFIG + r"customers\.habit=inf"),
    ("inf-ukey", "run", [*P, "regulation.ukey_friction=inf"], None, None, 2, CONFIG + r"regulation\.ukey_friction=inf"),
    ("nan-in-list", "run", [*P, "customers.age_branch_preference=[nan,0,0,0]"], None, None, 2,
     CONFIG + r"customers\.age_branch_preference\[0\]=nan"),
    ("negative-inf-constant", "run", [*P, "customers.channel_constant.pc=-inf"], None, None, 2,
     CONFIG + r"customers\.channel_constant\.pc=-inf"),
    ("absurd-utility", "run", [*P, "customers.tie_weight=1e9"], None, None, 2,
     CONFIG + r"customers\.tie_weight=1000000000\.0 is not allowed; expected a number in \[-1e6, 1e6\]"),
    ("huge-population", "run", [*P, "population.size=100000000000"], None, None, 2,
     CONFIG + r"population\.size=100000000000 is not allowed"),
    ("population-beyond-memory", "run", [*P, "population.size=1900000000"], None, None, 2,
     CONFIG + r"population\.size=1900000000 is not allowed; expected at most [\d,]+ customers on this machine"),
    ("zero-adults", "run", [*P, "population.represents_adults=0"], None, None, 2,
     CONFIG + r"population\.represents_adults=0"),
    ("negative-purchase-limit", "run", [*P, "regulation.mmf_purchase_limit=-5"], None, None, 2,
     CONFIG + r"regulation\.mmf_purchase_limit=-5"),
    # run: keys, names and paths
    ("plus-misspelt", "run", [*P, "+popluation.size=5"], None, None, 2,
     CONFIG + r"popluation\.size=5 is not allowed; expected a known key .*did you mean 'population\.size'"),
    ("plus-unknown-leaf", "run", [*P, "+customers.hbit=2"], None, None, 2,
     CONFIG + r"customers\.hbit=2 is not allowed; expected a known key .*did you mean 'customers\.habit'"),
    ("empty-banks", "run", [*P, "banks={}"], None, None, 2, CONFIG + r"banks='\{\}' is not allowed"),
    ("scenario-path", "run", [*P, "scenario=../../../tmp/x"], None, None, 2,
     CONFIG + r"scenario='\.\./\.\./\.\./tmp/x' is not allowed; expected a name"),
    ("scenario-absolute", "run", [*P, "scenario=/etc"], None, None, 2, CONFIG + r"scenario='/etc'"),
    ("misspelt-key", "run", [*P, "populaton.size=5"], None, None, 2, CONFIG + r".*did you mean 'population'"),
    ("unknown-preset", "run", [*P, "experiment=nosuch"], None, None, 2, CONFIG + r"experiment='nosuch'"),
    ("unknown-launcher", "run", [*P, "hydra/launcher=nosuch"], None, None, 2,
     CONFIG + r"hydra/launcher='nosuch' is not allowed; expected one of \['basic', 'joblib'"),
    ("unknown-hydra-key", "run", [*P, "hydra.nosuch=1"], None, None, 2, CONFIG + r"hydra\.nosuch=1"),
    ("bad-type", "run", [*P, "seed=abc"], None, None, 2, CONFIG + r"seed='abc' is not allowed; expected a value of type"),
    ("negative-seed", "run", [*P, "seed=-1"], None, None, 2, CONFIG + r"seed=-1"),
    ("no-replicates", "run", [*P, "replicates=0"], None, None, 2, CONFIG + r"replicates=0"),
    ("bad-month", "run", [*P, "start=2013-13"], None, None, 2, CONFIG + r"start='2013-13'"),
    ("end-before-start", "run", [*P, "end=2012-06"], None, None, 2, CONFIG + r"end='2012-06'"),
    ("bad-scope", "run", [*P, "customers.word_of_mouth_scope=nowhere"], None, None, 2,
     CONFIG + r"customers\.word_of_mouth_scope='nowhere'"),
    ("bad-regime", "run", [*P, "regulation.regime=libertarian"], None, None, 2, CONFIG + r"regulation\.regime="),
    ("bad-strategy", "run", [*P, "banks.large_state.strategy.kind=greedy"], None, None, 2,
     CONFIG + r"banks\.large_state\.strategy\.kind='greedy'"),
    ("short-age-shares", "run", [*P, "population.age_shares=[0.5,0.5]"], None, None, 2,
     CONFIG + r"population\.age_shares="),
    ("unknown-target-set", "run", [*P, "target_set=imf"], None, None, 2, CONFIG + r"target_set='imf'"),
    ("results-under-a-file", "run", [*SMALL, "hydra.run.dir={file}/run"], ("f.txt", "x"), None, 2,
     r"^error: cannot write results under .*f\.txt: it is a file, not a folder"),
    ("cfg-with-a-typo", "run", ["--cfg", "job", "populaton.size=5"], None, None, 2,
     CONFIG + r"populaton\.size=5 is not allowed.*did you mean 'population'"),
    ("unknown-option", "run", [*P, "--nosuchflag"], None, None, 2, r"^error: unknown option --nosuchflag"),
    # sweeps: every swept value is checked before anything runs
    ("sweep-long-range", "run", [*M, "seed=range(0,100000)", "population.size=1000,-5"], None, None, 2,
     CONFIG + r"population\.size=-5"),
    ("sweep-study-path", "run", [*M, "seed=1,2", "study=../../x"], None, None, 2, CONFIG + r"study='\.\./\.\./x'"),
    ("sweep-empty-study", "run", [*M, "seed=1,2", "study="], None, None, 2, CONFIG + r"study=''"),
    ("sweep-bad-second-value", "run", [*M, "switching_cost.scale=0.5,-1"], None, None, 2,
     CONFIG + r"switching_cost\.scale=-1"),
    ("sweep-inf-value", "run", [*M, "customers.habit=1,inf"], None, None, 2, CONFIG + r"customers\.habit=inf"),
    ("sweep-bad-type", "run", [*M, "population.size=1000,abc"], None, None, 2, CONFIG + r"population\.size='abc'"),
    ("sweep-bad-preset", "run", [*M, "experiment=baseline,nosuch"], None, None, 2, CONFIG + r"experiment='nosuch'"),
    ("sweep-bad-launcher", "run", [*M, "seed=1,2", "hydra/launcher=nosuch"], None, None, 2,
     CONFIG + r"hydra/launcher='nosuch'"),
    ("sweep-plus-misspelt", "run", [*M, "seed=1,2", "+popluation.size=5"], None, None, 2,
     CONFIG + r"popluation\.size=5"),
    # collect: unreadable parts are moved aside and reported, never abort the others
    ("collect-missing", "collect", ["{out}"], None, None, 2, r"^error: no study at "),
    ("collect-a-file", "collect", ["{file}"], ("f.txt", "x"), None, 2, r"^error: no study at "),
    ("collect-truncated-part", "collect", ["{sweep}"], None, ("sweep", truncate("timeseries/part")), 0,
     r"^3 complete and 0 failed runs; 1 unreadable part\(s\) moved to .*damaged \(their runs are re-run"),
    ("collect-junk-runs-part", "collect", ["{sweep}"], None, ("sweep", overwrite("runs/part", "PAR1junk")), 0,
     r"^3 complete and 0 failed runs; 1 unreadable part\(s\) moved to"),
    ("collect-damaged-summary", "collect", ["{sweep}"], None, ("sweep", overwrite("study.json", "[")), 2,
     r"^error: study summary .*study\.json is damaged"),
    ("collect-binary-summary", "collect", ["{sweep}"], None, ("sweep", overwrite("study.json", b"\xff\xfe\x00")), 2,
     r"^error: study summary .*study\.json is damaged"),
    # plot: damaged tables and impossible requests
    ("plot-missing", "plot", ["{out}", "all"], None, None, 2, r"^error: no study at "),
    ("plot-same-axes", "plot", ["{sweep}", "heatmap", "--x", "seed", "--y", "seed", "--date", "2014-06"], None, None,
     2, r"^error: --x and --y are both 'seed'"),
    ("plot-damaged-part", "plot", ["{sweep}", "fan"], None, ("sweep", overwrite("timeseries/part", "PAR1junk")), 0,
     r"^warning: 1 unreadable part\(s\) left out \(timeseries/part-.*\.parquet is not readable Parquet"),
    ("plot-damaged-summary", "plot", ["{sweep}", "fan"], None, ("sweep", overwrite("study.json", "[")), 2,
     r"^error: study summary .*study\.json is damaged"),
    ("plot-unknown-metric", "plot", ["{sweep}", "fan", "--metric", "nosuch"], None, None, 2,
     r"^error: metric 'nosuch' is not in the stored tables"),
    ("plot-unknown-date", "plot", ["{sweep}", "heatmap", "--x", "seed", "--y", "switching_cost.scale", "--date",
                                   "1999-01"], None, None, 2, r"^error: --date '1999-01' is not a simulated month"),
    ("plot-unknown-key", "plot", ["{sweep}", "diff", "--key", "nosuch"], None, None, 2,
     r"^error: --key 'nosuch' is not a swept parameter"),
    ("plot-unknown-kind", "plot", ["{sweep}", "pie"], None, None, 2, r"^error: .*invalid choice: 'pie'"),
    # rerun: damaged or hand-edited folders
    ("rerun-missing", "rerun", ["{out}"], None, None, 2, r"^error: .* is not a complete run folder"),
    ("rerun-damaged-run-json", "rerun", ["{run}"], None, ("run", overwrite("run.json", "{")), 2,
     r"^error: .* is not a complete run folder: run\.json is damaged"),
    ("rerun-yaml-syntax", "rerun", ["{run}"], None, ("run", overwrite("config.yaml", "seed: [")), 2,
     r"^error: .*config\.yaml is damaged"),
    ("rerun-unknown-key", "rerun", ["{run}"], None, ("run", overwrite("config.yaml", "sed: 3\n")), 2,
     r"^error: .*config\.yaml is damaged"),
    ("rerun-truncated-table", "rerun", ["{run}"], None, ("run", truncate("institutions.parquet")), 2,
     r"^error: stored table .*institutions\.parquet is damaged"),
    ("rerun-out-over-committed", "rerun", ["{run}", "--out", "{git}"], None, None, 2,
     r"^error: .*git/config\.yaml is a committed file; pass --force to overwrite it"),
    # design files
    ("design-missing", "design", ["{out}.yaml"], None, None, 2, r"^error: no design file at "),
    ("design-yaml-syntax", "design", ["{file}", "--out", "{out}"], ("d.yaml", "name: [\n"), None, 2,
     r"^error: design file .*d\.yaml is not valid YAML"),
    ("design-not-utf8", "design", ["{file}", "--out", "{out}"], ("d.yaml", b"name: \xff\xfe\n"), None, 2,
     r"^error: design file .*d\.yaml is not UTF-8 text"),
    ("design-empty", "design", ["{file}", "--out", "{out}"], ("d.yaml", ""), None, 2,
     r"^error: design file .*d\.yaml must hold a mapping"),
    ("design-unknown-output", "design", ["{file}", "--out", "{out}"], ("d.yaml", design_file(output="nosuch")), None,
     2, CONFIG + r"design\.outputs='nosuch' is not allowed; expected a timeseries column"),
    ("design-name-path", "design", ["{file}", "--out", "{out}"], ("d.yaml", design_file(name="../../x")), None, 2,
     CONFIG + r"design\.name='\.\./\.\./x'"),
    ("design-inf-bound", "design", ["{file}", "--out", "{out}"], ("d.yaml", design_file(high=".inf")), None, 2,
     CONFIG + r"regulation\.ukey_friction=inf"),
    ("design-bad-option", "design", ["{file}", "--jobs", "many"], ("d.yaml", design_file()), None, 2,
     r"^error: .*argument --jobs: --jobs=many is not allowed; expected an integer >= 1"),
    # calibration files
    ("calibrate-old-key", "calibrate", ["{file}", "--out", "{out}"],
     ("c.yaml", calibration_file() + "max_evaluations: 8\n"), None, 2,
     CONFIG + r"calibration\.max_evaluations=8 is not allowed; expected one of the keys"),
    ("calibrate-negative-simulations", "calibrate", ["{file}", "--out", "{out}"],
     ("c.yaml", calibration_file(simulations="-5")), None, 2,
     CONFIG + r"calibration\.simulations=-5 is not allowed; expected an integer >= 20"),
    ("calibrate-preset-path", "calibrate", ["{file}", "--out", "{out}", "--preset-dir", "{out}"],
     ("c.yaml", calibration_file(preset="../../baseline")), None, 2,
     CONFIG + r"calibration\.presets\.seed='\.\./\.\./baseline'"),
    ("calibrate-committed-preset", "calibrate", ["{file}", "--out", "{out}", "--preset-dir", "{git}", "--write-preset"],
     ("c.yaml", calibration_file("baseline")), None, 2,
     r"^error: .*git/baseline\.yaml is a committed file; pass --force to overwrite it"),
    ("calibrate-yaml-syntax", "calibrate", ["{file}", "--out", "{out}"], ("c.yaml", "parameters: {\n"), None, 2,
     r"^error: calibration file .*c\.yaml is not valid YAML"),
    ("calibrate-missing", "calibrate", ["{out}.yaml"], None, None, 2, r"^error: no calibration file at "),
    # validate and the benchmarks
    ("validate-one-replicate", "validate", ["--replicates", "1", "--out", "{out}"], None, None, 2,
     r"^error: --replicates must be >= 2"),
    ("validate-bad-size", "validate", ["--size", "big", "--out", "{out}"], None, None, 2,
     r"^error: .*argument --size: invalid int value"),
    ("validate-huge-size", "validate", ["--size", "100000000000", "--out", "{out}"], None, None, 2,
     CONFIG + r"population\.size=100000000000"),
    ("bench-engine-bad-sizes", "bench.engine", ["--sizes", "abc"], None, None, 2, r"^error: --sizes='abc'"),
    ("bench-engine-huge", "bench.engine", ["--sizes", "1900000000"], None, None, 2,
     CONFIG + r"population\.size=1900000000 is not allowed; expected at most"),
    ("bench-sweep-bad-sizes", "bench.sweep", ["--sizes", "nosuch"], None, None, 2,
     r"^error: --sizes must be"),
    # discover (scenario discovery on a stored study): every refusal before anything is written
    ("discover-not-a-study", "discover", ["{out}", "--outcome", "share_mobile > 0.1"], None, None, 2,
     r"^error: .*out is not a study folder"),
    ("discover-no-outcome", "discover", ["{sweep}"], None, None, 2, r"^error: .*--outcome"),
    ("discover-outcome-syntax", "discover", ["{sweep}", "--outcome", "share_mobile >"], None, None, 2,
     r"^error: --outcome='share_mobile >' is not allowed; expected '<column> <op> <number>'"),
    ("discover-outcome-operator", "discover", ["{sweep}", "--outcome", "share_mobile => 0.1"], None, None, 2,
     r"^error: --outcome='share_mobile => 0.1' is not allowed"),
    ("discover-unknown-column", "discover", ["{sweep}", "--outcome", "nosuch > 1"], None, None, 2,
     r"^error: --outcome column 'nosuch' is not a numeric column of the timeseries table; expected one of"),
    ("discover-column-of-the-other-table", "discover", ["{sweep}", "--outcome", "customer_share < 0.4"], None, None,
     2, r"add --institution NAME"),
    ("discover-unknown-institution", "discover", ["{sweep}", "--institution", "hsbc", "--outcome",
                                                  "customer_share < 0.4"], None, None, 2,
     r"^error: --institution='hsbc' is not allowed; expected one of \['alipay'"),
    ("discover-no-run-meets", "discover", ["{sweep}", "--outcome", "share_mobile > 5"], None, None, 2,
     r"^error: no run meets the outcome share_mobile > 5"),
    ("discover-every-run-meets", "discover", ["{sweep}", "--outcome", "share_mobile >= 0"], None, None, 2,
     r"^error: every run meets the outcome"),
    ("discover-bad-month", "discover", ["{sweep}", "--outcome", "share_mobile > 0.01", "--at", "2014-13"], None,
     None, 2, r"^error: --at='2014-13' is not allowed; expected a month written YYYY-MM"),
    ("discover-month-not-recorded", "discover", ["{sweep}", "--outcome", "share_mobile > 0.01", "--at", "2020-12"],
     None, None, 2, r"^error: --at='2020-12' is not allowed; expected a month the study recorded, 2013-01 to 2014-06"),
    ("discover-unknown-flag", "discover", ["{sweep}", "--outcome", "share_mobile > 0.01", "--bogus"], None, None, 2,
     r"^error: python -m experiments.discover: unrecognized arguments: --bogus"),
    ("discover-damaged-study-json", "discover", ["{sweep}", "--outcome", "share_mobile > 0.01"], None,
     ("sweep", overwrite("study.json", "{not json")), 2, r"^error: study summary .*study\.json is damaged"),
]


def test_the_corpus_is_large_and_covers_every_command():
    assert len(CASES) >= 60
    assert len({c[0] for c in CASES}) == len(CASES)
    assert {c[1] for c in CASES} == {"run", "collect", "plot", "rerun", "design", "calibrate", "validate",
                                     "bench.engine", "bench.sweep", "discover"}


def call(module: str, argv: list[str], monkeypatch) -> int:
    """A command's main as `python -m experiments.<module>` calls it."""
    main = importlib.import_module(f"experiments.{module}").main
    monkeypatch.setattr(sys, "argv", [f"experiments/{module}.py", *argv])
    return main() if module in ("run", "bench.engine", "bench.sweep") else main(argv)


def committed_repo(folder: Path) -> Path:
    folder.mkdir()
    for name in ("config.yaml", "baseline.yaml"):
        (folder / name).write_text("seed: 1\n")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"]
    for cmd in (["init", "-q"], ["add", "."], ["commit", "-qm", "committed"]):
        subprocess.run([*git, *cmd], cwd=folder, check=True, capture_output=True)
    return folder


def fill(arg: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        arg = arg.replace("{" + name + "}", value)
    return arg


def stored_kinds(case) -> list[str]:
    """The stored results a case reads or damages a copy of ({run}, {sweep} or its damage)."""
    _, _, args, _, damage, _, _ = case
    return [kind for kind in ("run", "sweep") if any("{" + kind + "}" in a for a in args)
            or (damage and damage[0] == kind)]


@pytest.mark.parametrize("case", [pytest.param(c, id=c[0], marks=[pytest.mark.slow] * ("run" in stored_kinds(c)))
                                  for c in CASES])
def test_hostile_input(case, request, tmp_path, monkeypatch, capsys):
    _, module, args, input_file, damage, status, first_line = case
    stored = {kind: request.getfixturevalue(f"stored_{kind}") for kind in stored_kinds(case)}
    values = {"out": str(tmp_path / "out")}
    if input_file:
        name, content = input_file
        path = tmp_path / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        values["file"] = str(path)
    for kind, folder in stored.items():
        values[kind] = str(folder)
    if any("{git}" in a for a in args):
        values["git"] = str(committed_repo(tmp_path / "git"))
    if damage:
        kind, fn = damage
        copy = tmp_path / kind
        shutil.copytree(stored[kind], copy)
        fn(copy)
        values[kind] = str(copy)
    guarded = [Path(values["git"]) / name for name in ("config.yaml", "baseline.yaml")] if "git" in values else []

    def unchanged() -> dict[str, str]:
        return snapshot(*stored.values()) | committed() | {str(p): p.read_text() for p in guarded}
    before = unchanged()
    monkeypatch.chdir(tmp_path)                  # anything written by default lands here, where it is seen
    left_before = set(os.listdir(tmp_path))
    code = call(module, [fill(a, values) for a in args], monkeypatch)
    out, err = capsys.readouterr()
    assert code == status, err
    assert "Traceback" not in out + err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) <= 1, err
    assert re.search(first_line, lines[0] if lines else out.splitlines()[0]), err or out
    assert unchanged() == before
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.yaml").exists()
    if status != 0:
        assert set(os.listdir(tmp_path)) == left_before          # nothing partial left


@pytest.mark.parametrize("damage, status, line", [
    (edit_csv("timeseries.csv"), 1, "timeseries.csv: DIFFERENT"),
    (edit_csv("yearly.csv"), 1, "yearly.csv: DIFFERENT"),
    (reseed_config, 1, "config.yaml: DIFFERENT - its hash is"),
    (retype_parquet, 1, "timeseries.parquet: DIFFERENT"),
    (lambda folder: None, 0, "reproduced exactly"),
], ids=["timeseries-csv", "yearly-csv", "config", "dtype", "untouched"])
@pytest.mark.slow                                    # the stored run's subprocess
def test_rerun_notices_every_kind_of_edit(stored_run, tmp_path, damage, status, line, capsys):
    from experiments.rerun import main as rerun_main
    copy = tmp_path / "run"
    shutil.copytree(stored_run, copy)
    damage(copy)
    assert rerun_main([str(copy)]) == status
    out = capsys.readouterr().out
    assert line in out and ("not reproduced" in out) == (status == 1)


def _edit_run_json(folder: Path, **changes) -> None:
    import json
    info = json.loads((folder / "run.json").read_text())
    (folder / "run.json").write_text(json.dumps({**info, **changes}))


@pytest.mark.slow                                    # the stored run's subprocess, then two reruns
def test_rerun_never_writes_over_a_run_and_compares_before_it_writes(stored_run, tmp_path, capsys):
    from experiments.rerun import main as rerun_main
    run, other = tmp_path / "run", tmp_path / "other"
    shutil.copytree(stored_run, run)
    shutil.copytree(stored_run, other)
    edit_csv("timeseries.csv")(run)
    edited = (run / "timeseries.csv").read_bytes()
    before = {p.name: p.read_bytes() for p in other.iterdir() if p.is_file()}
    for out, says in ((other, "already exists and is not an empty folder"), (run, "is the folder being checked")):
        assert rerun_main([str(run), "--out", str(out)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and says in err[0], err
    assert {p.name: p.read_bytes() for p in other.iterdir() if p.is_file()} == before   # the other run untouched
    assert (run / "timeseries.csv").read_bytes() == edited                       # the evidence kept
    assert rerun_main([str(run)]) == 1 and "timeseries.csv: DIFFERENT" in capsys.readouterr().out
    fresh = tmp_path / "fresh"
    assert rerun_main([str(stored_run), "--out", str(fresh)]) == 0               # a new folder: written whole
    assert (fresh / "run.json").is_file() and not [p for p in tmp_path.iterdir() if p.name.startswith(".fresh")]
    capsys.readouterr()
    assert rerun_main([str(fresh)]) == 0 and "reproduced exactly" in capsys.readouterr().out


@pytest.mark.slow                                    # the stored run's subprocess, then reruns
def test_rerun_checks_run_json_against_the_config_and_names_another_commit(stored_run, tmp_path, capsys):
    from experiments.rerun import main as rerun_main
    reseeded, elsewhere = tmp_path / "reseeded", tmp_path / "elsewhere"
    shutil.copytree(stored_run, reseeded)
    shutil.copytree(stored_run, elsewhere)
    _edit_run_json(reseeded, seed=4)                 # config.yaml (and the tables) say seed 3
    assert rerun_main([str(reseeded)]) == 1
    out = capsys.readouterr().out
    assert "run.json: DIFFERENT - run.json records seed 4, config.yaml has seed 3" in out and "not reproduced" in out
    _edit_run_json(elsewhere, git_commit="0123abc")
    edit_csv("yearly.csv")(elsewhere)
    assert rerun_main([str(elsewhere)]) == 1
    out = capsys.readouterr().out
    assert "the run was made at commit 0123abc" in out and "not reproduced (see the commit above)" in out
    assert rerun_main([str(stored_run)]) == 0          # negative control: same commit, nothing named
    out = capsys.readouterr().out
    assert "made at commit" not in out and "run.json: identical" in out


@pytest.mark.slow                                    # a sweep through the command: about 6 s
def test_extending_a_sweep_reruns_a_truncated_part_and_duplicates_no_replicate(stored_sweep, tmp_path):
    from lab import dataset
    copy = tmp_path / "sweep"
    shutil.copytree(stored_sweep, copy)
    truncated = find(copy, "timeseries/part")
    truncate("timeseries/part")(copy)
    before = snapshot(copy)
    again = python_m("run", "-m", *SMALL, "seed=1,2", "switching_cost.scale=0.5,2", "replicates=2",
                     f"hydra.sweep.dir={copy}")
    assert again.returncode == 0, again.stderr[-2000:]
    assert "5 runs done, 0 failed, 3 already stored" in again.stderr      # 4 new replicates and the damaged run
    runs = pd.read_csv(copy / "runs.csv")
    assert (runs["status"] == "complete").sum() == 8 and len(runs) == 8
    ts = dataset.load(copy)
    assert not ts.duplicated(["config_hash", "replicate", "step"]).any()
    assert ts.drop_duplicates(["config_hash", "replicate"]).shape[0] == 8
    assert (copy / "damaged" / "timeseries" / truncated.name).exists()      # kept, out of the readers' way
    kept = {p: h for p, h in before.items() if "/runs/" in p or "/institutions/" in p}
    kept = {p: h for p, h in kept.items() if truncated.name not in p}
    assert kept and all(snapshot(copy)[p] == h for p, h in kept.items())   # the other runs were not re-run


def test_a_start_after_2013_runs_and_a_period_without_targets_gets_an_empty_fit(tmp_path):
    from lab.compose import load_config
    from sim.market import MarketModel
    from sim.writers.run_folder import write_run
    model = MarketModel(load_config(["population.size=1500", "start=2014-03", "end=2014-09"])).run()
    write_run(model, tmp_path / "r", 0.0)
    fit = pd.read_csv(tmp_path / "r" / "targets_fit.csv")
    assert fit.empty and {"series", "year", "target", "simulated"} <= set(fit.columns)
    assert (tmp_path / "r" / "targets.png").stat().st_size > 0


@pytest.mark.parametrize("content, line", [
    (b"scenario: [\n", r"^config error: .*experiment/broken\.yaml is not valid YAML \(line 2\)"),
    (b"scenario: \xff\xfe\n", r"^config error: .*experiment/broken\.yaml is not UTF-8 text"),
])
def test_a_damaged_preset_is_named(tmp_path, monkeypatch, content, line):
    import lab.compose as config
    configs = tmp_path / "configs"
    shutil.copytree(ROOT / "configs", configs)
    (configs / "experiment" / "broken.yaml").write_bytes(content)
    monkeypatch.setattr(config, "CONFIG_DIR", configs)
    with pytest.raises(Exception) as err:
        config.load_config(["experiment=broken"])
    assert re.search(line, config.explain(err.value)), config.explain(err.value)


@pytest.mark.slow                                    # the stored run's subprocess
def test_results_are_readable_by_the_group(stored_run):
    for p in stored_run.iterdir():
        if p.is_file():
            assert p.stat().st_mode & 0o040, p          # the umask (022 or 002) leaves group read


@pytest.mark.slow
def test_a_design_with_an_integer_parameter_runs(tmp_path):
    path = tmp_path / "d.yaml"
    path.write_text(design_file(param="population.ties_per_customer", low=2, high=8))
    proc = python_m("design", str(path), "--jobs", "1", "--out", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    points = pd.read_parquet(tmp_path / "out" / "d" / "points.parquet")
    assert (points["population.ties_per_customer"] % 1 == 0).all()


@pytest.mark.slow
@pytest.mark.parametrize("module, args, line", [
    ("run", ["customers.habit=inf"], CONFIG + r"customers\.habit=inf"),
    ("run", ["-m", "seed=1,2", "study=../x"], CONFIG + r"study='\.\./x'"),
    ("run", ["hydra/launcher=nosuch"], CONFIG + r"hydra/launcher='nosuch'"),
    ("run", ["-m", "seed=1,2", "-cn", "other"], r"^error: a sweep \(-m\) runs over configs/config\.yaml; -cn"),
    ("collect", ["/nonexistent/sweep"], r"^error: no study at"),
    ("rerun", ["/nonexistent/run"], r"^error: .* is not a complete run folder"),
    ("bench.sweep", ["--sizes", "x"], r"^error: --sizes"),
])
def test_the_command_line_itself(module, args, line):
    proc = python_m(module, *args)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stdout + proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and re.search(line, lines[0]), proc.stderr


FULL_DISK = """
import errno, sys
import sim.writers.run_folder
def no_space(path, write):
    if str(path).endswith(".parquet"):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))
    return real(path, write)
real, sim.writers.run_folder.atomic_write = sim.writers.run_folder.atomic_write, no_space
import runpy
sys.argv = ["experiments/run.py", *sys.argv[1:]]
runpy.run_module("experiments.run", run_name="__main__", alter_sys=True)
"""


FULL_DISK_STUDY = """
import errno, sys
import lab.dataset
def no_space(table, path, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device", str(path))
lab.dataset.pq.write_table = no_space
import runpy
sys.argv = ["experiments/run.py", *sys.argv[1:]]
runpy.run_module("experiments.run", run_name="__main__", alter_sys=True)
"""


@pytest.mark.slow
@pytest.mark.parametrize("sweep", [False, True], ids=["run", "sweep"])
def test_a_full_disk_ends_in_one_line_and_a_failed_status(tmp_path, sweep):
    """Writing a table fails as on a full disk: one line, exit 2, nothing partial (a sweep's finished
    runs could not be stored either; the sweep resumes once there is room)."""
    args = ["-m", *SMALL, "seed=1,2", f"hydra.sweep.dir={tmp_path}/out"] if sweep else \
        [*SMALL, f"hydra.run.dir={tmp_path}/out"]
    script = FULL_DISK_STUDY if sweep else FULL_DISK
    proc = subprocess.run([sys.executable, "-c", script, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert re.search(r"^error: No space left on device: .*\.parquet$", proc.stderr.strip().splitlines()[-1]), \
        proc.stderr
    if sweep:
        assert not list((tmp_path / "out").rglob("*.parquet"))
        assert not list((tmp_path / "out" / ".staging").iterdir())
    else:
        assert len(proc.stderr.strip().splitlines()) == 1 and not (tmp_path / "out").exists()


@pytest.mark.slow
def test_a_disk_that_fills_during_the_second_replicate_keeps_the_first_and_leaves_no_half_of_the_second(tmp_path):
    script = FULL_DISK.replace('if str(path).endswith(".parquet"):', 'if "rep_001" in str(path) and str(path).endswith(".parquet"):')
    proc = subprocess.run([sys.executable, "-c", script, *SMALL, "replicates=3", f"hydra.run.dir={tmp_path}/out"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert re.search(r"^error: No space left on device: .*rep_001.*\.parquet$", proc.stderr.strip().splitlines()[-1])
    assert (tmp_path / "out" / "rep_000" / "run.json").is_file()                    # the finished one stays
    assert not (tmp_path / "out" / "rep_001").exists() or not list((tmp_path / "out" / "rep_001").iterdir())


def test_an_empty_list_still_clears_a_presets_events():
    """Only an empty mapping is refused (it merges nothing); an empty list replaces the list."""
    from lab.compose import load_config
    assert load_config(["experiment=no_ukey"]).regulation.scenario_events
    assert load_config(["experiment=no_ukey", "regulation.scenario_events=[]"]).regulation.scenario_events == []
