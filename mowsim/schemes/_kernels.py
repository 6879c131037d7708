"""Numba kernels for the static and batch-adaptive schemes.

They implement exactly the conventions documented in :mod:`mowsim.schemes.reference` (NaN exclusion, the
>= 2-scorable-rollouts rule, ``ddof``, ``eps`` added to the std, the zero-spread rule), and the tests hold them to
that oracle. Kernels see only arrays and scalars; the wrappers in :mod:`mowsim.schemes.base` validate and allocate.

Two drivers share every helper: :func:`compute_serial` (used inside the compiled training loops, which put their
own ``prange`` over independent runs) and :func:`compute_parallel` (``prange`` over groups, for large batches).
Every reduction is first taken per group and then combined in group order, so the two give bit-identical results.

Speed. A group of G rollouts x K objectives is a contiguous (G, K) block, walked one objective (a strided column of
G values, in L1) at a time with scalar accumulators. A group is first summed without any NaN test: a NaN anywhere
shows up in its objective's sum, and only such a group is recomputed by the NaN-aware path, so the common fully
scored batch pays for no branch per entry. The same first pass records a range holding each group's rewards; the
drivers reduce it and return ``(lower, upper, in_range, finite)``, so :meth:`mowsim.schemes.Scheme.compute` checks
for ``inf`` and non-finite advantages without scanning the batch again.

Exactness (issue 15). A set (an objective of a group, a group's weighted sums, a batch) whose largest |x| is outside
``[SAFE_LOW, SAFE_HIGH)`` goes to the rare per-group path, which multiplies it by the power of two that puts its
largest |x| in [0.5, 1) before squaring; inside the window every intermediate is a normal float64, so the fast path,
which does not rescale, gives the same bits (power-of-two scaling commutes with the arithmetic). Centering is the
corrected two-pass one of :func:`mowsim.schemes.reference.scaled_moments`, the correction sum left out where it
cannot matter (:func:`_plain_ratio`), by the same rule on both paths.

Input. The drivers and passes take C-contiguous float64 arrays (the wrapper and the training loops make sure of
that): RC and :func:`all_finite` read the float bits through ``view(np.uint64)``, which needs that layout.
"""

from __future__ import annotations

import math

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

# Entries of the ``saw`` parameter vector every driver takes (zeros for the other schemes).
SAW_DELTA = 0
SAW_MIN_WEIGHT = 1
N_SAW_PARAMS = 2


# Rows of a group's per-objective statistics array ``mom`` (N_MOM, K), as the moment helpers fill it.
M_MEAN = 0  # m: the rounded mean of the (scaled) values
M_CORR = 1  # c: the mean of x - m (corrected two-pass); the centered values are (x - m) - c
M_STD = 2  # the std (zero-spread rule applied), in the same units
M_LOWER = 3  # min and max of the raw values (+inf / -inf for an objective with no score): the drivers' range
M_UPPER = 4
M_EXP = 5  # e: the statistics are of x * 2**-e (0 on the fast path)
N_MOM = 6

# The fast paths skip the power-of-two rescaling of a set whose largest |x| is 0 or in [SAFE_LOW, SAFE_HIGH):
# there every square, sum of squares and product the schemes form is a normal float64, so computing on x or on
# x * 2**-e gives the same bits (floating-point arithmetic commutes with exact power-of-two scaling). Other sets
# take the per-group paths, which rescale.
SAFE_LOW = 2.0**-300
SAFE_HIGH = 2.0**300


@njit(cache=True, inline="always")
def _in_window(largest):
    """True when a set whose largest |x| is ``largest`` needs no rescaling (False for NaN and inf)."""
    return largest == 0.0 or (largest >= SAFE_LOW and largest < SAFE_HIGH)


@njit(cache=True)
def _exponent(largest):
    """``e`` with ``largest = f * 2**e``, ``f`` in [0.5, 1) (``math.frexp``); 0 for 0, NaN and inf."""
    if not (largest > 0.0 and largest < np.inf):
        return 0
    return math.frexp(largest)[1]


@njit(cache=True)
def _factors(exponent):
    """``(c1, c2)`` with ``x * c1 * c2`` (left to right) equal to ``x * 2**-exponent`` rounded once: ``2**-e`` itself
    where it is a float64 (``e >= -1000``), else an exact first step up by ``2**600``."""
    if exponent >= -1000:
        return math.ldexp(1.0, -exponent), 1.0
    return 2.0**600, math.ldexp(1.0, -exponent - 600)


@njit(cache=True, inline="always")
def _plain_ratio(count):
    """How many times its spread a set's largest |x| may be before its rounded mean needs the correction.

    A sequential mean of ``n`` values is off by at most ~``n u max|x|`` (``u = 2**-53``), and the std is at least
    ``spread / sqrt(2n)``, so below this ratio the mean's error moves no z-score by more than ``1e-13 sqrt(n-1)``
    times the std, far inside Samuelson's bound's ``1e-12``; the corrected second pass (one more sum) is then left
    out. Above it (near-constant sets, large offsets) the correction is made. 0 for ``n < 2`` (always corrected).
    """
    if count < 2.0:
        return 0.0
    return 565.0 * np.sqrt((count - 1.0) / count) / count


@njit(cache=True, inline="always")
def _std_from(sum_sq, sum_dev, correction, count, ddof, lower, upper, magnitude):
    """Std from the corrected two-pass sums, with the zero-spread rule: constant or too-few values give 0.

    ``sum_sq`` and ``sum_dev`` are the sums of ``(x - m)**2`` and ``x - m`` and ``correction = sum_dev * (1 / count)``, so
    ``sum_sq - sum_dev * correction`` is the sum of squared deviations from the accurate mean. The spread is
    compared with ``max(|upper|, |lower|, magnitude)``; ``magnitude`` is 0 for raw rewards and ``sum_k w_k`` for
    GDPO's batch z-score (see :func:`mowsim.schemes.reference.moments`).
    """
    dof = count - ddof
    if dof <= 0:
        return 0.0
    spread = upper - lower
    scale = max(abs(upper), abs(lower), magnitude)
    if not spread > ZERO_SPREAD_RTOL * scale:
        return 0.0
    return np.sqrt(max(sum_sq - sum_dev * correction, 0.0) / dof)


@njit(cache=True, inline="always")
def _zscore(centered, std, eps):
    if std > 0.0:
        return centered / (std + eps)
    return 0.0


@njit(cache=True, error_model="numpy", inline="always")
def _group_mask_nan(rewards, b, mask):
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


@njit(cache=True, error_model="numpy", inline="always")
def _column_first(rewards, b, k):
    """Sum, min and max of objective k over group b's rollouts, without a NaN test (a NaN shows in the sum)."""
    t = 0.0
    lo = np.inf
    hi = -np.inf
    for j in range(rewards.shape[1]):
        x = rewards[b, j, k]
        t += x
        lo = min(lo, x)
        hi = max(hi, x)
    return t, lo, hi


@njit(cache=True, error_model="numpy", inline="always")
def _moments_clean(rewards, b, ddof, plain, mom):
    """Per-objective statistics of group b into ``mom`` (see ``M_*``) on the fast path; False (results void) if the
    group has a NaN or an objective whose largest |r| is outside the safe window (it then needs
    :func:`_moments_nan`).

    One objective (a strided column of G values, in L1) at a time, both passes with scalar accumulators and no
    NaN test: a NaN anywhere shows in its column's sum. ``plain`` is ``_plain_ratio(G)``, computed once by the
    caller (a sqrt and two divisions per group cost ~5%). Used by :func:`_combine_range`, the stateful schemes and
    the training loops' per-objective z-scores; inlined, and its array arguments are the caller's own (no views),
    so it costs nothing over writing the loop out.
    """
    n_rollouts, n_objectives = rewards.shape[1], rewards.shape[2]
    clean = True
    for k in range(n_objectives):
        t, lo, hi = _column_first(rewards, b, k)
        mom[M_LOWER, k] = lo
        mom[M_UPPER, k] = hi
        largest = max(-lo, hi)  # max |x|, as lo <= hi (NaN: caught by the sum)
        if np.isnan(t) or not _in_window(largest):
            clean = False
        m = t / n_rollouts
        sum_dev = 0.0
        sum_sq = 0.0
        if largest > plain * (hi - lo):
            for j in range(n_rollouts):
                d = rewards[b, j, k] - m
                sum_dev += d
                sum_sq += d * d
        else:
            for j in range(n_rollouts):
                d = rewards[b, j, k] - m
                sum_sq += d * d
        correction = sum_dev * (1.0 / n_rollouts)  # a multiply: no division per column
        mom[M_MEAN, k] = m
        mom[M_CORR, k] = correction
        mom[M_STD, k] = _std_from(sum_sq, sum_dev, correction, n_rollouts, ddof, lo, hi, 0.0)
        mom[M_EXP, k] = 0.0
    return clean


@njit(cache=True, error_model="numpy", inline="always")
def _fill_mask(mask, b, n_rollouts):
    """The mask of a group without NaN; returns its scorable count (0 for G = 1)."""
    n_scorable = n_rollouts if n_rollouts >= 2 else 0
    flag = 1 if n_scorable else 0
    for j in range(n_rollouts):
        mask[b, j] = flag
    return n_scorable


@njit(cache=True, error_model="numpy")
def _moments_nan(rewards, b, ddof, mask, mom):
    """NaN-aware mask and per-objective statistics of group b in each objective's scale-free units; returns the
    scorable count (0 if < 2).

    Objective k's values are scaled by ``2**-e`` (``e = mom[M_EXP, k]``, from its largest |r|), so nothing
    underflows or overflows; mean, correction and std are of the scaled values. An objective with no score in the
    group has mean 0, std 0, min +inf and max -inf. The rare path: groups with a NaN, an inf, or out of the window.
    """
    n_rollouts, n_objectives = rewards.shape[1], rewards.shape[2]
    n_scorable = _group_mask_nan(rewards, b, mask)
    for k in range(n_objectives):
        count = 0.0
        lo = np.inf
        hi = -np.inf
        for j in range(n_rollouts):
            x = rewards[b, j, k]
            if not np.isnan(x):
                count += 1.0
                lo = min(lo, x)
                hi = max(hi, x)
        exponent = _exponent(max(abs(lo), abs(hi))) if count > 0.0 else 0
        c1, c2 = _factors(exponent)
        total = 0.0
        for j in range(n_rollouts):
            x = rewards[b, j, k]
            if not np.isnan(x):
                total += x * c1 * c2
        m = total / max(count, 1.0)
        sum_dev = 0.0
        sum_sq = 0.0
        # the same rule as _moments_clean, on the scaled values (so both paths give the same bits)
        corrected = max(abs(lo), abs(hi)) * c1 * c2 > _plain_ratio(count) * (hi * c1 * c2 - lo * c1 * c2)
        for j in range(n_rollouts):
            x = rewards[b, j, k]
            if not np.isnan(x):
                d = x * c1 * c2 - m
                if corrected:
                    sum_dev += d
                sum_sq += d * d
        correction = sum_dev * (1.0 / max(count, 1.0))
        mom[M_MEAN, k] = m
        mom[M_CORR, k] = correction
        mom[M_LOWER, k] = lo
        mom[M_UPPER, k] = hi
        mom[M_EXP, k] = exponent
        mom[M_STD, k] = _std_from(sum_sq, sum_dev, correction, count, ddof, lo * c1 * c2, hi * c1 * c2, 0.0)
    return n_scorable


@njit(cache=True, error_model="numpy")
def _group_moments(rewards, b, ddof, mask, mom):
    """Group b's scorable mask and per-objective NaN-aware statistics in the rewards' own units; returns
    ``(n_scorable, clean)``.

    ``mask[b, j]`` is 1 for a rollout with at least one score in a group with >= 2 such rollouts (``n_scorable`` is
    0 otherwise); ``clean`` is True when the fast path took the group. ``mom`` holds ``M_MEAN``, ``M_CORR``
    (centered values ``(r - mean) - corr``), ``M_STD`` (zero-spread rule of :func:`_std_from`), ``M_LOWER`` and
    ``M_UPPER`` (+inf/-inf for an objective with no score), computed scale-free and scaled back (exact unless the
    result leaves the float64 range), ``M_EXP`` = 0. For callers outside the scheme drivers (the stateful schemes).
    """
    if _moments_clean(rewards, b, ddof, _plain_ratio(float(rewards.shape[1])), mom):
        return _fill_mask(mask, b, rewards.shape[1]), True
    n_scorable = _moments_nan(rewards, b, ddof, mask, mom)
    for k in range(rewards.shape[2]):
        exponent = int(mom[M_EXP, k])
        for row in (M_MEAN, M_CORR, M_STD):
            mom[row, k] = math.ldexp(mom[row, k], exponent)
        mom[M_EXP, k] = 0.0
    return n_scorable, False


@njit(cache=True, error_model="numpy", inline="always")
def _rc_finish(b, ddof, eps, mask, out, count, total, lower, upper):
    """z-score out[b, :] (the weighted sums, already rescaled) over the masked rollouts; zeros for a group with < 2
    of them. ``eps`` is in the units of out[b, :]."""
    n_rollouts = out.shape[1]
    if count < 2:
        for j in range(n_rollouts):
            mask[b, j] = 0
            out[b, j] = 0.0
        return
    m = total / count
    sum_dev = 0.0
    sum_sq = 0.0
    corrected = max(abs(lower), abs(upper)) > _plain_ratio(float(count)) * (upper - lower)  # as in _rc_range
    for j in range(n_rollouts):
        if mask[b, j]:
            d = out[b, j] - m
            if corrected:
                sum_dev += d
            sum_sq += d * d
    correction = sum_dev * (1.0 / count)
    std = _std_from(sum_sq, sum_dev, correction, count, ddof, lower, upper, 0.0)
    scale = 1.0 / (std + eps) if std > 0.0 else 0.0  # a multiplier, as in _rc_range: both paths round alike
    for j in range(n_rollouts):
        if mask[b, j] and scale != 0.0:
            out[b, j] = ((out[b, j] - m) - correction) * scale
        else:
            out[b, j] = 0.0


@njit(cache=True, error_model="numpy", inline="always")
def weighted_sums_nan(rewards, b, weights, mask, sums, bounds):
    """Group b's weighted sums ``s_j = sum_k w_k r_jk`` on the rare path into ``sums[b]``, NaN objectives counting 0,
    with the rewards scaled by the power of two of the group's largest |r| (returned as its exponent); ``mask[b]``
    marks the scorable rollouts and ``bounds[b]`` gets the raw rewards' (min, max). Returns ``(exponent, count,
    lower, upper)``: the scorable rollouts' number and the sums' range. RC's rare path and the scoped RC of
    :mod:`mowsim.schemes._normalization_kernels` share it."""
    n_rollouts, n_objectives = rewards.shape[1], rewards.shape[2]
    raw_lower = np.inf
    raw_upper = -np.inf
    for j in range(n_rollouts):
        for k in range(n_objectives):
            x = rewards[b, j, k]
            if not np.isnan(x):
                raw_lower = min(raw_lower, x)
                raw_upper = max(raw_upper, x)
    bounds[b, 0] = raw_lower
    bounds[b, 1] = raw_upper
    reward_exponent = _exponent(max(abs(raw_lower), abs(raw_upper))) if raw_lower <= raw_upper else 0
    c1, c2 = _factors(reward_exponent)
    count = 0
    lower = np.inf
    upper = -np.inf
    for j in range(n_rollouts):
        s = 0.0
        scorable = 0
        for k in range(n_objectives):
            x = rewards[b, j, k]
            if not np.isnan(x):
                scorable = 1
                s += x * c1 * c2 * weights[k]
        mask[b, j] = scorable
        if scorable:
            count += 1
            lower = min(lower, s)
            upper = max(upper, s)
        sums[b, j] = s
    return reward_exponent, count, lower, upper


@njit(cache=True, error_model="numpy")
def _rc_nan(rewards, b, weights, ddof, eps, mask, out, bounds):
    """RC for group b on the rare path (a NaN, an inf, or magnitudes outside the safe window): NaN objectives count
    0 in the sum (TRL's nansum), all-NaN rollouts are unscorable, and a group with < 2 scorable rollouts gets 0.

    The rewards are scaled by the power of two of the group's largest |r| before the weighted sums, and the sums by
    that of their own largest |s| before the statistics; ``eps`` (in the units of the normalized weights' sums)
    follows both.
    """
    n_rollouts = rewards.shape[1]
    reward_exponent, count, lower, upper = weighted_sums_nan(rewards, b, weights, mask, out, bounds)
    sum_exponent = _exponent(max(abs(lower), abs(upper))) if count > 0 else 0
    d1, d2 = _factors(sum_exponent)
    total = 0.0
    for j in range(n_rollouts):
        out[b, j] = out[b, j] * d1 * d2
        if mask[b, j]:
            total += out[b, j]
    eps_scaled = math.ldexp(eps, -(reward_exponent + sum_exponent))
    _rc_finish(b, ddof, eps_scaled, mask, out, count, total, lower * d1 * d2, upper * d1 * d2)


@njit(cache=True, error_model="numpy", inline="always")
def _share_spread(weights, mom, coef):
    """DVAO's ``w_k sigma_k`` of a rare-path group (each sigma in its objective's units) into ``coef``, brought to
    one unit in which the largest is in [0.5, 1); returns their sum."""
    n_objectives = weights.shape[0]
    top = -(1 << 30)
    for k in range(n_objectives):
        product = weights[k] * mom[M_STD, k]
        if product > 0.0:
            top = max(top, int(mom[M_EXP, k]) + _exponent(product))
    total = 0.0
    for k in range(n_objectives):
        product = weights[k] * mom[M_STD, k]
        coef[k] = math.ldexp(product, int(mom[M_EXP, k]) - top) if product > 0.0 else 0.0
        total += coef[k]
    return total


@njit(cache=True, error_model="numpy")
def _combine_nan(rewards, b, weights, adaptive, ddof, eps, mask, out, effective, mom, coef, bounds):
    """AC or DVAO for group b on the rare path (NaN left out of the statistics and 0 in the combination; inf; or
    magnitudes outside the safe window): every objective in its own scale-free units."""
    n_rollouts, n_objectives = rewards.shape[1], rewards.shape[2]
    n_scorable = _moments_nan(rewards, b, ddof, mask, mom)
    raw_lower = np.inf
    raw_upper = -np.inf
    for k in range(n_objectives):
        raw_lower = min(raw_lower, mom[M_LOWER, k])
        raw_upper = max(raw_upper, mom[M_UPPER, k])
    bounds[b, 0] = raw_lower
    bounds[b, 1] = raw_upper
    weight_total = 0.0
    for k in range(n_objectives):
        weight_total += weights[k]
    active = n_scorable > 0
    if adaptive:
        spread_total = _share_spread(weights, mom, coef)
        if spread_total > 0.0:
            inv_total = 1.0 / spread_total  # a multiplier, as in _combine_range
            for k in range(n_objectives):
                coef[k] = coef[k] * inv_total
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
    for k in range(n_objectives):
        std = mom[M_STD, k]
        eps_scaled = math.ldexp(eps, -int(mom[M_EXP, k]))
        coef[k] = coef[k] / (std + eps_scaled) if std > 0.0 else 0.0
    # as _combine_range adds it: the corrections first (offset = -sum_k c_k coef_k), then (x - m_k) coef_k
    for j in range(n_rollouts):
        a = 0.0
        if active and mask[b, j]:
            offset = 0.0
            for k in range(n_objectives):
                if not np.isnan(rewards[b, j, k]) and coef[k] != 0.0:
                    offset += mom[M_CORR, k] * coef[k]
            a = 0.0 - offset
            for k in range(n_objectives):
                x = rewards[b, j, k]
                if not np.isnan(x) and coef[k] != 0.0:
                    c1, c2 = _factors(int(mom[M_EXP, k]))
                    a += (x * c1 * c2 - mom[M_MEAN, k]) * coef[k]
        out[b, j] = a


@njit(cache=True)
def _kind_of(scheme_id):
    if scheme_id == RC or scheme_id == SAW_GRPO:
        return 0
    if scheme_id == DVAO:
        return 2
    return 1


# ---- batch reductions, split into per-group partials so serial and parallel drivers agree bit for bit ----
#
# A partial row is (count, sum, min, max, sum of (x - m)**2, sum of (x - m)) of one group's values, m the batch mean.

P_COUNT = 0
P_SUM = 1
P_MIN = 2
P_MAX = 3
P_SQ = 4
P_DEV = 5
N_PARTIAL = 6


@njit(cache=True)
def _combine_first(partial):
    count = 0.0
    total = 0.0
    lower = np.inf
    upper = -np.inf
    for b in range(partial.shape[0]):
        count += partial[b, P_COUNT]
        total += partial[b, P_SUM]
        lower = min(lower, partial[b, P_MIN])
        upper = max(upper, partial[b, P_MAX])
    return count, total / max(count, 1.0), lower, upper


@njit(cache=True)
def _combine_second(partial):
    sum_sq = 0.0
    sum_dev = 0.0
    for b in range(partial.shape[0]):
        sum_sq += partial[b, P_SQ]
        sum_dev += partial[b, P_DEV]
    return sum_sq, sum_dev


@njit(cache=True)
def _cv_weights(partial, count, mean, lower, upper, ddof, reward_min, has_reward_min, saw, exponents):
    """SAW's w'_k = CV_k / sum_l CV_l from the per-group partials; equal weights if sum CV <= delta.

    ``count``, ``mean``, ``lower``, ``upper`` come from :func:`_objective_totals`. Objective k's partials are of its
    rewards times ``2**-exponents[k]`` (0: unscaled); ``delta`` and ``reward_min`` are brought to the same units.
    With a minimum weight ``m = saw[SAW_MIN_WEIGHT]`` the weights become ``m + (1 - K m) w'_k`` (see
    :func:`mowsim.schemes.reference.saw_cv_weights`).
    """
    delta = saw[SAW_DELTA]
    min_weight = saw[SAW_MIN_WEIGHT]
    n_objectives = partial.shape[1]
    sum_sq = np.zeros(n_objectives)
    sum_dev = np.zeros(n_objectives)
    for b in range(partial.shape[0]):  # b outer: one walk through the partials
        for k in range(n_objectives):
            sum_sq[k] += partial[b, k, P_SQ]
            sum_dev[k] += partial[b, k, P_DEV]
    cv = np.empty(n_objectives)
    cv_total = 0.0
    for k in range(n_objectives):
        correction = sum_dev[k] / max(count[k], 1.0)
        std = _std_from(sum_sq[k], sum_dev[k], correction, count[k], ddof, lower[k], upper[k], 0.0)
        exponent = int(exponents[k])
        delta_scaled = math.ldexp(delta, -exponent)
        if has_reward_min:
            floor = math.ldexp(reward_min[k], -exponent)
        else:
            floor = lower[k] if count[k] > 0 else 0.0
        cv[k] = std / (abs((mean[k] + correction) - floor + delta_scaled) + delta_scaled)
        if np.isnan(cv[k]):  # 0 / 0 where delta underflowed in the units of enormous rewards
            cv[k] = 0.0
        cv_total += cv[k]
    if cv_total <= delta:
        for k in range(n_objectives):
            cv[k] = 1.0 / n_objectives
    else:
        for k in range(n_objectives):
            cv[k] = cv[k] / cv_total
    if min_weight > 0.0:
        for k in range(n_objectives):
            cv[k] = min_weight + (1.0 - n_objectives * min_weight) * cv[k]
    return cv


@njit(cache=True)
def _objective_totals(partial):
    """Per objective ``(count, mean, lower, upper)`` over the batch from the per-group partials, in one walk (b
    outer). The group sums are combined by compensated summation (TwoSum), so the mean is off by little more than
    the groups' own sums' rounding and SAW's CVs rarely need the correction pass (:func:`_saw_needs_correction`)."""
    n_objectives = partial.shape[1]
    count = np.zeros(n_objectives)
    total = np.zeros(n_objectives)
    compensation = np.zeros(n_objectives)
    lower = np.full(n_objectives, np.inf)
    upper = np.full(n_objectives, -np.inf)
    for b in range(partial.shape[0]):
        for k in range(n_objectives):
            count[k] += partial[b, k, P_COUNT]
            x = partial[b, k, P_SUM]
            t = total[k] + x  # Knuth's TwoSum: the exact rounding error of t, without a branch
            back = t - total[k]
            compensation[k] += (total[k] - (t - back)) + (x - back)
            total[k] = t
            lower[k] = min(lower[k], partial[b, k, P_MIN])
            upper[k] = max(upper[k], partial[b, k, P_MAX])
    mean = np.empty(n_objectives)
    for k in range(n_objectives):
        mean[k] = (total[k] + compensation[k]) / max(count[k], 1.0)
    return count, mean, lower, upper


@njit(cache=True)
def _objective_exponents(rewards, partial, lower, upper):
    """Each objective's batch scaling exponent (0 when its largest |r| is in the safe window); an objective outside
    it gets its partials redone on the scaled rewards (the rare path, serial). Returns the exponents and whether any
    objective was rescaled (the caller then recomputes :func:`_objective_totals`)."""
    n_objectives = partial.shape[1]
    exponents = np.zeros(n_objectives, dtype=np.int64)
    rescaled = False
    for k in range(n_objectives):
        largest = max(abs(lower[k]), abs(upper[k])) if lower[k] <= upper[k] else 0.0
        if _in_window(largest):
            continue
        exponent = _exponent(largest)
        exponents[k] = exponent
        rescaled = True
        c1, c2 = _factors(exponent)
        for b in range(partial.shape[0]):
            _objective_partial(rewards, b, k, c1, c2, partial)
    return exponents, rescaled


@njit(cache=True, error_model="numpy", inline="always")
def _objective_partial(rewards, b, k, c1, c2, partial):
    """partial[b, k] = (count, sum, min, max) of group b's objective k, NaN left out, each value times ``c1 * c2``
    (left to right: a power of two rounded once, see :func:`_factors`; 1, 1 leaves them as they are)."""
    count = 0.0
    total = 0.0
    lo = np.inf
    hi = -np.inf
    for j in range(rewards.shape[1]):
        x = rewards[b, j, k]
        if not np.isnan(x):
            x = x * c1 * c2
            count += 1.0
            total += x
            lo = min(lo, x)
            hi = max(hi, x)
    partial[b, k, P_COUNT] = count
    partial[b, k, P_SUM] = total
    partial[b, k, P_MIN] = lo
    partial[b, k, P_MAX] = hi


@njit(cache=True)
def _saw_scaled_weights(scheme_id, cv, weights):
    n_objectives = weights.shape[0]
    scaled = np.empty(n_objectives)
    factor = float(n_objectives) if scheme_id == SAW_GDPO else 1.0
    for k in range(n_objectives):
        scaled[k] = factor * cv[k] * weights[k]
    return scaled


@njit(cache=True)
def _normalized_weights(weights):
    """``(weights * 2**-e, e)`` with the largest weight scaled into [0.5, 1) (exact): the scale-free schemes' input,
    as :func:`mowsim.schemes.reference.normalized_weights`."""
    largest = 0.0
    for k in range(weights.shape[0]):
        largest = max(largest, weights[k])
    exponent = _exponent(largest)
    c1, c2 = _factors(exponent)
    unit = np.empty(weights.shape[0])
    for k in range(weights.shape[0]):
        unit[k] = weights[k] * c1 * c2
    return unit, exponent


@njit(cache=True)
def _saw_effective(cv, weights, effective):
    total = 0.0
    for k in range(weights.shape[0]):
        total += cv[k] * weights[k]
    weight_sum = _weight_total(weights)  # in objective order, as compiled and as plain Python alike
    for b in range(effective.shape[0]):
        for k in range(weights.shape[0]):
            if total > 0.0:
                effective[b, k] = cv[k] * weights[k] / total
            else:
                effective[b, k] = weights[k] / weight_sum


@njit(cache=True)
def _fixed_effective(weights, effective):
    weight_sum = _weight_total(weights)  # in objective order, as compiled and as plain Python alike
    for b in range(effective.shape[0]):
        for k in range(weights.shape[0]):
            effective[b, k] = weights[k] / weight_sum


@njit(cache=True)
def _weight_total(weights):
    """``sum_k w_k`` in objective order: the magnitude floor of GDPO's batch zero-spread rule."""
    total = 0.0
    for k in range(weights.shape[0]):
        total += weights[k]
    return total


@njit(cache=True)
def _reward_bounds(bounds):
    """The batch's reward range from the per-group ranges (see :func:`compute_serial`): the caller's inf check.
    +inf / -inf for a batch without any score."""
    lower = np.inf
    upper = -np.inf
    for b in range(bounds.shape[0]):
        lower = min(lower, bounds[b, 0])
        upper = max(upper, bounds[b, 1])
    return lower, upper


@njit(cache=True)
def _checks(bounds, out):
    """The drivers' return value ``(lower, upper, in_range, finite)``, see :func:`compute_serial`."""
    lower, upper = _reward_bounds(bounds)
    in_range = lower > -np.inf and upper < np.inf
    return lower, upper, in_range, all_finite(out)


# ---- the hot paths: one flat loop over a range of groups per pass ----
#
# A per-group helper that is not inlined, or that gets row views or slices, costs ~25 ns per call (measured), which
# at B = 4,096 groups is as much as the arithmetic. So each pass below loops over a range of groups itself, calling
# only scalar helpers or inlined ones that take the caller's own arrays (``_moments_clean``: measured free). The
# serial driver calls each with the whole batch, the parallel one with chunks of GROUP_CHUNK groups; the per-group
# arithmetic is the same either way (bit-identical results).
# Groups with a NaN, an inf, or magnitudes outside [SAFE_LOW, SAFE_HIGH) are flagged in ``pending`` and redone by
# the per-group functions above, which rescale by powers of two.

GROUP_CHUNK = 64


_ABS_BITS = np.uint64(0x7FFFFFFFFFFFFFFF)  # float64 bits without the sign: |x| as an ordered integer
_SIGN_BIT = np.uint64(0x8000000000000000)
_NONFINITE_BITS = np.uint64(0x7FF0000000000000)  # |x| bits >= this: x is inf or NaN
_LOW_BITS = np.array([SAFE_LOW]).view(np.uint64)[0]  # |x| bits of the safe window's ends
_HIGH_BITS = np.array([SAFE_HIGH]).view(np.uint64)[0]


@njit(cache=True, error_model="numpy")
def _rc_range(rewards, weights, ddof, eps, mask, out, bounds, pending, start, stop):
    """RC on groups [start, stop) without NaN or inf and inside the safe window: z-score of ``s = sum_k w_k r_k``;
    other groups go to ``pending``.

    Three short passes per chunk of GROUP_CHUNK groups instead of one long one per group: a group's statistics are
    a chain of dependent operations (sum, then squares, then sqrt and a division), and splitting the passes lets
    the CPU overlap the chains of neighbouring groups (this function alone: 0.33 -> 0.25 ms at 4,096 x 16 x 4).
    The weighted sum runs objective by objective over the group's rollouts (the reference's order of addition,
    starting from 0.0 as it does, so no -0), and the group's largest
    ``|r|`` is an integer maximum over the float bits, which vectorizes where a float maximum does not; it also
    routes a group with a NaN, an inf or a largest |r| outside the safe window to ``pending``, and so does a
    largest |s| outside it. ``bounds[b]`` is ``(-max |r|, max |r|)`` here: the drivers' reward range only has to
    give, through the rare path, any inf. ``eps`` is in the units of the (normalized) weights' sums.
    """
    n_rollouts, n_objectives = rewards.shape[1], rewards.shape[2]
    n_flat = n_rollouts * n_objectives
    bits = rewards.view(np.uint64).reshape(rewards.shape[0], n_flat)
    bound_bits = bounds.view(np.uint64)
    flag = 1 if n_rollouts >= 2 else 0
    stats = np.empty((GROUP_CHUNK, 3))  # per group of the chunk: mean of s, then min and max of s
    plain = _plain_ratio(float(n_rollouts))
    for first in range(start, stop, GROUP_CHUNK):
        last = min(stop, first + GROUP_CHUNK)
        for b in range(first, last):
            top = np.uint64(0)
            for i in range(n_flat):
                top = max(top, bits[b, i] & _ABS_BITS)
            if top >= _HIGH_BITS or (top < _LOW_BITS and top != 0):
                pending[b] = 1
                continue
            pending[b] = 0
            bound_bits[b, 0] = top | _SIGN_BIT
            bound_bits[b, 1] = top
            w = weights[0]
            for j in range(n_rollouts):
                out[b, j] = 0.0 + rewards[b, j, 0] * w  # 0.0 + as the reference starts its sum: no -0
            for k in range(1, n_objectives):
                w = weights[k]
                for j in range(n_rollouts):
                    out[b, j] += rewards[b, j, k] * w
            total = 0.0
            lower = np.inf
            upper = -np.inf
            for j in range(n_rollouts):
                v = out[b, j]
                total += v
                lower = min(lower, v)
                upper = max(upper, v)
            if not _in_window(max(abs(lower), abs(upper))):
                pending[b] = 1
                continue
            stats[b - first, 0] = total / n_rollouts
            stats[b - first, 1] = lower
            stats[b - first, 2] = upper
        for b in range(first, last):
            if pending[b]:
                continue
            m = stats[b - first, 0]
            lower = stats[b - first, 1]
            upper = stats[b - first, 2]
            sum_dev = 0.0
            sum_sq = 0.0
            if max(abs(lower), abs(upper)) > plain * (upper - lower):  # see _plain_ratio
                for j in range(n_rollouts):
                    d = out[b, j] - m
                    sum_dev += d
                    sum_sq += d * d
            else:
                for j in range(n_rollouts):
                    d = out[b, j] - m
                    sum_sq += d * d
            correction = sum_dev * (1.0 / n_rollouts)
            std = _std_from(sum_sq, sum_dev, correction, n_rollouts, ddof, stats[b - first, 1],
                            stats[b - first, 2], 0.0)
            # the multiplier takes the min's slot, the correction the max's: 0 for a constant group or G = 1
            stats[b - first, 1] = 1.0 / (std + eps) if std > 0.0 and flag else 0.0
            stats[b - first, 2] = correction
        for b in range(first, last):
            if pending[b]:
                continue
            m = stats[b - first, 0]
            scale = stats[b - first, 1]
            correction = stats[b - first, 2]
            for j in range(n_rollouts):
                mask[b, j] = flag
            if scale == 0.0:  # exactly +0, as the NaN-aware path and the reference give (no -0 from rounding)
                for j in range(n_rollouts):
                    out[b, j] = 0.0
            elif correction == 0.0:  # the same values as below, one subtraction fewer
                for j in range(n_rollouts):
                    out[b, j] = (out[b, j] - m) * scale
            else:
                for j in range(n_rollouts):
                    out[b, j] = ((out[b, j] - m) - correction) * scale


@njit(cache=True, error_model="numpy")
def _combine_range(rewards, weights, adaptive, ddof, eps, mask, out, effective, bounds, pending, start, stop):
    """AC (adaptive=False) or DVAO (adaptive=True) on groups [start, stop) without NaN and inside the safe window;
    other groups go to ``pending``.

    Two passes per chunk of GROUP_CHUNK groups, as in :func:`_rc_range`: the per-objective statistics and
    coefficients of every group of the chunk, then the advantages, objective by objective over the group's rollouts
    (the same order of addition as a row-wise sum, so the results are unchanged; 10-15% faster).
    """
    n_rollouts, n_objectives = rewards.shape[1], rewards.shape[2]
    flag = 1 if n_rollouts >= 2 else 0
    weight_total = 0.0
    for k in range(n_objectives):
        weight_total += weights[k]
    fixed = np.empty(n_objectives)  # the fixed effective weights, divided once per call, not per group
    for k in range(n_objectives):
        fixed[k] = weights[k] / weight_total
    st = np.empty((GROUP_CHUNK, 2, n_objectives))  # per group of the chunk: mean, then coefficient per objective
    offsets = np.empty(GROUP_CHUNK)  # per group: -sum_k c_k coef_k, the start of every rollout's sum
    active = np.empty(GROUP_CHUNK, dtype=np.uint8)
    mom = np.empty((N_MOM, n_objectives))
    plain = _plain_ratio(float(n_rollouts))
    for first in range(start, stop, GROUP_CHUNK):
        last = min(stop, first + GROUP_CHUNK)
        for b in range(first, last):
            c = b - first
            if not _moments_clean(rewards, b, ddof, plain, mom):
                pending[b] = 1
                continue
            pending[b] = 0
            raw_lower = np.inf
            raw_upper = -np.inf
            spread_total = 0.0
            for k in range(n_objectives):
                st[c, 0, k] = mom[M_MEAN, k]
                raw_lower = min(raw_lower, mom[M_LOWER, k])
                raw_upper = max(raw_upper, mom[M_UPPER, k])
                spread_total += weights[k] * mom[M_STD, k]
            bounds[b, 0] = raw_lower
            bounds[b, 1] = raw_upper
            live = flag == 1 and not (adaptive and not spread_total > 0.0)
            active[c] = 1 if live else 0
            offset = 0.0
            inv_total = 1.0 / spread_total if adaptive and spread_total > 0.0 else 0.0
            for k in range(n_objectives):
                std = mom[M_STD, k]
                if adaptive and spread_total > 0.0:
                    share = weights[k] * std * inv_total
                    effective[b, k] = share
                else:
                    share = weights[k] if not adaptive else 0.0
                    effective[b, k] = fixed[k]
                st[c, 1, k] = share / (std + eps) if std > 0.0 else 0.0
                offset += mom[M_CORR, k] * st[c, 1, k]
            offsets[c] = 0.0 - offset
        for b in range(first, last):
            if pending[b]:
                continue
            c = b - first
            for j in range(n_rollouts):
                mask[b, j] = flag
            if not active[c]:
                for j in range(n_rollouts):
                    out[b, j] = 0.0
                continue
            # every entry is finite here, so a constant objective's (x - m) * 0 adds exactly 0
            offset = offsets[c]
            m = st[c, 0, 0]
            w = st[c, 1, 0]
            for j in range(n_rollouts):
                out[b, j] = offset + (rewards[b, j, 0] - m) * w
            for k in range(1, n_objectives):
                m = st[c, 0, k]
                w = st[c, 1, k]
                for j in range(n_rollouts):
                    out[b, j] += (rewards[b, j, k] - m) * w


@njit(cache=True, error_model="numpy")
def _whiten_first_range(values, mask, partial, start, stop):
    """partial[b, :4] = (count, sum, min, max) of values[b, j] over mask[b, j], for b in [start, stop)."""
    for b in range(start, stop):
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
        partial[b, P_COUNT] = count
        partial[b, P_SUM] = total
        partial[b, P_MIN] = lower
        partial[b, P_MAX] = upper
        partial[b, P_DEV] = 0.0


@njit(cache=True, error_model="numpy")
def _whiten_second_range(values, mask, mean, partial, start, stop):
    for b in range(start, stop):
        sum_sq = 0.0
        for j in range(values.shape[1]):
            if mask[b, j]:
                d = values[b, j] - mean
                sum_sq += d * d
        partial[b, P_SQ] = sum_sq


@njit(cache=True, error_model="numpy")
def _whiten_dev_range(values, mask, mean, partial, start, stop):
    """partial[b, P_DEV] = sum of values[b, j] - mean over mask (the correction's sum, when it is needed)."""
    for b in range(start, stop):
        sum_dev = 0.0
        for j in range(values.shape[1]):
            if mask[b, j]:
                sum_dev += values[b, j] - mean
        partial[b, P_DEV] = sum_dev


@njit(cache=True)
def _whiten_needs_correction(partial, count, mean, lower, upper, sum_sq, ddof, n_rollouts):
    """Whether the batch mean's rounding error can move GDPO's z-scores by more than ``1e-13`` of a std.

    The mean of per-group sums (G values each) combined in group order is off by at most
    ``u ((G - 1) max|a| + (B - 1) sum_b |t_b| / n + |mean|)`` (``u = 2**-53``, ``t_b`` the group sums); the std is
    known from the uncorrected sum of squares (the correction only lowers it by the square of that error). GDPO's
    values are centered per group, so this is False but for a near-constant batch, which then pays one more pass.
    """
    if count < 2.0:
        return False
    group_sums = 0.0
    for b in range(partial.shape[0]):
        group_sums += abs(partial[b, P_SUM])
    largest = max(abs(lower), abs(upper))
    error = 2.0**-53 * ((n_rollouts - 1.0) * largest + (partial.shape[0] - 1.0) * group_sums / count + abs(mean))
    std = np.sqrt(sum_sq / max(count - ddof, 1.0))
    return not error <= 1e-13 * std


@njit(cache=True, error_model="numpy")
def _whiten_apply_range(values, mask, mean, correction, std, eps, start, stop):
    for b in range(start, stop):
        if correction == 0.0:  # the same values, one subtraction fewer
            for j in range(values.shape[1]):
                values[b, j] = _zscore(values[b, j] - mean, std, eps) if mask[b, j] else 0.0
        else:
            for j in range(values.shape[1]):
                values[b, j] = _zscore((values[b, j] - mean) - correction, std, eps) if mask[b, j] else 0.0


@njit(cache=True)
def _rescale_values(values, exponent):
    """values *= 2**-exponent in place (GDPO's batch values outside the safe window: the rare path)."""
    c1, c2 = _factors(exponent)
    for b in range(values.shape[0]):
        for j in range(values.shape[1]):
            values[b, j] = values[b, j] * c1 * c2


@njit(cache=True, error_model="numpy")
def _objective_first_range(rewards, partial, pending, start, stop):
    """partial[b, k, :4] = (count, sum, min, max) of objective k in group b, for groups [start, stop) without NaN;
    a group with a NaN is flagged in ``pending`` and done by :func:`_objective_first_nan`."""
    n_rollouts, n_objectives = rewards.shape[1], rewards.shape[2]
    for b in range(start, stop):
        clean = True
        for k in range(n_objectives):
            t, lo, hi = _column_first(rewards, b, k)
            if np.isnan(t):
                clean = False
            partial[b, k, P_COUNT] = n_rollouts
            partial[b, k, P_SUM] = t
            partial[b, k, P_MIN] = lo
            partial[b, k, P_MAX] = hi
        pending[b] = 0 if clean else 1


@njit(cache=True, error_model="numpy")
def _objective_first_nan(rewards, b, partial):
    """The NaN-aware :func:`_objective_first_range` for one group (an objective with no score: 0, 0, +inf, -inf)."""
    for k in range(rewards.shape[2]):
        _objective_partial(rewards, b, k, 1.0, 1.0, partial)


@njit(cache=True, error_model="numpy")
def _objective_second_range(rewards, mean, exponents, partial, pending, start, stop):
    """partial[b, k, P_SQ] = sum over group b of (r_k - mean[k])**2, NaN excluded (NaN tests only in ``pending``
    groups), with r_k scaled by ``2**-exponents[k]`` where that is not 0 (the rare path). ``P_DEV`` is set to 0
    here; :func:`_objective_dev` fills it where the mean needs its correction (:func:`_saw_needs_correction`)."""
    n_rollouts, n_objectives = rewards.shape[1], rewards.shape[2]
    for b in range(start, stop):
        for k in range(n_objectives):
            m = mean[k]
            sum_sq = 0.0
            if exponents[k] != 0:
                c1, c2 = _factors(int(exponents[k]))
                for j in range(n_rollouts):
                    x = rewards[b, j, k]
                    if not np.isnan(x):
                        d = x * c1 * c2 - m
                        sum_sq += d * d
            elif not pending[b]:
                for j in range(n_rollouts):
                    d = rewards[b, j, k] - m
                    sum_sq += d * d
            else:
                for j in range(n_rollouts):
                    x = rewards[b, j, k]
                    if not np.isnan(x):
                        d = x - m
                        sum_sq += d * d
            partial[b, k, P_SQ] = sum_sq
            partial[b, k, P_DEV] = 0.0


@njit(cache=True)
def _saw_needs_correction(count, mean, lower, upper, exponents, reward_min, has_reward_min, saw, n_rollouts,
                          partial):
    """Per objective, whether the batch mean's rounding error could move SAW's CV by more than ~1e-13.

    The mean of per-group sums combined by compensated summation (:func:`_objective_totals`) is off by at most
    ``e = u ((G - 1) max|r| + 2 |mean|)`` (``u = 2**-53``; the groups' own sequential sums). The CV's denominator
    ``|mean - floor + delta| + delta`` takes that error at first order (an offset batch: mean and floor close
    together). Its std takes it at second order: the uncorrected sum of squares ``sum (x - m)**2`` (``partial``'s
    ``P_SQ``, known here) exceeds the exact one by ``n e**2``, which matters when the spread is within ~1e-6 of the
    rewards' magnitude (rewards that differ in their 12th digit). Typical rewards need no correction; such ones pay
    one more pass over their objective. An exactly constant objective has std 0 whatever the mean.
    """
    n_objectives = count.shape[0]
    needs = np.zeros(n_objectives, dtype=np.uint8)
    for k in range(n_objectives):
        if count[k] < 1.0 or lower[k] == upper[k]:
            continue
        m = mean[k]
        largest = max(abs(lower[k]), abs(upper[k]))
        error = 2.0**-53 * ((n_rollouts - 1.0) * largest + 2.0 * abs(m))
        delta = math.ldexp(saw[SAW_DELTA], -int(exponents[k]))
        floor = math.ldexp(reward_min[k], -int(exponents[k])) if has_reward_min else lower[k]
        sum_sq = 0.0
        for b in range(partial.shape[0]):
            sum_sq += partial[b, k, P_SQ]
        if not error <= 1e-13 * (abs(m - floor + delta) + delta) or not count[k] * error * error <= 1e-13 * sum_sq:
            needs[k] = 1
    return needs


@njit(cache=True, error_model="numpy")
def _objective_dev(rewards, mean, exponents, needs, partial, start, stop):
    """partial[b, k, P_DEV] = sum over group b of r_k - mean[k] (scaled as in :func:`_objective_second_range`, NaN
    excluded) for the objectives flagged in ``needs``."""
    n_rollouts, n_objectives = rewards.shape[1], rewards.shape[2]
    for b in range(start, stop):
        for k in range(n_objectives):
            if not needs[k]:
                continue
            c1, c2 = _factors(int(exponents[k]))
            sum_dev = 0.0
            for j in range(n_rollouts):
                x = rewards[b, j, k]
                if not np.isnan(x):
                    sum_dev += x * c1 * c2 - mean[k]
            partial[b, k, P_DEV] = sum_dev


@njit(cache=True)
def all_finite(values):
    """True if every entry of a C-contiguous 2-D float64 array is finite (the wrapper's last check).

    An integer maximum over the float bits without the sign (inf and NaN have the largest), which vectorizes:
    ~10x faster than ``np.isfinite(values).all()``.
    """
    bits = values.view(np.uint64).reshape(values.size)
    top = np.uint64(0)
    for i in range(bits.shape[0]):
        top = max(top, bits[i] & _ABS_BITS)
    return top < _NONFINITE_BITS


AC_WEIGHT_EXPONENT = 200  # AC takes its weights as given while the largest is within 2**+-200 of 1


@njit(cache=True)
def _prepare_weights(scheme_id, weights, eps):
    """``(weights, eps, post)``: the weights the combination uses, ``eps`` in the units of the weighted sums, and
    the power of two the advantages are multiplied by at the end.

    The scale-free schemes take the normalized weights (:func:`_normalized_weights`). AC's advantages scale with
    its weights, so it takes them as given (``post = 0``), unless the largest is beyond ``2**+-AC_WEIGHT_EXPONENT``,
    where a coefficient ``w_k / sigma_k`` could leave the normal range: then the normalized weights and
    ``post = e``, the same bits wherever the as-given computation stays normal.
    """
    unit, exponent = _normalized_weights(weights)
    if scheme_id == AC:
        if abs(exponent) <= AC_WEIGHT_EXPONENT:
            return weights, eps, 0
        return unit, eps, exponent
    return unit, math.ldexp(eps, -exponent), 0


@njit(cache=True)
def _scale_advantages(out, exponent, start, stop):
    """out[b] *= 2**exponent for b in [start, stop) (AC with weights beyond 2**+-200)."""
    c1, c2 = _factors(-exponent)
    for b in range(start, stop):
        for j in range(out.shape[1]):
            out[b, j] = out[b, j] * c1 * c2


@njit(cache=True)
def _whiten_stats(out, mask, part, count, mean, lower, upper, magnitude, eps):
    """GDPO's batch statistics after the first pass: rescales ``out`` if its largest |a| is outside the safe window
    (then the first pass is redone here, serially) and returns ``(count, mean, lower, upper, magnitude, eps)`` in
    the units the second pass and the apply step use."""
    largest = max(abs(lower), abs(upper)) if count > 0.0 else 0.0
    if _in_window(largest):
        return count, mean, lower, upper, magnitude, eps
    exponent = _exponent(largest)
    _rescale_values(out, exponent)
    _whiten_first_range(out, mask, part, 0, out.shape[0])
    count, mean, lower, upper = _combine_first(part)
    return count, mean, lower, upper, math.ldexp(magnitude, -exponent), math.ldexp(eps, -exponent)


@njit(cache=True)
def compute_serial(scheme_id, rewards, weights, ddof, eps, reward_min, has_reward_min, saw, out, effective):
    """Advantages of ``scheme_id`` into out (B, G) and effective weights into effective (B, K); serial twin.

    ``saw`` holds SAW's ``(delta, min_weight)`` (ignored by the other schemes). Returns the wrapper's checks,
    ``(lower, upper, in_range, finite)``: a range ``[lower, upper]`` that holds every non-NaN reward, with an
    infinite end exactly when the batch has an ``inf`` (+inf, -inf if nothing is scored); ``in_range``, True when
    that range holds no ``inf``; and ``finite``, whether every advantage is finite (one vectorized pass over the
    output while it is still in cache). The wrapper then pays for one test in the common case, and builds the error
    messages from the range otherwise.
    """
    n_groups, n_rollouts, n_objectives = rewards.shape
    mask = np.empty((n_groups, n_rollouts), dtype=np.uint8)
    bounds = np.empty((n_groups, 2))
    pending = np.empty(n_groups, dtype=np.uint8)
    used = weights
    cv = weights
    if scheme_id == SAW_GRPO or scheme_id == SAW_GDPO:
        cv = saw_cv_serial(rewards, ddof, reward_min, has_reward_min, saw, pending)
        used = _saw_scaled_weights(scheme_id, cv, weights)
    used, eps_sum, post = _prepare_weights(scheme_id, used, eps)
    kind = _kind_of(scheme_id)
    mom = np.empty((N_MOM, n_objectives))  # the rare path's work arrays (serial: one serves every group)
    coef = np.empty(n_objectives)
    if kind == 0:
        _rc_range(rewards, used, ddof, eps_sum, mask, out, bounds, pending, 0, n_groups)
        for b in range(n_groups):
            if pending[b]:
                _rc_nan(rewards, b, used, ddof, eps_sum, mask, out, bounds)
    else:
        adaptive = kind == 2
        _combine_range(rewards, used, adaptive, ddof, eps, mask, out, effective, bounds, pending, 0, n_groups)
        for b in range(n_groups):
            if pending[b]:
                _combine_nan(rewards, b, used, adaptive, ddof, eps, mask, out, effective, mom, coef, bounds)
        if post != 0:
            _scale_advantages(out, post, 0, n_groups)
    if scheme_id == GDPO or scheme_id == SAW_GDPO:
        whiten_serial(out, mask, ddof, _weight_total(used), eps_sum)
    if scheme_id == SAW_GRPO or scheme_id == SAW_GDPO:
        _saw_effective(cv, weights, effective)
    elif kind == 0:
        _fixed_effective(weights, effective)
    return _checks(bounds, out)


@njit(cache=True)
def saw_cv_serial(rewards, ddof, reward_min, has_reward_min, saw, pending):
    """SAW's CV weights ``w'`` (K,) of the batch, serially (``pending`` (B,) uint8 is work space)."""
    n_groups, n_rollouts, n_objectives = rewards.shape
    opart = np.empty((n_groups, n_objectives, N_PARTIAL))
    _objective_first_range(rewards, opart, pending, 0, n_groups)
    for b in range(n_groups):
        if pending[b]:
            _objective_first_nan(rewards, b, opart)
    ocount, omean, olower, oupper = _objective_totals(opart)
    oexp, rescaled = _objective_exponents(rewards, opart, olower, oupper)
    if rescaled:
        ocount, omean, olower, oupper = _objective_totals(opart)
    _objective_second_range(rewards, omean, oexp, opart, pending, 0, n_groups)
    needs = _saw_needs_correction(ocount, omean, olower, oupper, oexp, reward_min, has_reward_min, saw,
                                  float(n_rollouts), opart)
    if needs.any():
        _objective_dev(rewards, omean, oexp, needs, opart, 0, n_groups)
    return _cv_weights(opart, ocount, omean, olower, oupper, ddof, reward_min, has_reward_min, saw, oexp)


@njit(cache=True)
def whiten_serial(out, mask, ddof, magnitude, eps):
    """GDPO's batch z-score of out (B, G) over the entries in ``mask``, in place, serially (``magnitude``: the floor
    of the zero-spread rule; ``magnitude`` and ``eps`` in the units of ``out``)."""
    n_groups, n_rollouts = out.shape
    part = np.empty((n_groups, N_PARTIAL))
    _whiten_first_range(out, mask, part, 0, n_groups)
    count, mean, lower, upper = _combine_first(part)
    count, mean, lower, upper, magnitude, eps_batch = _whiten_stats(out, mask, part, count, mean, lower, upper,
                                                                    magnitude, eps)
    _whiten_second_range(out, mask, mean, part, 0, n_groups)
    sum_sq, sum_dev = _combine_second(part)
    if _whiten_needs_correction(part, count, mean, lower, upper, sum_sq, ddof, float(n_rollouts)):
        _whiten_dev_range(out, mask, mean, part, 0, n_groups)
        sum_sq, sum_dev = _combine_second(part)
    correction = sum_dev * (1.0 / max(count, 1.0))
    std = _std_from(sum_sq, sum_dev, correction, count, ddof, lower, upper, magnitude)
    _whiten_apply_range(out, mask, mean, correction, std, eps_batch, 0, n_groups)


@njit(cache=True, parallel=True)
def compute_parallel(scheme_id, rewards, weights, ddof, eps, reward_min, has_reward_min, saw, out, effective):
    """Same as :func:`compute_serial`, with ``prange`` over chunks of GROUP_CHUNK groups; bit-identical results."""
    n_groups, n_rollouts, n_objectives = rewards.shape
    mask = np.empty((n_groups, n_rollouts), dtype=np.uint8)
    bounds = np.empty((n_groups, 2))
    pending = np.empty(n_groups, dtype=np.uint8)
    n_chunks = (n_groups + GROUP_CHUNK - 1) // GROUP_CHUNK
    used = weights
    cv = weights
    if scheme_id == SAW_GRPO or scheme_id == SAW_GDPO:
        opart = np.empty((n_groups, n_objectives, N_PARTIAL))
        for c in prange(n_chunks):
            _objective_first_range(rewards, opart, pending, c * GROUP_CHUNK, min(n_groups, (c + 1) * GROUP_CHUNK))
        for b in prange(n_groups):
            if pending[b]:
                _objective_first_nan(rewards, b, opart)
        ocount, omean, olower, oupper = _objective_totals(opart)
        oexp, rescaled = _objective_exponents(rewards, opart, olower, oupper)
        if rescaled:
            ocount, omean, olower, oupper = _objective_totals(opart)
        for c in prange(n_chunks):
            _objective_second_range(rewards, omean, oexp, opart, pending, c * GROUP_CHUNK,
                                    min(n_groups, (c + 1) * GROUP_CHUNK))
        needs = _saw_needs_correction(ocount, omean, olower, oupper, oexp, reward_min, has_reward_min, saw,
                                      float(n_rollouts), opart)
        if needs.any():
            for c in prange(n_chunks):
                _objective_dev(rewards, omean, oexp, needs, opart, c * GROUP_CHUNK,
                               min(n_groups, (c + 1) * GROUP_CHUNK))
        cv = _cv_weights(opart, ocount, omean, olower, oupper, ddof, reward_min, has_reward_min, saw, oexp)
        used = _saw_scaled_weights(scheme_id, cv, weights)
    used, eps_sum, post = _prepare_weights(scheme_id, used, eps)
    kind = _kind_of(scheme_id)
    # the rare path's work arrays, one per concurrent chunk
    mom = np.empty((n_chunks, N_MOM, n_objectives))
    coef = np.empty((n_chunks, n_objectives))
    if kind == 0:
        for c in prange(n_chunks):
            _rc_range(rewards, used, ddof, eps_sum, mask, out, bounds, pending, c * GROUP_CHUNK,
                      min(n_groups, (c + 1) * GROUP_CHUNK))
        for b in prange(n_groups):
            if pending[b]:
                _rc_nan(rewards, b, used, ddof, eps_sum, mask, out, bounds)
    else:
        adaptive = kind == 2
        for c in prange(n_chunks):
            _combine_range(rewards, used, adaptive, ddof, eps, mask, out, effective, bounds, pending,
                           c * GROUP_CHUNK, min(n_groups, (c + 1) * GROUP_CHUNK))
        for c in prange(n_chunks):
            for b in range(c * GROUP_CHUNK, min(n_groups, (c + 1) * GROUP_CHUNK)):
                if pending[b]:
                    _combine_nan(rewards, b, used, adaptive, ddof, eps, mask, out, effective, mom[c], coef[c],
                                 bounds)
        if post != 0:
            for c in prange(n_chunks):
                _scale_advantages(out, post, c * GROUP_CHUNK, min(n_groups, (c + 1) * GROUP_CHUNK))
    if scheme_id == GDPO or scheme_id == SAW_GDPO:
        part = np.empty((n_groups, N_PARTIAL))
        for c in prange(n_chunks):
            _whiten_first_range(out, mask, part, c * GROUP_CHUNK, min(n_groups, (c + 1) * GROUP_CHUNK))
        count, mean, lower, upper = _combine_first(part)
        count, mean, lower, upper, magnitude, eps_batch = _whiten_stats(out, mask, part, count, mean, lower, upper,
                                                                        _weight_total(used), eps_sum)
        for c in prange(n_chunks):
            _whiten_second_range(out, mask, mean, part, c * GROUP_CHUNK, min(n_groups, (c + 1) * GROUP_CHUNK))
        sum_sq, sum_dev = _combine_second(part)
        if _whiten_needs_correction(part, count, mean, lower, upper, sum_sq, ddof, float(n_rollouts)):
            for c in prange(n_chunks):
                _whiten_dev_range(out, mask, mean, part, c * GROUP_CHUNK, min(n_groups, (c + 1) * GROUP_CHUNK))
            sum_sq, sum_dev = _combine_second(part)
        correction = sum_dev * (1.0 / max(count, 1.0))
        std = _std_from(sum_sq, sum_dev, correction, count, ddof, lower, upper, magnitude)
        for c in prange(n_chunks):
            _whiten_apply_range(out, mask, mean, correction, std, eps_batch, c * GROUP_CHUNK,
                                min(n_groups, (c + 1) * GROUP_CHUNK))
    if scheme_id == SAW_GRPO or scheme_id == SAW_GDPO:
        _saw_effective(cv, weights, effective)
    elif kind == 0:
        _fixed_effective(weights, effective)
    return _checks(bounds, out)
