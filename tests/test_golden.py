"""The same seed gives byte-identical tables to those of the commit the fixtures came from
(`tests/golden.py`), and the same config hash, so stored studies still resume."""
from __future__ import annotations

import io

import pandas as pd
import pytest

from tests import golden

INDEX = golden.load_index()


def _first_difference(expected: str, got: str) -> str:
    a, b = pd.read_csv(io.StringIO(expected)), pd.read_csv(io.StringIO(got))
    if list(a.columns) != list(b.columns):
        return f"columns differ: {sorted(set(a.columns) ^ set(b.columns))}"
    for column in a.columns:
        differs = ~((a[column] == b[column]) | (a[column].isna() & b[column].isna()))
        if differs.any():
            row = int(differs.idxmax())
            return f"first difference in column {column!r}, row {row}: {a[column][row]!r} -> {b[column][row]!r}"
    return "the text differs (formatting)"


@pytest.mark.parametrize("name", sorted(INDEX))
def test_tables_are_byte_identical(name):
    case = INDEX[name]
    texts, hashed = golden.tables(case["overrides"], case["replicate"])
    assert hashed == case["config_hash"], "the config hash changed: stored studies would not resume"
    for table, expected in case["sha256"].items():
        if golden.digest(texts[table]) != expected:
            full = golden.full_text(name, table)
            detail = _first_difference(full, texts[table]) if full else "no stored text to compare"
            pytest.fail(f"{name}: {table} differs from the fixture ({detail})")


def test_the_comparison_sees_a_one_digit_change():
    """Negative control: the digest and the difference finder notice a change in the last digit."""
    text = golden.full_text("baseline", "timeseries")
    lines = text.splitlines()
    head, row = lines[0].split(","), lines[5].split(",")
    j = head.index("mobile_value_share")
    row[j] = row[j][:-1] + ("1" if row[j][-1] != "1" else "2")
    changed = "\n".join([*lines[:5], ",".join(row), *lines[6:]]) + "\n"
    assert golden.digest(changed) != golden.digest(text)
    assert "mobile_value_share" in _first_difference(text, changed)
