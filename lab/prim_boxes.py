"""PRIM boxes on a table of cases: the EMA Workbench's patient rule induction, with an automatic choice.

PRIM (Friedman and Fisher 1999) starts from the box holding every case and peels, a few per cent
of the cases at a time, the slice of one parameter's range whose removal raises the share of
cases of interest inside the box the most, down to `mass_min` of the cases: a peeling
trajectory of ever smaller, purer boxes. Each box on it has
  coverage   the share of all cases of interest that lie inside it
  density    the share of the cases inside it that are of interest
  mass       the share of all cases that lie inside it.
The EMA Workbench (`ema_workbench.analysis.prim`, BSD-3-Clause) implements the peeling and
pasting and the quasi-p-values of Bryant and Lempert (2010): for each restricted parameter, a
one-sided binomial test of whether the box's density could come from dropping that restriction.
Where a strategist would pick a box from the trade-off by eye, this module picks one by a stated
rule, so the result is reproducible:
  1. the box on the trajectory with the best balance of coverage and density (their harmonic mean),
  2. then the restriction with the largest quasi-p-value above `alpha` is dropped, again and again,
     until every restriction left is significant;
  3. a box with no restriction left is no box: the search stops. Otherwise the cases in the box
     are set aside and the next box is searched among the rest (PRIM's covering), up to `max_boxes`.
"""
from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from lab.errors import CommandError

INSTALL = 'pip install -e ".[strategy]"'
UNRESTRICTED = -1            # the EMA Workbench's quasi-p-value of a side of a range that is not restricted


@dataclass
class Box:
    """One chosen box: its statistics, its limits and their quasi-p-values, and the trajectory it came from."""
    number: int                                  # 1, 2, ... in the order PRIM found them
    coverage: float
    density: float
    mass: float
    cases: int                                   # cases inside the box
    hits: int                                    # cases of interest inside it
    limits: dict[str, tuple]                     # parameter -> (low, high), or (set of categories, None)
    qp: dict[str, float]                         # parameter -> quasi-p-value of its restriction
    trajectory: pd.DataFrame = field(repr=False, default_factory=pd.DataFrame)
    chosen: int = 0                              # the row of `trajectory` the box is


@dataclass
class Search:
    """Every box PRIM was asked for: the chosen boxes, and each peeling trajectory with its pick
    (None where no restriction survived, which ended the search)."""
    boxes: list[Box]
    trajectories: list[tuple[pd.DataFrame, int | None]]
    base_rate: float
    settings: dict


def require_prim() -> None:
    """CommandError saying how to get the EMA Workbench when it is not installed (checked before any work,
    without the import's seconds)."""
    import importlib.util
    try:
        found = importlib.util.find_spec("ema_workbench") is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise CommandError(f"error: scenario discovery needs the EMA Workbench; install it with {INSTALL}")


def load_prim():
    """The EMA Workbench's prim module, quietly (its import warns about optional parts and logs at
    INFO); CommandError saying how to get it when it is not installed."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from ema_workbench.analysis import prim
    except ImportError:
        raise CommandError(f"error: scenario discovery needs the EMA Workbench; install it with {INSTALL}") from None
    logging.getLogger("EMA").setLevel(logging.WARNING)
    for name in list(logging.root.manager.loggerDict):
        if name.startswith("EMA") or name.startswith("ema_workbench"):
            logging.getLogger(name).setLevel(logging.WARNING)
    return prim


def as_prim_input(x: pd.DataFrame) -> pd.DataFrame:
    """Parameters as PRIM takes them: numbers (integers and booleans too) as float64, which the EMA
    Workbench 3.0 needs under pandas 3 (its integer peel fails there), anything else as categories."""
    out = {}
    for name, column in x.items():
        if pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column):
            out[name] = column.astype("float64")
        else:
            out[name] = column.astype(str).astype(object)
    return pd.DataFrame(out, index=x.index).reset_index(drop=True)


def _restricted(box, i: int) -> list[str]:
    from ema_workbench.analysis import scenario_discovery_util as sdutil
    return list(sdutil._determine_restricted_dims(box.box_lims[i], box.prim.box_init))


def _qp(box, i: int) -> dict[str, float]:
    """Quasi-p-value of each restricted parameter of trajectory row i: its most significant side."""
    out = {}
    for name, sides in box.p_values[i].items():
        valid = [float(p) for p in np.atleast_1d(sides) if p is not None and float(p) != UNRESTRICTED
                 and not np.isnan(float(p))]
        out[name] = min(valid) if valid else 1.0
    return out


def pick(trajectory: pd.DataFrame) -> int:
    """The trajectory row with the largest harmonic mean of coverage and density (the first of ties)."""
    c, d = trajectory["coverage"].astype(float), trajectory["density"].astype(float)
    score = (2 * c * d / (c + d)).where(c + d > 0, 0.0)
    return int(score.to_numpy().argmax())


def _prune(box, i: int, alpha: float) -> int:
    """Drop the least significant restriction of row i while one has a quasi-p-value above alpha;
    returns the row of the pruned box (each drop adds a row to the trajectory)."""
    while True:
        qp = {k: v for k, v in _qp(box, i).items() if k in _restricted(box, i)}
        weak = {k: v for k, v in qp.items() if v > alpha}
        if not weak:
            return i
        box.drop_restriction(max(weak, key=weak.get), i)
        i = len(box.peeling_trajectory) - 1


def _limits(box, i: int, x: pd.DataFrame) -> dict[str, tuple]:
    lims = box.box_lims[i]
    out = {}
    for name in _restricted(box, i):
        if pd.api.types.is_numeric_dtype(x[name]):
            out[name] = (float(lims.loc[0, name]), float(lims.loc[1, name]))
        else:
            out[name] = (set(lims.loc[0, name]), None)
    return out


def find_boxes(x: pd.DataFrame, y: np.ndarray, max_boxes: int = 3, alpha: float = 0.05, mass_min: float = 0.05,
               peel_alpha: float = 0.05, paste_alpha: float = 0.05) -> Search:
    """PRIM boxes over the parameters `x` for the cases where `y` is true (see the module docstring)."""
    with warnings.catch_warnings():              # the EMA Workbench 3.0 uses pandas calls pandas 3.1 deprecates
        warnings.simplefilter("ignore")
        return _find_boxes(x, y, max_boxes, alpha, mass_min, peel_alpha, paste_alpha)


def _find_boxes(x: pd.DataFrame, y: np.ndarray, max_boxes: int, alpha: float, mass_min: float,
                peel_alpha: float, paste_alpha: float) -> Search:
    prim = load_prim()
    x = as_prim_input(x)
    y = np.asarray(y, dtype=bool)
    settings = {"max_boxes": max_boxes, "alpha": alpha, "mass_min": mass_min, "peel_alpha": peel_alpha,
                "paste_alpha": paste_alpha}
    search = prim.Prim(x, y.astype(int), peel_alpha=peel_alpha, paste_alpha=paste_alpha, mass_min=mass_min)
    boxes, trajectories = [], []
    while len(boxes) < max_boxes:
        box = search.find_box()
        if box is None or box.peeling_trajectory["k"].iloc[0] == 0:     # no case of interest left outside
            break
        peeled = len(box.peeling_trajectory)
        i = _prune(box, pick(box.peeling_trajectory), alpha)
        trajectory = box.peeling_trajectory[["coverage", "density", "mass", "res_dim", "n", "k"]].astype(float)
        trajectory["pruned"] = np.arange(len(trajectory)) >= peeled     # rows added by dropping restrictions
        if not _restricted(box, i):
            trajectories.append((trajectory, None))
            break
        box.select(i)
        trajectories.append((trajectory, i))
        row = trajectory.iloc[i]
        boxes.append(Box(len(boxes) + 1, float(row["coverage"]), float(row["density"]), float(row["mass"]),
                         int(row["n"]), int(row["k"]), _limits(box, i, x), _qp(box, i), trajectory, i))
    return Search(boxes, trajectories, float(y.mean()), settings)
