"""Numba kernels for the static and batch-adaptive schemes.

They implement exactly the conventions documented in :mod:`mowsim.schemes.reference` (NaN exclusion, the
>= 2-scorable-rollouts rule, ``ddof``, ``eps`` added to the std, the zero-spread rule), and the tests hold them to
that oracle. Kernels see only arrays and scalars; the wrappers in :mod:`mowsim.schemes.base` validate and allocate.

Two drivers share every helper: :func:`compute_serial` (used inside the compiled training loops, which put their
own ``prange`` over independent runs) and :func:`compute_parallel` (``prange`` over groups, for large batches).
Every reduction is first taken per group and then combined in group order, so the two give bit-identical results.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

# Scheme ids understood by the drivers. The registry in mowsim.schemes maps names to these.
RC = 0
AC = 1
GDPO = 2
DVAO = 3
SAW_GRPO = 4
SAW_GDPO = 5

ZERO_SPREAD_RTOL = 1e-12  # same constant as reference.ZERO_SPREAD_RTOL; kernels take no module state beyond it


@njit(cache=True, inline="always")
def _std_from(sum_sq, count, ddof, lower, upper, magnitude):
    """Std from a sum of squared deviations, with the zero-spread rule: constant or too-few values give 0.

    The spread is compared with ``max(|upper|, |lower|, magnitude)``; ``magnitude`` is 0 for raw rewards and
    ``sum_k w_k`` for GDPO's batch z-score (see :func:`mowsim.schemes.reference.moments`).
    """
    dof = count - ddof
    if dof <= 0:
        return 0.0
    spread = upper - lower
    scale = max(abs(upper), abs(lower), magnitude)
    if not spread > ZERO_SPREAD_RTOL * scale:
        return 0.0
    return np.sqrt(sum_sq / dof)


@njit(cache=True, inline="always")
def _zscore(centered, std, eps):
    if std > 0.0:
        return centered / (std + eps)
    return 0.0


@njit(cache=True)
def _group_mask(rewards, b, mask):
    """Fill mask[b, :] with 1 for scorable rollouts of a group that has >= 2 of them; return that count."""
    n_rollouts, n_objectives = rewards.shape[1], rewards.shape[2]
    n_scorable = 0
    for j in range(n_rollouts):
        scorable = 0
        for k in range(n_objectives):
            if not np.isnan(rewards[b, j, k]):
                scorable = 1
                break
        mask[b, j] = scorable
        n_scorable += scorable
    if n_scorable < 2:
        for j in range(n_rollouts):
            mask[b, j] = 0
        return 0
    return n_scorable


@njit(cache=True)
def _objective_moments(rewards, b, ddof, mean, std):
    """Per-objective NaN-aware mean and std of group b into mean[k], std[k]."""
    n_rollouts, n_objectives = rewards.shape[1], rewards.shape[2]
    for k in range(n_objectives):
        count = 0
        total = 0.0
        lower = np.inf
        upper = -np.inf
        for j in range(n_rollouts):
            x = rewards[b, j, k]
            if not np.isnan(x):
                count += 1
                total += x
                lower = min(lower, x)
                upper = max(upper, x)
        m = total / max(count, 1)
        sum_sq = 0.0
        for j in range(n_rollouts):
            x = rewards[b, j, k]
            if not np.isnan(x):
                sum_sq += (x - m) ** 2
        mean[k] = m
        std[k] = _std_from(sum_sq, count, ddof, lower, upper, 0.0)


@njit(cache=True)
def _group_rc(rewards, b, weights, ddof, eps, mask, out):
    """RC for group b: z-score of the weighted sum over the masked rollouts (NaN objectives count 0)."""
    n_rollouts, n_objectives = rewards.shape[1], rewards.shape[2]
    count = 0
    total = 0.0
    lower = np.inf
    upper = -np.inf
    for j in range(n_rollouts):
        s = 0.0
        if mask[b, j]:
            for k in range(n_objectives):
                x = rewards[b, j, k] * weights[k]
                if not np.isnan(x):
                    s += x
            count += 1
            total += s
            lower = min(lower, s)
            upper = max(upper, s)
        out[b, j] = s
    m = total / max(count, 1)
    sum_sq = 0.0
    for j in range(n_rollouts):
        if mask[b, j]:
            sum_sq += (out[b, j] - m) ** 2
    std = _std_from(sum_sq, count, ddof, lower, upper, 0.0)
    for j in range(n_rollouts):
        if mask[b, j]:
            out[b, j] = _zscore(out[b, j] - m, std, eps)
        else:
            out[b, j] = 0.0


@njit(cache=True)
def _group_combine(rewards, b, weights, adaptive, ddof, eps, mask, out, effective, scratch):
    """AC (adaptive=False) or DVAO (adaptive=True) for group b; fills out[b, :] and effective[b, :].

    ``scratch`` is a (3, K) work array owned by this group (no allocation in the per-group path).
    """
    n_rollouts, n_objectives = rewards.shape[1], rewards.shape[2]
    mean = scratch[0]
    std = scratch[1]
    coef = scratch[2]
    _objective_moments(rewards, b, ddof, mean, std)
    weight_total = 0.0
    for k in range(n_objectives):
        weight_total += weights[k]
    active = True
    if adaptive:
        spread_total = 0.0
        for k in range(n_objectives):
            spread_total += weights[k] * std[k]
        if spread_total > 0.0:
            for k in range(n_objectives):
                coef[k] = weights[k] * std[k] / spread_total
                effective[b, k] = coef[k]
        else:
            active = False
            for k in range(n_objectives):
                coef[k] = 0.0
                effective[b, k] = weights[k] / weight_total
    else:
        for k in range(n_objectives):
            coef[k] = weights[k]
            effective[b, k] = weights[k] / weight_total
    # coef_k / (sigma_k + eps), 0 for constant objectives: one division per objective, not per entry.
    for k in range(n_objectives):
        coef[k] = coef[k] / (std[k] + eps) if std[k] > 0.0 else 0.0
    for j in range(n_rollouts):
        a = 0.0
        if mask[b, j] and active:
            for k in range(n_objectives):
                x = rewards[b, j, k]
                if not np.isnan(x) and coef[k] != 0.0:
                    a += (x - mean[k]) * coef[k]
        out[b, j] = a


@njit(cache=True)
def _group(kind, rewards, b, weights, ddof, eps, mask, out, effective, scratch):
    """Per-group work of every scheme. kind: 0 = RC on ``weights``, 1 = fixed combination, 2 = DVAO."""
    _group_mask(rewards, b, mask)
    if kind == 0:
        _group_rc(rewards, b, weights, ddof, eps, mask, out)
    else:
        _group_combine(rewards, b, weights, kind == 2, ddof, eps, mask, out, effective, scratch[b])


@njit(cache=True)
def _kind_of(scheme_id):
    if scheme_id == RC or scheme_id == SAW_GRPO:
        return 0
    if scheme_id == DVAO:
        return 2
    return 1


# ---- batch reductions, split into per-group partials so serial and parallel drivers agree bit for bit ----


@njit(cache=True)
def _masked_first_pass(values, mask, b, partial):
    """partial[b] = (count, sum, min, max) of values[b, j] over mask[b, j]."""
    count = 0.0
    total = 0.0
    lower = np.inf
    upper = -np.inf
    for j in range(values.shape[1]):
        if mask[b, j]:
            x = values[b, j]
            count += 1.0
            total += x
            lower = min(lower, x)
            upper = max(upper, x)
    partial[b, 0] = count
    partial[b, 1] = total
    partial[b, 2] = lower
    partial[b, 3] = upper


@njit(cache=True)
def _masked_second_pass(values, mask, b, mean, partial):
    total = 0.0
    for j in range(values.shape[1]):
        if mask[b, j]:
            total += (values[b, j] - mean) ** 2
    partial[b, 4] = total


@njit(cache=True)
def _combine_first(partial):
    count = 0.0
    total = 0.0
    lower = np.inf
    upper = -np.inf
    for b in range(partial.shape[0]):
        count += partial[b, 0]
        total += partial[b, 1]
        lower = min(lower, partial[b, 2])
        upper = max(upper, partial[b, 3])
    return count, total / max(count, 1.0), lower, upper


@njit(cache=True)
def _combine_second(partial):
    total = 0.0
    for b in range(partial.shape[0]):
        total += partial[b, 4]
    return total


@njit(cache=True)
def _apply_whiten(values, mask, b, mean, std, eps):
    for j in range(values.shape[1]):
        if mask[b, j]:
            values[b, j] = _zscore(values[b, j] - mean, std, eps)
        else:
            values[b, j] = 0.0


@njit(cache=True)
def _objective_first_pass(rewards, b, partial):
    """partial[b, k] = (count, sum, min, max) of objective k in group b, NaN excluded."""
    for k in range(rewards.shape[2]):
        count = 0.0
        total = 0.0
        lower = np.inf
        upper = -np.inf
        for j in range(rewards.shape[1]):
            x = rewards[b, j, k]
            if not np.isnan(x):
                count += 1.0
                total += x
                lower = min(lower, x)
                upper = max(upper, x)
        partial[b, k, 0] = count
        partial[b, k, 1] = total
        partial[b, k, 2] = lower
        partial[b, k, 3] = upper


@njit(cache=True)
def _objective_second_pass(rewards, b, mean, partial):
    for k in range(rewards.shape[2]):
        total = 0.0
        for j in range(rewards.shape[1]):
            x = rewards[b, j, k]
            if not np.isnan(x):
                total += (x - mean[k]) ** 2
        partial[b, k, 4] = total


@njit(cache=True)
def _cv_weights(partial, ddof, reward_min, has_reward_min, delta):
    """SAW's w'_k = CV_k / sum_l CV_l from the per-group partials; equal weights if sum CV <= delta."""
    n_objectives = partial.shape[1]
    cv = np.empty(n_objectives)
    cv_total = 0.0
    for k in range(n_objectives):
        count = 0.0
        total = 0.0
        lower = np.inf
        upper = -np.inf
        sum_sq = 0.0
        for b in range(partial.shape[0]):
            count += partial[b, k, 0]
            total += partial[b, k, 1]
            lower = min(lower, partial[b, k, 2])
            upper = max(upper, partial[b, k, 3])
            sum_sq += partial[b, k, 4]
        mean = total / max(count, 1.0)
        std = _std_from(sum_sq, count, ddof, lower, upper, 0.0)
        floor = reward_min[k] if has_reward_min else (lower if count > 0 else 0.0)
        cv[k] = std / (abs(mean - floor + delta) + delta)
        cv_total += cv[k]
    if cv_total <= delta:
        for k in range(n_objectives):
            cv[k] = 1.0 / n_objectives
    else:
        for k in range(n_objectives):
            cv[k] = cv[k] / cv_total
    return cv


@njit(cache=True)
def _objective_means(partial):
    n_objectives = partial.shape[1]
    mean = np.empty(n_objectives)
    for k in range(n_objectives):
        count = 0.0
        total = 0.0
        for b in range(partial.shape[0]):
            count += partial[b, k, 0]
            total += partial[b, k, 1]
        mean[k] = total / max(count, 1.0)
    return mean


@njit(cache=True)
def _saw_scaled_weights(scheme_id, cv, weights):
    n_objectives = weights.shape[0]
    scaled = np.empty(n_objectives)
    factor = float(n_objectives) if scheme_id == SAW_GDPO else 1.0
    for k in range(n_objectives):
        scaled[k] = factor * cv[k] * weights[k]
    return scaled


@njit(cache=True)
def _saw_effective(cv, weights, effective):
    total = 0.0
    for k in range(weights.shape[0]):
        total += cv[k] * weights[k]
    for b in range(effective.shape[0]):
        for k in range(weights.shape[0]):
            if total > 0.0:
                effective[b, k] = cv[k] * weights[k] / total
            else:
                effective[b, k] = weights[k] / weights.sum()


@njit(cache=True)
def _weight_total(weights):
    """``sum_k w_k`` in objective order: the magnitude floor of GDPO's batch zero-spread rule."""
    total = 0.0
    for k in range(weights.shape[0]):
        total += weights[k]
    return total


@njit(cache=True)
def compute_serial(scheme_id, rewards, weights, ddof, eps, reward_min, has_reward_min, delta, out, effective):
    """Advantages of ``scheme_id`` into out (B, G) and effective weights into effective (B, K); serial twin."""
    n_groups, n_rollouts, n_objectives = rewards.shape
    mask = np.empty((n_groups, n_rollouts), dtype=np.uint8)
    used = weights
    cv = weights
    if scheme_id == SAW_GRPO or scheme_id == SAW_GDPO:
        opart = np.empty((n_groups, n_objectives, 5))
        for b in range(n_groups):
            _objective_first_pass(rewards, b, opart)
        omean = _objective_means(opart)
        for b in range(n_groups):
            _objective_second_pass(rewards, b, omean, opart)
        cv = _cv_weights(opart, ddof, reward_min, has_reward_min, delta)
        used = _saw_scaled_weights(scheme_id, cv, weights)
    kind = _kind_of(scheme_id)
    scratch = np.empty((n_groups, 3, n_objectives))
    for b in range(n_groups):
        _group(kind, rewards, b, used, ddof, eps, mask, out, effective, scratch)
    if scheme_id == GDPO or scheme_id == SAW_GDPO:
        part = np.empty((n_groups, 5))
        for b in range(n_groups):
            _masked_first_pass(out, mask, b, part)
        count, mean, lower, upper = _combine_first(part)
        for b in range(n_groups):
            _masked_second_pass(out, mask, b, mean, part)
        std = _std_from(_combine_second(part), count, ddof, lower, upper, _weight_total(used))
        for b in range(n_groups):
            _apply_whiten(out, mask, b, mean, std, eps)
    if scheme_id == SAW_GRPO or scheme_id == SAW_GDPO:
        _saw_effective(cv, weights, effective)
    elif kind == 0:
        for b in range(n_groups):
            for k in range(n_objectives):
                effective[b, k] = weights[k] / weights.sum()


@njit(cache=True, parallel=True)
def compute_parallel(scheme_id, rewards, weights, ddof, eps, reward_min, has_reward_min, delta, out, effective):
    """Same as :func:`compute_serial`, with ``prange`` over groups; bit-identical results."""
    n_groups, n_rollouts, n_objectives = rewards.shape
    mask = np.empty((n_groups, n_rollouts), dtype=np.uint8)
    used = weights
    cv = weights
    if scheme_id == SAW_GRPO or scheme_id == SAW_GDPO:
        opart = np.empty((n_groups, n_objectives, 5))
        for b in prange(n_groups):
            _objective_first_pass(rewards, b, opart)
        omean = _objective_means(opart)
        for b in prange(n_groups):
            _objective_second_pass(rewards, b, omean, opart)
        cv = _cv_weights(opart, ddof, reward_min, has_reward_min, delta)
        used = _saw_scaled_weights(scheme_id, cv, weights)
    kind = _kind_of(scheme_id)
    scratch = np.empty((n_groups, 3, n_objectives))
    for b in prange(n_groups):
        _group(kind, rewards, b, used, ddof, eps, mask, out, effective, scratch)
    if scheme_id == GDPO or scheme_id == SAW_GDPO:
        part = np.empty((n_groups, 5))
        for b in prange(n_groups):
            _masked_first_pass(out, mask, b, part)
        count, mean, lower, upper = _combine_first(part)
        for b in prange(n_groups):
            _masked_second_pass(out, mask, b, mean, part)
        std = _std_from(_combine_second(part), count, ddof, lower, upper, _weight_total(used))
        for b in prange(n_groups):
            _apply_whiten(out, mask, b, mean, std, eps)
    if scheme_id == SAW_GRPO or scheme_id == SAW_GDPO:
        _saw_effective(cv, weights, effective)
    elif kind == 0:
        for b in prange(n_groups):
            for k in range(n_objectives):
                effective[b, k] = weights[k] / weights.sum()
