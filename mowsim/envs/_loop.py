"""Compiled pieces every training loop shares: the scheme call, the per-step diagnostics, gradient geometry.

Row ``t`` of a run's history describes the policy after ``t`` updates. Its expected rewards and entropy are exact;
its batch diagnostics (advantage magnitudes, zero-variance share, gradients, effective weights) describe the batch
drawn from that policy for update ``t + 1``, so the last row (``t == steps``) has NaN batch diagnostics.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from mowsim.schemes import _kernels

# Columns of the per-step diagnostics array, in order.
STEP_COLUMNS = (
    "max_abs_advantage",
    "mean_sq_advantage",
    "zero_variance_groups",
    "grad_norm",
    "entropy",
    "grad_cosine_mean",
    "grad_cosine_min",
)
MAX_ABS, MEAN_SQ, ZERO_GROUPS, GRAD_NORM, ENTROPY, COS_MEAN, COS_MIN = range(len(STEP_COLUMNS))

# Columns of the per-(step, objective) array, in order.
OBJECTIVE_COLUMNS = ("expected_reward", "effective_weight", "zero_variance_share")
EXPECTED, EFFECTIVE, ZERO_SHARE = range(len(OBJECTIVE_COLUMNS))


@njit(cache=True)
def apply_scheme(scheme_id, rewards, weights, ddof, eps, delta, advantages, effective):
    """Advantages (B, G) and effective weights (B, K) of a stateless scheme on one batch (serial kernel)."""
    no_min = np.zeros(rewards.shape[2])
    _kernels.compute_serial(scheme_id, rewards, weights, ddof, eps, no_min, False, delta, advantages, effective)


@njit(cache=True)
def batch_diagnostics(rewards, advantages, effective, ddof, eps, zscores, step_row, objective_rows):
    """Fill the batch columns of one history row and the per-objective z-scores (B, G, K) used for g_k.

    ``zscores[b, j, k]`` is objective k's own group z-score (the advantage of the reward-k-alone surrogate) with
    the run's ``ddof``/``eps``; masked and constant entries are 0, as in the scheme kernels.
    """
    n_groups, n_rollouts, n_objectives = rewards.shape
    mean = np.empty(n_objectives)
    std = np.empty(n_objectives)
    mask = np.empty((n_groups, n_rollouts), dtype=np.uint8)
    max_abs = 0.0
    sum_sq = 0.0
    zero_groups = 0
    for k in range(n_objectives):
        objective_rows[k, EFFECTIVE] = 0.0
        objective_rows[k, ZERO_SHARE] = 0.0
    for b in range(n_groups):
        _kernels._group_mask(rewards, b, mask)
        _kernels._objective_moments(rewards, b, ddof, mean, std)
        all_constant = True
        for k in range(n_objectives):
            objective_rows[k, EFFECTIVE] += effective[b, k] / n_groups
            if std[k] > 0.0:
                all_constant = False
            else:
                objective_rows[k, ZERO_SHARE] += 1.0 / n_groups
        if all_constant:
            zero_groups += 1
        for j in range(n_rollouts):
            a = advantages[b, j]
            max_abs = max(max_abs, abs(a))
            sum_sq += a * a
            for k in range(n_objectives):
                x = rewards[b, j, k]
                if mask[b, j] and not np.isnan(x):
                    zscores[b, j, k] = _kernels._zscore(x - mean[k], std[k], eps)
                else:
                    zscores[b, j, k] = 0.0
    step_row[MAX_ABS] = max_abs
    step_row[MEAN_SQ] = sum_sq / (n_groups * n_rollouts)
    step_row[ZERO_GROUPS] = zero_groups / n_groups


@njit(cache=True)
def gradient_geometry(grads, step_row):
    """grads (1 + K, P): row 0 is the update's gradient, rows 1..K the per-objective gradients g_k.

    Records ``||g||`` and the mean and min pairwise cosine between the g_k (pairs with a zero gradient are left
    out; NaN when no pair remains, e.g. K = 1). A negative cosine is a conflict between objectives.
    """
    n_channels, n_params = grads.shape
    norms = np.empty(n_channels)
    for c in range(n_channels):
        total = 0.0
        for i in range(n_params):
            total += grads[c, i] * grads[c, i]
        norms[c] = np.sqrt(total)
    step_row[GRAD_NORM] = norms[0]
    count = 0
    total_cos = 0.0
    min_cos = np.inf
    for k in range(1, n_channels):
        for m in range(k + 1, n_channels):
            if norms[k] > 0.0 and norms[m] > 0.0:
                dot = 0.0
                for i in range(n_params):
                    dot += grads[k, i] * grads[m, i]
                cos = dot / (norms[k] * norms[m])
                total_cos += cos
                min_cos = min(min_cos, cos)
                count += 1
    if count > 0:
        step_row[COS_MEAN] = total_cos / count
        step_row[COS_MIN] = min_cos
    else:
        step_row[COS_MEAN] = np.nan
        step_row[COS_MIN] = np.nan


@njit(cache=True)
def softmax_row(logits, out):
    """Numerically stable softmax of a 1-D array into ``out``; returns the entropy."""
    top = -np.inf
    for i in range(logits.shape[0]):
        top = max(top, logits[i])
    total = 0.0
    for i in range(logits.shape[0]):
        out[i] = np.exp(logits[i] - top)
        total += out[i]
    entropy = 0.0
    for i in range(logits.shape[0]):
        out[i] /= total
        if out[i] > 0.0:
            entropy -= out[i] * np.log(out[i])
    return entropy


@njit(cache=True)
def sample_categorical(state_uniform, probs):
    """Index drawn from ``probs`` by inverse CDF with a linear scan (the arrays here are short)."""
    u = state_uniform
    cumulative = 0.0
    last = probs.shape[0] - 1
    for i in range(last):
        cumulative += probs[i]
        if u < cumulative:
            return i
    return last
