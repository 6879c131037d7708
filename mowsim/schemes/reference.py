"""Plain NumPy reference implementations: the readable oracle the Numba kernels are tested against.

Every function here takes an already validated ``float64`` array ``rewards`` of shape
(n_groups, n_rollouts, n_objectives) = (B, G, K) and returns ``(advantages, effective_weights)`` with shapes
(B, G) and (B, K). Validation lives in :mod:`mowsim.validation`; the public entry point is
:func:`mowsim.advantages`.

Conventions shared by every scheme (they are the library's contract, and the kernels follow them exactly):

* ``NaN`` is an unscorable entry (TRL's semantics). It is left out of every mean and std and contributes 0 to any
  sum over objectives. A rollout whose every objective is NaN is *unscorable* and gets advantage 0.
* A group with fewer than 2 scorable rollouts gets advantage 0 (so ``G == 1`` gives zeros).
* ``ddof`` selects the std: 0 is the population std of the papers' propositions, 1 the unbiased std of TRL/verl.
  A set with ``n - ddof <= 0`` values has std 0.
* ``eps`` is added to the std, ``(x - mean) / (std + eps)``, the way TRL adds its ``1e-4``.
* A set of values that is constant (its spread is below ``ZERO_SPREAD_RTOL`` times its magnitude, i.e. zero up to
  rounding) has std exactly 0, and a zero-std quantity contributes exactly 0, whatever ``eps`` is. This replaces
  ``0 / (0 + eps)`` and, more importantly, ``rounding-noise / rounding-noise``, which TRL with ``eps=0`` would turn
  into advantages of order 1 or NaN. For GDPO's batch z-score the magnitude is at least ``sum_k w_k``, the scale of
  a weighted sum of z-scores: when the objectives' z-scores cancel in every rollout (e.g. a binary reward and its
  complement), the combination is rounding residue of order 1e-16, not a signal to whiten.
* Every statistic is computed scale-free (issue 15). A set (a group's objective, a group's weighted sums, a batch)
  is first multiplied by the power of two ``2**-e`` that puts its largest ``|x|`` in ``[0.5, 1)`` (exact: only
  values more than ~1e308 times smaller than the largest round, and those cannot change a sum), and the weights of
  the scale-free schemes (RC, GDPO, DVAO, SAW) by the power of two that puts the largest weight there; ``eps``,
  ``delta`` and ``reward_min`` are carried into the same units. So no square overflows or becomes subnormal, every
  finite input gives finite advantages, and with ``eps = 0`` ``advantages(2**k * R) == advantages(R)`` bit for
  bit whenever ``2**k * R`` is exact.
* Centering is accurate (corrected two-pass): with ``m`` the rounded mean and ``c = mean(x - m)``, the centered
  values are ``(x - m) - c`` and the variance ``(sum (x - m)**2 - c * sum (x - m)) / (n - ddof)``. The centered
  values of a group then sum to zero up to a few ulps of its spread even when the spread is 1e-11 of the mean, and
  ``|A| <= sqrt(n - 1)`` (``(n - 1) / sqrt(n)`` with ``ddof = 1``, Samuelson) holds to rounding for RC, DVAO and
  SAW-GRPO at any scale and offset.

Remaining limits: ``inf`` is refused. AC uses the weights as given (its advantages scale with them), so weights
near the float64 limit (``w_k / sigma_k`` or ``sum_k w_k sqrt(G)`` beyond ~1e308 in the scaled units) overflow and
the wrapper raises. Weight *ratios* beyond ~1e290 can lose digits where a weighted reward or ``w_k sigma_k`` falls
below the smallest normal float64. ``eps``, ``delta`` and ``reward_min`` are absolute, so with ``eps > 0`` (and for
SAW always) a power-of-two scaling of the rewards changes the advantages as the formulas say, not bit for bit.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "ZERO_SPREAD_RTOL",
    "moments",
    "scaled_moments",
    "normalized_weights",
    "objective_stats",
    "batch_whiten",
    "saw_cv_weights",
    "rc",
    "ac",
    "gdpo",
    "dvao",
    "saw_grpo",
    "saw_gdpo",
]

ZERO_SPREAD_RTOL = 1e-12
"""A set whose ``max - min`` is at most this times ``max(|max|, |min|)`` counts as constant (std exactly 0)."""


def _exponent(largest: np.ndarray) -> np.ndarray:
    """``e`` with ``largest = f * 2**e``, ``f`` in ``[0.5, 1)`` (``np.frexp``); 0 where ``largest`` is 0, NaN or inf."""
    largest = np.asarray(largest, dtype=np.float64)
    usable = np.isfinite(largest) & (largest > 0)
    return np.frexp(np.where(usable, largest, 0.0))[1]


def _ldexp(values, exponent) -> np.ndarray:
    """``values * 2**exponent`` rounded once (inf where it overflows, as the kernels' scaled ``eps`` does)."""
    with np.errstate(over="ignore", under="ignore"):
        return np.ldexp(values, exponent)


def _largest_abs(values: np.ndarray, axis) -> np.ndarray:
    """``max |x|`` over the non-NaN values along ``axis`` (0 for an all-NaN slice)."""
    valid = ~np.isnan(values)
    return np.where(valid, np.abs(values), 0.0).max(axis=axis)


def normalized_weights(weights: np.ndarray) -> tuple[np.ndarray, int]:
    """``(w_unit, e)`` with ``w_unit = weights * 2**-e``, ``e`` putting the largest weight in ``[0.5, 1)``.

    Exact (a power of two); what the scale-free schemes (RC, GDPO, DVAO, SAW) use, so the weights' scale changes no
    bit of their advantages.
    """
    exponent = int(_exponent(np.max(weights)))
    return _ldexp(weights, -exponent), exponent


def scaled_moments(values: np.ndarray, axis: int, ddof: int, magnitude: float = 0.0, corrected: bool = True):
    r"""NaN-aware statistics along ``axis`` in scale-free units, with the library's zero-spread rule.

    The values are first multiplied by ``2**-e``, ``e`` from their largest ``|x|`` (:func:`_exponent`), so the
    largest is in ``[0.5, 1)``. Over the ``n`` non-NaN scaled values ``x``:

    .. math:: m = \frac{1}{n} \sum_i x_i, \qquad c = \frac{1}{n} \sum_i (x_i - m), \qquad
              \sigma = \sqrt{\frac{\sum_i (x_i - m)^2 - c \sum_i (x_i - m)}{n - \text{ddof}}}

    (corrected two-pass: the centered values are ``(x - m) - c``), with ``sigma = 0`` when ``n - ddof <= 0`` or when
    ``max - min <= ZERO_SPREAD_RTOL * max(|max|, |min|, magnitude)``. Returns ``(e, m, c, sigma)`` with ``axis``
    removed; ``m``, ``c`` and ``sigma`` are in units of ``2**e``. An all-NaN slice gives ``e = 0``, zeros elsewhere.
    ``corrected=False`` leaves the correction out (``c = 0``).
    """
    valid = ~np.isnan(values)
    exponent = _exponent(_largest_abs(values, axis))
    scaled = _ldexp(values, -np.expand_dims(exponent, axis))
    count = valid.sum(axis=axis)
    mean = np.where(valid, scaled, 0.0).sum(axis=axis) / np.maximum(count, 1)
    deviation = np.where(valid, scaled - np.expand_dims(mean, axis), 0.0)
    sum_dev = deviation.sum(axis=axis) if corrected else np.zeros_like(mean)
    correction = sum_dev / np.maximum(count, 1)
    dof = count - ddof
    var = np.maximum((deviation**2).sum(axis=axis) - sum_dev * correction, 0.0) / np.maximum(dof, 1)
    upper = np.where(valid, scaled, -np.inf).max(axis=axis)
    lower = np.where(valid, scaled, np.inf).min(axis=axis)
    with np.errstate(invalid="ignore"):
        spread = upper - lower
        scale = np.maximum(np.maximum(np.abs(upper), np.abs(lower)), _ldexp(magnitude, -exponent))
        constant = (dof <= 0) | ~(spread > ZERO_SPREAD_RTOL * scale)
    std = np.where(constant, 0.0, np.sqrt(var))
    return exponent, mean, correction, std


def moments(values: np.ndarray, axis: int, ddof: int, magnitude: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    r"""NaN-aware mean and std along ``axis``, with the library's zero-spread rule.

    .. math:: \mu = \frac{1}{n} \sum_i x_i, \qquad
              \sigma = \sqrt{\frac{1}{n - \text{ddof}} \sum_i (x_i - \mu)^2}

    over the ``n`` non-NaN values, with ``sigma = 0`` when ``n - ddof <= 0`` or when
    ``max - min <= ZERO_SPREAD_RTOL * max(|max|, |min|, magnitude)``. Returns ``(mean, std)`` with ``axis`` removed.
    An all-NaN slice has mean 0 and std 0. Computed by :func:`scaled_moments` and scaled back (so a std beyond the
    float64 range overflows here, though the scaled statistics the schemes use do not).
    """
    exponent, mean, correction, std = scaled_moments(values, axis, ddof, magnitude)
    return _ldexp(mean + correction, exponent), _ldexp(std, exponent)


def _scorable_mask(rewards: np.ndarray) -> np.ndarray:
    """(B, G) boolean: the rollout has at least one scored objective, and its group has >= 2 such rollouts."""
    scorable = ~np.all(np.isnan(rewards), axis=2)
    group_ok = scorable.sum(axis=1) >= 2
    return scorable & group_ok[:, None]


def _zscore(centered: np.ndarray, std: np.ndarray, eps) -> np.ndarray:
    """``centered / (std + eps)``, exactly 0 where ``std == 0``."""
    safe = np.where(std > 0, std + eps, 1.0)
    return np.where(std > 0, centered / safe, 0.0)


def _weighted_sum(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``sum_k weights[..., k] * values[..., k]`` over the last axis, NaN counting 0, summed in objective order."""
    total = np.zeros(values.shape[:-1])
    for k in range(values.shape[-1]):
        total = total + np.nan_to_num(values[..., k] * weights[..., k], nan=0.0)
    return total


def _weight_total(weights: np.ndarray) -> float:
    """``sum_k w_k`` in objective order (as the kernels add it)."""
    total = 0.0
    for weight in weights:
        total += float(weight)
    return total


def _fixed_weights(weights: np.ndarray, n_groups: int) -> np.ndarray:
    weights = normalized_weights(weights)[0]
    with np.errstate(invalid="ignore"):  # all-zero weights (SAW's CV-scaled ones, discarded then): NaN, as before
        return np.broadcast_to(weights / weights.sum(), (n_groups, weights.shape[0])).copy()


def _objective_parts(rewards: np.ndarray, ddof: int, eps: float):
    """Per-group, per-objective statistics in each objective's own scale-free units.

    Returns ``(e, std, centered, eps_scaled)``: the exponents (B, K), the scaled std (B, K), the scaled centered
    values ``(x - m) - c`` (B, G, K; 0 for NaN entries and constant objectives) and ``eps`` in those units (B, K).
    """
    exponent, mean, correction, std = scaled_moments(rewards, axis=1, ddof=ddof)
    scaled = _ldexp(rewards, -exponent[:, None, :])
    constant = np.isnan(rewards) | (std[:, None, :] == 0)
    centered = np.where(constant, 0.0, (scaled - mean[:, None, :]) - correction[:, None, :])
    return exponent, std, centered, _ldexp(eps, -exponent)


def objective_stats(rewards: np.ndarray, ddof: int, eps: float):
    """Per-group, per-objective statistics.

    Returns
    -------
    mean, std : ndarray of shape (B, K)
        ``mu[b, k]`` and ``sigma[b, k]`` over the scored rollouts of group ``b``.
    centered : ndarray of shape (B, G, K)
        ``r - mu``, with 0 for NaN entries and for constant objectives.
    zscores : ndarray of shape (B, G, K)
        ``A_k = (r - mu) / (sigma + eps)``, with 0 where ``sigma == 0`` or the entry is NaN.

    All four are computed in scale-free units (:func:`scaled_moments`); the z-scores are exact at any scale, the
    others are scaled back (they under- or overflow only where float64 cannot hold them).
    """
    exponent, mean, correction, std = scaled_moments(rewards, axis=1, ddof=ddof)
    scaled = _ldexp(rewards, -exponent[:, None, :])
    constant = np.isnan(rewards) | (std[:, None, :] == 0)
    centered = np.where(constant, 0.0, (scaled - mean[:, None, :]) - correction[:, None, :])
    zscores = _zscore(centered, std[:, None, :], _ldexp(eps, -exponent)[:, None, :])
    unscale = exponent[:, None, :]
    return (_ldexp(mean + correction, exponent), _ldexp(std, exponent), _ldexp(centered, unscale), zscores)


def batch_whiten(values: np.ndarray, mask: np.ndarray, ddof: int, eps: float, magnitude: float = 0.0) -> np.ndarray:
    """GDPO's batch normalization: ``(a - mean_batch a) / (std_batch a + eps)`` over the entries in ``mask``.

    Entries outside ``mask`` are 0 and do not enter the batch statistics. A constant batch gives zeros; ``magnitude``
    is the floor of the zero-spread rule's scale (see :func:`moments`). Computed in the batch's scale-free units.
    """
    masked = np.where(mask, values, np.nan)
    exponent, mean, correction, std = scaled_moments(masked.ravel(), axis=0, ddof=ddof, magnitude=magnitude)
    centered = (_ldexp(values, -exponent) - mean) - correction
    return np.where(mask, _zscore(centered, std, _ldexp(eps, -exponent)), 0.0)


def _group_exponent(rewards: np.ndarray) -> np.ndarray:
    """Each group's exponent of its largest ``|r|`` over every objective, shape (B,)."""
    return _exponent(_largest_abs(rewards.reshape(rewards.shape[0], -1), axis=1))


def rc(rewards: np.ndarray, weights: np.ndarray, ddof: int = 0, eps: float = 0.0):
    r"""Reward Combination (plain multi-reward GRPO).

    .. math:: s_j = \sum_k w_k r_{jk}, \qquad A_j = \frac{s_j - \operatorname{mean}_j s}{\operatorname{std}_j s + \epsilon}

    Source: DVAO paper (Liu et al., 2026), Eq. 1-2; TRL ``multi_objective_aggregation="sum_then_normalize"``.
    NaN objectives count 0 in ``s`` (TRL's nansum). With K = 1 it is the GRPO z-score.
    The sums use the rewards scaled by their group's power of two and the normalized weights; ``eps`` follows.
    """
    mask = _scorable_mask(rewards)
    unit, weight_exponent = normalized_weights(weights)
    group_exponent = _group_exponent(rewards)
    scaled = _ldexp(rewards, -group_exponent[:, None, None])
    scalar = np.where(mask, _weighted_sum(scaled, unit), np.nan)
    exponent, mean, correction, std = scaled_moments(scalar, axis=1, ddof=ddof)
    centered = (_ldexp(scalar, -exponent[:, None]) - mean[:, None]) - correction[:, None]
    centered = np.where(mask & (std[:, None] > 0), centered, 0.0)
    eps_scaled = _ldexp(eps, -(exponent + group_exponent + weight_exponent))
    advantages = np.where(mask, _zscore(centered, std[:, None], eps_scaled[:, None]), 0.0)
    return advantages, _fixed_weights(weights, rewards.shape[0])


def _combined(rewards: np.ndarray, weights: np.ndarray, adaptive: bool, ddof: int, eps: float):
    """AC (fixed coefficients ``w_k``) or DVAO (``w_k sigma_k / sum_l w_l sigma_l``) as the kernels compute them:
    ``A_j = sum_k ((x_jk - m_k) - c_k) * coef_k`` with ``coef_k = share_k / (sigma_k + eps)`` in each objective's
    scale-free units. Returns ``(advantages, active, shares)``."""
    n_groups, _, n_objectives = rewards.shape
    exponent, std, centered, eps_scaled = _objective_parts(rewards, ddof, eps)
    if adaptive:
        unit = normalized_weights(weights)[0]
        product = unit * std
        # put every objective's w_k sigma_k in one unit: the largest lands in [0.5, 1)
        top = np.where(product > 0, exponent + _exponent(product), -(1 << 30)).max(axis=1)
        top = np.where(np.any(product > 0, axis=1), top, 0)
        spread = _ldexp(product, exponent - top[:, None])
        total = np.zeros(n_groups)
        for k in range(n_objectives):
            total = total + spread[:, k]
        active = total > 0
        shares = np.where(active[:, None], spread / np.where(active, total, 1.0)[:, None],
                          _fixed_weights(weights, n_groups))
        share = np.where(active[:, None], shares, 0.0)
    else:  # AC: the normalized weights, and the advantages scaled back by the weights' power of two at the end
        unit, weight_exponent = normalized_weights(weights)
        active = np.ones(n_groups, dtype=bool)
        share = np.broadcast_to(unit, (n_groups, n_objectives))
        shares = _fixed_weights(weights, n_groups)
    with np.errstate(over="ignore"):
        coef = np.where(std > 0, share / np.where(std > 0, std + eps_scaled, 1.0), 0.0)
    combined = _weighted_sum(centered, coef[:, None, :])
    if not adaptive:
        combined = _ldexp(combined, weight_exponent)
    return combined, active, shares


def ac(rewards: np.ndarray, weights: np.ndarray, ddof: int = 0, eps: float = 0.0):
    r"""Advantage Combination: a fixed-weight sum of per-objective group z-scores.

    .. math:: A_j = \sum_k w_k \frac{r_{jk} - \mu_k}{\sigma_k + \epsilon}

    Source: DVAO paper (Liu et al., 2026), the "Advantage Combination" baseline. With K = 1 and ``w = 1`` it is the
    GRPO z-score. The weights are used as given: AC's advantages scale with them.
    """
    mask = _scorable_mask(rewards)
    combined, _, shares = _combined(rewards, weights, False, ddof, eps)
    return np.where(mask, combined, 0.0), shares


def gdpo(rewards: np.ndarray, weights: np.ndarray, ddof: int = 0, eps: float = 0.0):
    r"""GDPO: AC, then a z-score over the whole batch.

    .. math:: a_{bj} = \sum_k w_k A_{k}[b, j], \qquad
              A_{bj} = \frac{a_{bj} - \operatorname{mean}_{\text{batch}} a}{\operatorname{std}_{\text{batch}} a + \epsilon}

    Source: GDPO paper, Eq. 4-7; TRL ``multi_objective_aggregation="normalize_then_sum"``. The batch statistics run
    over the scorable rollouts of groups that have >= 2 of them. (TRL also lets the row of a group with a single
    scorable rollout into the batch statistics, with value 0. Every group's AC values sum to 0, so the batch mean and
    that row's advantage stay 0, but the extra count shrinks the batch std and scales every other advantage; mowsim
    gives such a group 0 and leaves it out, as every other scheme does.) The AC step uses the normalized weights
    (GDPO does not depend on their scale), ``eps`` of the batch z-score follows them.
    """
    mask = _scorable_mask(rewards)
    unit, weight_exponent = normalized_weights(weights)
    combined, _ = ac(rewards, unit, ddof, eps)
    whitened = batch_whiten(combined, mask, ddof, _ldexp(eps, -weight_exponent), magnitude=_weight_total(unit))
    return whitened, _fixed_weights(weights, rewards.shape[0])


def dvao(rewards: np.ndarray, weights: np.ndarray, ddof: int = 0, eps: float = 0.0):
    r"""DVAO: per-objective z-scores combined with variance-adaptive weights.

    .. math:: \tilde w_{bk} = \frac{w_k \sigma_{bk}}{\sum_l w_l \sigma_{bl}}, \qquad
              A_{bj} = \sum_k \tilde w_{bk} \frac{r_{bjk} - \mu_{bk}}{\sigma_{bk} + \epsilon}

    With ``eps = 0`` this is ``sum_k w_k (r_k - mu_k) / sum_l w_l sigma_l``: RC's numerator over a denominator that
    is never smaller than RC's (triangle inequality), hence ``|A_DVAO| <= |A_RC|`` (Prop. 2).
    Source: DVAO paper (Liu et al., 2026, "Dynamic Variance-adaptive Advantage Optimization"). With K = 1 it is the
    GRPO z-score. A group whose objectives are all constant has advantage 0 and reports the fixed weights.
    """
    mask = _scorable_mask(rewards)
    combined, active, shares = _combined(rewards, weights, True, ddof, eps)
    return np.where(mask & active[:, None], combined, 0.0), shares


def saw_cv_weights(rewards: np.ndarray, ddof: int, reward_min: np.ndarray | None, delta: float,
                   min_weight: float = 0.0) -> np.ndarray:
    r"""SAW's stage-aware weights from the batch coefficient of variation.

    .. math:: \tilde r_k = r_k - r^{\min}_k + \delta, \qquad
              CV_k = \frac{\operatorname{std}_{\text{batch}} \tilde r_k}{|\operatorname{mean}_{\text{batch}} \tilde r_k| + \delta},
              \qquad w'_k = \frac{CV_k}{\sum_l CV_l}

    Falls back to equal weights ``1/K`` when ``sum_l CV_l <= delta`` (every objective is constant over the batch).
    ``reward_min=None`` uses each objective's batch minimum. Source: SAW (Stage-Aware Dynamic Weighting,
    2026), ``compute_advantage`` in github.com/Zhaolutuan/SAW, whose official code uses ``ddof=1`` and
    ``delta=1e-8``.

    *mowsim's own addition* (not in the paper): a per-objective floor ``m = min_weight`` in ``[0, 1/K]``,

    .. math:: w'_k \leftarrow m + (1 - K m)\, w'_k ,

    a mixture with the uniform weights, so every ``w'_k >= m``, the weights still sum to 1, and an objective whose CV
    has collapsed (learned early) keeps a share ``m`` of the gradient. ``m = 0`` is SAW; ``m = 1/K`` equal weights.
    """
    n_objectives = rewards.shape[2]
    flat = rewards.reshape(-1, n_objectives)
    # in each objective's scale-free units (see scaled_moments); reward_min and delta carried along
    exponent, mean, correction, std = scaled_moments(flat, axis=0, ddof=ddof)
    if reward_min is None:
        any_valid = ~np.all(np.isnan(flat), axis=0)
        reward_min = np.where(any_valid, np.nanmin(np.where(any_valid, flat, 0.0), axis=0), 0.0)
    delta_scaled = _ldexp(delta, -exponent)
    with np.errstate(invalid="ignore", over="ignore"):
        shifted_mean = (mean + correction) - _ldexp(reward_min, -exponent) + delta_scaled
        cv = std / (np.abs(shifted_mean) + delta_scaled)
    cv = np.where(np.isnan(cv), 0.0, cv)  # an infinite shift (reward_min far below): CV 0
    total = cv.sum()
    if total <= delta:
        cv_weights = np.full(n_objectives, 1.0 / n_objectives)
    else:
        cv_weights = cv / total
    if min_weight > 0:
        cv_weights = min_weight + (1.0 - n_objectives * min_weight) * cv_weights
    return cv_weights


def _saw_effective(cv_weights: np.ndarray, weights: np.ndarray, n_groups: int) -> np.ndarray:
    product = cv_weights * weights
    if product.sum() <= 0:  # every weighted objective has CV 0: report the fixed weights
        product = weights
    return _fixed_weights(product, n_groups)


def saw_grpo(rewards, weights, ddof=0, eps=0.0, reward_min=None, delta=1e-8, min_weight=0.0):
    r"""SAW-GRPO (reward level): RC on the CV-reweighted sum ``s = sum_k w'_k w_k r_k``.

    Source: SAW (2026), estimator ``grpo-h``. See :func:`saw_cv_weights` for ``w'``.
    """
    cv_weights = saw_cv_weights(rewards, ddof, reward_min, delta, min_weight)
    advantages, _ = rc(rewards, cv_weights * weights, ddof, eps)
    return advantages, _saw_effective(cv_weights, weights, rewards.shape[0])


def saw_gdpo(rewards, weights, ddof=0, eps=0.0, reward_min=None, delta=1e-8, min_weight=0.0):
    r"""SAW-GDPO (advantage level): GDPO with weights ``K w'_k w_k``.

    .. math:: a_{bj} = \sum_k K w'_k w_k A_k[b, j], \qquad
              A_{bj} = \frac{a_{bj} - \operatorname{mean}_{\text{batch}} a}{\operatorname{std}_{\text{batch}} a + \epsilon}

    The factor ``K`` keeps the scale of equal-weight GDPO before the batch z-score. Source: SAW (2026), estimator
    ``gdpo-h``. See :func:`saw_cv_weights` for ``w'``.
    """
    n_objectives = rewards.shape[2]
    cv_weights = saw_cv_weights(rewards, ddof, reward_min, delta, min_weight)
    advantages, _ = gdpo(rewards, n_objectives * cv_weights * weights, ddof, eps)
    return advantages, _saw_effective(cv_weights, weights, rewards.shape[0])
