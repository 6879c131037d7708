"""Numba kernel of the non-group normalizations (``"batch"``, ``"none"``) of RC, AC, GDPO, DVAO and SAW.

The oracle is :mod:`mowsim.schemes.normalization` (semantics and sources in its docstring); ``"group"`` is the
scheme kernels of :mod:`mowsim.schemes._kernels` themselves, untouched. One serial driver,
:func:`compute_scoped`, with the drivers' signature plus the normalization id and their return value
``(lower, upper, in_range, finite)``; the training loops call it through :func:`mowsim.envs._loop.scheme_advantages`.

Per group it takes the scheme kernels' own statistics (:func:`mowsim.schemes._kernels._moments_clean`, or
:func:`mowsim.schemes._kernels._moments_nan` for a group with NaN or beyond the safe window: the same bits) and RC's
arithmetic of :func:`mowsim.schemes._kernels._rc_nan`, then one plain pass per group; no chunked fast path. At
64 x 16 x 3 a call costs 14-29 us against the group kernels' 5-15 us (see ARCHITECTURE.md).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from mowsim.schemes import _kernels
from mowsim.schemes._kernels import M_CORR, M_EXP, M_LOWER, M_MEAN, M_STD, M_UPPER, N_MOM

GROUP = 0  # the ids of mowsim.schemes.normalization.NORMALIZATIONS
BATCH = 1
NONE = 2


@njit(cache=True, inline="always")
def _ldexp_eps(eps, exponent):
    """``eps * 2**exponent``, inf where that overflows: what the compiled ``math.ldexp`` gives, also in the
    uncompiled ``py_func`` (whose ``math.ldexp`` raises OverflowError instead), e.g. ``eps`` in the units of
    subnormal rewards."""
    if eps == 0.0:
        return 0.0
    if math.frexp(eps)[1] + exponent > 1024:
        return np.inf
    return math.ldexp(eps, exponent)


@njit(cache=True, error_model="numpy")
def _batch_objective_stats(rewards, mask, moms, n_scorable, ddof):
    """Per objective over the batch's masked entries: ``(exponent, std)`` (K,), the std of ``r_k * 2**-exponent``
    around the batch mean (corrected two-pass, zero-spread rule), as ``scaled_moments`` of the pooled rewards."""
    n_groups, n_rollouts, n_objectives = rewards.shape
    exponents = np.zeros(n_objectives, dtype=np.int64)
    std = np.zeros(n_objectives)
    for k in range(n_objectives):
        lower = np.inf
        upper = -np.inf
        for b in range(n_groups):
            if n_scorable[b] > 0:
                lower = min(lower, moms[b, M_LOWER, k])
                upper = max(upper, moms[b, M_UPPER, k])
        if not lower <= upper:
            continue
        exponent = _kernels._exponent(max(abs(lower), abs(upper)))
        c1, c2 = _kernels._factors(exponent)
        count = 0.0
        total = 0.0
        for b in range(n_groups):
            if n_scorable[b] > 0:
                for j in range(n_rollouts):
                    x = rewards[b, j, k]
                    if mask[b, j] and not np.isnan(x):
                        count += 1.0
                        total += x * c1 * c2
        mean = total / count
        sum_dev = 0.0
        sum_sq = 0.0
        for b in range(n_groups):
            if n_scorable[b] > 0:
                for j in range(n_rollouts):
                    x = rewards[b, j, k]
                    if mask[b, j] and not np.isnan(x):
                        d = x * c1 * c2 - mean
                        sum_dev += d
                        sum_sq += d * d
        correction = sum_dev / count
        exponents[k] = exponent
        std[k] = _kernels._std_from(sum_sq, sum_dev, correction, count, ddof, lower * c1 * c2, upper * c1 * c2, 0.0)
    return exponents, std


@njit(cache=True, error_model="numpy")
def _combine_scoped(rewards, unit, adaptive, ddof, eps, normalization, mask, out, bounds, post, shares):
    """AC or DVAO (on the normalized weights ``unit``) with ``"batch"`` or ``"none"`` into out (B, G), in units of
    ``2**post[b]``; fills ``shares`` (K,) and returns ``(top, floor)`` (GDPO-none's batch unit and zero-spread
    floor, see ``normalization._combination``)."""
    n_groups, n_rollouts, n_objectives = rewards.shape
    moms = np.empty((n_groups, N_MOM, n_objectives))
    mom = np.empty((N_MOM, n_objectives))
    n_scorable = np.empty(n_groups, dtype=np.int64)
    plain = _kernels._plain_ratio(float(n_rollouts))
    for b in range(n_groups):
        # the kernels' two paths give the same bits (see _kernels): the NaN-free one where it applies
        if _kernels._moments_clean(rewards, b, ddof, plain, mom):
            n_scorable[b] = _kernels._fill_mask(mask, b, n_rollouts)
        else:
            n_scorable[b] = _kernels._moments_nan(rewards, b, ddof, mask, mom)
        moms[b] = mom
        lower = np.inf
        upper = -np.inf
        for k in range(n_objectives):
            lower = min(lower, moms[b, M_LOWER, k])
            upper = max(upper, moms[b, M_UPPER, k])
        bounds[b, 0] = lower
        bounds[b, 1] = upper
    coef = np.zeros(n_objectives)
    units = np.zeros((n_groups, n_objectives), dtype=np.int64)
    top = 0
    if normalization == BATCH:
        exponents, std = _batch_objective_stats(rewards, mask, moms, n_scorable, ddof)
        if adaptive:  # w_k sigma_k in one unit, the largest in [0.5, 1)
            share_top = -(1 << 30)
            for k in range(n_objectives):
                product = unit[k] * std[k]
                if product > 0.0:
                    share_top = max(share_top, exponents[k] + _kernels._exponent(product))
            total = 0.0
            for k in range(n_objectives):
                product = unit[k] * std[k]
                shares[k] = math.ldexp(product, int(exponents[k] - share_top)) if product > 0.0 else 0.0
                total += shares[k]
            for k in range(n_objectives):
                shares[k] = shares[k] / total if total > 0.0 else 0.0
        else:
            for k in range(n_objectives):
                shares[k] = unit[k]
        for k in range(n_objectives):
            if std[k] > 0.0:
                coef[k] = shares[k] / (std[k] + _ldexp_eps(eps, -int(exponents[k])))
        for b in range(n_groups):
            post[b] = 0
            for k in range(n_objectives):
                units[b, k] = exponents[k]
    else:
        weight_total = _kernels._weight_total(unit)
        for k in range(n_objectives):
            shares[k] = unit[k] / weight_total if adaptive else unit[k]
            coef[k] = shares[k]
        any_varying = False
        for b in range(n_groups):
            varying = False
            group_top = 0
            for k in range(n_objectives):
                if moms[b, M_STD, k] > 0.0:
                    exponent = int(moms[b, M_EXP, k])
                    group_top = exponent if not varying else max(group_top, exponent)
                    varying = True
            post[b] = group_top
            for k in range(n_objectives):
                units[b, k] = group_top
            if varying:
                top = group_top if not any_varying else max(top, group_top)
                any_varying = True
    largest = np.zeros(n_objectives)
    scale = np.empty((3, n_objectives))  # per objective of a group: the two factors of 2**-e, and 2**(e - unit)
    for b in range(n_groups):
        if n_scorable[b] == 0:
            for j in range(n_rollouts):
                out[b, j] = 0.0
            continue
        for k in range(n_objectives):
            exponent = int(moms[b, M_EXP, k])
            scale[0, k], scale[1, k] = _kernels._factors(exponent)
            scale[2, k] = math.ldexp(1.0, int(exponent - units[b, k]))  # >= 2**-1074 in practice (see limits)
        for j in range(n_rollouts):
            a = 0.0
            if mask[b, j]:
                for k in range(n_objectives):
                    x = rewards[b, j, k]
                    if not np.isnan(x) and moms[b, M_STD, k] > 0.0:
                        centered = (x * scale[0, k] * scale[1, k] - moms[b, M_MEAN, k]) - moms[b, M_CORR, k]
                        aligned = centered * scale[2, k]
                        a += aligned * coef[k]
                        if normalization == NONE:
                            largest[k] = max(largest[k], abs(math.ldexp(aligned, int(units[b, k] - top))))
            out[b, j] = a
    floor = 0.0
    for k in range(n_objectives):
        floor += unit[k] * largest[k]
    return top, floor


@njit(cache=True, error_model="numpy")
def _rc_scoped(rewards, unit, weight_exponent, ddof, eps, normalization, mask, out, bounds):
    """RC (on the normalized weights ``unit``) with ``"batch"`` or ``"none"`` into out (B, G): each group's weighted
    sums centered as in :func:`mowsim.schemes._kernels._rc_nan` (always corrected), then scaled back or divided by
    the pooled sums' std."""
    n_groups, n_rollouts = rewards.shape[:2]
    sums = np.empty((n_groups, n_rollouts))
    group_exponent = np.zeros(n_groups, dtype=np.int64)
    sum_exponent = np.zeros(n_groups, dtype=np.int64)
    counts = np.zeros(n_groups, dtype=np.int64)
    for b in range(n_groups):
        reward_exponent, count, lower, upper = _kernels.weighted_sums_nan(rewards, b, unit, mask, sums, bounds)
        group_exponent[b] = reward_exponent
        if count < 2:
            for j in range(n_rollouts):
                mask[b, j] = 0
                out[b, j] = 0.0
            continue
        counts[b] = count
        exponent = _kernels._exponent(max(abs(lower), abs(upper)))
        sum_exponent[b] = exponent
        d1, d2 = _kernels._factors(exponent)
        total = 0.0
        for j in range(n_rollouts):
            if mask[b, j]:
                total += sums[b, j] * d1 * d2
        m = total / count
        sum_dev = 0.0
        sum_sq = 0.0
        for j in range(n_rollouts):
            if mask[b, j]:
                d = sums[b, j] * d1 * d2 - m
                sum_dev += d
                sum_sq += d * d
        correction = sum_dev / count
        std = _kernels._std_from(sum_sq, sum_dev, correction, count, ddof, lower * d1 * d2, upper * d1 * d2, 0.0)
        for j in range(n_rollouts):
            out[b, j] = ((sums[b, j] * d1 * d2 - m) - correction) if mask[b, j] and std > 0.0 else 0.0
    if normalization == NONE:
        for b in range(n_groups):
            if counts[b] > 0:
                c1, c2 = _kernels._factors(-int(sum_exponent[b] + group_exponent[b] + weight_exponent))
                for j in range(n_rollouts):
                    out[b, j] = out[b, j] * c1 * c2
        return
    # batch: the masked sums of every group pooled, in units 2**top, then in the pool's scale-free units
    top = 0
    found = False
    for b in range(n_groups):
        if counts[b] > 0:
            top = group_exponent[b] if not found else max(top, group_exponent[b])
            found = True
    largest = 0.0
    count = 0.0
    for b in range(n_groups):
        if counts[b] > 0:
            for j in range(n_rollouts):
                if mask[b, j]:
                    sums[b, j] = math.ldexp(sums[b, j], int(group_exponent[b] - top))
                    largest = max(largest, abs(sums[b, j]))
                    count += 1.0
    pool_exponent = _kernels._exponent(largest)
    c1, c2 = _kernels._factors(pool_exponent)
    total = 0.0
    lower = np.inf
    upper = -np.inf
    for b in range(n_groups):
        if counts[b] > 0:
            for j in range(n_rollouts):
                if mask[b, j]:
                    v = sums[b, j] * c1 * c2
                    total += v
                    lower = min(lower, v)
                    upper = max(upper, v)
    mean = total / max(count, 1.0)
    sum_dev = 0.0
    sum_sq = 0.0
    for b in range(n_groups):
        if counts[b] > 0:
            for j in range(n_rollouts):
                if mask[b, j]:
                    d = sums[b, j] * c1 * c2 - mean
                    sum_dev += d
                    sum_sq += d * d
    correction = sum_dev / max(count, 1.0)
    std = _kernels._std_from(sum_sq, sum_dev, correction, count, ddof, lower, upper, 0.0)
    eps_scaled = _ldexp_eps(eps, -int(pool_exponent + top + weight_exponent))
    for b in range(n_groups):
        c1, c2 = _kernels._factors(-int(sum_exponent[b] + group_exponent[b] - top - pool_exponent))
        for j in range(n_rollouts):
            if counts[b] > 0 and mask[b, j] and std > 0.0:
                out[b, j] = out[b, j] * c1 * c2 / (std + eps_scaled)
            else:
                out[b, j] = 0.0


@njit(cache=True, error_model="numpy")
def compute_scoped(scheme_id, normalization, rewards, weights, ddof, eps, reward_min, has_reward_min, saw, out,
                   effective):
    """Advantages of ``scheme_id`` (RC, AC, GDPO, DVAO, SAW-GRPO, SAW-GDPO) under ``normalization`` (BATCH or
    NONE) into out (B, G) and effective weights into effective (B, K); returns ``(lower, upper, in_range,
    finite)`` as :func:`mowsim.schemes._kernels.compute_serial` does. Serial."""
    n_groups, n_rollouts, n_objectives = rewards.shape
    mask = np.empty((n_groups, n_rollouts), dtype=np.uint8)
    bounds = np.empty((n_groups, 2))
    used = weights
    cv = weights
    saw_scheme = scheme_id == _kernels.SAW_GRPO or scheme_id == _kernels.SAW_GDPO
    if saw_scheme:
        pending = np.empty(n_groups, dtype=np.uint8)
        cv = _kernels.saw_cv_serial(rewards, ddof, reward_min, has_reward_min, saw, pending)
        used = _kernels._saw_scaled_weights(scheme_id, cv, weights)
    unit, weight_exponent = _kernels._normalized_weights(used)
    if scheme_id == _kernels.RC or scheme_id == _kernels.SAW_GRPO:
        _rc_scoped(rewards, unit, weight_exponent, ddof, eps, normalization, mask, out, bounds)
    else:
        adaptive = scheme_id == _kernels.DVAO
        post = np.zeros(n_groups, dtype=np.int64)
        shares = np.zeros(n_objectives)
        top, floor = _combine_scoped(rewards, unit, adaptive, ddof, eps, normalization, mask, out, bounds, post,
                                     shares)
        whiten = scheme_id == _kernels.GDPO or scheme_id == _kernels.SAW_GDPO
        for b in range(n_groups):
            if whiten:
                shift = post[b] - top if normalization == NONE else 0
            elif scheme_id == _kernels.AC:
                shift = post[b] + weight_exponent
            else:
                shift = post[b]
            if shift != 0:
                c1, c2 = _kernels._factors(-int(shift))
                for j in range(n_rollouts):
                    out[b, j] = out[b, j] * c1 * c2
        if whiten:
            if normalization == NONE:
                _kernels.whiten_serial(out, mask, ddof, floor, _ldexp_eps(eps, -int(weight_exponent + top)))
            else:
                _kernels.whiten_serial(out, mask, ddof, _kernels._weight_total(unit),
                                       _ldexp_eps(eps, -int(weight_exponent)))
        if adaptive:
            total = 0.0
            for k in range(n_objectives):
                total += shares[k]
            if normalization == BATCH and total > 0.0:
                for b in range(n_groups):
                    for k in range(n_objectives):
                        effective[b, k] = shares[k]
            else:
                _kernels._fixed_effective(weights, effective)
    if saw_scheme:
        _kernels._saw_effective(cv, weights, effective)
    elif scheme_id != _kernels.DVAO:
        _kernels._fixed_effective(weights, effective)
    return _kernels._checks(bounds, out)
