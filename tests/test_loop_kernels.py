"""The compiled pieces every training loop shares (mowsim.envs._loop), against the NumPy reference.

The loops' per-objective z-scores feed the per-objective gradients g_k (the conflict diagnostics and the feedback of
the gradient-level schemes) and the zero-variance shares in the history; they have their own fast path, so they are
held to :func:`mowsim.schemes.reference.objective_stats` on every edge case the scheme kernels are held to.
"""

from __future__ import annotations

import numpy as np
import pytest

from mowsim.envs import _loop
from mowsim.schemes import reference

from conftest import EDGE_CASES, SEED, random_rewards


def _loop_zscores(rewards, ddof, eps, jit=True):
    fn = _loop.objective_zscores if jit else _loop.objective_zscores.py_func
    n_groups, n_rollouts, n_objectives = rewards.shape
    zscores = np.full((n_groups, n_rollouts, n_objectives), 123.0)  # every entry must be written
    step_row = np.full(len(_loop.STEP_COLUMNS), np.nan)
    objective_rows = np.full((n_objectives, len(_loop.OBJECTIVE_COLUMNS)), np.nan)
    fn(np.ascontiguousarray(rewards), ddof, eps, zscores, step_row, objective_rows)
    return zscores, step_row[_loop.ZERO_GROUPS], objective_rows[:, _loop.ZERO_SHARE]


def _cases():
    rng = np.random.default_rng(SEED)
    cases = {name: rewards for name, (rewards, _) in EDGE_CASES.items()}
    nan_late = random_rewards(rng, (6, 8, 4))
    nan_late[2, 3, 3] = np.nan  # a NaN in the last objective: the fast path has already done objectives 0-2
    nan_late[4, :, 0] = 0.5  # a constant objective before a NaN one: counted once, not twice
    nan_late[4, 5, 2] = np.nan
    cases["nan_after_clean_objectives"] = nan_late
    two = random_rewards(rng, (16, 2, 3), binary=True)
    cases["pairs_binary"] = two
    return cases


CASES = _cases()


@pytest.mark.parametrize("jit", [True, False], ids=["numba", "py_func"])
@pytest.mark.parametrize("ddof, eps", [(0, 0.0), (1, 1e-4), (0, 0.5)])
@pytest.mark.parametrize("name", sorted(CASES))
def test_objective_zscores_match_reference(name, ddof, eps, jit):
    rewards = CASES[name]
    zscores, zero_groups, zero_share = _loop_zscores(rewards, ddof, eps, jit)
    _, std, _, expected = reference.objective_stats(rewards, ddof, eps)
    scorable = ~np.all(np.isnan(rewards), axis=2)
    expected = np.where((scorable.sum(axis=1) >= 2)[:, None, None], expected, 0.0)
    np.testing.assert_allclose(zscores, expected, rtol=1e-12, atol=1e-14)
    assert np.all(np.isfinite(zscores))
    constant = std == 0.0
    np.testing.assert_allclose(zero_share, constant.mean(axis=0), rtol=1e-12, atol=0)
    assert zero_groups == pytest.approx(np.all(constant, axis=1).mean(), abs=1e-15)


def test_objective_zscores_hand_worked():
    # one group of 4 rollouts: objective 0 is 1, 0, 1, 0 (mean 1/2, population std 1/2), objective 1 is constant
    rewards = np.array([[[1.0, 3.0], [0.0, 3.0], [1.0, 3.0], [0.0, 3.0]]])
    zscores, zero_groups, zero_share = _loop_zscores(rewards, 0, 0.0)
    np.testing.assert_array_equal(zscores[0, :, 0], [1.0, -1.0, 1.0, -1.0])
    np.testing.assert_array_equal(zscores[0, :, 1], 0.0)
    np.testing.assert_array_equal(zero_share, [0.0, 1.0])
    assert zero_groups == 0.0
