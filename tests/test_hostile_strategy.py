"""Bad input to the strategy commands (`experiments.optimise`, `experiments.game`) as a hostile user types
it: every case ends in one line on stderr naming what is wrong, exit 2, and nothing written."""
from __future__ import annotations

import json

import pytest

from experiments import game, optimise

OPTIMISE = [
    (["nope"], "configs/optimise/"),
    (["../configs/config"], "not a path"),
    (["joint_stock_growth", "bogus=1"], "bogus=1 is not allowed"),
    (["joint_stock_growth", "trials"], "is not an override"),
    (["joint_stock_growth", "player=nobody"], "player='nobody'"),
    (["joint_stock_growth", "levers={foo: [0, 1]}"], "levers.foo"),
    (["joint_stock_growth", "levers={deposit_rate_premium: [0.6, 0]}"], "low < high"),
    (["joint_stock_growth", "levers={deposit_rate_premium: [0, 9]}"], "percentage points in [-3, 5]"),
    (["joint_stock_growth", "levers={marketing_budget_bn: [-5, 10]}"], "a number >= 0"),
    (["joint_stock_growth", "levers={}"], "levers={}"),
    (["joint_stock_growth", "levers={deposit_rate_premium: 3}"], "[low, high]"),
    (["joint_stock_growth", "levers={balance_product: {choices: [null]}}"], "two or more choices"),
    (["joint_stock_growth", "levers={balance_product: {choices: [null, 2014-13]}}"], "a month written YYYY-MM"),
    (["joint_stock_growth", "levers={loss_quarters: [1.5, 4]}"], "whole numbers"),
    (["joint_stock_growth", "levers={balance_product: [0, 1]}"], "choices"),
    (["joint_stock_growth", "objectives.share.column=nope"], "objectives.share.column='nope'"),
    (["joint_stock_growth", "objectives.share.column=user_share"], "holds for a bank"),
    (["joint_stock_growth", "objectives.share.at=2030-01"], "the model's period"),
    (["joint_stock_growth", "objectives.share.at=2020-13"], "a month written YYYY-MM"),
    (["joint_stock_growth", "objectives.share.sum=[2016-01,2020-12]"], "exactly one of"),
    (["joint_stock_growth", "objectives.share.sense=up"], "objectives.share.sense='up'"),
    (["joint_stock_growth", "objectives.profit.sum=[2020-12,2016-01]"], "from on or before to"),
    (["joint_stock_growth", "objectives={candidate: {column: profit, at: 2020-12, sense: max}}"], "not a lever's"),
    (["joint_stock_growth", "objectives={}"], "objectives={}"),
    (["joint_stock_growth", "objectives.share.institution=nobody"], "objectives.share.institution='nobody'"),
    (["joint_stock_growth", "objectives.share.when=2020-12"], "objectives.share.when"),
    (["joint_stock_growth", "robustness=median"], "robustness='median'"),
    (["joint_stock_growth", "trials=0"], "trials=0"),
    (["joint_stock_growth", "trials=abc"], "trials='abc'"),
    (["joint_stock_growth", "sampler=cmaes"], "sampler='cmaes'"),
    (["joint_stock_growth", "batch=1"], "batch=1"),
    (["joint_stock_growth", "uncertainty.replicates=0"], "uncertainty.replicates=0"),
    (["joint_stock_growth", "uncertainty.scenarios=[nope]"], "a scenario preset"),
    (["joint_stock_growth", "uncertainty.scenarios=[]"], "a non-empty list"),
    (["joint_stock_growth", "uncertainty.draws=3"], "without a posterior"),
    (["joint_stock_growth", "uncertainty.bogus=1"], "uncertainty.bogus"),
    (["joint_stock_growth", "uncertainty.posterior=nope"], "no posterior 'nope'"),
    (["joint_stock_growth", "model.populaton.size=5"], "populaton"),
    (["joint_stock_growth", "model.population.size=abc"], "population.size"),
    (["joint_stock_growth", "backend=gpu"], "backend='gpu'"),
    (["joint_stock_growth", "--bogus"], "unrecognized arguments"),
]

GAME = [
    (["nope"], "configs/game/"),
    (["banks_vs_alipay", "players={alipay: {payoff: {column: user_share, at: 2020-12}, strategies: {a: {}, "
      "b: {subsidy_bn: 1}}}}"], "two or more institutions"),
    (["banks_vs_alipay", "players.nobody={payoff: {column: profit, at: 2020-12}, strategies: {a: {}}}"],
     "players.nobody"),
    (["banks_vs_alipay", "players.alipay.strategies={status_quo: {}}"], "2 to 5 named strategies"),
    (["banks_vs_alipay", "players.alipay.strategies={}"], "2 to 5 named strategies"),
    (["banks_vs_alipay", "players.alipay.strategies={a: {}, b: {subsidy_bn: 1}, c: {subsidy_bn: 2}, "
      "d: {subsidy_bn: 3}, e: {subsidy_bn: 4}, f: {subsidy_bn: 5}}"], "2 to 5 named strategies"),
    (["banks_vs_alipay", "players.alipay.strategies.subsidy_cut={foo: 1}"], "a lever of alipay"),
    (["banks_vs_alipay", "players.alipay.strategies.subsidy_cut={subsidy_bn: -2}"], "a number >= 0"),
    (["banks_vs_alipay", "players.alipay.strategies.subsidy_cut={}"], "strategies that differ"),
    (["banks_vs_alipay", "players.alipay.strategies.subsidy_cut=3"], "a mapping of levers"),
    (["banks_vs_alipay", "players.alipay.payoff.column=nope"], "players.alipay.payoff.column"),
    (["banks_vs_alipay", "players.alipay.payoff.column=customer_share"], "holds for a platform"),
    (["banks_vs_alipay", "players.alipay.payoff.at=1999-01"], "the model's period"),
    (["banks_vs_alipay", "focal=nobody"], "focal='nobody'"),
    (["banks_vs_alipay", "refine={runs: -1}"], "runs=-1"),
    (["banks_vs_alipay", "uncertainty.replicates=-2"], "uncertainty.replicates=-2"),
]


def _run(main, args, out, capsys) -> list[str]:
    code = main([*args, "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2, err
    return err


@pytest.mark.parametrize("args, says", OPTIMISE, ids=[" ".join(a)[:60] for a, _ in OPTIMISE])
def test_bad_optimise_input_is_one_line_and_writes_nothing(tmp_path, capsys, args, says):
    out = tmp_path / "out"
    err = _run(optimise.main, args, out, capsys)
    assert len(err) == 1 and says in err[0], err
    assert not out.exists()


@pytest.mark.parametrize("args, says", GAME, ids=[" ".join(a)[:60] for a, _ in GAME])
def test_bad_game_input_is_one_line_and_writes_nothing(tmp_path, capsys, args, says):
    out = tmp_path / "out"
    err = _run(game.main, args, out, capsys)
    assert len(err) == 1 and says in err[0], err
    assert not out.exists()


def test_out_onto_a_file_is_refused(tmp_path, capsys):
    out = tmp_path / "file"
    out.write_text("mine")
    err = _run(optimise.main, ["joint_stock_growth"], out, capsys)
    assert len(err) == 1 and "is a file" in err[0], err
    assert out.read_text() == "mine"


def test_a_foreign_folder_is_never_written(tmp_path, capsys):
    folder = tmp_path / "out" / "joint_stock_growth"
    folder.mkdir(parents=True)
    (folder / "notes.txt").write_text("mine")
    err = _run(optimise.main, ["joint_stock_growth"], tmp_path / "out", capsys)
    assert len(err) == 1 and "was not made by experiments.optimise" in err[0], err
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]


def test_a_folder_made_with_another_configuration_is_refused(tmp_path, capsys):
    folder = tmp_path / "out" / "banks_vs_alipay"
    folder.mkdir(parents=True)
    (folder / "spec.json").write_text(json.dumps({"command": "experiments.game", "spec": {"focal": "alipay"}}))
    err = _run(game.main, ["banks_vs_alipay"], tmp_path / "out", capsys)
    assert len(err) == 1 and "another configuration" in err[0], err
    assert sorted(p.name for p in folder.iterdir()) == ["spec.json"]
