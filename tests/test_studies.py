"""The studies (studies/<name>/): their grids are consistent, every scheme is covered, and one tiny cell of each
runs through the engine and its analysis."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

import mowsim
from mowsim import analysis, sweep

STUDIES = ("noise_robustness", "spurious_reward", "correlation", "saturation", "group_size", "many_objectives",
           "pareto_front", "overhead")
HV_MAX_OBJECTIVES = 3


def test_every_study_is_found():
    assert set(STUDIES) <= set(sweep.available_studies())


@pytest.fixture(params=STUDIES)
def study(request):
    return sweep.load_study(request.param)


def test_declarations(study):
    name = study.NAME
    assert study.__file__.endswith(f"{name}/sweep.py")
    assert isinstance(study.QUESTION, str) and study.QUESTION.endswith("?") and len(study.QUESTION) < 200
    assert isinstance(study.SETTINGS, tuple) and study.SETTINGS
    assert isinstance(study.QUICK, tuple) and study.QUICK
    assert isinstance(study.TESTING, tuple) and 1 <= len(study.TESTING) <= 12


def test_ids_are_unique_and_positional(study):
    ids = [cell.id for cell in study.SETTINGS]
    assert len(set(ids)) == len(ids)
    assert all(cell.index == i and cell.study == study.NAME for i, cell in enumerate(study.SETTINGS))
    assert sweep.study_cells(study.NAME) == list(study.SETTINGS)


def test_quick_is_the_same_grid_scaled_down(study):
    by_id = {cell.id: cell for cell in study.SETTINGS}
    quick_ids = [cell.id for cell in study.QUICK]
    assert len(set(quick_ids)) == len(quick_ids)
    for cell in study.QUICK:
        full = by_id[cell.id]
        assert dataclasses.replace(cell, seeds=full.seeds, steps=full.steps) == full
        assert cell.seeds <= 4 and cell.seeds <= full.seeds and cell.steps <= full.steps
    # Quick covers every scheme of the full grid.
    assert {cell.scheme for cell in study.QUICK} == {cell.scheme for cell in study.SETTINGS}


def test_testing_ids_exist_at_both_scales(study):
    assert set(study.TESTING) <= {cell.id for cell in study.QUICK} <= {cell.id for cell in study.SETTINGS}
    assert len(sweep.study_cells(study.NAME, quick=True, testing=True)) == len(study.TESTING)


def test_full_scale_has_enough_seeds_for_confidence_intervals(study):
    assert all(cell.seeds >= 5 for cell in study.SETTINGS)
    if study.NAME != "overhead":  # repeats of a timing, not training seeds
        assert all(cell.seeds >= 16 for cell in study.SETTINGS)


def test_every_balancing_scheme_at_every_setting(study):
    """These studies compare the schemes that balance several rewards into one advantage: every one of them at every
    setting (the spread and gate schemes have studies of their own, test_balance_studies.py)."""
    available = set(mowsim.schemes.available(role="balance"))
    groups: dict = {}
    for cell in study.SETTINGS:
        key = (cell.env, cell.env_kwargs, cell.setting, cell.group_size, cell.n_groups, cell.lr, cell.weights)
        groups.setdefault(key, []).append(cell.scheme)
    for key, names in groups.items():
        assert len(names) == len(set(names)), f"{study.NAME}: a scheme appears twice at {key}"
        expected = set(available)
        if study.NAME != "overhead" and sweep.ENVIRONMENTS[key[0]](**dict(key[1])).n_true_objectives > 3:
            expected.discard("hv-guided")
        assert set(names) == expected, f"{study.NAME}: schemes {sorted(expected - set(names))} missing at {key}"


def test_environments_build_and_hv_guided_stays_in_its_range(study):
    if study.NAME == "overhead":
        return
    for cell in study.SETTINGS:
        env = cell.env_instance()
        if cell.scheme == "hv-guided":
            assert env.n_true_objectives <= HV_MAX_OBJECTIVES, cell.id


def test_setting_columns_are_constant_within_a_knob_value(study):
    """A setting names its knobs the same way in every cell, so they become clean result columns."""
    names = {tuple(name for name, _ in cell.setting) for cell in study.SETTINGS}
    assert len(names) == 1


def _tiny(cell):
    if cell.study == "overhead":
        return cell.scaled(seeds=2, steps=1)
    return cell.scaled(seeds=2, steps=4)


def _run(module, cells) -> pd.DataFrame:
    runner = getattr(module, "run_cell", sweep.run_cell)
    return pd.concat([runner(_tiny(cell)) for cell in cells], ignore_index=True)


def test_testing_cells_run_and_score(study):
    cells = sweep.study_cells(study.NAME, quick=True, testing=True)
    frame = _run(study, cells)
    assert set(frame["cell_id"]) == {cell.id for cell in cells}
    scored = analysis.study_analysis(study.NAME).score(frame)
    assert {"scheme", "metric", "mean", "ci_low", "ci_high", "n", "robust_mean", "robust_mean_minus_std"} <= set(
        scored.columns)
    assert scored["mean"].notna().all()
    assert (scored["ci_low"] <= scored["mean"] + 1e-9).all() and (scored["mean"] <= scored["ci_high"] + 1e-9).all()


def test_analysis_plot_returns_axes(study):
    from matplotlib.axes import Axes

    cells = sweep.study_cells(study.NAME, quick=True, testing=True)
    frame = _run(study, cells)
    ax = analysis.study_analysis(study.NAME).plot(frame)
    assert isinstance(ax, Axes) and ax.lines


def test_overhead_run_cell_times_the_scheme():
    module = sweep.load_study("overhead")
    cell = next(c for c in module.QUICK if c.scheme == "dvao-reliable")
    frame = module.run_cell(cell.scaled(seeds=2, steps=2))
    assert list(frame.columns) == list(module.COLUMNS)
    assert len(frame) == 2 and (frame["seconds_per_call"] > 0).all() and (frame["peak_bytes"] > 0).all()
    assert (frame["cell_id"] == cell.id).all()
