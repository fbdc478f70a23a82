"""What a calibration writes beside its posterior: predictive checks, fan charts, pair plots, the report.

Every interval here covers both the posterior's parameter uncertainty and the model's
randomness (each predictive run is one posterior draw with its own seed); the report says
so where it shows one.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from lab.target_fit import load_target_set, simulated_vector  # noqa: E402
from sim.writers.metrics import yearly  # noqa: E402
from sim.evidence.observations import off_by, yearly_switching  # noqa: E402
from sim.writers.files import atomic_write  # noqa: E402

COVERS = "posterior parameter draws and seeds"
END_FIGURES = {   # column -> label: what the targets may or may not pin down, in the run's last month
    "share_platform": "most-used channel of the month a wallet, % of adults",
    "share_mobile": "most-used channel of the month the bank app, % of adults",
    "users_platform_m": "wallet monthly users, M",
    "users_mobile_m": "bank-app monthly users, M",
    "balance_platform_mmf": "platform money-fund balances, RMB bn",
}
PERCENT = {"share_platform", "share_mobile"}
PANELS = [  # series in data/targets.csv, title, unit
    ("off_counter_rate", "Off-counter rate", "%"), ("mobile_value_share", "Mobile share of off-counter value", "%"),
    ("mobile_payment_users_m", "Adults paying by phone (CNNIC)", "million"),
    ("yuebao_aum_bn", "Alipay fund balance (Yu'ebao)", "RMB bn"),
    ("yuebao_users_m", "Alipay wallet holders (Yu'ebao users)", "million"),
    ("primary_bank_switching", "Primary-bank switching", "% a year"),
]


def figures_at_end(run) -> dict[str, float]:
    """The values of END_FIGURES in one run's last month (2020-12 by default; empty for a failed run)."""
    ts, _ = run
    if not len(ts):
        return {}
    row = ts.iloc[-1]
    return {k: float(row[k]) * (100 if k in PERCENT else 1) for k in END_FIGURES if k in row}


def _series(run, series: str) -> pd.Series:
    """One run's path of a target series, indexed by date text (years or months)."""
    ts, inst = run
    if series in ("off_counter_rate", "mobile_value_share"):
        yr = yearly(ts)
        yr = yr[yr["months"] == 12]
        return pd.Series(100 * yr[series].to_numpy(), index=yr["year"].astype(str))
    if series == "primary_bank_switching":
        return yearly_switching(ts)
    if series == "mobile_payment_users_m":
        return pd.Series(ts["mobile_payers_m"].to_numpy(), index=ts["date"].astype(str).str[:7])
    alipay = inst[inst["institution"] == "alipay"]
    column = "balance" if series == "yuebao_aum_bn" else "holders"
    return pd.Series(alipay[column].to_numpy(), index=alipay["date"].astype(str).str[:7])


UNFITTED = {  # series -> the dates no target covers (the out-of-sample test: the figures are not in data/)
    "off_counter_rate": ["2014", "2015", "2016", "2017", "2019", "2020"],
    "mobile_payment_users_m": ["2019-12", "2020-12"],
    "yuebao_aum_bn": ["2018-12", "2019-12", "2020-12"],
    "yuebao_users_m": ["2015-12", "2018-12", "2019-12", "2020-12"],
}


def predictions(target_set: str, runs) -> pd.DataFrame:
    """The posterior predictive median and 90 % band of the target series at dates no target covers:
    what the calibration predicts and data it never saw can test."""
    rows = []
    for series, dates in UNFITTED.items():
        paths = pd.concat([_series(r, series) for r in runs if len(r[0])], axis=1)
        for date in dates:
            if date in paths.index:
                lo, med, hi = paths.loc[date].quantile([0.05, 0.5, 0.95])
                rows.append({"target_set": target_set, "series": series, "date": date, "median": med,
                             "low_5": lo, "high_95": hi, "covers": COVERS})
    return pd.DataFrame(rows)


def predictive_table(target_set: str, runs) -> pd.DataFrame:
    """Every target of the set beside the posterior predictive median over `runs` and its 90 % band
    for data: the runs' values plus noise of the target's standard error, as the data scatter."""
    targets = load_target_set(target_set)
    x = simulated_vector(targets, [r for r in runs if len(r[0])])
    noisy = x + targets["se"].to_numpy() * np.random.default_rng(0).standard_normal(x.shape)   # as data scatter
    q, band = x.quantile([0.05, 0.5, 0.95]).T, noisy.quantile([0.05, 0.95]).T
    out = targets[["series", "date", "value", "se", "use", "kind", "low", "high"]].copy()
    out["median"], out["band_low"], out["band_high"] = q[0.5], band[0.05], band[0.95]
    point = out["kind"] == "point"
    out["in_band"] = np.where(point, (out["band_low"] <= out["value"]) & (out["value"] <= out["band_high"]),
                              (out["band_high"] >= out["low"]) & (out["band_low"] <= out["high"]))
    out["in_band"] = out["in_band"].where(out["median"].notna())

    out["median_within_tolerance"] = [None if pd.isna(r.median) else off_by(r.series, r.median, r.value, r.low,
                                                                          r.high) <= 1 for r in out.itertuples()]
    out.insert(0, "target_set", target_set)
    return out.reset_index(drop=True)


def fan_chart(target_set: str, runs, table: pd.DataFrame, path: Path, note: str) -> None:
    fig, axes = plt.subplots(2, 3, figsize=(15, 8))
    for ax, (series, title, unit) in zip(axes.ravel(), PANELS):
        paths = pd.concat([_series(r, series) for r in runs if len(r[0])], axis=1)
        if paths.empty:
            ax.set_axis_off()
            continue
        x = pd.to_datetime(paths.index, format="%Y" if len(paths.index[0]) == 4 else "%Y-%m")
        q = paths.quantile([0.05, 0.25, 0.5, 0.75, 0.95], axis=1).T.to_numpy()
        ax.fill_between(x, q[:, 0], q[:, 4], color="#2a9d8f", alpha=0.25, label="90 % predictive band")
        ax.fill_between(x, q[:, 1], q[:, 3], color="#2a9d8f", alpha=0.45, label="50 % band")
        ax.plot(x, q[:, 2], color="#264653", lw=1.5, label="median")
        t = table[table["series"] == series]
        if series == "primary_bank_switching" and len(t):
            ax.axhspan(t["low"].iloc[0], t["high"].iloc[0], color="#e9c46a", alpha=0.25, label="plausible range")
        elif len(t):
            when = pd.to_datetime(t["date"], format="%Y" if len(t["date"].iloc[0]) == 4 else "%Y-%m")
            fitted = t["use"] == "fit"
            ax.errorbar(when[fitted], t["value"][fitted], yerr=1.645 * t["se"][fitted], fmt="D", color="#e76f51",
                        capsize=3, label="target ± 90 % of its se")
        ax.set_title(title)
        ax.set_ylabel(unit)
        ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=8, loc="lower right")
    fig.suptitle(f"Posterior predictive check, target set '{target_set}' (bands cover {COVERS})")
    fig.text(0.01, 0.005, note, fontsize=8, color="0.35")
    fig.tight_layout(rect=(0, 0.03, 1, 0.96))
    atomic_write(path, lambda p: fig.savefig(p, dpi=110, format="png"))
    plt.close(fig)


def pair_plot(draws: pd.DataFrame, names: list[str], bounds: dict, path: Path, title: str) -> None:
    k = len(names)
    fig, axes = plt.subplots(k, k, figsize=(1.7 * k + 1, 1.7 * k + 1), squeeze=False)
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            ax = axes[i, j]
            if j > i:
                ax.set_axis_off()
                continue
            if i == j:
                ax.hist(draws[a], bins=30, range=tuple(bounds[a]), color="#264653")
            else:
                ax.scatter(draws[b], draws[a], s=2, alpha=0.3, color="#264653")
                ax.set_xlim(bounds[b])
                ax.set_ylim(bounds[a])
            ax.tick_params(labelsize=6)
            if i == k - 1:
                ax.set_xlabel(b.split(".")[-2] + "." + b.split(".")[-1] if b.count(".") else b, fontsize=7)
            if j == 0 and i > 0:
                ax.set_ylabel(a.split(".")[-1], fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    atomic_write(path, lambda p: fig.savefig(p, dpi=90, format="png"))
    plt.close(fig)


def _markdown(df: pd.DataFrame) -> str:
    return df.to_markdown(index=False, floatfmt=".3g")


def write_report(out: Path, c: dict, meta: dict, parameters: pd.DataFrame, cover: pd.DataFrame,
                 predictive: dict, effects: pd.DataFrame, candidates: pd.DataFrame | None = None) -> None:
    """predictive.csv, open_questions.csv, the figures and report.md in `out`."""
    predictive_all, ahead, open_questions = _predictive_files(out, c, meta, predictive, effects)
    lines = _report_lines(c, meta, parameters, cover, predictive_all, ahead, open_questions, candidates)
    atomic_write(out / "report.md", lambda p: p.write_text("\n".join(lines)))


def _predictive_files(out: Path, c: dict, meta: dict, predictive: dict,
                      effects: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The predictive check's tables and figures (predictive.csv, predictions.csv, open_questions.csv,
    predictive_<set>.png, pairs_<set>.png); returns the three tables."""
    posterior = pd.read_parquet(out / "posterior.parquet")
    names = list(c["parameters"])
    note = (f"calibration '{c['name']}' · {c['population']:,} customers · {meta['simulations']:,} training "
            f"simulations · {c['predictive_runs']} predictive runs per set")
    tables, widths = [], []
    for s, runs in predictive.items():
        table = predictive_table(s, runs)
        tables.append(table)
        fan_chart(s, runs, table, out / f"predictive_{s}.png", note)
        pair_plot(posterior[posterior["target_set"] == s], names, c["parameters"], out / f"pairs_{s}.png",
                  f"Posterior draws, target set '{s}' (axes: prior ranges)")
        values = pd.DataFrame([figures_at_end(r) for r in runs if len(r[0])])
        for f, label in END_FIGURES.items():
            if f in values:
                lo, med, hi = values[f].quantile([0.05, 0.5, 0.95])
                end = str(runs[0][0]["date"].iloc[-1])[:7] if len(runs[0][0]) else ""
                widths.append({"target_set": s, "figure": f"{label}, {end}", "median": med, "low_5": lo,
                               "high_95": hi, "width_90": hi - lo, "covers": COVERS})
    if len(effects):
        for (scenario, figure), g in effects.groupby(["scenario", "figure"]):
            lo, med, hi = g["effect"].quantile([0.05, 0.5, 0.95])
            widths.append({"target_set": c["target_sets"][0], "figure": f"effect of {scenario} on {END_FIGURES[figure]}",
                           "median": med, "low_5": lo, "high_95": hi, "width_90": hi - lo, "covers": COVERS})
    predictive_all = pd.concat(tables, ignore_index=True)
    ahead = pd.concat([predictions(s, runs) for s, runs in predictive.items()], ignore_index=True)
    atomic_write(out / "predictions.csv", lambda p: ahead.to_csv(p, index=False))
    open_questions = pd.DataFrame(widths)
    atomic_write(out / "predictive.csv", lambda p: predictive_all.to_csv(p, index=False))
    atomic_write(out / "open_questions.csv", lambda p: open_questions.to_csv(p, index=False))
    return predictive_all, ahead, open_questions


def _report_lines(c: dict, meta: dict, parameters: pd.DataFrame, cover: pd.DataFrame, predictive_all: pd.DataFrame,
                  ahead: pd.DataFrame, open_questions: pd.DataFrame, candidates: pd.DataFrame | None) -> list[str]:
    """report.md's lines: what was fitted, the parameters, coverage, the predictive checks, the presets,
    predictions and what the targets leave open."""
    names = list(c["parameters"])
    lines = [f"# Calibration '{c['name']}'", "", c.get("question") or "", "",
             "## What was fitted, to what",
             f"- {len(names)} free parameters with uniform priors (below), "
             f"{c['population']:,} customers, overrides {c['overrides'] or 'none'}.",
             f"- Neural posterior estimation (`sbi`): {meta['simulations']:,} prior simulations, one run each with "
             f"its own seed; {meta['epochs']} training epochs"
             f"{'' if meta['converged'] else ' (stopped at max_epochs before the validation loss stopped falling)'}; "
             "standardized targets with noise of one standard error.",
             f"- Targets fitted ({len(meta['targets_fitted'])}): {', '.join(meta['targets_fitted'])}.",
             f"- Not fitted: {', '.join(meta['targets_dropped']) or 'none'} (use=check in data/targets.csv, or not "
             "produced by these runs: bank figures need banks=named).",
             f"- Target sets: {', '.join(c['target_sets'])}; they differ only in the 2013 off-counter rate.",
             f"- Run time {meta['seconds'] / 60:.1f} min.", "",
             "## Parameters (posterior median and 90 % interval)", "",
             _markdown(parameters.assign(width_vs_prior=parameters["width_vs_prior"].round(2))), "",
             "`width_vs_prior`: the 90 % interval's width over 90 % of the prior's. Near 1: the targets leave the "
             "parameter open (unidentified); well below 1: pinned down.", ""]
    if len(cover):
        rate = cover.groupby("parameter")["covered"].mean()
        n = cover["case"].nunique()
        lines += ["## Coverage of known parameters", "",
                  f"{n} held-out simulations with known parameters; the share whose 90 % posterior interval holds the "
                  f"truth, by parameter (nominal 0.90; with {n} cases one standard error is "
                  f"{np.sqrt(0.09 / n):.2f}):", "", _markdown(rate.rename("coverage").reset_index()),
                  f"\nMean over parameters: {rate.mean():.2f}.", ""]
    for s in c["target_sets"]:
        t = predictive_all[predictive_all["target_set"] == s]
        judged = t[t["median"].notna()]
        lines += [f"## Posterior predictive check, target set '{s}'", "",
                  f"Bands cover {COVERS}, and the table's bands the targets' standard errors too (the fan "
                  f"chart's do not). {int(judged['in_band'].fillna(False).sum())} of {len(judged)} targets "
                  f"inside the 90 % band; the median within the fit command's tolerance for "
                  f"{int(judged['median_within_tolerance'].fillna(False).sum())}.", "",
                  _markdown(t.drop(columns=["target_set", "kind"])), "", f"![fan chart](predictive_{s}.png)",
                  f"![pairs](pairs_{s}.png)", ""]
    if candidates is not None and len(candidates):
        shown = candidates[["target_set", "draw", "worst_single_seed", "worst_seed_mean", "worst_target",
                            "outside_tolerance", "chi2_seed_mean", "chosen"]]
        lines += ["## The presets: each set's best-fitting posterior draw", "",
                  f"The first {max(c['preset_screen'], c['predictive_runs'])} posterior draws were run once each "
                  f"(the predictive runs and more); each one's worst error over the fitted targets, in units of the "
                  f"fit command's tolerance (at most 1: every target within it), ranks them; the {c['preset_candidates']} "
                  f"best were run on {c['preset_seeds']} seeds of {c['preset_population']:,} customers, and the draw whose seed mean has the smallest "
                  "worst error, judged as the fit command judges (switching by its worst year), then the smaller sum of "
                  "squared standardized residuals, is the one "
                  "`--write-preset` writes (its values: preset_candidates.csv). A joint draw, not the separate "
                  "medians above, which need not fit together.", "", _markdown(shown), ""]
    lines += ["## Predictions for dates no target covers", "",
              f"Posterior predictive medians and 90 % bands ({COVERS}); the published figures for these dates "
              "were kept out of data/ as an out-of-sample test.", "",
              _markdown(ahead) if len(ahead) else "(the runs end before these dates)", ""]
    lines += ["## What the targets leave open", "",
              f"90 % predictive intervals ({COVERS}) of figures no target pins down:", "",
              _markdown(open_questions) if len(open_questions) else "(none computed)", ""]
    return lines
