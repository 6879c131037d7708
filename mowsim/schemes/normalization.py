r"""Advantage normalization as a host option around a scheme: the NumPy reference of its three scopes.

"Tricks or Traps? A Deep Dive into RL for LLM Reasoning" (Liu et al., 2025, arXiv 2508.08221) finds that the
normalization choices matter more than the scheme's name. Its *Lite PPO* keeps the group mean and takes the std
from the whole batch; *Dr. GRPO* ("Understanding R1-Zero-Like Training", Liu et al., 2025, arXiv 2503.20783) drops the
std altogether. mowsim exposes the choice as ``normalization`` in :data:`NORMALIZATIONS`:

``"group"`` (default)
    The scheme as published: every std it divides by is its group's. Exactly :mod:`mowsim.schemes.reference`,
    bit for bit (the functions here call it).
``"batch"`` (Lite PPO; TRL ``scale_rewards="batch"``)
    Every group-level std ``sigma_b(x)`` the scheme divides by is replaced by the std of the same quantity ``x``
    over the whole batch: all groups pooled, raw values around the batch mean (``rewards.std()`` over the batch, as
    Lite PPO and TRL do). The group means stay. The pooled rollouts are the *scorable* ones (at least one score) of
    groups with at least 2 scorable rollouts -- the population of GDPO's batch statistics; NaN entries are left out
    as everywhere. A zero batch std (the zero-spread rule applied to the pooled values) gives zeros.
``"none"`` (Dr. GRPO; TRL ``scale_rewards="none"``, verl ``norm_adv_by_std_in_grpo=False``)
    No division by a std (``sigma := 1`` and ``eps`` is not added); only the group mean is subtracted. The
    advantages then scale with the rewards (and, except for DVAO, with the weights).

Per scheme (``mu_bk`` the group mean of ``r_k``, ``sigma`` the scope's std, ``eps`` added as in the schemes):

* RC: ``s = sum_k w_k r_k``, ``A = (s - mean_b s) / (sigma(s) + eps)``.
* AC: ``A = sum_k w_k (r_k - mu_bk) / (sigma_k + eps)``.
* GDPO: the AC step with the scope, then GDPO's own batch z-score unchanged (it is part of the scheme).
* DVAO: shares ``w_k sigma_k / sum_l w_l sigma_l`` with the scope's ``sigma``,
  ``A = sum_k share_k (r_k - mu_bk) / (sigma_k + eps)``. With ``"batch"`` the shares are one row for the whole
  batch (reported as every group's effective weights); with ``"none"`` DVAO is ``sum_k (w_k / sum_l w_l)
  (r_k - mu_bk)``, i.e. RC-none divided by the constant ``sum_l w_l``, and AC-none equals RC-none (without NaN):
  Dr. GRPO's normalization erases the difference between RC, AC and DVAO up to scale.
* SAW-GRPO: RC with the scope on the CV-reweighted sum ``sum_k w'_k w_k r_k``; SAW-GDPO: GDPO with weights
  ``K w'_k w_k`` and the scope. SAW's CV weights are batch statistics already and do not change.

The library's conventions hold (see :mod:`mowsim.schemes.reference`): NaN is unscorable, a group with fewer than 2
scorable rollouts gets 0, ``ddof`` and ``eps`` as there, and the zero-spread rule: a group whose quantity ``x`` is
constant contributes exactly 0 (its centered values are 0), whatever the scope. Everything is computed in
scale-free units (:func:`~mowsim.schemes.reference.scaled_moments`, :func:`~mowsim.schemes.reference.batch_whiten`,
:func:`~mowsim.schemes.reference.normalized_weights`): with ``"batch"`` and ``eps = 0`` a power-of-two scaling of
the rewards changes no bit of the advantages; with ``"none"`` it scales them by the same power of two (GDPO-none
is whitened, so it stays scale-free). GDPO-none's batch z-score takes ``sum_k w_k max|r_k - mu_bk|`` (the batch's
largest centered values) as the magnitude floor of its zero-spread rule, the reward-unit analogue of the
``sum_k w_k`` that z-scores get. Remaining limits: ``"none"`` advantages beyond the float64 range raise (as AC's
do), and a group more than ~1e300 times smaller than the batch's largest loses digits in the pooled units.
"""

from __future__ import annotations

import numpy as np

from mowsim import validation
from mowsim.schemes import reference
from mowsim.schemes.reference import _exponent, _ldexp, normalized_weights, scaled_moments

__all__ = ["NORMALIZATIONS", "SUPPORTED", "GROUP", "BATCH", "NONE", "rc", "ac", "gdpo", "dvao", "saw_grpo",
           "saw_gdpo", "REFERENCES"]

NORMALIZATIONS = validation.NORMALIZATIONS
"""The valid values of ``normalization``, in the order of their kernel ids."""
GROUP, BATCH, NONE = range(len(NORMALIZATIONS))

SUPPORTED = validation.NORMALIZED_SCHEMES
"""The schemes that take ``normalization != "group"``."""


def _pooled(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The masked entries of ``values`` (B, G, ...) as one pooled axis 0 (NaN elsewhere)."""
    kept = np.where(mask.reshape(mask.shape + (1,) * (values.ndim - 2)), values, np.nan)
    return kept.reshape((-1,) + values.shape[2:])


def _rc(rewards, weights, ddof, eps, normalization):
    """RC with ``"batch"`` or ``"none"``: the group-centered weighted sums, scaled back (none) or over the pooled
    sums' std (batch)."""
    mask = reference._scorable_mask(rewards)
    unit, weight_exponent = normalized_weights(weights)
    group_exponent = reference._group_exponent(rewards)
    scaled = _ldexp(rewards, -group_exponent[:, None, None])
    scalar = np.where(mask, reference._weighted_sum(scaled, unit), np.nan)  # units 2**group_exponent
    exponent, mean, correction, std = scaled_moments(scalar, axis=1, ddof=ddof)
    centered = (_ldexp(scalar, -exponent[:, None]) - mean[:, None]) - correction[:, None]
    centered = np.where(mask & (std[:, None] > 0), centered, 0.0)  # units 2**(exponent + group_exponent)
    if normalization == "none":
        advantages = _ldexp(centered, (exponent + group_exponent + weight_exponent)[:, None])
    else:
        active = mask.any(axis=1)
        top = int(group_exponent[active].max()) if active.any() else 0
        pooled = _ldexp(scalar, (group_exponent - top)[:, None])  # every group's sums in units 2**top
        batch_exponent, _, _, batch_std = scaled_moments(pooled.ravel(), axis=0, ddof=ddof)
        aligned = _ldexp(centered, (exponent + group_exponent - top - batch_exponent)[:, None])
        eps_scaled = _ldexp(eps, -(batch_exponent + top + weight_exponent))
        advantages = reference._zscore(aligned, batch_std, eps_scaled)
    return np.where(mask, advantages, 0.0), reference._fixed_weights(weights, rewards.shape[0])


def _combination(rewards, unit, adaptive, ddof, eps, normalization):
    """AC (``adaptive=False``) or DVAO with ``"batch"`` or ``"none"``, on the normalized weights ``unit``.

    Returns ``(combined, post, shares, floor, top)``: the combination (B, G) in units of ``2**post`` (post (B,)),
    the shares (K,) that weight it (all 0 for a batch DVAO whose every objective is constant over the batch), and
    for ``"none"`` the batch unit ``top`` (:func:`_top`) and the magnitude ``sum_k unit_k max|centered_k|`` in units
    of ``2**top`` (GDPO-none's zero-spread floor; 0 and 0 for ``"batch"``).
    """
    n_objectives = rewards.shape[2]
    exponent, group_std, centered, _ = reference._objective_parts(rewards, ddof, eps)
    varying = group_std > 0
    if normalization == "batch":
        mask = reference._scorable_mask(rewards)
        batch_exponent, _, _, std = scaled_moments(_pooled(rewards, mask), axis=0, ddof=ddof)
        if adaptive:  # DVAO's w_k sigma_k, brought to one unit as reference._combined does per group
            product = unit * std
            share_top = max((int(batch_exponent[k] + _exponent(product[k])) for k in range(n_objectives)
                             if product[k] > 0), default=0)
            spread = _ldexp(product, batch_exponent - share_top)
            total = reference._weight_total(spread)
            shares = spread / total if total > 0 else np.zeros(n_objectives)
        else:
            shares = unit
        with np.errstate(over="ignore"):
            coef = np.where(std > 0, shares / np.where(std > 0, std + _ldexp(eps, -batch_exponent), 1.0), 0.0)
        units = np.broadcast_to(batch_exponent, exponent.shape)
        post = np.zeros(rewards.shape[0], dtype=int)
    else:
        shares = unit / reference._weight_total(unit) if adaptive else unit
        coef = shares
        # each group in the units of its largest varying objective: no term can overflow or lose its digits
        post = np.where(varying, exponent, np.iinfo(np.int64).min).max(axis=1)
        post = np.where(varying.any(axis=1), post, 0)
        units = np.broadcast_to(post[:, None], exponent.shape)
    aligned = _ldexp(centered, (exponent - units)[:, None, :])
    combined = reference._weighted_sum(aligned, np.broadcast_to(coef, aligned.shape))
    floor, top = 0.0, 0
    if normalization == "none":
        top = _top(post, varying.any(axis=1))
        largest = np.abs(_ldexp(aligned, (units - top)[:, None, :])).max(axis=(0, 1))
        floor = reference._weight_total(unit * largest)
    return combined, post, shares, floor, top


def _top(post: np.ndarray, varying: np.ndarray) -> int:
    """The batch's unit for GDPO-none: the largest ``post`` of a group with a varying objective (0 if none)."""
    return int(post[varying].max()) if varying.any() else 0


def _ac(rewards, weights, ddof, eps, normalization):
    mask = reference._scorable_mask(rewards)
    unit, weight_exponent = normalized_weights(weights)
    combined, post, _, _, _ = _combination(rewards, unit, False, ddof, eps, normalization)
    combined = _ldexp(combined, (post + weight_exponent)[:, None])
    return np.where(mask, combined, 0.0), reference._fixed_weights(weights, rewards.shape[0])


def _dvao(rewards, weights, ddof, eps, normalization):
    mask = reference._scorable_mask(rewards)
    unit = normalized_weights(weights)[0]
    combined, post, shares, _, _ = _combination(rewards, unit, True, ddof, eps, normalization)
    combined = _ldexp(combined, post[:, None])
    effective = reference._fixed_weights(weights, rewards.shape[0])
    if normalization == "batch" and shares.sum() > 0:
        effective = np.broadcast_to(shares, effective.shape).copy()
    return np.where(mask, combined, 0.0), effective


def _gdpo(rewards, weights, ddof, eps, normalization):
    mask = reference._scorable_mask(rewards)
    unit, weight_exponent = normalized_weights(weights)
    combined, post, _, floor, top = _combination(rewards, unit, False, ddof, eps, normalization)
    if normalization == "none":  # the centered sums in the batch's units; the floor is in them already
        combined = _ldexp(combined, (post - top)[:, None])
        eps_scaled = _ldexp(eps, -(weight_exponent + top))
        magnitude = floor
    else:
        eps_scaled = _ldexp(eps, -weight_exponent)
        magnitude = reference._weight_total(unit)
    whitened = reference.batch_whiten(np.where(mask, combined, 0.0), mask, ddof, eps_scaled, magnitude=magnitude)
    return whitened, reference._fixed_weights(weights, rewards.shape[0])


def _check(normalization: str) -> None:
    validation.check_normalization(normalization)


def rc(rewards, weights, ddof=0, eps=0.0, normalization="group"):
    """RC under ``normalization`` (see the module docstring); ``"group"`` is :func:`reference.rc`."""
    _check(normalization)
    if normalization == "group":
        return reference.rc(rewards, weights, ddof, eps)
    return _rc(rewards, weights, ddof, eps, normalization)


def ac(rewards, weights, ddof=0, eps=0.0, normalization="group"):
    """AC under ``normalization``; ``"group"`` is :func:`reference.ac`. AC's advantages scale with the weights."""
    _check(normalization)
    if normalization == "group":
        return reference.ac(rewards, weights, ddof, eps)
    return _ac(rewards, weights, ddof, eps, normalization)


def gdpo(rewards, weights, ddof=0, eps=0.0, normalization="group"):
    """GDPO under ``normalization``: the scoped AC step, then GDPO's batch z-score; ``"group"`` is
    :func:`reference.gdpo`."""
    _check(normalization)
    if normalization == "group":
        return reference.gdpo(rewards, weights, ddof, eps)
    return _gdpo(rewards, weights, ddof, eps, normalization)


def dvao(rewards, weights, ddof=0, eps=0.0, normalization="group"):
    """DVAO under ``normalization``; ``"group"`` is :func:`reference.dvao`."""
    _check(normalization)
    if normalization == "group":
        return reference.dvao(rewards, weights, ddof, eps)
    return _dvao(rewards, weights, ddof, eps, normalization)


def saw_grpo(rewards, weights, ddof=0, eps=0.0, reward_min=None, delta=1e-8, min_weight=0.0,
             normalization="group"):
    """SAW-GRPO under ``normalization``: RC with the scope on ``sum_k w'_k w_k r_k``."""
    _check(normalization)
    if normalization == "group":
        return reference.saw_grpo(rewards, weights, ddof, eps, reward_min, delta, min_weight)
    cv_weights = reference.saw_cv_weights(rewards, ddof, reward_min, delta, min_weight)
    advantages, _ = _rc(rewards, cv_weights * weights, ddof, eps, normalization)
    return advantages, reference._saw_effective(cv_weights, weights, rewards.shape[0])


def saw_gdpo(rewards, weights, ddof=0, eps=0.0, reward_min=None, delta=1e-8, min_weight=0.0,
             normalization="group"):
    """SAW-GDPO under ``normalization``: GDPO with weights ``K w'_k w_k`` and the scope."""
    _check(normalization)
    if normalization == "group":
        return reference.saw_gdpo(rewards, weights, ddof, eps, reward_min, delta, min_weight)
    n_objectives = rewards.shape[2]
    cv_weights = reference.saw_cv_weights(rewards, ddof, reward_min, delta, min_weight)
    advantages, _ = _gdpo(rewards, n_objectives * cv_weights * weights, ddof, eps, normalization)
    return advantages, reference._saw_effective(cv_weights, weights, rewards.shape[0])


REFERENCES = {"rc": rc, "ac": ac, "gdpo": gdpo, "dvao": dvao, "saw-grpo": saw_grpo, "saw-gdpo": saw_gdpo}
"""Scheme name -> its reference under a normalization."""
