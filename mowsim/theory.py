r"""The DVAO paper's propositions as functions of reward groups, and a worst-case search over groups.

Every function takes ``rewards`` of shape (n_groups, n_rollouts, n_objectives) = (B, G, K), or (G, K) for one group
(the group axis is then dropped from the result), and non-negative ``weights`` of shape (K,); ``None`` means ``1/K``
each. The propositions take ``sum_k w_k = 1``; where a statement needs it, its docstring says so. Scheme values come
from :func:`mowsim.advantages` and the group statistics from :mod:`mowsim.schemes.reference`, never from a second
implementation. The propositions are statements about fully scored groups at ``eps = 0``: NaN rewards are rejected
and no function here takes ``eps``.

Notation: ``mu_k``, ``sigma_k`` are the within-group mean and std of objective ``k`` (``ddof`` 0 or 1),
``A_k = (r_k - mu_k) / sigma_k`` (0 for a constant objective, the library's zero-spread rule), ``s = sum_k w_k r_k``
and ``sigma_sum = std_j s``, ``m_k = mean_j A_k^2`` and ``rho_kl`` the within-group (Pearson) correlation of
objectives ``k`` and ``l``, which is also that of ``A_k`` and ``A_l``.
"""

from __future__ import annotations

import numbers
from typing import NamedTuple

import numpy as np

from mowsim import validation
from mowsim.schemes import advantages, reference

__all__ = [
    "Comparison",
    "WorstCase",
    "JACOBIAN_SCHEMES",
    "SEARCH_TARGETS",
    "samuelson_bound",
    "conditioning",
    "within_group_correlation",
    "objective_mean_squares",
    "rc_mean_square",
    "ac_mean_square",
    "ac_mean_square_paper",
    "dvao_mean_square",
    "batch_mean_square",
    "dvao_shrinkage",
    "dvao_equals_rc",
    "objectives_perfectly_correlated",
    "gdpo_unwhitened",
    "gdpo_unwhitened_bound",
    "advantage_jacobian",
    "sensitivity",
    "finite_difference_jacobian",
    "worst_case_search",
]

JACOBIAN_SCHEMES = ("rc", "ac", "dvao")
"""Schemes whose advantage of a group depends on that group alone, so ``dA/dr`` is a per-group Jacobian."""

SEARCH_TARGETS = ("max_abs", "mean_square")


class Comparison(NamedTuple):
    """A proposition's prediction next to the value the scheme actually produced; same shape, compare them."""

    predicted: np.ndarray
    observed: np.ndarray


class WorstCase(NamedTuple):
    """The result of :func:`worst_case_search`.

    Attributes
    ----------
    value : float
        The largest ``target`` found over all restarts.
    bound : float
        The proposition's bound on ``target``; ``ratio = value / bound`` is the tightness.
    rewards : ndarray of shape (n_rollouts, n_objectives)
        The reward group that attains ``value``.
    values : ndarray of shape (n_restarts,)
        The value each restart reached.
    min_correlation : float
        The smallest ``rho_kl`` between objectives of ``rewards`` that take part (``w_k sigma_k > 0``); 1 when fewer
        than two do. Near 1 means the worst case has (nearly) perfectly correlated objectives.
    """

    value: float
    bound: float
    ratio: float
    rewards: np.ndarray
    values: np.ndarray
    min_correlation: float


def _check_groups(rewards, weights=None, ddof=0):
    """Validate for the propositions: fully scored groups of >= 2 rollouts. Returns (rewards3d, squeezed, w, ddof)."""
    rewards, squeezed = validation.check_rewards(rewards)
    if np.isnan(rewards).any():
        raise ValueError(
            "rewards contains NaN; the propositions are about fully scored groups. Drop the unscorable rollouts or "
            "impute them before checking a proposition."
        )
    if rewards.shape[1] < 2:
        raise ValueError(
            f"rewards has n_rollouts={rewards.shape[1]}; the propositions need groups of at least 2 rollouts."
        )
    return rewards, squeezed, validation.check_weights(weights, rewards.shape[2]), validation.check_ddof(ddof)


def _squeeze(values, squeezed):
    return values[0] if squeezed else values


def _check_choice(value, allowed, name="scheme"):
    if value not in allowed:
        raise ValueError(f"{name} must be one of {allowed}; got {value!r}.")


def samuelson_bound(n: int, ddof: int = 0) -> float:
    r"""Samuelson's bound on one z-score among ``n`` values: ``sqrt(n-1)`` (``ddof=0``), ``(n-1)/sqrt(n)`` (``ddof=1``).

    DVAO paper (Liu et al., 2026), Prop. 2: ``|A| <= sqrt(G-1)`` for RC, for DVAO (``|A_DVAO| <= |A_RC|``) and for AC
    with ``sum_k w_k = 1`` (a convex combination of z-scores). The unbiased std is ``sqrt(n/(n-1))`` times the
    population std, which gives the ``ddof=1`` form. Equality: one value apart, the other ``n-1`` tied.
    """
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise ValueError(f"n must be a positive integer (the number of values z-scored together); got {n!r}.")
    ddof = validation.check_ddof(ddof)
    return float(np.sqrt(n - 1)) if ddof == 0 else float((n - 1) / np.sqrt(n))


def conditioning(rewards, weights=None) -> np.ndarray:
    """Floating-point condition number of a group's z-scores, shape (B,): the largest ``max_j |x_j| / std_j x``.

    ``x`` runs over the quantities the schemes z-score: each varying objective and the weighted sum ``s``. A z-score
    of a nearly constant ``x`` (saturated rewards near 1, or a weighted sum whose objectives cancel) loses about
    ``eps * max|x| / std x`` of relative accuracy to cancellation, so a floating-point check of a proposition must
    allow that much; ``mowsim bounds`` allows ``max(1e-9, 16 eps kappa)``. Constant quantities (std 0) are exact and
    do not count; a group with none gives 1.
    """
    rewards, squeezed, weights, _ = _check_groups(rewards, weights)
    magnitude = np.abs(rewards).max(axis=1)
    _, std, _, _ = reference.objective_stats(rewards, 0, 0.0)
    weighted_sum = (rewards * weights).sum(axis=2)
    _, std_sum = reference.moments(weighted_sum, axis=1, ddof=0)
    ratios = np.concatenate([np.stack([magnitude, std], axis=-1),
                             np.stack([np.abs(weighted_sum).max(axis=1), std_sum], axis=-1)[:, None]], axis=1)
    varying = ratios[..., 1] > 0
    kappa = np.where(varying, ratios[..., 0] / np.where(varying, ratios[..., 1], 1.0), 1.0).max(axis=1)
    return _squeeze(np.maximum(kappa, 1.0), squeezed)


def within_group_correlation(rewards) -> np.ndarray:
    """Within-group Pearson correlation ``rho_kl`` of the objectives, shape (B, K, K) (or (K, K) for one group).

    It is also the correlation of the z-scores ``A_k`` and ``A_l`` (affine in ``r_k``, ``r_l``) and does not depend on
    ``ddof``. A constant objective (std 0 by the zero-spread rule) is uncorrelated with everything, itself included:
    its row and column, diagonal too, are 0. Rounding is clipped to [-1, 1].
    """
    rewards, squeezed, _, _ = _check_groups(rewards)
    _, _, centered, _ = reference.objective_stats(rewards, 0, 0.0)
    norms = np.sqrt(np.einsum("bjk,bjk->bk", centered, centered))
    cross = np.einsum("bjk,bjl->bkl", centered, centered)
    denom = norms[:, :, None] * norms[:, None, :]
    rho = np.where(denom > 0, cross / np.where(denom > 0, denom, 1.0), 0.0)
    return _squeeze(np.clip(rho, -1.0, 1.0), squeezed)


def objective_mean_squares(rewards, ddof: int = 0) -> np.ndarray:
    """``m_k = (1/G) sum_j A_k[j]^2``, shape (B, K): ``(G - ddof)/G`` for a varying objective, 0 for a constant one."""
    rewards, squeezed, _, ddof = _check_groups(rewards, ddof=ddof)
    _, _, _, zscores = reference.objective_stats(rewards, ddof, 0.0)
    return _squeeze((zscores**2).mean(axis=1), squeezed)


def rc_mean_square(rewards, weights=None, ddof: int = 0) -> Comparison:
    r"""RC's mean-square advantage against DVAO paper (Liu et al., 2026), Prop. 1: ``(1/G) sum_j A_RC[j]^2 = 1``.

    .. math:: \frac1G \sum_j A_{RC}[j]^2 = \frac{\sum_j (s_j - \bar s)^2}{G \sigma_{sum}^2}
              = \frac{G - \mathrm{ddof}}{G}

    since ``sigma_sum^2 = sum_j (s_j - mean s)^2 / (G - ddof)``. So the paper's 1 holds at ``ddof=0``; at ``ddof=1``
    (TRL, verl) it is ``(G-1)/G``. A group whose weighted sum ``s`` is constant has ``A_RC = 0`` and mean square 0.

    Returns
    -------
    Comparison of two ndarrays of shape (B,)
    """
    rewards, squeezed, weights, ddof = _check_groups(rewards, weights, ddof)
    n_rollouts = rewards.shape[1]
    _, std_sum = reference.moments((rewards * weights).sum(axis=2), axis=1, ddof=ddof)
    predicted = np.where(std_sum > 0, (n_rollouts - ddof) / n_rollouts, 0.0)
    observed = (advantages(rewards, "rc", weights, ddof=ddof) ** 2).mean(axis=1)
    return Comparison(_squeeze(predicted, squeezed), _squeeze(observed, squeezed))


def ac_mean_square(rewards, weights=None, ddof: int = 0) -> Comparison:
    r"""AC's mean-square advantage against the general form of DVAO paper (Liu et al., 2026), Prop. 1.

    Expanding ``A_AC = sum_k w_k A_k`` and using ``mean_j A_k A_l = rho_kl sqrt(m_k m_l)`` (the ``A_k`` have mean 0):

    .. math:: \frac1G \sum_j A_{AC}[j]^2 = \sum_k w_k^2 m_k + 2 \sum_{k<l} w_k w_l \rho_{kl} \sqrt{m_k m_l}

    for any weights. When every objective varies and ``ddof=0`` (all ``m_k = 1``) and ``sum_k w_k = 1``, this is the
    paper's ``1 - 2 sum_{k<l} w_k w_l (1 - rho_kl)`` (:func:`ac_mean_square_paper`). A constant objective has
    ``A_k = 0`` and ``m_k = 0``, and the paper's form then overstates the mean square; at ``ddof=1`` every varying
    ``m_k`` is ``(G-1)/G``. In all cases the mean square is at most ``(sum_k w_k)^2 (G - ddof)/G`` (Cauchy-Schwarz),
    with equality iff all objectives vary and are perfectly positively correlated.

    Returns
    -------
    Comparison of two ndarrays of shape (B,)
        ``predicted`` from the rewards' correlations and the objectives' ``m_k``; ``observed`` from the AC scheme.
    """
    rewards, squeezed, weights, ddof = _check_groups(rewards, weights, ddof)
    rho = within_group_correlation(rewards)
    root_m = np.sqrt(objective_mean_squares(rewards, ddof))
    predicted = np.einsum("k,bkl,l->b", weights, rho * root_m[:, :, None] * root_m[:, None, :], weights)
    observed = (advantages(rewards, "ac", weights, ddof=ddof) ** 2).mean(axis=1)
    return Comparison(_squeeze(predicted, squeezed), _squeeze(observed, squeezed))


def ac_mean_square_paper(rewards, weights=None) -> np.ndarray:
    r"""The AC mean square as printed in DVAO paper (Liu et al., 2026), Prop. 1.

    ``1 - 2 sum_{k<l} w_k w_l (1 - rho_kl)``.

    Exact at ``ddof=0`` when every objective varies within the group; otherwise use :func:`ac_mean_square`. A
    constant objective enters here with ``rho = 0`` (this library's convention; the paper leaves it undefined).

    Parameters
    ----------
    rewards : array_like of shape (B, G, K) or (G, K)
    weights : array_like of shape (K,), optional
        Must sum to 1, as in the paper.

    Returns
    -------
    ndarray of shape (B,)
    """
    rewards, squeezed, weights, _ = _check_groups(rewards, weights)
    if abs(weights.sum() - 1.0) > 1e-9:
        raise ValueError(f"the paper's form of Prop. 1 takes weights summing to 1; got sum {weights.sum()!r}.")
    rho = within_group_correlation(rewards)
    pairs = np.triu(np.outer(weights, weights), k=1)
    return _squeeze(1.0 - 2.0 * np.einsum("kl,bkl->b", pairs, 1.0 - rho), squeezed)


def dvao_mean_square(rewards, weights=None, ddof: int = 0) -> Comparison:
    r"""DVAO's mean-square advantage against DVAO paper (Liu et al., 2026), Prop. 2.

    .. math:: \frac1G \sum_j A_{DVAO}[j]^2 = \frac{G - \mathrm{ddof}}{G}
              \frac{\sigma_{sum}^2}{\left(\sum_k w_k \sigma_k\right)^2} \le \frac{G - \mathrm{ddof}}{G} \le 1

    The std ratio does not depend on ``ddof``; the prefactor is 1 at ``ddof=0`` (the paper's statement). The
    inequality is the triangle inequality ``sigma_sum <= sum_k w_k sigma_k``. A group whose objectives are all
    constant has ``A_DVAO = 0`` and mean square 0.

    Returns
    -------
    Comparison of two ndarrays of shape (B,)
    """
    rewards, squeezed, weights, ddof = _check_groups(rewards, weights, ddof)
    n_rollouts = rewards.shape[1]
    ratio = dvao_shrinkage(rewards, weights)
    predicted = (n_rollouts - ddof) / n_rollouts * ratio**2
    observed = (advantages(rewards, "dvao", weights, ddof=ddof) ** 2).mean(axis=1)
    return Comparison(_squeeze(predicted, squeezed), _squeeze(observed, squeezed))


def batch_mean_square(rewards, scheme: str = "gdpo", weights=None, ddof: int = 0) -> Comparison:
    r"""Mean-square advantage of a batch-whitened scheme over the whole batch: ``(N - ddof)/N``, ``N = B G``.

    GDPO (and SAW-GDPO) z-score the combined advantage over the batch, so its mean square is that of one z-score,
    whatever ``K`` is: the batch z-score removes the ``K``-fold growth of the unwhitened sum (:func:`gdpo_unwhitened`).
    A batch whose combined advantage is constant gives 0; whether it is constant (up to rounding) is the scheme's
    zero-spread rule, so ``predicted`` is 0 exactly when the scheme returns all zeros.

    Returns
    -------
    Comparison of two floats
    """
    _check_choice(scheme, ("gdpo", "saw-gdpo"))
    rewards, _, weights, ddof = _check_groups(rewards, weights, ddof)
    n_entries = rewards.shape[0] * rewards.shape[1]
    adv = advantages(rewards, scheme, weights, ddof=ddof)
    predicted = (n_entries - ddof) / n_entries if np.any(adv != 0.0) else 0.0
    return Comparison(predicted, float((adv**2).mean()))


def dvao_shrinkage(rewards, weights=None) -> np.ndarray:
    r"""``sigma_sum / sum_k w_k sigma_k``, shape (B,): the factor with ``A_DVAO = shrinkage * A_RC`` pointwise.

    DVAO paper (Liu et al., 2026), Prop. 2. DVAO has RC's numerator ``s_j - mean s`` over the denominator
    ``sum_k w_k sigma_k >= sigma_sum`` (triangle inequality), so ``|A_DVAO| <= |A_RC|``. The factor does not depend
    on ``ddof``. It is 1 iff the centred reward vectors of the objectives with ``w_k sigma_k > 0`` are positively
    proportional, i.e. all pairs are perfectly positively correlated (:func:`objectives_perfectly_correlated`).
    A group with every objective constant gives 0.
    """
    rewards, squeezed, weights, _ = _check_groups(rewards, weights)
    _, std, _, _ = reference.objective_stats(rewards, 0, 0.0)
    _, std_sum = reference.moments((rewards * weights).sum(axis=2), axis=1, ddof=0)
    spread = std @ weights
    return _squeeze(np.where(spread > 0, std_sum / np.where(spread > 0, spread, 1.0), 0.0), squeezed)


def dvao_equals_rc(rewards, weights=None, ddof: int = 0, rtol: float = 1e-9) -> np.ndarray:
    """Whether ``|A_DVAO[j]| == |A_RC[j]|`` for every rollout of the group (to ``rtol``), shape (B,) of bool.

    DVAO paper (Liu et al., 2026), Prop. 2's equality case. It coincides with
    :func:`objectives_perfectly_correlated` except on groups whose weighted sum ``s`` is constant: there both
    advantages are 0 (equal) even when the objectives are anti-correlated, e.g. ``r_2 = 1 - r_1`` with equal weights.
    """
    rewards, squeezed, weights, ddof = _check_groups(rewards, weights, ddof)
    rtol = validation.check_scalar(rtol, "rtol", low=0.0)
    abs_dvao = np.abs(advantages(rewards, "dvao", weights, ddof=ddof))
    abs_rc = np.abs(advantages(rewards, "rc", weights, ddof=ddof))
    equal = np.abs(abs_dvao - abs_rc) <= rtol * np.maximum(1.0, abs_rc)
    return _squeeze(equal.all(axis=1), squeezed)


def objectives_perfectly_correlated(rewards, weights=None, atol: float = 1e-9) -> np.ndarray:
    """Whether every pair of objectives that takes part (``w_k sigma_k > 0``) has ``rho_kl >= 1 - atol``, shape (B,).

    The equality condition of DVAO paper (Liu et al., 2026), Prop. 2. Objectives that are constant or have weight 0
    do not enter DVAO's advantage and are ignored; a group with fewer than two taking part counts as correlated.
    """
    rewards, squeezed, weights, _ = _check_groups(rewards, weights)
    atol = validation.check_scalar(atol, "atol", low=0.0)
    rho = within_group_correlation(rewards)
    _, std, _, _ = reference.objective_stats(rewards, 0, 0.0)
    active = (weights * std) > 0
    pair = active[:, :, None] & active[:, None, :]
    return _squeeze(np.all(~pair | (rho >= 1.0 - atol), axis=(1, 2)), squeezed)


def gdpo_unwhitened(rewards, ddof: int = 0) -> np.ndarray:
    r"""GDPO's advantage before the batch z-score: the sum of the ``K`` z-scores with unit weights, shape (B, G).

    ``a_j = sum_k A_k[j]``, i.e. AC with ``w = 1``; GDPO paper, Eq. 4-6. By Samuelson's inequality on each term,
    ``|a_j| <= K sqrt(G-1)`` (:func:`gdpo_unwhitened_bound`), reached when every objective singles out the same
    rollout, so its scale grows with ``K``; the batch z-score removes that (:func:`batch_mean_square`).
    """
    rewards, squeezed, _, ddof = _check_groups(rewards, ddof=ddof)
    return _squeeze(advantages(rewards, "ac", np.ones(rewards.shape[2]), ddof=ddof), squeezed)


def gdpo_unwhitened_bound(n_rollouts: int, n_objectives: int, ddof: int = 0) -> float:
    """``K * samuelson_bound(G, ddof)``: the bound on :func:`gdpo_unwhitened` (GDPO paper; DVAO paper, Prop. 2)."""
    if isinstance(n_objectives, bool) or not isinstance(n_objectives, numbers.Integral) or n_objectives < 1:
        raise ValueError(f"n_objectives must be a positive integer; got {n_objectives!r}.")
    return n_objectives * samuelson_bound(n_rollouts, ddof)


def _advantages_and_jacobian(rewards, scheme, weights, ddof, denominator):
    """``(A, J)`` with ``J[b, i, j, k] = dA[b, i] / dr[b, j, k]``; the variance term divided by ``denominator``.

    ``denominator = G - ddof`` is exact; the paper prints ``G``. NaN where the derivative does not exist.
    """
    n_rollouts = rewards.shape[1]
    _, std, _, zscores = reference.objective_stats(rewards, ddof, 0.0)
    adv = advantages(rewards, scheme, weights, ddof=ddof)
    delta = np.eye(n_rollouts)[None, :, :, None] - 1.0 / n_rollouts
    with np.errstate(divide="ignore", invalid="ignore"):
        if scheme == "rc":
            _, std_sum = reference.moments((rewards * weights).sum(axis=2), axis=1, ddof=ddof)
            scale = np.where(std_sum[:, None] > 0, weights / std_sum[:, None], np.nan)
            variance_term = adv[:, :, None, None] * adv[:, None, :, None]
        elif scheme == "ac":
            scale = np.where(std > 0, weights / std, np.nan)
            variance_term = zscores[:, :, None, :] * zscores[:, None, :, :]
        else:
            spread = (std @ weights)[:, None]
            scale = np.where((spread > 0) & (std > 0), weights / spread, np.nan)
            variance_term = adv[:, :, None, None] * zscores[:, None, :, :]
    return adv, scale[:, None, None, :] * (delta - variance_term / denominator)


def advantage_jacobian(rewards, scheme: str, weights=None, ddof: int = 0) -> np.ndarray:
    r"""Exact Jacobian ``J[b, i, j, k] = dA[b, i] / dr[b, j, k]`` of RC, AC or DVAO, shape (B, G, G, K).

    With ``delta_ij`` the Kronecker delta and ``n = G - ddof`` (from ``d sigma / d r[j] = (r[j] - mu) / (n sigma)``):

    * RC: ``(w_k / sigma_sum) (delta_ij - 1/G - A[i] A[j] / n)``
    * AC: ``(w_k / sigma_k) (delta_ij - 1/G - A_k[i] A_k[j] / n)``
    * DVAO: ``(w_k / sum_l w_l sigma_l) (delta_ij - 1/G - A[i] A_k[j] / n)``, and ``w_k / sum_l w_l sigma_l`` is the
      paper's ``wt_k / sigma_k``.

    The diagonal ``i = j`` is DVAO paper (Liu et al., 2026), Prop. 3 (:func:`sensitivity`). The derivative does not
    exist where the std it divides by is 0 (a constant objective for AC and DVAO, a constant ``s`` for RC, and at
    such points the advantage jumps); those entries are NaN.
    """
    _check_choice(scheme, JACOBIAN_SCHEMES)
    rewards, squeezed, weights, ddof = _check_groups(rewards, weights, ddof)
    _, jacobian = _advantages_and_jacobian(rewards, scheme, weights, ddof, rewards.shape[1] - ddof)
    return _squeeze(jacobian, squeezed)


def sensitivity(rewards, scheme: str, weights=None, ddof: int = 0, *, as_printed: bool = False) -> np.ndarray:
    r"""Prop. 3's sensitivity ``dA[j] / dr_k[j]`` (same rollout), shape (B, G, K).

    DVAO paper (Liu et al., 2026), Prop. 3:

    * AC: ``(w_k / sigma_k) (1 - 1/G - A_k[j]^2 / (G - ddof))``
    * DVAO: ``(wt_k / sigma_k) (1 - 1/G - A_DVAO[j] A_k[j] / (G - ddof))``

    The paper prints ``/ G`` in the last term: that is exact at ``ddof=0``, the population std its propositions
    assume, and checked here against finite differences. With the unbiased std (``ddof=1``, TRL/verl) the last
    term is ``/ (G-1)``; ``as_printed=True`` returns the printed ``/ G`` form for comparison. For DVAO the
    "cross-objective regularization" is the factor ``A_DVAO[j] A_k[j]``: a rollout that is good overall and on
    objective ``k`` gets a smaller push on ``k``. RC (``scheme="rc"``, not in the paper) has the same form with
    ``w_k / sigma_sum`` and ``A_RC[j]^2``. See :func:`advantage_jacobian` for the off-diagonal terms and NaN entries.
    """
    _check_choice(scheme, JACOBIAN_SCHEMES)
    if as_printed and scheme == "rc":
        raise ValueError("the paper prints Prop. 3 for AC and DVAO only; use as_printed=False for RC.")
    rewards, squeezed, weights, ddof = _check_groups(rewards, weights, ddof)
    n_rollouts = rewards.shape[1]
    denominator = n_rollouts if as_printed else n_rollouts - ddof
    _, jacobian = _advantages_and_jacobian(rewards, scheme, weights, ddof, denominator)
    return _squeeze(np.einsum("bjjk->bjk", jacobian), squeezed)


def finite_difference_jacobian(rewards, scheme: str, weights=None, ddof: int = 0, step: float = 1e-5) -> np.ndarray:
    """Central-difference estimate of :func:`advantage_jacobian` from :func:`mowsim.advantages`, shape (B, G, G, K).

    Each ``r[b, j, k]`` moves by ``+-step * sigma_k`` (population std of objective ``k`` in group ``b``), so the step
    follows the objective's scale. All ``2 G K`` perturbed copies of a group go through the scheme in one batch of
    ``2 B G^2 K`` rewards; keep ``B G^2 K`` to a few million. Columns of constant objectives are NaN.
    """
    _check_choice(scheme, JACOBIAN_SCHEMES)
    rewards, squeezed, weights, ddof = _check_groups(rewards, weights, ddof)
    step = validation.check_scalar(step, "step", low=0.0, low_inclusive=False)
    n_groups, n_rollouts, n_objectives = rewards.shape
    _, std, _, _ = reference.objective_stats(rewards, 0, 0.0)
    h = step * std
    copies = np.broadcast_to(
        rewards[:, None, None, None], (n_groups, n_rollouts, n_objectives, 2, n_rollouts, n_objectives)
    ).copy()
    rollout, objective = np.meshgrid(np.arange(n_rollouts), np.arange(n_objectives), indexing="ij")
    copies[:, rollout, objective, 0, rollout, objective] += h[:, None, :]
    copies[:, rollout, objective, 1, rollout, objective] -= h[:, None, :]
    adv = advantages(copies.reshape(-1, n_rollouts, n_objectives), scheme, weights, ddof=ddof)
    adv = adv.reshape(n_groups, n_rollouts, n_objectives, 2, n_rollouts)
    with np.errstate(divide="ignore", invalid="ignore"):
        step_size = h[:, None, :, None]
        slopes = np.where(step_size > 0, (adv[..., 0, :] - adv[..., 1, :]) / (2 * step_size), np.nan)
    return _squeeze(slopes.transpose(0, 3, 1, 2), squeezed)


def _search_bound(scheme, target, n_rollouts, weights, ddof):
    if target == "max_abs":
        scale = weights.sum() if scheme == "ac" else 1.0
        return scale * samuelson_bound(n_rollouts, ddof)
    scale = weights.sum() ** 2 if scheme == "ac" else 1.0
    return scale * (n_rollouts - ddof) / n_rollouts


def _min_correlation(group, weights):
    rho = within_group_correlation(group)
    _, std, _, _ = reference.objective_stats(group[None], 0, 0.0)
    active = np.flatnonzero(weights * std[0] > 0)
    if active.size < 2:
        return 1.0
    return float(rho[np.ix_(active, active)].min())


def worst_case_search(scheme: str, n_rollouts: int, n_objectives: int, *, target: str = "max_abs", weights=None,
                      ddof: int = 0, n_restarts: int = 4, max_iter: int = 200, seed=None) -> WorstCase:
    r"""Search ``[0, 1]^{G x K}`` for the reward group that maximizes ``max_j |A[j]|`` or ``(1/G) sum_j A[j]^2``.

    Tests how tight the bounds of DVAO paper (Liu et al., 2026), Props. 1-2 are: Samuelson's ``sqrt(G-1)`` for
    ``target="max_abs"`` (times ``sum_k w_k`` for AC, so ``K sqrt(G-1)`` for GDPO's unwhitened sum, ``scheme="ac"``
    with ``weights=np.ones(K)``), and ``(G - ddof)/G`` for ``target="mean_square"`` (times ``(sum_k w_k)^2`` for AC).

    ``max_j |A[j]|`` is not smooth, but the schemes are symmetric under permuting rollouts and under
    ``r -> 1 - r`` (which flips the sign of ``A``), so maximizing the smooth ``A[0]`` finds the same value. The
    restarts are optimized together, as one L-BFGS-B problem whose objective is the sum of theirs (they do not
    interact, and one vectorized evaluation serves all of them), with the analytic gradient of
    :func:`advantage_jacobian` (0 where it does not exist). Restart ``r`` starts from ``(1 - c_r) U + c_r u``, a
    uniform random group pulled toward one shared random column ``u``, with ``c_r`` evenly spaced from 0
    (independent objectives; the only start when ``n_restarts=1``) to 1 (perfectly correlated): the starts span the
    range of correlations. At ``G = 2`` every z-score is +-1, the gradient vanishes, and only the starts explore.

    Parameters
    ----------
    scheme : {"rc", "ac", "dvao"}
    n_rollouts, n_objectives : int
        ``G >= 2`` and ``K >= 1``.
    target : {"max_abs", "mean_square"}
    weights : array_like of shape (n_objectives,), optional
    ddof : {0, 1}
    n_restarts, max_iter : int
        Starting groups, and L-BFGS-B iterations of the joint problem.
    seed : None, int, SeedSequence or Generator

    Returns
    -------
    WorstCase
    """
    # Imported here: scipy.optimize is only needed by this search, and `import mowsim` stays light without it.
    from scipy.optimize import Bounds, minimize

    _check_choice(scheme, JACOBIAN_SCHEMES)
    _check_choice(target, SEARCH_TARGETS, "target")
    for name, value, low in (("n_rollouts", n_rollouts, 2), ("n_objectives", n_objectives, 1),
                             ("n_restarts", n_restarts, 1), ("max_iter", max_iter, 1)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}; got {value!r}.")
    weights = validation.check_weights(weights, n_objectives)
    ddof = validation.check_ddof(ddof)
    rng = validation.as_generator(seed)
    shape = (n_restarts, n_rollouts, n_objectives)

    def values_of(groups):
        adv = advantages(groups, scheme, weights, ddof=ddof)
        return np.abs(adv).max(axis=1) if target == "max_abs" else (adv**2).mean(axis=1)

    def negative_target(flat):
        adv, jacobian = _advantages_and_jacobian(flat.reshape(shape), scheme, weights, ddof, n_rollouts - ddof)
        jacobian = np.nan_to_num(jacobian)
        if target == "max_abs":
            return -adv[:, 0].sum(), -jacobian[:, 0].ravel()
        gradient = (2.0 / n_rollouts) * np.einsum("bi,bijk->bjk", adv, jacobian)
        return -(adv**2).mean(axis=1).sum(), -gradient.ravel()

    pull = np.linspace(0.0, 1.0, n_restarts)[:, None, None]
    start = (1.0 - pull) * rng.random(shape) + pull * rng.random((n_restarts, n_rollouts, 1))
    found = minimize(negative_target, start.ravel(), jac=True, method="L-BFGS-B",
                     bounds=Bounds(np.zeros(start.size), np.ones(start.size)), options={"maxiter": max_iter})
    groups = found.x.reshape(shape)
    values = values_of(groups)
    best = int(np.argmax(values))
    bound = _search_bound(scheme, target, n_rollouts, weights, ddof)
    return WorstCase(float(values[best]), bound, float(values[best] / bound), groups[best], values,
                     _min_correlation(groups[best], weights))
