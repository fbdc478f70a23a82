"""The words of a comparison report: scenario names a board reads, the executive summary, and what the
number of replicates allows one to say.

`lab.report` computes the paired effects (one row per scenario and figure, and per institution) and
hands them here as tables; this module only turns them into names and sentences, so the summary that
opens report.md, report.html and the dashboard's comparison is one text, generated from the effects.

Which effects are "the biggest": among a scenario's headline figures, those whose 95 % interval
excludes zero come first (with one replicate there is no interval and every effect counts), then the
largest change relative to the baseline's level (a 1-point move of a 3 % share outranks a 1-point move
of an 85 % rate). Who gains and who loses is read from the institutions' market-share effects.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
from scipy import stats

from lab.headline import HEADLINE, Figure, show

# words of a preset's file name that are not plain English words (no_ukey -> "No U-key")
SPELLED = {"ukey": "U-key", "cba": "CBA", "mmf": "MMF", "jd": "JD", "pc": "PC", "pboc": "PBoC", "t0": "T+0",
           "icbc": "ICBC", "x": "×"}
ENOUGH_REPLICATES = 5       # below this a 95 % t interval is too wide to lean on (t quantile over 2.7)
SUGGESTED_REPLICATES = 10   # what the notes suggest instead


def display_name(scenario: str) -> str:
    """A preset's file name as words: 'no_ukey' -> 'No U-key', 'functional_regulation' -> 'Functional regulation'."""
    words = [SPELLED.get(w.lower(), w) for w in re.split(r"[_\s]+", str(scenario)) if w]
    text = " ".join(words) or str(scenario)
    return text[:1].upper() + text[1:]


def display_names(scenarios: list[str]) -> dict[str, str]:
    """Every scenario's display name; two presets that would read alike keep their file names apart."""
    names = {s: display_name(s) for s in scenarios}
    seen: dict[str, int] = {}
    for name in names.values():
        seen[name] = seen.get(name, 0) + 1
    return {s: (n if seen[n] == 1 else f"{n} ({s})") for s, n in names.items()}


def title(scenarios: list[str], baseline: str, names: dict[str, str], questions: dict[str, str]) -> str:
    """The report's title: the compared presets' one-line questions (their names where a preset has none)."""
    others = [s for s in scenarios if s != baseline] or [baseline]
    asked = [questions.get(s) or names[s] for s in others]
    if len(others) <= 3:
        return " · ".join(asked)
    return f"{len(others)} scenarios against {names[baseline]}: " + ", ".join(names[s] for s in others)


def has_intervals(replicates: int) -> bool:
    """A 95 % t interval needs at least two paired replicates."""
    return replicates >= 2


def replicates_note(replicates: int) -> str:
    """What the number of replicates allows: nothing to say with ten or more; a warning below five; with
    one, that no interval can be drawn."""
    if replicates < 2:
        return ("No interval can be drawn from one replicate: each effect is the difference of one pair of runs, "
                "so the tables show no interval and the figures no band. Run with "
                f"--replicates {SUGGESTED_REPLICATES} for 95 % intervals.")
    if replicates < ENOUGH_REPLICATES:
        t = stats.t.ppf(0.975, replicates - 1)
        return (f"Only {replicates} replicates: the 95 % intervals are wide and unreliable (each is "
                f"{t:.1f} standard errors either side, against {stats.t.ppf(0.975, SUGGESTED_REPLICATES - 1):.1f} "
                f"with {SUGGESTED_REPLICATES} replicates, and the standard error itself is rough). Read them as a "
                f"first look; run --replicates {SUGGESTED_REPLICATES} or more before deciding.")
    return ""


def signed(x: float, digits: int) -> str:
    """A difference with its sign, '+1.17' or '-0.30'; one that rounds to zero as '0.00' (not '-0.00')."""
    text = f"{x:+,.{digits}f}"
    return text[1:] if float(text.replace(",", "")) == 0 else text


def interval_text(figure: Figure, effect: float, lo: float, hi: float, remark: str = "") -> str:
    """'+1.17 pp (95 % interval +0.50 to +1.84)', or the effect alone where there is no interval; a remark
    goes inside the brackets."""
    if np.isnan(lo) or np.isnan(hi):
        return show(figure, effect, difference=True) + (f" ({remark})" if remark else "")
    scale, digits = (100, 2) if figure.percent else (1, 1)
    return (f"{show(figure, effect, difference=True)} (95 % interval {signed(scale * lo, digits)} to "
            f"{signed(scale * hi, digits)}{', ' + remark if remark else ''})")


def clear(effect_lo: pd.Series, effect_hi: pd.Series) -> pd.Series:
    """Where the interval excludes zero (False where there is none)."""
    return (effect_lo > 0) | (effect_hi < 0)


def largest_effects(effects: pd.DataFrame, baseline: str) -> pd.DataFrame:
    """Each scenario's headline effects, biggest first: clear ones (interval excluding zero) before the rest,
    then by size relative to the baseline's level. Adds `relative` and `clear`."""
    base = effects[effects["scenario"] == baseline].set_index("measure")["level"].abs()
    out = effects[(effects["scenario"] != baseline) & effects["effect"].notna()].copy()
    level = out["measure"].map(base)
    out["relative"] = np.where(level > 0, out["effect"].abs() / level.where(level > 0, 1),
                               np.where(out["effect"] != 0, np.inf, 0.0))
    out["clear"] = clear(out["effect_lo"], out["effect_hi"])
    order = {s: i for i, s in enumerate(dict.fromkeys(out["scenario"]))}
    return out.sort_values(["scenario", "clear", "relative"], ascending=[True, False, False],
                           key=lambda c: c.map(order) if c.name == "scenario" else c, kind="stable")


FIGURES = {f.column: f for f in HEADLINE}
SHARE = Figure("market_share", "market share", "end", True)


def _effects_sentence(effects: pd.DataFrame, baseline: str, names: dict[str, str]) -> list[str]:
    """One sentence per scenario (one in all for three or more): its biggest effects with their intervals."""
    ranked = largest_effects(effects, baseline)
    several = ranked["scenario"].nunique() > 2
    said = []
    for scenario, part in ranked.groupby("scenario", sort=False):
        top = part.head(1 if ranked["scenario"].nunique() > 1 else 2)
        what = " and ".join(f"{interval_text(FIGURES[r.measure], r.effect, r.effect_lo, r.effect_hi)} in "
                            f"\u201c{r.figure}\u201d" for r in top.itertuples())
        if has_intervals(int(part["replicates"].min())) and not part["clear"].any():
            what = f"no headline figure moves beyond the noise of the replicates; the largest change is {what}"
        elif not several:
            what = f"the biggest effect{'s are' if len(top) > 1 else ' is'} {what}"
        said.append(f"under {names[scenario]}, {what}")
    if several:
        return ["The biggest effects: " + "; ".join(said) + "."]
    return [s[:1].upper() + s[1:] + "." for s in said]


def _gains_sentence(inst_effects: pd.DataFrame, baseline: str, names: dict[str, str]) -> list[str]:
    """Who gains and who loses the most market share under each scenario, with the intervals."""
    if inst_effects.empty:
        return []
    share = inst_effects[(inst_effects["measure"] == "market_share") & (inst_effects["scenario"] != baseline)
                         & inst_effects["effect"].notna()]
    parts = []
    for scenario, part in share.groupby("scenario", sort=False):
        best, worst = part.loc[part["effect"].idxmax()], part.loc[part["effect"].idxmin()]
        words = []
        for r, verb in ((best, "gain"), (worst, "lose")):
            if (r.effect > 0) == (verb == "gain") and r.effect != 0:
                noisy = "" if not has_intervals(int(r.replicates)) or clear(r.effect_lo, r.effect_hi) \
                    else "within the noise"
                words.append(f"{r.label} {verb} the most{' market share' if not words else ''}, "
                             f"{interval_text(SHARE, r.effect, r.effect_lo, r.effect_hi, noisy)}")
        if words:
            parts.append(f"under {names[scenario]}, " + ", and ".join(words))
    if not parts:
        return []
    text = "; ".join(parts)
    return [f"Who gains, who loses: {text}."]


def executive_summary(effects: pd.DataFrame, inst_effects: pd.DataFrame, baseline: str, names: dict[str, str],
                      context: str = "") -> list[str]:
    """Three to five sentences a board reads first: what was compared, the biggest effects with their
    intervals, who gains and who loses, and what the number of replicates allows."""
    others = [s for s in dict.fromkeys(effects["scenario"]) if s != baseline]
    replicates = int(effects["replicates"].min()) if len(effects) else 0
    compared = " and ".join([", ".join(names[s] for s in others[:-1]), names[others[-1]]] if len(others) > 1
                            else [names[s] for s in others]) or names[baseline]
    against = "the baseline" + ("" if baseline == "baseline" else f", {names[baseline]}")
    sentences = [(f"This report compares {compared} with {against}" if others else f"This report shows {against} "
                  "alone") + (f", {context}" if context else "") + "."]
    if others:
        sentences += _effects_sentence(effects, baseline, names)
        sentences += _gains_sentence(inst_effects, baseline, names)
    if replicates < 2:
        sentences.append("No interval can be drawn from one replicate, so each effect is one pair of runs.")
    elif replicates < ENOUGH_REPLICATES:
        sentences.append(f"With only {replicates} replicates the intervals are wide and unreliable.")
    return sentences
