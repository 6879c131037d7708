"""The balance_vs_spread and rubric_gates studies: grids, tiny runs through their run_cell, scores, regime maps,
the crossover rule on a hand-made gap curve, and the exact hacking rate."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mowsim import analysis, sweep
from mowsim.envs import Bandit

STUDIES = ("balance_vs_spread", "rubric_gates")


@pytest.fixture(params=STUDIES)
def study(request):
    return sweep.load_study(request.param)


def _tiny_frame(module, cells):
    return pd.concat([module.run_cell(cell.scaled(seeds=2, steps=4)) for cell in cells], ignore_index=True)


def test_declarations(study):
    assert study.QUESTION.endswith("?") and len(study.QUESTION) < 200
    ids = [cell.id for cell in study.SETTINGS]
    assert ids == [f"{study.NAME}/{i}" for i in range(len(ids))]
    assert set(study.TESTING) <= {c.id for c in study.QUICK} <= set(ids)
    assert all(cell.seeds >= 16 for cell in study.SETTINGS)
    assert {c.scheme for c in study.QUICK} == {c.scheme for c in study.SETTINGS}


def test_testing_cells_run_and_score(study):
    cells = sweep.study_cells(study.NAME, quick=True, testing=True)
    frame = _tiny_frame(study, cells)
    scored = analysis.study_analysis(study.NAME).score(frame)
    assert {"scheme", "metric", "mean", "ci_low", "ci_high", "n"} <= set(scored.columns)
    defined = ~scored["metric"].str.startswith("crossover:")  # NaN when the gap never changes sign (documented)
    assert scored.loc[defined, "mean"].notna().all()


def test_balance_vs_spread_regime_and_crossover_on_quick_cells():
    module = sweep.load_study("balance_vs_spread")
    study = analysis.study_analysis("balance_vs_spread")
    cells = [c for c in module.QUICK if c.scheme in ("rc", "vpo")
             and dict(c.setting)["structure"] in (0.0, 2.0)]
    frame = _tiny_frame(module, cells)
    assert frame["best_at_4_dirichlet"].notna().all() and frame["hidden_reward"].notna().all()
    runs = study.per_run(frame)
    assert set(runs["scheme"]) == {"rc", "vpo", "vpo (m=3)"}
    table = study.regime(frame)
    assert list(table["structure"]) == [0.0, 2.0] and (table["ci_low"] <= table["ci_high"]).all()
    found = study.crossover(frame)
    assert set(found) == {"metric", "crossover", "ci_low", "ci_high", "no_crossing_share", "n"}
    assert study.plot(frame).lines
    scores = study.score(frame)
    assert "best@4" in study.answer(scores)
    assert set(study.headline(scores)["metric"]) == {"gap:best_at_1_dirichlet", "gap:best_at_4_dirichlet",
                                                     "gap:best_at_16_dirichlet", "gap:hidden_auc"}


def test_crossing_rule_hand_worked():
    study = analysis.study_analysis("balance_vs_spread")
    levels = np.array([0.0, 0.5, 1.0, 1.5])
    # gap +0.3 at 0.5, -0.1 at 1.0: crosses at 0.5 + 0.5 * 0.3 / 0.4 = 0.875
    assert study._crossing(levels, np.array([0.4, 0.3, -0.1, -0.2])) == pytest.approx(0.875)
    assert np.isnan(study._crossing(levels, np.array([0.4, 0.3, 0.1, 0.2])))  # balance always ahead
    assert np.isnan(study._crossing(levels, np.array([-0.4, -0.3, -0.1, -0.2])))  # spread always ahead
    assert study._crossing(levels, np.array([0.2, 0.0, -0.1, -0.2])) == pytest.approx(0.5)


def test_hacking_rate_is_exact():
    module = sweep.load_study("rubric_gates")
    env = Bandit(n_arms=4, n_objectives=2, correlation=-0.6)
    means = env.arrays()[1][0]
    theta = np.log(np.array([[0.1, 0.2, 0.3, 0.4]]))
    probs = np.array([0.1, 0.2, 0.3, 0.4])
    expected = (probs * means[:, 1] * (1 - means[:, 0])).sum() / (probs * means[:, 1]).sum()
    assert module.hacking_rate(env, theta) == pytest.approx(expected, rel=1e-12)


def test_rubric_gates_regime_on_quick_cells():
    module = sweep.load_study("rubric_gates")
    study = analysis.study_analysis("rubric_gates")
    cells = [c for c in module.QUICK if dict(c.setting)["correlation"] in (0.6, -0.9)]
    frame = _tiny_frame(module, cells)
    runs = study.per_run(frame)
    assert runs["hacking_rate"].between(0, 1).all() and runs["accepted"].between(0, 1).all()
    for metric in study.METRICS:
        table = study.regime(frame, metric)
        assert len(table) == 2 and table["mean"].notna().all()
    scores = study.score(frame)
    assert study.plot(frame, scores=scores).lines
    assert "true_auc" in study.answer(scores) and "hacking_rate" in study.answer(scores)
    assert set(study.headline(scores)["metric"]) == {f"gap:{m}" for m in study.METRICS}


def test_claims_are_registered_with_rules_that_read_the_studies():
    from mowsim import claims
    from mowsim.claims.ledger import evaluate

    ids = ("balance-spread-crossover", "balance-hidden-conflict", "gate-beats-gameable")
    assert set(ids) <= set(claims.available())
    module = sweep.load_study("rubric_gates")
    cells = [c for c in module.QUICK if dict(c.setting)["correlation"] in (-0.9, -0.6)]
    runs = analysis.study_analysis("rubric_gates").per_run(_tiny_frame(module, cells))
    verdict = evaluate("gate-beats-gameable", {"rubric_gates": runs}, "results")
    assert verdict.verdict in ("holds", "holds only when", "fails", "inconclusive") and verdict.n == 2
    assert evaluate("balance-spread-crossover", {"balance_vs_spread": None}, "results").verdict == "inconclusive"
