"""A Hydra multirun command (`python -m experiments.run -m ...`) as a study.

The command line and `hydra.sweeper.params` of a preset are expanded into jobs exactly as
Hydra's basic sweeper does (the cartesian product, keys in order, the command line
winning over the preset). Each distinct composition (config group choices such as
`experiment=a,b`, added or deleted keys, lists) is composed once; swept plain values
(`seed=1,2,3`, `switching_cost.scale=0.5,1,2`) are applied to it as typed changes. Every
job is validated before anything is written; with `posterior=<name>`, replicate r of every point
runs draw r of that posterior (lab/posterior.py). The launcher chosen with `hydra/launcher=`
picks the backend: none named -> every local core, basic -> serial in this process,
joblib -> local processes (`hydra.launcher.n_jobs`, -1 for every core), ray -> Ray
(`+hydra.launcher.ray.init.address=...` for a cluster).
The study is stored under `hydra.sweep.dir` (results/sweeps/<study>/) as one dataset.
"""
from __future__ import annotations

import itertools
import math
import os
from collections import OrderedDict
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from lab.dataset import column_name
from lab.compose import CONFIG_DIR, _compose, to_config
from lab.changes import NotTyped, with_changes
from lab.points import Point, uniform_values
from sim.config import ConfigError
from lab.posterior import check as check_posterior
from lab.posterior import refuse_overlap
from lab.study import Study

NOT_COLUMNS = ("replicates", "study", "figures")    # overrides that set no column of the tables


def _composed_only(key: str, value) -> bool:
    """Whether a change needs composing: a config group, an added or deleted key, Hydra's own, a list or mapping."""
    bare = key.lstrip("+~")
    return (key != bare or "/" in bare or bare.startswith("hydra") or (CONFIG_DIR / bare).is_dir()
            or isinstance(value, (list, dict)))


def options(overrides: list[str], params: dict | None) -> OrderedDict[str, list[tuple[str, str, object]]]:
    """Each key's values in a sweep, as (key, override text, value), in Hydra's order: the preset's
    `params` first, the command line winning."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    parsed: OrderedDict[str, list[tuple[str, str, object]]] = OrderedDict()
    texts = [f"{k}={v}" for k, v in (params or {}).items()] + list(overrides)
    try:
        items = OverridesParser.create().parse_overrides(texts)
    except Exception as e:                      # name the override; "empty choice" becomes what is allowed
        bad = next((t for t in texts if _unparsable(t)), texts[-1] if texts else "")
        allowed = "at least one value" if "empty" in str(e) else "a value or a sweep Hydra can read"
        raise ConfigError(bad.partition("=")[0], bad.partition("=")[2], allowed) from None
    runs = 1
    for o in items:
        runs *= _count(o)
    if runs > MAX_RUNS:
        raise ConfigError("a sweep", f"{runs:,} runs", f"at most {MAX_RUNS:,} runs in one study (each is validated "
                          "and kept in memory before the first starts); split it into several studies")
    for o in items:
        key = o.get_key_element()
        if o.is_sweep_override():
            parsed[key] = [(key, f"{key}={text}", value)
                           for text, value in zip(o.sweep_string_iterator(), o.sweep_iterator())]
        elif o.is_delete():
            parsed[key] = [(key, o.input_line, None)]
        else:
            parsed[key] = [(key, f"{key}={o.get_value_element_as_str()}", o.value())]
    return parsed


MAX_RUNS = 1_000_000


def _unparsable(text: str) -> bool:
    from hydra.core.override_parser.overrides_parser import OverridesParser
    try:
        OverridesParser.create().parse_overrides([text])
    except Exception:  # noqa: BLE001 - Hydra's parser raises several kinds
        return True
    return False


def _count(o) -> int:
    """How many values an override sweeps over, without listing them (a range can be huge); an empty
    sweep is refused."""
    if not o.is_sweep_override():
        return 1
    value = o.value()
    if type(value).__name__ == "RangeSweep":
        n = max(0, math.ceil((value.stop - value.start) / value.step)) if value.step else 0
    else:
        n = sum(1 for _ in o.sweep_string_iterator())
    if n == 0:
        raise ConfigError(o.get_key_element(), o.input_line.partition("=")[2], "a sweep of at least one value "
                          "(range(a, b) holds a..b-1, so b must exceed a)")
    return n


def expand(overrides: list[str], params: dict | None) -> list[list[tuple[str, str, object]]]:
    """The jobs of a sweep (the cartesian product of `options`): for each, (key, override text, value) per key."""
    return [list(job) for job in itertools.product(*options(overrides, params).values())]


def _fixed(job: list[tuple[str, str, object]], swept: set[str]) -> tuple[str, ...]:
    """What of a job must be composed: all but Hydra's settings and the swept values typed changes can set."""
    return tuple(text for key, text, value in job if not key.lstrip("+~").startswith("hydra")
                 and (key not in swept or _composed_only(key, value)))


FEW_VALUES = 100


def plan(overrides: list[str], command: list[str] | None = None) -> tuple[Study, DictConfig]:
    """The study a multirun command means, every job validated; and Hydra's settings.

    Raises what composing or validating raises (ConfigError, Hydra's and OmegaConf's errors)."""
    first_job = expand(overrides, None)[0]
    first = _compose([text for _, text, _ in first_job], hydra=True)
    settings = first.hydra
    params = settings.sweeper.get("params")
    params = OmegaConf.to_container(params, resolve=False) if params is not None else {}
    each = options(overrides, params)
    jobs = [list(job) for job in itertools.product(*each.values())]
    swept = {key for key, values in each.items() if len(values) > 1}
    points, config_keys = [], {}
    # the first values' composition serves every job that composes the same (saves one composition)
    composed: dict[tuple[str, ...], object] = {_fixed(first_job, swept): to_config(first)}

    def config_of(job):
        fixed = _fixed(job, swept)
        changes = {key: value for key, text, value in job if key in swept and not _composed_only(key, value)}
        if fixed not in composed:
            composed[fixed] = to_config(_compose(list(fixed)))
        try:
            return with_changes(composed[fixed], changes)
        except NotTyped:
            return to_config(_compose([text for key, text, _ in job if not key.lstrip("+~").startswith("hydra")]))

    # first each value of the keys swept over few values, one key at a time: a bad one is refused at
    # once, not after every job before it (a sweep over 100,000 seeds validates 100,000 configs)
    for key in sorted(swept, key=lambda k: len(each[k])):
        if len(each[key]) > FEW_VALUES:
            break
        for option in each[key][1:]:
            config_of([option if k == key else entry for k, entry in zip(each, jobs[0])])
    for index, job in enumerate(jobs):
        config = config_of(job)
        values = {}
        for key, text, value in job:
            bare = key.lstrip("+~")
            if bare.startswith("hydra") or bare in NOT_COLUMNS:
                continue
            config_keys[column_name(bare)] = bare
            values[column_name(bare)] = value if not isinstance(value, (list, dict)) else str(value)
        texts = [text for key, text, _ in job if not key.lstrip("+~").startswith("hydra")]
        points.append(Point.make(index, config, texts, values))
    checked = set()
    for p in points:       # posterior draws: there, for the target set, enough for the replicates, applicable
        if p.config.posterior and (p.config.posterior, p.config.target_set, p.config.replicates) not in checked:
            check_posterior(p.config)
            refuse_overlap(p.config, list(p.overrides))
            checked.add((p.config.posterior, p.config.target_set, p.config.replicates))
    base = points[0].config
    root = Path(settings.sweep.dir)
    return Study(base.study, root, uniform_values(points), config_keys, folders=_asks_for_folders(overrides),
                 command=list(command or [])), settings


def _asks_for_folders(overrides: list[str]) -> bool:
    """Per-run folders (CSV and figures) only when the command line says figures=true."""
    return any(o.replace(" ", "").lower() in ("figures=true", "figures=yes") for o in overrides)


def backend(settings: DictConfig, overrides: list[str]) -> tuple[str, int | None, str | None]:
    """(backend, workers, address) from the launcher Hydra was told to use: none named -> every local
    core; basic -> serial; joblib -> `n_jobs` local processes; ray -> Ray."""
    launcher = settings.launcher
    target = str(launcher.get("_target_", ""))
    named = any(o.replace(" ", "").startswith("hydra/launcher=") for o in overrides)
    if not named:
        cores = os.cpu_count() or 1
        return ("local", cores, None) if cores > 1 else ("serial", 1, None)
    if "joblib" in target.lower():
        n = launcher.get("n_jobs", -1)
        n = int(n) if n is not None else -1
        if n == 0 or n < -1:
            raise ConfigError("hydra.launcher.n_jobs", n, "a number of worker processes >= 1, or -1 for every core")
        return "local", (os.cpu_count() or 1) if n < 0 else max(1, n), None
    if "ray" in target.lower():
        init = OmegaConf.to_container(launcher.get("ray", {}).get("init", {}) or {}, resolve=True)
        return "ray", init.get("num_cpus"), init.get("address")
    return "serial", 1, None
