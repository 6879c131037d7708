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


# --- the toy LM's token-level surrogate gradient ----------------------------------------------------------------


def _softmax(theta):
    z = np.exp(theta - theta.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


def _token_batch(rng, n_prompts=2, vocab=5, n_groups=4, group_size=3, max_len=4):
    """Random prompts, token sequences of lengths 0..max_len and advantages (one of them 0)."""
    prompts = rng.integers(0, n_prompts, size=n_groups)
    tokens = np.zeros((n_groups, group_size, max_len + 1), dtype=np.int64)
    n_tokens = rng.integers(0, max_len + 1, size=(n_groups, group_size))
    tokens[:, :, :max_len] = rng.integers(0, vocab, size=(n_groups, group_size, max_len))
    values = rng.normal(size=(n_groups, group_size))
    values[0, 0] = 0.0
    return prompts, tokens, n_tokens, values


def _surrogate(theta, prompts, tokens, n_tokens, values, scale, old=None, clip_eps=0.2, per_sequence=True):
    """The token-level GRPO objective, written directly: sum over responses of A / |o| (``per_sequence``, GRPO's
    seq-mean) or A (the token aggregations, whose normalizer is ``scale``) times, per token, log pi (on-policy) or
    PPO's min(r A, clip(r, 1 - eps, 1 + eps) A) / A with r = pi / pi_old."""
    probs = _softmax(theta)
    bos = theta.shape[1] - 1
    total = 0.0
    for b in range(values.shape[0]):
        for j in range(values.shape[1]):
            count, a = n_tokens[b, j], values[b, j]
            prev = bos
            for t in range(count):
                x = tokens[b, j, t]
                pi = probs[prompts[b], prev, x]
                per_token = count if per_sequence else 1
                if old is None:
                    total += a / per_token * np.log(pi)
                else:
                    ratio = pi / old[b, j, t]
                    total += min(ratio * a, np.clip(ratio, 1 - clip_eps, 1 + clip_eps) * a) / per_token
                prev = x
    return scale * total


def _finite_difference(fn, theta, h=1e-6):
    grad = np.zeros_like(theta)
    for idx in np.ndindex(theta.shape):
        up, down = theta.copy(), theta.copy()
        up[idx] += h
        down[idx] -= h
        grad[idx] = (fn(up) - fn(down)) / (2 * h)
    return grad


@pytest.mark.parametrize("aggregation", ["seq-mean", "token-mean", "token-sum"])
@pytest.mark.parametrize("ppo", [False, True], ids=["on-policy", "ppo-clipped"])
def test_sequence_gradient_is_the_surrogate_gradient(ppo, aggregation):
    from mowsim.envs import sequence

    rng = np.random.default_rng(SEED)
    n_prompts, vocab, max_len = 2, 5, 4
    theta_old = rng.normal(size=(n_prompts, vocab + 1, vocab))
    prompts, tokens, n_tokens, values = _token_batch(rng, n_prompts, vocab, max_len=max_len)
    per_sequence = aggregation == "seq-mean"
    if per_sequence:
        scale = 1.0 / values.size
    else:
        code = sequence.LOSS_AGGREGATIONS.index(aggregation)
        scale = sequence._token_scale(n_tokens, code, max_len)
        assert scale == (1.0 / n_tokens.sum() if aggregation == "token-mean" else 1.0 / (values.size * max_len))
    old = None
    theta = theta_old
    if ppo:
        # old probabilities of the sampled tokens, then a policy that has moved far enough to clip some of them
        probs_old = _softmax(theta_old)
        old = np.ones(tokens.shape)
        for b, j in np.ndindex(values.shape):
            prev = vocab
            for t in range(n_tokens[b, j]):
                old[b, j, t] = probs_old[prompts[b], prev, tokens[b, j, t]]
                prev = tokens[b, j, t]
        theta = theta_old + 0.6 * rng.normal(size=theta_old.shape)
    probs = np.ascontiguousarray(_softmax(theta))
    grads = np.zeros((2, theta.size))
    ratio_ref = old if ppo else np.empty((0, 0, 0))
    sequence._accumulate(vocab + 1, probs, prompts, tokens, n_tokens, values, scale, grads, 1, ratio_ref, 0.2,
                         per_sequence)
    expected = _finite_difference(
        lambda th: _surrogate(th, prompts, tokens, n_tokens, values, scale, old, per_sequence=per_sequence), theta)
    np.testing.assert_allclose(grads[1].reshape(theta.shape), expected, rtol=1e-6, atol=1e-8)
    np.testing.assert_array_equal(grads[0], 0.0)  # only the named channel moves
    if ppo:  # the clipped branch must have been exercised, or the test checks nothing about it
        ratios = [_softmax(theta)[prompts[b], ([vocab] + list(tokens[b, j]))[t], tokens[b, j, t]] / old[b, j, t]
                  for b, j in np.ndindex(values.shape) for t in range(n_tokens[b, j])]
        assert min(ratios) < 0.8 and max(ratios) > 1.2
