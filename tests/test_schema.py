"""The column schema (sim/writers/schema.py) declares exactly the columns that a run writes."""
from __future__ import annotations

import pandas as pd

from sim.writers.run_folder import write_run
from sim.writers.schema import COLUMNS, undeclared, unused


def test_columns_csv_declares_every_written_column_and_nothing_else(small_run, tmp_path):
    folder = write_run(small_run, tmp_path / "run", model_seconds=0.0, figures=False)
    declared = pd.read_csv(folder / "columns.csv")
    assert list(declared.columns) == ["table", "column", "unit", "meaning", "config_key"]
    assert len(declared) == len(COLUMNS) and declared["unit"].notna().all() and declared["meaning"].notna().all()
    for table in ("timeseries", "institutions", "yearly"):
        written = pd.read_csv(folder / f"{table}.csv", nrows=1).columns
        assert undeclared(table, written) == [], f"{table}: columns without a unit and meaning"
        assert unused(table, written) == [], f"{table}: declared columns that are not written"


def test_the_check_notices_a_new_or_missing_column():
    assert undeclared("timeseries", ["off_counter_rate", "new_metric"]) == ["new_metric"]
    assert "off_counter_rate" in unused("timeseries", ["date"])
