"""The same seed gives the tables of the commit the fixtures came from (`tests/golden.py`):
byte-identical on the machine that wrote them, and everywhere identical in every count, label
and date and equal to 12 significant digits in every real number; and the same config hash,
so stored studies still resume."""
from __future__ import annotations

import math

import pytest

from tests import golden

INDEX = golden.load_index()


@pytest.mark.parametrize("name", sorted(INDEX))
def test_tables_are_the_fixtures(name):
    case = INDEX[name]
    texts, hashed = golden.tables(case["overrides"], case["replicate"])
    assert hashed == case["config_hash"], "the config hash changed: stored studies would not resume"
    for table, expected in case["sha256"].items():
        if golden.digest(texts[table]) == expected:
            continue
        full = golden.full_text(name, table)
        assert full is not None, f"{name}: {table} differs from its digest and no stored text is there to compare"
        detail = golden.difference(full, texts[table])
        if detail:
            pytest.fail(f"{name}: {table} differs from the fixture ({detail})")


def _changed(text: str, column: str, edit) -> str:
    lines = text.splitlines()
    head, row = lines[0].split(","), lines[5].split(",")
    j = head.index(column)
    row[j] = edit(row[j])
    return "\n".join([*lines[:5], ",".join(row), *lines[6:]]) + "\n"


def test_the_comparison_sees_a_change_in_the_tenth_digit():
    """Negative control: a change of one part in 1e10 to one real number is seen and named."""
    text = golden.full_text("baseline", "timeseries")
    changed = _changed(text, "mobile_value_share", lambda v: repr(float(v) * (1 + 1e-10)))
    assert golden.digest(changed) != golden.digest(text)
    assert "mobile_value_share" in golden.difference(text, changed)


def test_the_comparison_sees_a_changed_count_and_label():
    text = golden.full_text("baseline", "institutions")
    assert "institution" in golden.difference(text, _changed(text, "institution", lambda v: v + "x"))
    assert "'step'" in golden.difference(text, _changed(text, "step", lambda v: str(int(v) + 1)))


def test_the_comparison_forgives_rounding_in_the_last_digit():
    """What a different CPU does to a sum of many values: one unit in the 16th digit."""
    text = golden.full_text("baseline", "timeseries")
    nudged = _changed(text, "mobile_value_share", lambda v: repr(math.nextafter(float(v), math.inf)))
    assert golden.difference(text, nudged) is None
