"""Compiled pieces every training loop shares: the scheme call, the per-step diagnostics, gradient geometry.

Row ``t`` of a run's history describes the policy after ``t`` updates. Its expected rewards and entropy are exact;
its batch diagnostics (advantage magnitudes, zero-variance share, gradients, effective weights) describe the batch
drawn from that policy for update ``t + 1``, so the last row (``t == steps``) has NaN batch diagnostics.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from mowsim.schemes import _kernels, _normalization_kernels, _stateful

# Columns of the per-step diagnostics array, in order.
STEP_COLUMNS = (
    "max_abs_advantage",
    "mean_sq_advantage",
    "zero_variance_groups",
    "grad_norm",
    "entropy",
    "grad_cosine_mean",
    "grad_cosine_min",
    "r_pareto",
    "delta_hv",
)
MAX_ABS, MEAN_SQ, ZERO_GROUPS, GRAD_NORM, ENTROPY, COS_MEAN, COS_MIN, R_PARETO, DELTA_HV = range(len(STEP_COLUMNS))

# Columns of the per-(step, objective) array, in order.
OBJECTIVE_COLUMNS = ("expected_reward", "effective_weight", "zero_variance_share")
EXPECTED, EFFECTIVE, ZERO_SHARE = range(len(OBJECTIVE_COLUMNS))


@njit(cache=True)
def scheme_advantages(scheme_id, state, params, rewards, weights, ddof, eps, saw, advantages, effective,
                      normalization):
    """Advantages (B, G) and effective weights (B, K) of any registered scheme on one batch (serial kernels).

    ``normalization`` is the id of :data:`mowsim.schemes.normalization.NORMALIZATIONS` (0 = "group", the scheme's
    own kernel; the others go to :func:`mowsim.schemes._normalization_kernels.compute_scoped`, for the stateless
    schemes only, as :func:`mowsim.train` checks).
    """
    if scheme_id >= _stateful.HV_GUIDED:
        _stateful.advantages(scheme_id, state, params, rewards, weights, ddof, eps, advantages, effective)
    elif normalization == _normalization_kernels.GROUP:
        no_min = np.zeros(rewards.shape[2])
        _kernels.compute_serial(scheme_id, rewards, weights, ddof, eps, no_min, False, saw, advantages, effective)
    else:
        no_min = np.zeros(rewards.shape[2])
        _normalization_kernels.compute_scoped(scheme_id, normalization, rewards, weights, ddof, eps, no_min, False,
                                              saw, advantages, effective)


@njit(cache=True)
def record_scheme_state(scheme_id, state, step_row):
    step_row[R_PARETO] = state[_stateful.R_PARETO] if scheme_id == _stateful.HV_GUIDED else np.nan
    step_row[DELTA_HV] = state[_stateful.DELTA_HV] if scheme_id == _stateful.HV_GUIDED else np.nan


@njit(cache=True)
def finish_last_row(step_row, objective_rows):
    """The last row has no batch: NaN for every batch column."""
    for c in range(step_row.shape[0]):
        if c != ENTROPY and c != R_PARETO and c != DELTA_HV:
            step_row[c] = np.nan
    for k in range(objective_rows.shape[0]):
        objective_rows[k, EFFECTIVE] = np.nan
        objective_rows[k, ZERO_SHARE] = np.nan


@njit(cache=True, error_model="numpy")
def objective_zscores(rewards, ddof, eps, zscores, step_row, objective_rows):
    """Each objective's own group z-score (B, G, K) -- the advantage of the reward-k-alone surrogate, whose
    gradient is g_k -- plus the zero-variance shares. Masked and constant entries are 0, as in the scheme kernels.

    A group's statistics come from the kernels' NaN-free column pass (:func:`mowsim.schemes._kernels.
    _moments_clean`: no NaN test, a NaN shows in its column's sum; accurate centering ``(r - m) - c``); only a group
    with a NaN or magnitudes outside the kernels' safe window takes :func:`mowsim.schemes._kernels._moments_nan`,
    which rescales each objective by a power of two. This runs every step of every training loop (~7 us of a
    ~50 us bandit step at 64 x 16 x 4).
    """
    n_groups, n_rollouts, n_objectives = rewards.shape
    mom = np.empty((_kernels.N_MOM, n_objectives))
    mask = np.empty((n_groups, n_rollouts), dtype=np.uint8)
    zero_groups = 0
    inv_groups = 1.0 / n_groups
    plain = _kernels._plain_ratio(float(n_rollouts))
    for k in range(n_objectives):
        objective_rows[k, ZERO_SHARE] = 0.0
    for b in range(n_groups):
        if not _kernels._moments_clean(rewards, b, ddof, plain, mom):
            if _nan_group_zscores(rewards, b, ddof, eps, mask, mom, zscores, objective_rows, inv_groups):
                zero_groups += 1
            continue
        all_constant = True
        for k in range(n_objectives):
            sd = mom[_kernels.M_STD, k]
            if not sd > 0.0:  # constant, or G = 1 (the zero-spread rule gives 0 there)
                objective_rows[k, ZERO_SHARE] += inv_groups
                for j in range(n_rollouts):
                    zscores[b, j, k] = 0.0
            else:
                all_constant = False
                m = mom[_kernels.M_MEAN, k]
                correction = mom[_kernels.M_CORR, k]
                scale = 1.0 / (sd + eps)
                for j in range(n_rollouts):
                    zscores[b, j, k] = ((rewards[b, j, k] - m) - correction) * scale
        if all_constant:
            zero_groups += 1
    step_row[ZERO_GROUPS] = zero_groups / n_groups


@njit(cache=True, error_model="numpy")
def _nan_group_zscores(rewards, b, ddof, eps, mask, mom, zscores, objective_rows, inv_groups):
    """:func:`objective_zscores` for a group on the rare path (each objective in its own scale-free units); returns
    True when every objective is constant there."""
    n_rollouts, n_objectives = rewards.shape[1], rewards.shape[2]
    _kernels._moments_nan(rewards, b, ddof, mask, mom)
    all_constant = True
    for k in range(n_objectives):
        sd = mom[_kernels.M_STD, k]
        if sd > 0.0:
            all_constant = False
            eps_scaled = math.ldexp(eps, -int(mom[_kernels.M_EXP, k]))
            mom[_kernels.M_STD, k] = 1.0 / (sd + eps_scaled)  # reuse as the multiplier
        else:
            objective_rows[k, ZERO_SHARE] += inv_groups
    for j in range(n_rollouts):
        for k in range(n_objectives):
            x = rewards[b, j, k]
            scale = mom[_kernels.M_STD, k]
            if mask[b, j] and not np.isnan(x) and scale > 0.0:
                c1, c2 = _kernels._factors(int(mom[_kernels.M_EXP, k]))
                zscores[b, j, k] = ((x * c1 * c2 - mom[_kernels.M_MEAN, k]) - mom[_kernels.M_CORR, k]) * scale
            else:
                zscores[b, j, k] = 0.0
    return all_constant


@njit(cache=True)
def advantage_diagnostics(advantages, effective, step_row, objective_rows):
    """max |A|, mean A^2 and the group-averaged effective weights of one batch."""
    n_groups, n_rollouts = advantages.shape
    max_abs = 0.0
    sum_sq = 0.0
    for b in range(n_groups):
        for j in range(n_rollouts):
            a = advantages[b, j]
            max_abs = max(max_abs, abs(a))
            sum_sq += a * a
    for k in range(effective.shape[1]):
        total = 0.0
        for b in range(n_groups):
            total += effective[b, k]
        objective_rows[k, EFFECTIVE] = total / n_groups
    step_row[MAX_ABS] = max_abs
    step_row[MEAN_SQ] = sum_sq / (n_groups * n_rollouts)


@njit(cache=True)
def objective_gram(grads, gram):
    """gram[k, m] = <g_k, g_m> for the per-objective gradients in grads[1:]."""
    n_objectives = gram.shape[0]
    for k in range(n_objectives):
        for m in range(k, n_objectives):
            total = 0.0
            for i in range(grads.shape[1]):
                total += grads[1 + k, i] * grads[1 + m, i]
            gram[k, m] = total
            gram[m, k] = total


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
