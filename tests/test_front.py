"""Front-shaped bandit worlds (``Bandit(front=p)``), the exact arm geometry (mowsim.envs.geometry) and the
history's class masses: the arms lie on the requested curve, the hull test is exact on hand-made points, the
compiled masses equal the NumPy reference, and the knob off changes nothing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mowsim
from mowsim.envs import Bandit, ContextualBandit, geometry
from mowsim.envs.bandit import FRONT_HIGH, FRONT_LOW


def _unit(env):
    return (env.arrays()[1][0] - FRONT_LOW) / (FRONT_HIGH - FRONT_LOW)


@pytest.mark.parametrize("k", [2, 3])
@pytest.mark.parametrize("p", [0.5, 1.0, 2.0, 3.5])
def test_front_arms_lie_on_the_curve_and_the_rest_inside(k, p):
    env = Bandit(n_arms=20, n_objectives=k, front=p, front_dominated=0.25, instance_seed=3)
    points = _unit(env)
    on_front = points[:15]
    np.testing.assert_allclose((on_front**p).sum(axis=1), 1.0, rtol=0, atol=1e-12)
    if k == 2:
        np.testing.assert_allclose(on_front[:, 1], (1 - on_front[:, 0] ** p) ** (1 / p), rtol=0, atol=1e-12)
    assert np.all((points[15:] ** p).sum(axis=1) < 1)
    means = env.arrays()[1]
    assert means.min() > 0 and means.max() < 1
    shape = env.arm_geometry()
    assert shape.dominated[15:].all() and shape.pareto[:15].all()
    np.testing.assert_allclose(env.hidden_rewards()[0], means[0].mean(axis=1))


def test_curvature_decides_which_front_arms_are_on_the_hull():
    for k in (2, 3):
        bulging = Bandit(n_arms=16, n_objectives=k, front=2.0, front_dominated=0.25).arm_geometry()
        assert bulging.hull[:12].all() and not bulging.off_hull.any()
        linear = Bandit(n_arms=16, n_objectives=k, front=1.0, front_dominated=0.25).arm_geometry()
        assert linear.hull[:12].all()  # as ties
    concave = Bandit(n_arms=16, front=0.5, front_dominated=0.25).arm_geometry()
    # K = 2, p < 1: only the two extreme front arms (the first and last, ordered by objective 0) are on the hull
    assert concave.hull.tolist() == [True] + [False] * 10 + [True] + [False] * 4
    assert concave.off_hull[1:11].all()


def test_hull_is_exact_on_hand_made_points():
    points = np.array([
        [1.0, 0.0],    # 0 extreme: hull
        [0.0, 1.0],    # 1 extreme: hull
        [0.6, 0.6],    # 2 above the chord: hull
        [0.3, 0.3],    # 3 dominated by 2
        [0.45, 0.45],  # 4 below 2 - dominated
        [0.8, 0.25],   # 5 Pareto, below the segment 2 -> 0 (0.8 -> 0.3 there): off-hull
        [0.3, 0.78],   # 6 Pareto, below the segment 1 -> 2 (0.8 at x = 0.3; on it would be a tie): off-hull
        [1.0, 0.0],    # 7 a duplicate of 0: neither dominates the other, both on the hull
        [0.0, 0.9],    # 8 dominated by 1 though it ties it at w = (1, 0)
    ])
    shape = geometry.arm_geometry(points)
    assert shape.hull.tolist() == [True, True, True, False, False, False, False, True, False]
    assert shape.off_hull.tolist() == [False, False, False, False, False, True, True, False, False]
    assert shape.dominated.tolist() == [False, False, False, True, True, False, False, False, True]
    np.testing.assert_array_equal(shape.pareto, shape.hull | shape.off_hull)
    assert (shape.indicators().sum(axis=1) == 1).all()


def test_collinear_points_count_as_ties_on_the_hull():
    line = np.array([[1.0, 0.0], [0.75, 0.25], [0.5, 0.5], [0.0, 1.0], [0.25, 0.75]])
    assert geometry.arm_geometry(line).hull.all()
    plane = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [0.5, 0.5, 0], [1 / 3, 1 / 3, 1 / 3], [0.2, 0.3, 0.5]])
    assert geometry.arm_geometry(plane).hull.all()
    dent = np.vstack([plane, [[0.3, 0.3, 0.35]]])  # Pareto (nothing weakly dominates it) but below the plane
    shape = geometry.arm_geometry(dent)
    assert shape.off_hull.tolist() == [False] * 6 + [True]
    assert not geometry.arm_geometry(dent, tol=0.2).off_hull.any()  # within a generous tolerance it is a tie


def test_the_linear_program_agrees_with_the_two_objective_chain():
    """The K >= 3 path (one LP per Pareto arm) run on two objectives gives the chain's answer."""
    rng = np.random.default_rng(0)
    for _ in range(30):
        points = rng.random((12, 2)) ** rng.uniform(0.3, 3)
        shape = geometry.arm_geometry(points)
        lp = geometry._supported_lp(points, shape.pareto, 1e-9)
        np.testing.assert_array_equal(shape.hull, shape.pareto & lp)


def test_class_mass_is_exact_for_a_given_theta():
    env = Bandit(n_arms=8, front=0.5, front_dominated=0.25, instance_seed=1)
    shape = env.arm_geometry()
    assert shape.hull.tolist() == [True, False, False, False, False, True, False, False]
    theta = np.array([[0.0, 1.0, 2.0, 0.0, -1.0, 0.5, 0.0, 3.0]])
    probs = np.exp(theta[0]) / np.exp(theta[0]).sum()
    by_hand = [probs[[0, 5]].sum(), probs[[1, 2, 3, 4]].sum(), probs[[6, 7]].sum()]
    np.testing.assert_allclose(geometry.class_mass(probs[None], shape.indicators()[None]), by_hand, rtol=1e-15)


def test_history_masses_equal_the_numpy_reference():
    env = Bandit(n_arms=12, front=0.5, front_dominated=0.25)
    result = mowsim.train(env, "hv-guided", steps=20, weights=[0.3, 0.7])
    history = result.history[result.history.objective == 0]
    indicators = env.arm_geometry().indicators()[None]
    first = geometry.class_mass(np.full((1, 12), 1 / 12), indicators)
    theta = result.final_params[0]
    probs = np.exp(theta - theta.max())
    last = geometry.class_mass(probs / probs.sum(), indicators)
    columns = ["mass_hull", "mass_off_hull", "mass_dominated"]
    np.testing.assert_allclose(history[columns].iloc[0], first, rtol=1e-12)
    np.testing.assert_allclose(history[columns].iloc[-1], last, rtol=1e-12)
    np.testing.assert_allclose(history[columns].sum(axis=1), 1.0, rtol=1e-12)


def test_knob_off_leaves_worlds_unchanged_and_masses_nan():
    plain = Bandit(n_arms=12, correlation=-0.5)
    rng = np.random.default_rng(plain.instance_seed)
    base = rng.standard_normal(12)
    other = -0.5 * base + np.sqrt(1 - 0.25) * rng.standard_normal(12)
    expected = 1 / (1 + np.exp(-2.0 * np.column_stack([base, other])))
    np.testing.assert_array_equal(plain.arrays()[1][0], expected)
    assert plain._loop_arrays()[2].shape == (1, 12, 1)
    history = mowsim.train(plain, "rc", steps=2).history
    assert history[["mass_hull", "mass_off_hull", "mass_dominated"]].isna().all().all()
    assert history["hidden_reward"].notna().all()


@pytest.mark.parametrize("kwargs, match", [
    ({"front": 0.0}, "front must be > 0"),
    ({"front": -1.0}, "front must be > 0"),
    ({"front": float("nan")}, "front must be a finite"),
    ({"front": 2.0, "front_dominated": 1.0}, "front_dominated must be < 1"),
    ({"front": 2.0, "front_dominated": -0.1}, "front_dominated must be >= 0"),
    ({"front_dominated": 0.25}, "needs a front"),
    ({"front": 2.0, "correlation": -0.5}, "front replaces correlation"),
    ({"front": 2.0, "structure": 0.0}, "front replaces structure"),
    ({"front": 2.0, "saturation": 1.0}, "saturation"),
    ({"front": 2.0, "n_objectives": 4}, "n_objectives 2 or 3"),
    ({"front": 2.0, "n_arms": 4, "front_dominated": 0.75}, "at least n_objectives"),
])
def test_bad_front_inputs_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Bandit(**kwargs)


def test_contextual_bandit_refuses_the_front():
    with pytest.raises(ValueError, match="front is a Bandit knob"):
        ContextualBandit(front=0.5)


def test_geometry_rejects_bad_points():
    with pytest.raises(ValueError, match="expected \\(n_arms, n_objectives\\)"):
        geometry.arm_geometry([1.0, 2.0])
    with pytest.raises(ValueError, match="finite"):
        geometry.arm_geometry([[1.0, np.nan]])
    with pytest.raises(ValueError, match="tol"):
        geometry.arm_geometry([[1.0, 0.0]], tol=-1)


# ---- the nonconvex_front study -------------------------------------------------------------------------------------


def _study_frame():
    from mowsim import sweep

    cells = sweep.study_cells("nonconvex_front", quick=True, testing=True)
    return pd.concat([sweep.run_cell(cell.scaled(seeds=2, steps=4)) for cell in cells], ignore_index=True)


def test_study_declarations():
    from mowsim import sweep

    study = sweep.load_study("nonconvex_front")
    assert "nonconvex_front" in sweep.available_studies()
    assert study.QUESTION.endswith("?") and len(study.QUESTION) < 200
    ids = [cell.id for cell in study.SETTINGS]
    assert ids == [f"nonconvex_front/{i}" for i in range(len(ids))]
    assert set(study.TESTING) <= {c.id for c in study.QUICK} <= set(ids)
    assert {c.scheme for c in study.QUICK} == {c.scheme for c in study.SETTINGS}
    assert {c.scheme for c in study.SETTINGS} == set(mowsim.schemes.available(role="balance")) | {"vpo"}
    assert len({tuple(name for name, _ in cell.setting) for cell in study.SETTINGS}) == 1
    assert all(cell.seeds >= 8 for cell in study.SETTINGS)


def test_study_testing_cells_run_score_and_plot():
    from matplotlib.axes import Axes

    from mowsim import analysis

    frame = _study_frame()
    study = analysis.study_analysis("nonconvex_front")
    runs = study.per_run(frame)
    np.testing.assert_allclose(runs["off_hull_initial"], 10 / 16, rtol=1e-6)  # float32 storage
    scored = study.score(frame)
    assert {"hypervolume", "off_hull_gain", "off_hull_final", "dominated_final", "steps_to_half"} <= set(
        scored["metric"])
    assert {"scheme", "metric", "mean", "ci_low", "ci_high", "n", "p"} <= set(scored.columns)
    assert scored["mean"].notna().all()
    assert "At p = 0.5" in study.answer(scored)
    assert isinstance(study.plot(frame), Axes)
