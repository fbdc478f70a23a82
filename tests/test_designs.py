"""Latin hypercube, Morris and Sobol designs from config files."""
from __future__ import annotations


import pandas as pd
import pytest

from experiments.design import main as design_main
from lab.designs import read_design
from sim.config import ConfigError

SMALL = """
name: {name}
method: {method}
samples: {samples}
replicates: 2
outputs: [share_mobile, share_platform]
date: "2015-12"
overrides: [population.size=1000, end=2015-12, figures=false]
parameters:
  regulation.ukey_friction: [0.0, 1.6]
  switching_cost.scale: [0.5, 2.0]
  platforms.alipay.subsidy_bn: [0.0, 20.0]
"""


@pytest.mark.parametrize("method, samples, points, columns", [
    ("lhs", 8, 8, {"spearman_rho", "p_value"}),
    ("morris", 3, 3 * 4, {"mu_star", "sigma", "mu_star_conf"}),
    pytest.param("sobol", 8, 8 * 5, {"S1", "ST", "S1_conf", "ST_conf"}, marks=pytest.mark.slow),
])
def test_design_writes_points_indices_and_figure(tmp_path, method, samples, points, columns):
    path = tmp_path / f"{method}.yaml"
    path.write_text(SMALL.format(name=method, method=method, samples=samples))
    assert design_main([str(path), "--jobs", "1", "--out", str(tmp_path / "out")]) == 0
    out = tmp_path / "out" / method
    pts = pd.read_parquet(out / "points.parquet")
    assert pts["point"].nunique() == points and len(pts) == 2 * points
    assert pts["regulation.ukey_friction"].between(0, 1.6).all()
    table = pd.read_csv(out / "indices.csv")
    assert columns <= set(table.columns) and len(table) == 2 * 3
    assert (out / "indices.png").stat().st_size > 0
    ukey = table[(table["output"] == "share_mobile") & (table["parameter"] == "regulation.ukey_friction")]
    if method == "lhs":
        assert ukey["spearman_rho"].item() < 0           # friction lowers mobile adoption
    elif method == "morris":
        assert ukey["mu"].item() < 0


@pytest.mark.parametrize("edit, key", [
    ("method: grid", "design.method"),
    ("parameters: {switching_cost.scale: [2, 1], regulation.ukey_friction: [0, 1]}",
     "design.parameters.switching_cost.scale"),
    ("samplez: 3", "design.samplez"),
])
def test_bad_design_files_are_refused(tmp_path, edit, key):
    text = SMALL.format(name="bad", method="lhs", samples=4)
    field = edit.split(":")[0]
    lines = [ln for ln in text.splitlines() if not ln.startswith(field)]
    if field == "parameters":
        lines = [ln for ln in lines if not ln.startswith("  ")]
    path = tmp_path / "bad.yaml"
    path.write_text("\n".join(lines + [edit]))
    with pytest.raises(ConfigError) as err:
        read_design(path)
    assert err.value.key == key
