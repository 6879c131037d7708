"""The plumbing study: a full factorial per world, its tiny cells run through the engine, and the analysis reads the
variance decomposition (shares sum to 1, the groups and the contrast are the effects', the answer's numbers are the
scores')."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from mowsim import analysis, sweep

NAME = "plumbing"


@pytest.fixture(scope="module")
def module():
    return sweep.load_study(NAME)


@pytest.fixture(scope="module")
def study():
    return analysis.study_analysis(NAME)


def test_declarations_and_the_full_factorial(module):
    assert module.QUESTION.endswith("?") and len(module.QUESTION) < 200
    ids = [cell.id for cell in module.SETTINGS]
    assert ids == [f"{NAME}/{i}" for i in range(len(ids))]
    assert set(module.TESTING) <= {c.id for c in module.QUICK} <= set(ids) and 1 <= len(module.TESTING) <= 12
    assert all(cell.seeds >= 16 for cell in module.SETTINGS)
    assert all(cell.seeds == 4 for cell in module.QUICK) and len(module.QUICK) == len(module.SETTINGS)
    cells = {(s["world"], c.scheme, s["normalization"], s["aggregation"]) for c in module.SETTINGS
             for s in [dict(c.setting)]}
    assert len(cells) == len(module.SETTINGS)
    for world in module.SEQUENCE_WORLDS:
        assert {(w, *rest) for w, *rest in cells if w == world} == set(
            itertools.product([world], module.SCHEMES, module.NORMALIZATIONS, module.AGGREGATIONS))
    assert {(w, *rest) for w, *rest in cells if w == "bandit"} == set(
        itertools.product(["bandit"], module.SCHEMES, module.NORMALIZATIONS, [module.NO_AGGREGATION]))
    for cell in module.SETTINGS:  # each factor reaches the run: the aggregation in the env, the normalization in train
        setting = dict(cell.setting)
        assert cell.normalization == setting["normalization"]
        env = cell.env_instance()
        assert getattr(env, "loss_aggregation", module.NO_AGGREGATION) == setting["aggregation"]


@pytest.fixture(scope="module")
def tiny(module):
    cells = [c.scaled(seeds=3, steps=4) for c in module.QUICK if c.scheme in ("rc", "dvao")]
    return pd.concat([sweep.run_cell(c) for c in cells], ignore_index=True)


def test_scores_decompose_each_world_and_response(study, tiny):
    runs = study.per_run(tiny)
    assert len(runs) == 2 * (3 * 3 * 2 + 3) * 3
    scores = study.score(tiny)
    assert set(scores["world"]) == {"length", "format", "bandit"} and set(scores["response"]) == {"final", "auc"}
    for (world, response), group in scores.groupby(["world", "response"]):
        parts = group[group["kind"].isin(["effect", "residual"])]
        assert parts["share"].sum() == pytest.approx(1.0, abs=1e-9)
        assert parts["adjusted"].sum() == pytest.approx(1.0, abs=1e-9)
        effects = set(parts.loc[parts["kind"] == "effect", "effect"])
        expected = 3 if world == "bandit" else 7
        assert len(effects) == expected and ("aggregation" in effects) == (world != "bandit")
        by = group.set_index("effect")
        plumbing = [e for e in effects if "scheme" not in e]
        assert by.loc[study.PLUMBING, "share"] == pytest.approx(by.loc[plumbing, "share"].sum())
        assert by.loc[study.CONTRAST, "adjusted"] == pytest.approx(
            by.loc[study.PLUMBING, "adjusted"] - by.loc["scheme", "adjusted"])
        assert (group["ci_low"] <= group["ci_high"]).all()
    table = study.headline(scores)
    assert len(table) == 6 and {"scheme", study.PLUMBING, study.CONTRAST} <= set(table.columns)
    text = study.answer(scores)
    contrast = scores[(scores["world"] == "length") & (scores["response"] == "final")
                      & (scores["effect"] == study.CONTRAST)].iloc[0]
    assert f"difference {analysis.format_number(contrast['adjusted'])} [" in text


def test_plot_draws_a_bar_per_factor_group_and_world(study, tiny):
    from matplotlib.axes import Axes

    ax = study.plot(tiny)
    assert isinstance(ax, Axes)
    assert len(ax.patches) == 3 * len(study.BARS) - 2  # the bandit has no aggregation bars
    assert [t.get_text() for t in ax.get_xticklabels()] == ["length", "format", "bandit"]
    assert np.isfinite([p.get_height() for p in ax.patches]).all()
