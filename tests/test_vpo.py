"""VPO, random-weight GRPO and rubric gates: hand-worked values, kernel vs reference, reductions, determinism, errors,
and hypothesis properties (finite, bounded by Samuelson's inequality)."""

from __future__ import annotations

from math import sqrt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import mowsim
from mowsim.schemes import _set_kernels, get, reference
from mowsim.schemes.gated import gated_reference
from mowsim.schemes.vpo import dirichlet_draws, random_weight_reference, vpo_reference

EXACT = {"rtol": 1e-12, "atol": 1e-13}


# ---------------------------------------------------------------- VPO


def test_vpo_hand_worked_complementary_set_beats_duplicates():
    # Two rollouts of m = 2 answers, K = 2, equal user weights (K w_k = 1), two fixed scalarizations.
    # Complementary {(1,0), (0,1)}: lambda=(0.8,0.2) -> max(0.8, 0.2) = 0.8; lambda=(0.2,0.8) -> max(0.2, 0.8) = 0.8.
    # Duplicated    {(1,0), (1,0)}: 0.8 and 0.2.  raw = (0.8, 0.5); mean 0.65, population std 0.15 -> A = (+1, -1).
    sets = np.array([[[[1.0, 0.0], [0.0, 1.0]], [[1.0, 0.0], [1.0, 0.0]]]])
    draws = np.array([[[0.8, 0.2], [0.2, 0.8]]])
    weights = np.array([0.5, 0.5])
    raw = np.empty((1, 2))
    effective = np.empty((1, 2))
    _set_kernels.vpo_raw(sets, draws, 2 * weights, raw, effective)
    np.testing.assert_allclose(raw, [[0.8, 0.5]], **EXACT)
    np.testing.assert_allclose(effective, [[0.5, 0.5]], **EXACT)
    advantages, _ = vpo_reference(sets, draws, weights)
    np.testing.assert_allclose(advantages, [[1.0, -1.0]], **EXACT)
    out = np.empty((1, 2))
    _set_kernels.vpo_advantages(sets, draws, 2 * weights, 0, 0.0, out, effective)
    np.testing.assert_allclose(out, [[1.0, -1.0]], **EXACT)
    assert out[0, 0] > out[0, 1]


@pytest.mark.parametrize("ddof", [0, 1])
@pytest.mark.parametrize("eps", [0.0, 1e-6])
def test_vpo_kernel_equals_reference_for_the_same_draws(ddof, eps):
    rng = np.random.default_rng(3)
    sets = rng.random((6, 5, 3, 3))
    sets[rng.random(sets.shape) < 0.1] = np.nan
    sets[0, 1] = np.nan  # an unscorable rollout
    sets[1, :, 2] = np.nan  # an unscorable answer in every rollout
    sets[2, 1:] = np.nan  # one scorable rollout: zeros
    weights = np.array([0.2, 0.3, 0.5])
    draws = dirichlet_draws(11, 6, 40, 3, alpha=0.7)
    expected, expected_eff = vpo_reference(sets, draws, weights, ddof, eps)
    for kernel in (_set_kernels.vpo_advantages, _set_kernels.vpo_advantages.py_func):
        out = np.empty((6, 5))
        eff = np.empty((6, 3))
        kernel(sets, draws, 3 * weights, ddof, eps, out, eff)
        np.testing.assert_allclose(out, expected, **EXACT)
        np.testing.assert_allclose(eff, expected_eff, **EXACT)
    assert np.all(expected[0, 1] == 0.0) and np.all(expected[2] == 0.0)
    # the public entry point, every backend, with its own draws
    results = [get("vpo", samples=40, alpha=0.7, seed=11).compute(sets, weights, ddof=ddof, eps=eps, backend=b)
               for b in mowsim.schemes.BACKENDS]
    for other in results[1:]:
        np.testing.assert_allclose(other.advantages, results[0].advantages, **EXACT)
    np.testing.assert_allclose(results[0].advantages, expected, **EXACT)


def test_vpo_with_one_answer_is_rc_on_the_mean_draw_exactly():
    # m = 1: max over one answer is the answer, so raw = (mean_d lambda_d * K w) . r -- RC with those weights.
    rng = np.random.default_rng(5)
    rewards = rng.random((4, 8, 3))
    weights = np.array([0.5, 0.25, 0.25])
    advantages = get("vpo", samples=7, seed=2).compute(rewards, weights).advantages
    draws = dirichlet_draws(2, 4, 7, 3)
    for b in range(4):
        expected, _ = reference.rc(rewards[b:b + 1], draws[b].mean(axis=0) * 3 * weights)
        np.testing.assert_allclose(advantages[b], expected[0], **EXACT)


def test_vpo_with_one_answer_and_alpha_one_is_grpo_on_the_mean_reward_plus_monte_carlo_noise():
    rng = np.random.default_rng(8)
    rewards = rng.random((20, 16, 2))
    rc = mowsim.advantages(rewards, "rc")
    gaps = []
    for samples in (10, 100, 10_000):
        vpo = get("vpo", samples=samples, alpha=1.0, seed=1).compute(rewards).advantages
        gaps.append(np.abs(vpo - rc).max())
    assert gaps[2] < 0.05 and gaps[2] < gaps[1] < gaps[0]
    # a set of identical answers scores like one answer
    sets = np.repeat(rewards[:, :, None, :], 3, axis=2)
    np.testing.assert_allclose(get("vpo", seed=4).compute(sets).advantages,
                               get("vpo", seed=4).compute(rewards).advantages, **EXACT)


def test_vpo_and_random_weight_are_deterministic_under_the_seed():
    rng = np.random.default_rng(1)
    rewards = rng.random((3, 6, 2))
    for name in ("vpo", "random-weight"):
        first = mowsim.advantages(rewards, get(name, seed=9))
        np.testing.assert_array_equal(first, mowsim.advantages(rewards, get(name, seed=9)))
        assert not np.array_equal(first, mowsim.advantages(rewards, get(name, seed=10)))
        scheme = get(name, seed=9)
        again = [scheme.compute(rewards).advantages for _ in range(2)]
        np.testing.assert_array_equal(again[0], first)
        assert not np.array_equal(again[1], first)  # a kept instance draws afresh per batch
        np.testing.assert_array_equal(scheme.reset().compute(rewards).advantages, first)


def test_random_weight_uses_vpo_s_first_draw_of_each_group():
    rng = np.random.default_rng(2)
    rewards = rng.random((5, 6, 3))
    weights = np.array([0.2, 0.3, 0.5])
    draws = dirichlet_draws(3, 5, 50, 3)
    np.testing.assert_array_equal(draws[:, :1], dirichlet_draws(3, 5, 1, 3))  # draw-major: common random numbers
    got = get("random-weight", seed=3).compute(rewards, weights)
    expected, eff = random_weight_reference(rewards, draws, weights)
    np.testing.assert_allclose(got.advantages, expected, **EXACT)
    np.testing.assert_allclose(got.weights, eff, **EXACT)
    for b in range(5):
        rc, _ = reference.rc(rewards[b:b + 1], draws[b, 0] * weights)
        np.testing.assert_allclose(got.advantages[b], rc[0], **EXACT)


def test_dirichlet_draws_lie_on_the_simplex_with_the_right_mean_and_spread():
    for alpha in (0.3, 1.0, 4.0):
        draws = dirichlet_draws(0, 200, 100, 3, alpha=alpha).reshape(-1, 3)
        np.testing.assert_allclose(draws.sum(axis=1), 1.0, rtol=1e-12)
        assert np.all(draws >= 0)
        np.testing.assert_allclose(draws.mean(axis=0), 1 / 3, atol=0.01)
        var = (1 / 3) * (2 / 3) / (3 * alpha + 1)  # Var of a Dirichlet(alpha 1_3) coordinate
        np.testing.assert_allclose(draws.var(axis=0), var, rtol=0.05)


@pytest.mark.parametrize("bad, match", [
    ({"alpha": -1.0}, "alpha"), ({"alpha": 0.0}, "alpha"), ({"alpha": float("nan")}, "alpha"),
    ({"samples": 0}, "samples"), ({"samples": 2.5}, "samples"), ({"seed": -1}, "seed"),
])
def test_vpo_rejects_bad_parameters(bad, match):
    with pytest.raises(ValueError, match=match):
        get("vpo", **bad)


def test_vpo_rejects_bad_set_rewards():
    with pytest.raises(ValueError, match="inf"):
        mowsim.advantages(np.full((1, 2, 2, 2), np.inf), "vpo")
    with pytest.raises(ValueError, match="expected"):
        get("vpo").compute(np.zeros((1, 2, 0, 2)))
    with pytest.raises(ValueError, match="weights"):
        mowsim.advantages(np.zeros((1, 2, 3, 2)), "vpo", weights=[1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="backend"):
        get("vpo").compute(np.zeros((1, 2, 3, 2)), backend="torch")


# ---------------------------------------------------------------- gated


def test_gate_failures_get_zero_and_do_not_move_the_passing_rollouts():
    rng = np.random.default_rng(4)
    rewards = rng.random((3, 8, 3))
    rewards[..., 0] = (rng.random((3, 8)) < 0.6).astype(float)  # objective 0: a 0/1 rubric
    rewards[2, :, 0] = 0.0  # group 2: nobody passes
    for inner in ("rc", "ac", "dvao"):
        scheme = get("gated", gates=(0,), thresholds=(1.0,), inner=inner)
        out = scheme.compute(rewards, [0.2, 0.3, 0.5])
        failing = rewards[..., 0] < 1.0
        assert np.all(out.advantages[failing] == 0.0)
        assert np.all(out.advantages[2] == 0.0)
        for b in range(2):
            passing = rewards[b, ~failing[b]][:, 1:]
            alone = mowsim.advantages(passing[None], inner, [0.3, 0.5])
            np.testing.assert_allclose(out.advantages[b, ~failing[b]], alone[0], **EXACT)
        np.testing.assert_allclose(out.weights[:, 0], 0.0)
        for backend in ("numpy", "python"):
            np.testing.assert_allclose(scheme.compute(rewards, [0.2, 0.3, 0.5], backend=backend).advantages,
                                       out.advantages, **EXACT)


def test_gate_by_name_nan_fails_and_variance_filter_drops_flat_groups():
    rewards = np.array([[[1.0, 0.9], [1.0, 0.1], [np.nan, 0.8], [0.0, 0.7]],
                        [[1.0, 0.5], [1.0, 0.5 + 1e-3], [1.0, 0.5], [0.0, 0.9]]])
    names = ("format", "accuracy")
    scheme = get("gated", gates=("format",), thresholds=1.0, objective_names=names)
    out = scheme.compute(rewards)
    np.testing.assert_allclose(out[0][0], [1.0, -1.0, 0.0, 0.0], **EXACT)  # NaN gate fails
    assert np.all(out.advantages[1, :3] != 0.0) and out.advantages[1, 3] == 0.0
    filtered = get("gated", gates=("format",), thresholds=1.0, objective_names=names, min_spread=0.01)
    out = filtered.compute(rewards)
    assert np.all(out.advantages[1] == 0.0)  # passing spread 5e-4 < 0.01: the group is dropped
    np.testing.assert_allclose(out.advantages[0], [1.0, -1.0, 0.0, 0.0], **EXACT)
    for backend in ("numpy", "python"):
        np.testing.assert_array_equal(filtered.compute(rewards, backend=backend).advantages, out.advantages)
    # the GDPO inner's batch statistics leave the dropped rollouts out as well
    gdpo = get("gated", gates=(0,), thresholds=1.0, inner="gdpo").compute(rewards).advantages
    passing = ~(rewards[..., 0] >= 1.0)
    expected = reference.gdpo(np.where(passing[..., None], np.nan, rewards[..., 1:]), np.array([0.5]))[0]
    np.testing.assert_allclose(gdpo, expected, **EXACT)


@pytest.mark.parametrize("params, match", [
    ({"gates": ("format",), "thresholds": 1.0}, "objective_names"),
    ({"gates": ("fromat",), "thresholds": 1.0, "objective_names": ("format", "accuracy")}, "unknown gate name"),
    ({"gates": (0,), "thresholds": (float("nan"),)}, "thresholds"),
    ({"gates": (0, 1), "thresholds": (0.5, 0.5, 0.5)}, "one threshold per gate"),
    ({"gates": (5,), "thresholds": 0.5}, "out of range"),
    ({"gates": (0, 1), "thresholds": 0.5}, "every one of the 2 objectives"),
    ({"gates": (0, 0), "thresholds": 0.5}, "twice"),
    ({"gates": (-1,), "thresholds": 0.5}, "indices"),
    ({"inner": "vpo"}, "inner"),
    ({"min_spread": -0.1}, "min_spread"),
])
def test_gated_rejects_bad_configurations(params, match):
    with pytest.raises(ValueError, match=match):
        get("gated", **params).compute(np.zeros((1, 3, 2)))


def test_gated_without_gates_is_its_inner_scheme():
    rng = np.random.default_rng(6)
    rewards = rng.random((4, 6, 3))
    for inner in ("dvao", "saw-gdpo"):
        np.testing.assert_allclose(get("gated", inner=inner).compute(rewards).advantages,
                                   mowsim.advantages(rewards, inner), **EXACT)


# ---------------------------------------------------------------- properties

NEW_SCHEMES = [("vpo", {}), ("vpo", {"samples": 5, "alpha": 0.5}), ("random-weight", {}),
               ("gated", {"gates": (0,), "thresholds": 0.0}), ("gated", {"gates": (1,), "thresholds": 0.2,
                                                                     "inner": "dvao"})]


@st.composite
def reward_batches(draw):
    n_groups = draw(st.integers(1, 4))
    n_rollouts = draw(st.integers(1, 9))
    n_answers = draw(st.integers(1, 3))
    values = st.one_of(st.floats(-1e3, 1e3, allow_nan=False), st.just(np.nan), st.sampled_from([0.0, 1.0]))
    return draw(hnp.arrays(np.float64, (n_groups, n_rollouts, n_answers, 3), elements=values))


@pytest.mark.parametrize("name, params", NEW_SCHEMES)
@settings(max_examples=60, deadline=None)
@given(sets=reward_batches(), ddof=st.sampled_from([0, 1]), eps=st.sampled_from([0.0, 1e-4]))
def test_advantages_are_finite_and_within_samuelson_s_bound(name, params, sets, ddof, eps):
    rewards = sets if name == "vpo" else sets[:, :, 0, :]
    out = get(name, **params).compute(rewards, ddof=ddof, eps=eps)
    assert np.all(np.isfinite(out.advantages)) and np.all(np.isfinite(out.weights))
    n = rewards.shape[1]
    # z-scores of at most G values: |A| <= sqrt(G - 1) (population std), (G - 1) / sqrt(G) (unbiased std)
    bound = sqrt(n - 1) if ddof == 0 else (n - 1) / sqrt(n)
    assert np.all(np.abs(out.advantages) <= bound * (1 + 1e-9) + 1e-12)
    np.testing.assert_allclose(out.weights.sum(axis=-1), 1.0, rtol=1e-9)
    reference_out = get(name, **params).compute(rewards, ddof=ddof, eps=eps, backend="numpy")
    np.testing.assert_allclose(reference_out.advantages, out.advantages, rtol=1e-9, atol=1e-9)
