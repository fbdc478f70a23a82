"""The Python API the README lists ("The Python API"): each name imported from the path the README
gives, and the README's tiny example run, so that moving a module cannot silently break it."""
from __future__ import annotations

import json

import pandas as pd

from lab import dataset
from lab.compose import load_config
from sim.market import MarketModel
from sim.writers.run_folder import write_run

TINY = ["population.size=500", "end=2013-06"]


def test_the_readme_example_runs(tmp_path):
    cfg = load_config(TINY)
    assert (cfg.population.size, cfg.end) == (500, "2013-06")
    model = MarketModel(cfg).run()
    ts = model.recorder.timeseries()
    assert isinstance(ts, pd.DataFrame) and len(ts) == 6
    assert ts[["date", "off_counter_rate", "share_mobile"]].notna().all().all()
    inst = model.recorder.institutions()
    assert set(inst["kind"]) == {"bank", "platform"}
    assert inst.groupby("step").size().eq(len(cfg.banks) + len(cfg.platforms)).all()

    folder = write_run(model, tmp_path / "tiny", model_seconds=0.0, figures=False)
    for name in ("timeseries.parquet", "institutions.parquet", "columns.csv", "config.yaml", "run.json"):
        assert (folder / name).is_file(), name
    assert json.loads((folder / "run.json").read_text())["population"] == 500
    pd.testing.assert_series_equal(pd.read_parquet(folder / "timeseries.parquet")["off_counter_rate"],
                                   ts["off_counter_rate"], check_names=False)


def test_a_study_folder_reads_with_dataset_load(tmp_path):
    """dataset.load on a study folder as a sweep writes it (a sweep is a study: lab/study.py)."""
    from lab.changes import with_changes
    from lab.points import Point
    from lab.study import Study, run_study
    base = load_config(TINY)
    points = [Point.make(i, with_changes(base, {"seed": s}), [f"seed={s}"], {"seed": s}) for i, s in enumerate((1, 2))]
    run_study(Study("tiny", tmp_path / "tiny", points, {"seed": "seed"}), show_progress=False)

    ts = dataset.load(tmp_path / "tiny", "timeseries")
    assert ts.groupby("seed").size().to_dict() == {1: 6, 2: 6}
    assert dataset.load(tmp_path / "tiny", "runs")["status"].eq("complete").all()
    alone = MarketModel(with_changes(base, {"seed": 2})).run().recorder.timeseries()
    stored = ts[ts["seed"] == 2].reset_index(drop=True)
    pd.testing.assert_series_equal(stored["off_counter_rate"], alone["off_counter_rate"], check_names=False)
