"""Hypervolume-guided weighting (Lu et al.): the Numba hypervolume against moocore, the meta-reward update, and the
two ways of applying it.

Points are drawn on a grid of multiples of 0.25, so ties, duplicates and points on the reference's boundary (which
add nothing: a point must strictly dominate the reference) are common. The Numba slicing and moocore add in
different orders, so they agree to ``rtol=1e-12``.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import mowsim
from mowsim.schemes import _stateful, dynamic, get

CLOSE = {"rtol": 1e-12, "atol": 1e-12}
GRID = st.integers(-8, 8).map(lambda i: i / 4)


def numba_hv(points, ref):
    points = np.ascontiguousarray(np.asarray(points, dtype=np.float64).reshape(-1, len(ref)))
    return _stateful.hypervolume(points, points.shape[0], np.asarray(ref, dtype=np.float64))


def fresh_state(d):
    state = np.empty(_stateful.state_size(_stateful.HV_GUIDED, d))
    _stateful.init_state(_stateful.HV_GUIDED, np.ones(d), state)
    return state


def buffer_of(state, d):
    count = int(state[_stateful.HEADER])
    start = _stateful.HEADER + 1 + d
    return state[start:start + _stateful.HV_CAPACITY * d].reshape(-1, d)[:count].copy()


def reference_of(state, d):
    return state[_stateful.HEADER + 1:_stateful.HEADER + 1 + d].copy()


def observe(state, p, gain_scale=1.0):
    p = np.asarray(p, dtype=np.float64)
    _stateful.hv_observe(state, p, p.shape[0], gain_scale)


# ----------------------------------------------------------------------------------------------------------------
# the hypervolume itself


@st.composite
def point_sets(draw):
    d = draw(st.integers(1, 3))
    n = draw(st.integers(0, 10))
    points = draw(arrays(np.float64, (n, d), elements=GRID))
    if n and draw(st.booleans()):
        points = np.vstack([points, points[: draw(st.integers(1, n))]])  # exact duplicates
    ref = draw(arrays(np.float64, (d,), elements=GRID))
    return points, ref


@settings(deadline=None, max_examples=300)
@given(point_sets())
def test_numba_hypervolume_equals_moocore(case):
    points, ref = case
    np.testing.assert_allclose(numba_hv(points, ref), dynamic.hypervolume(points, ref), **CLOSE)


@pytest.mark.parametrize("d", [1, 2, 3])
def test_numba_hypervolume_equals_moocore_on_continuous_fronts(d):
    rng = np.random.default_rng(d)
    for _ in range(200):
        n = rng.integers(1, 40)
        points = rng.normal(size=(n, d))
        ref = rng.normal(scale=0.5, size=d)
        np.testing.assert_allclose(numba_hv(points, ref), dynamic.hypervolume(points, ref), **CLOSE)


def test_hypervolume_hand_worked():
    # two boxes over the reference (0, 0): [0,2]x[0,1] and [0,1]x[0,3] overlap in [0,1]x[0,1]
    assert numba_hv([[2.0, 1.0], [1.0, 3.0]], [0.0, 0.0]) == 2.0 + 3.0 - 1.0
    # a point on the reference's boundary, a dominated point and a duplicate add nothing
    assert numba_hv([[2.0, 1.0], [1.0, 3.0], [5.0, 0.0], [0.5, 0.5], [2.0, 1.0]], [0.0, 0.0]) == 4.0
    assert numba_hv([[1.0, 1.0, 1.0], [2.0, 0.5, 0.5]], [0.0, 0.0, 0.0]) == 1.0 + 0.5 - 0.25
    assert numba_hv([[3.0], [1.0]], [0.5]) == 2.5
    assert numba_hv(np.empty((0, 2)), [0.0, 0.0]) == 0.0


# ----------------------------------------------------------------------------------------------------------------
# the meta-reward update


def test_first_observation_sets_buffer_and_reference():
    state = fresh_state(2)
    assert state[_stateful.R_PARETO] == 1.0 and np.isnan(state[_stateful.DELTA_HV])
    observe(state, [0.2, 0.3])
    np.testing.assert_array_equal(reference_of(state, 2), [0.2, 0.3])
    np.testing.assert_array_equal(buffer_of(state, 2), [[0.2, 0.3]])
    assert state[_stateful.R_PARETO] == 1.0 and np.isnan(state[_stateful.DELTA_HV])


def test_observation_sequence_by_hand():
    state = fresh_state(2)
    observe(state, [0.0, 0.0])
    observe(state, [1.0, 2.0])  # HV 0 -> 2
    assert state[_stateful.DELTA_HV] == 2.0
    assert state[_stateful.R_PARETO] == pytest.approx(0.5 + 1.5 * np.tanh(2.0), rel=1e-15)
    np.testing.assert_array_equal(buffer_of(state, 2), [[1.0, 2.0]])  # evicted the reference point it dominates

    observe(state, [0.5, 1.0])  # dominated: no gain, the minimum meta-reward, buffer unchanged
    assert state[_stateful.DELTA_HV] == 0.0 and state[_stateful.R_PARETO] == 0.5
    np.testing.assert_array_equal(buffer_of(state, 2), [[1.0, 2.0]])

    observe(state, [1.0, 2.0])  # equal to a buffer point: no gain
    assert state[_stateful.DELTA_HV] == 0.0 and state[_stateful.R_PARETO] == 0.5

    observe(state, [3.0, 0.5])  # non-dominated: adds [1, 3] x [0, 0.5]
    assert state[_stateful.DELTA_HV] == 1.0
    assert sorted(map(tuple, buffer_of(state, 2))) == [(1.0, 2.0), (3.0, 0.5)]

    observe(state, [3.0, 2.0])  # dominates both: HV 3 -> 6, the buffer collapses to it
    assert state[_stateful.DELTA_HV] == 3.0
    np.testing.assert_array_equal(buffer_of(state, 2), [[3.0, 2.0]])

    observe(state, [-1.0, 5.0])  # does not dominate the reference in objective 0: no gain
    assert state[_stateful.DELTA_HV] == 0.0 and state[_stateful.R_PARETO] == 0.5


@pytest.mark.parametrize("d", [1, 2, 3])
def test_random_walk_keeps_the_buffer_a_pareto_front_of_everything_seen(d):
    rng = np.random.default_rng(10 + d)
    state = fresh_state(d)
    start = rng.normal(size=d)
    observe(state, start)
    seen = [start]
    previous_hv = 0.0
    position = start.copy()
    for _ in range(60):
        position = position + rng.normal(scale=0.3, size=d) + 0.05
        seen.append(position.copy())
        observe(state, position)
        gain = state[_stateful.DELTA_HV]
        assert gain >= 0.0
        assert 0.5 <= state[_stateful.R_PARETO] < 2.0
        assert state[_stateful.R_PARETO] == pytest.approx(0.5 + 1.5 * np.tanh(gain), rel=1e-15)
        buffer = buffer_of(state, d)
        hv = dynamic.hypervolume(buffer, start)
        assert hv >= previous_hv - 1e-12
        np.testing.assert_allclose(hv - previous_hv, gain, rtol=1e-9, atol=1e-12)
        # nothing was lost: the buffer has the hypervolume of every performance seen so far
        np.testing.assert_allclose(hv, dynamic.hypervolume(np.array(seen), start), **CLOSE)
        for i in range(len(buffer)):  # mutually non-dominated
            for j in range(len(buffer)):
                assert i == j or not np.all(buffer[i] >= buffer[j])
        previous_hv = hv
    assert previous_hv > 0.0


def test_full_buffer_drops_its_least_contributor_and_never_loses_hypervolume():
    # a concave front: every new point is non-dominated and adds hypervolume; more points than the buffer holds
    state = fresh_state(2)
    observe(state, [0.0, 0.0])
    rng = np.random.default_rng(3)
    angles = rng.permutation(np.linspace(0.01, np.pi / 2 - 0.01, 3 * _stateful.HV_CAPACITY))
    previous_hv = 0.0
    for i, angle in enumerate(angles):
        observe(state, [np.cos(angle), np.sin(angle)])
        buffer = buffer_of(state, 2)
        assert len(buffer) == min(i + 1, _stateful.HV_CAPACITY)
        hv = numba_hv(buffer, [0.0, 0.0])
        assert hv >= previous_hv - 1e-15
        previous_hv = hv
    assert state[_stateful.HEADER] == _stateful.HV_CAPACITY
    # the archive rule: no swap of one kept point for one dropped point could have kept more hypervolume than
    # dropping the least contributor did, which here leaves the buffer close to the front's full hypervolume
    assert previous_hv > 0.995 * dynamic.hypervolume(np.column_stack([np.cos(angles), np.sin(angles)]), [0, 0])


@pytest.mark.parametrize("gain_scale", [0.1, 1.0, 50.0])
def test_gain_scale_multiplies_the_gain_inside_tanh(gain_scale):
    state = fresh_state(2)
    observe(state, [0.0, 0.0], gain_scale)
    observe(state, [0.1, 0.2], gain_scale)
    assert state[_stateful.DELTA_HV] == pytest.approx(0.02, rel=1e-14)
    assert state[_stateful.R_PARETO] == pytest.approx(0.5 + 1.5 * np.tanh(gain_scale * 0.02), rel=1e-14)


# ----------------------------------------------------------------------------------------------------------------
# the Python scheme object


def test_scheme_object_follows_the_kernel():
    rng = np.random.default_rng(5)
    scheme = get("hv-guided", gain_scale=3.0)
    state = fresh_state(2)
    for _ in range(20):
        p = rng.random(2)
        scheme.update(performance=p)
        observe(state, p, 3.0)
        np.testing.assert_array_equal(scheme.state, state)
        assert scheme.r_pareto == state[_stateful.R_PARETO]
    np.testing.assert_array_equal(scheme.pareto_buffer(), buffer_of(state, 2))
    np.testing.assert_array_equal(scheme.reference_point(), reference_of(state, 2))


def test_scheme_object_beyond_three_objectives_uses_moocore():
    rng = np.random.default_rng(6)
    scheme = get("hv-guided")
    start = rng.random(5)
    scheme.update(performance=start)
    seen = [start]
    for _ in range(15):
        p = start + rng.normal(scale=0.3, size=5) + 0.1
        before = dynamic.hypervolume(np.array(seen), start)
        seen.append(p)
        scheme.update(performance=p)
        gain = dynamic.hypervolume(np.array(seen), start) - before
        assert scheme.state[_stateful.DELTA_HV] == pytest.approx(gain, rel=1e-9, abs=1e-12)
        assert scheme.r_pareto == pytest.approx(0.5 + 1.5 * np.tanh(gain), rel=1e-9)
    np.testing.assert_allclose(dynamic.hypervolume(scheme.pareto_buffer(), start),
                               dynamic.hypervolume(np.array(seen), start), rtol=1e-12)


def test_scheme_object_beyond_three_objectives_full_buffer():
    # points on the positive part of the unit 4-sphere are mutually non-dominated
    rng = np.random.default_rng(7)
    scheme = get("hv-guided")
    scheme.update(performance=np.zeros(4))
    previous = 0.0
    for _ in range(_stateful.HV_CAPACITY + 10):
        p = np.abs(rng.normal(size=4))
        scheme.update(performance=p / np.linalg.norm(p))
        hv = dynamic.hypervolume(scheme.pareto_buffer(), np.zeros(4))
        assert hv >= previous - 1e-12
        previous = hv
    assert len(scheme.pareto_buffer()) == _stateful.HV_CAPACITY


def test_performance_measures_fewer_objectives_than_the_rewards():
    # spurious objectives have no held-out truth: three rewards, two measured objectives
    rewards = np.random.default_rng(8).normal(size=(3, 5, 3))
    scheme = get("hv-guided").reset(3)
    scheme.update(rewards=rewards)  # the host's call before the advantages: nothing to do for hv-guided
    scheme.update(performance=[0.0, 0.0])
    scheme.update(performance=[0.5, 0.5])
    assert scheme.r_pareto == pytest.approx(0.5 + 1.5 * np.tanh(0.25))
    np.testing.assert_allclose(scheme.compute(rewards).advantages,
                               scheme.r_pareto * mowsim.advantages(rewards, "rc"), **CLOSE)


def _scheme_with_r_pareto(apply_to, gain=0.3):
    scheme = get("hv-guided", apply_to=apply_to)
    scheme.update(performance=[0.0, 0.0])
    scheme.update(performance=[1.0, gain])
    assert scheme.r_pareto == pytest.approx(0.5 + 1.5 * np.tanh(gain))
    return scheme


@pytest.mark.parametrize("ddof", [0, 1])
def test_apply_to_advantage_scales_rc(ddof):
    rng = np.random.default_rng(9)
    rewards, weights = rng.normal(size=(4, 6, 2)), np.array([0.3, 0.9])
    scheme = _scheme_with_r_pareto("advantage")
    for eps in (0.0, 1e-4):
        for backend in mowsim.schemes.BACKENDS:
            out = scheme.compute(rewards, weights, ddof=ddof, eps=eps, backend=backend)
            rc = mowsim.schemes.get("rc").compute(rewards, weights, ddof=ddof, eps=eps)
            np.testing.assert_allclose(out.advantages, scheme.r_pareto * rc.advantages, **CLOSE)
            np.testing.assert_allclose(out.weights, rc.weights, **CLOSE)


@pytest.mark.parametrize("ddof", [0, 1])
def test_apply_to_reward_cancels_in_the_group_normalization(ddof):
    """Lu et al.'s code scales the scalarized reward: (c s - c mu) / (c sigma + eps) is RC with eps / c."""
    rng = np.random.default_rng(10)
    rewards, weights = rng.normal(size=(4, 6, 2)), np.array([0.3, 0.9])
    scheme = _scheme_with_r_pareto("reward")
    r = scheme.r_pareto
    for backend in mowsim.schemes.BACKENDS:
        exact = scheme.compute(rewards, weights, ddof=ddof, eps=0.0, backend=backend).advantages
        np.testing.assert_allclose(exact, mowsim.advantages(rewards, "rc", weights, ddof=ddof), **CLOSE)
        with_eps = scheme.compute(rewards, weights, ddof=ddof, eps=1e-2, backend=backend).advantages
        np.testing.assert_allclose(with_eps, mowsim.advantages(rewards, "rc", weights, ddof=ddof, eps=1e-2 / r),
                                   **CLOSE)
        assert not np.allclose(with_eps, mowsim.advantages(rewards, "rc", weights, ddof=ddof, eps=1e-2))
