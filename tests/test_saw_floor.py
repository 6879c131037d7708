"""SAW's per-objective minimum weight (mowsim's own addition; the paper has none, and its reading note lists that as
a limitation): ``w'_k <- m + (1 - K m) w'_k``.

Held here: the formula itself, the three backends (and the PyTorch contestant) agreeing with it, the floor
reaching the compiled training loops, and the errors for a floor the objectives cannot carry.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mowsim
from mowsim.envs import Bandit
from mowsim.schemes import reference

SAW = ("saw-grpo", "saw-gdpo")


def _batch(seed, n_groups=6, n_rollouts=8, n_objectives=4, nan_fraction=0.0):
    rng = np.random.default_rng(seed)
    rewards = rng.random((n_groups, n_rollouts, n_objectives))
    rewards[..., 0] = rewards[..., 0] < 0.5  # one binary objective
    rewards[..., 1] = rewards[..., 1] > 0.03  # one nearly saturated binary objective: a small CV
    if nan_fraction:
        rewards[rng.random(rewards.shape) < nan_fraction] = np.nan
    return rewards


def test_floor_is_a_mixture_with_uniform_weights():
    rewards = _batch(0)
    plain = reference.saw_cv_weights(rewards, 1, None, 1e-8)
    for m in (0.0, 0.05, 0.1, 0.25):
        floored = reference.saw_cv_weights(rewards, 1, None, 1e-8, min_weight=m)
        np.testing.assert_allclose(floored, m + (1 - 4 * m) * plain, rtol=0, atol=1e-15)
        assert floored.sum() == pytest.approx(1.0, abs=1e-15)
        assert floored.min() >= m - 1e-15
    # the saturated objective's weight is the one the floor lifts
    assert plain[1] < 0.1
    assert reference.saw_cv_weights(rewards, 1, None, 1e-8, min_weight=0.1)[1] >= 0.1
    np.testing.assert_allclose(reference.saw_cv_weights(rewards, 1, None, 1e-8, min_weight=0.25), 0.25, atol=1e-15)


@pytest.mark.parametrize("name", SAW)
@pytest.mark.parametrize("min_weight", [0.0, 0.05, 0.2, 0.25])
@pytest.mark.parametrize("nan_fraction", [0.0, 0.15])
@pytest.mark.parametrize("ddof, eps", [(0, 0.0), (1, 1e-4)])
def test_backends_agree_with_a_floor(name, min_weight, nan_fraction, ddof, eps):
    rewards = _batch(1, nan_fraction=nan_fraction)
    scheme = mowsim.schemes.get(name, min_weight=min_weight)
    weights = np.array([0.4, 0.3, 0.2, 0.1])
    outputs = {b: scheme.compute(rewards, weights, ddof=ddof, eps=eps, backend=b) for b in mowsim.schemes.BACKENDS}
    for backend in ("numba", "python"):
        np.testing.assert_allclose(outputs[backend].advantages, outputs["numpy"].advantages, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(outputs[backend].weights, outputs["numpy"].weights, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", SAW)
def test_floor_changes_the_advantages(name):
    rewards = _batch(2)
    plain = mowsim.advantages(rewards, name)
    floored = mowsim.advantages(rewards, mowsim.schemes.get(name, min_weight=0.2))
    assert np.abs(plain - floored).max() > 1e-3


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n_objectives=st.integers(1, 6), share=st.floats(0.0, 1.0),
       ddof=st.sampled_from([0, 1]))
def test_effective_weights_respect_the_floor(seed, n_objectives, share, ddof):
    """With equal user weights SAW's effective weight of objective k is its floored CV weight: never below m."""
    min_weight = share / n_objectives
    rewards = _batch(seed, n_objectives=max(n_objectives, 2))[..., :n_objectives]
    for name in SAW:
        eff = mowsim.effective_weights(rewards, mowsim.schemes.get(name, min_weight=min_weight), ddof=ddof)
        assert np.all(eff >= min_weight - 1e-12)
        np.testing.assert_allclose(eff.sum(axis=1), 1.0, atol=1e-12)


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan"), float("inf"), "0.1", True])
def test_invalid_floor_is_refused_at_construction(bad):
    with pytest.raises(ValueError, match="min_weight"):
        mowsim.schemes.get("saw-grpo", min_weight=bad)


@pytest.mark.parametrize("name", SAW)
def test_floor_above_one_over_k_is_refused(name):
    scheme = mowsim.schemes.get(name, min_weight=0.3)
    with pytest.raises(ValueError, match=r"1/K = 0\.25.*min_weight <= 1/4"):
        scheme.compute(_batch(3))
    with pytest.raises(ValueError, match="min_weight"):
        mowsim.train(Bandit(n_arms=8, n_objectives=4), scheme, steps=2, group_size=4, n_groups=2)
    # K = 3 carries it
    scheme.compute(_batch(3)[..., :3])


def test_floor_reaches_the_training_loop():
    """In training, a floored SAW never gives an objective less than m; without the floor it does."""
    env = Bandit(n_arms=16, n_objectives=3, correlation=0.5, noise_sd=0.0)
    common = dict(steps=40, group_size=8, n_groups=8, lr=1.0, seeds=[0, 1])
    plain = mowsim.train_many(env, "saw-grpo", **common).history
    floored = mowsim.train_many(env, mowsim.schemes.get("saw-grpo", min_weight=0.2), **common).history
    plain_w = plain["effective_weight"].dropna()
    floored_w = floored["effective_weight"].dropna()
    assert floored_w.min() >= 0.2 - 1e-12
    assert plain_w.min() < 0.2
    assert not np.allclose(plain["expected_reward"], floored["expected_reward"])


def test_torch_contestant_has_the_floor():
    torch_reference = pytest.importorskip("mowsim.bench.torch_reference", reason="PyTorch is not installed")
    rewards = _batch(4)
    for name in SAW:
        scheme = mowsim.schemes.get(name, min_weight=0.15)
        expected = scheme.compute(rewards, ddof=1, eps=1e-4).advantages
        got = torch_reference.advantages(rewards, name, ddof=1, eps=1e-4, min_weight=0.15).numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)
