"""Plain PyTorch implementations of the schemes, written the way TRL writes its GRPO advantages.

This module is the third contestant of ``mowsim bench schemes`` (beside the Numba kernels and the NumPy reference):
what a user gets today by writing the schemes in PyTorch on CPU, in the style of TRL's ``GRPOTrainer``
(``rewards_per_func.view(-1, G, K)``, ``torch.nanmean``, a ``nanstd`` like ``trl.trainer.utils.nanstd``, ``nansum``
of weighted z-scores, ``repeat_interleave`` of the group statistics). It needs the optional extra
``pip install mowsim[bench]``.

On NaN-free input whose groups are not constant these functions agree with :func:`mowsim.advantages` to rounding
(``ddof`` and ``eps`` mean the same thing: ``(x - mean) / (std + eps)`` with the ``ddof`` std). They do *not*
implement mowsim's degenerate-input rules (the zero-spread rule, the >= 2-scorable-rollouts rule, all-NaN
rollouts), because TRL does not: that is the point of the comparison, not a bug to fix here.

Every function takes ``rewards`` as a float64 tensor of shape (n_groups, n_rollouts, n_objectives) and returns the
advantages as a tensor of shape (n_groups, n_rollouts).
"""

from __future__ import annotations

try:
    import torch
except ImportError as err:  # pragma: no cover - exercised only without torch
    raise ImportError(
        "mowsim.bench.torch_reference needs PyTorch, which is an optional dependency. "
        "Install it with `pip install mowsim[bench]` (the CPU build is enough)."
    ) from err

__all__ = ["SCHEMES", "nanstd", "rc", "ac", "gdpo", "dvao", "saw_grpo", "saw_gdpo", "vpo", "random_weight", "gated",
           "advantages"]


def nanstd(tensor: torch.Tensor, dim=None, keepdim: bool = False, ddof: int = 0) -> torch.Tensor:
    """Std ignoring NaNs, as ``trl.trainer.utils.nanstd`` computes it, with a choice of ``ddof``.

    TRL always applies Bessel's correction as ``count / (count - 1)`` on the integer count, which PyTorch evaluates
    in float32 (a relative error near 1e-8). Here the correction is taken in float64, so ``ddof=1`` matches NumPy to
    rounding.
    """
    mean = torch.nanmean(tensor, dim=dim, keepdim=True)
    variance = torch.nanmean((tensor - mean) ** 2, dim=dim, keepdim=keepdim)
    if ddof:
        count = torch.sum(~torch.isnan(tensor), dim=dim, keepdim=keepdim).to(torch.float64)
        variance = variance * (count / (count - ddof))
    return torch.sqrt(variance)


def _group_zscores(rewards: torch.Tensor, ddof: int, eps: float):
    """Per-objective group z-scores ``(r - mu_k) / (sigma_k + eps)``, TRL's ``normalize_then_sum`` first half."""
    mean_k = torch.nanmean(rewards, dim=1, keepdim=True)
    std_k = nanstd(rewards, dim=1, keepdim=True, ddof=ddof)
    return (rewards - mean_k) / (std_k + eps), std_k


def _batch_whiten(values: torch.Tensor, ddof: int, eps: float) -> torch.Tensor:
    flat = values.view(-1)
    return ((flat - flat.mean()) / (flat.std(correction=ddof) + eps)).view_as(values)


def rc(rewards, weights, ddof=0, eps=0.0):
    """RC, TRL's ``sum_then_normalize`` with ``scale_rewards="group"``."""
    n_groups, n_rollouts, n_objectives = rewards.shape
    rewards_per_func = rewards.view(-1, n_objectives)
    summed = (rewards_per_func * weights.unsqueeze(0)).nansum(dim=1)
    mean_grouped = summed.view(-1, n_rollouts).mean(dim=1).repeat_interleave(n_rollouts, dim=0)
    std_grouped = summed.view(-1, n_rollouts).std(dim=1, correction=ddof).repeat_interleave(n_rollouts, dim=0)
    return ((summed - mean_grouped) / (std_grouped + eps)).view(n_groups, n_rollouts)


def ac(rewards, weights, ddof=0, eps=0.0):
    """AC: TRL's ``normalize_then_sum`` without the final batch z-score."""
    zscores, _ = _group_zscores(rewards, ddof, eps)
    return (zscores * weights).nansum(dim=2)


def gdpo(rewards, weights, ddof=0, eps=0.0):
    """GDPO, TRL's ``normalize_then_sum``: AC, then a z-score over the whole batch."""
    return _batch_whiten(ac(rewards, weights, ddof, eps), ddof, eps)


def dvao(rewards, weights, ddof=0, eps=0.0):
    """DVAO: the group z-scores combined with ``w_k sigma_k / sum_l w_l sigma_l``."""
    zscores, std_k = _group_zscores(rewards, ddof, eps)
    spread = weights * std_k
    adaptive = spread / spread.sum(dim=2, keepdim=True)
    return (zscores * adaptive).nansum(dim=2)


def _saw_cv_weights(rewards, ddof, reward_min, delta, min_weight=0.0):
    """SAW's ``w'_k = CV_k / sum_l CV_l`` over the whole batch; equal weights when every CV is about 0.

    ``min_weight = m > 0`` mixes in the uniform weights, ``m + (1 - K m) w'_k`` (mowsim's floor, not the paper's)."""
    n_objectives = rewards.shape[2]
    flat = rewards.view(-1, n_objectives)
    mean = torch.nanmean(flat, dim=0)
    std = nanstd(flat, dim=0, ddof=ddof)
    if reward_min is None:
        reward_min = flat.nan_to_num(float("inf")).amin(dim=0)
    cv = std / ((mean - reward_min + delta).abs() + delta)
    total = cv.sum()
    if total <= delta:
        cv_weights = torch.full_like(cv, 1.0 / n_objectives)
    else:
        cv_weights = cv / total
    if min_weight > 0:
        cv_weights = min_weight + (1.0 - n_objectives * min_weight) * cv_weights
    return cv_weights


def saw_grpo(rewards, weights, ddof=0, eps=0.0, reward_min=None, delta=1e-8, min_weight=0.0):
    """SAW-GRPO: RC on the CV-reweighted reward sum."""
    return rc(rewards, _saw_cv_weights(rewards, ddof, reward_min, delta, min_weight) * weights, ddof, eps)


def saw_gdpo(rewards, weights, ddof=0, eps=0.0, reward_min=None, delta=1e-8, min_weight=0.0):
    """SAW-GDPO: GDPO with weights ``K w'_k w_k``."""
    n_objectives = rewards.shape[2]
    cv_weights = _saw_cv_weights(rewards, ddof, reward_min, delta, min_weight)
    return gdpo(rewards, n_objectives * cv_weights * weights, ddof, eps)


def _nan_zscore(values, ddof, eps):
    """Group z-score of one value per rollout (B, G), NaN rows left out and given 0."""
    mean = torch.nanmean(values, dim=1, keepdim=True)
    std = nanstd(values, dim=1, keepdim=True, ddof=ddof)
    return ((values - mean) / (std + eps)).nan_to_num(0.0)


def vpo(rewards, weights, ddof=0, eps=0.0, draws=None):
    """VPO with one answer per rollout: ``raw = mean_m (lambda_m * K w) . r`` (the max over one answer is the answer),
    then the group z-score. ``draws`` (B, M, K) are the Dirichlet weights (Bahlous-Boldi et al., arXiv 2605.22817)."""
    combined = draws * (rewards.shape[2] * weights)
    raw = torch.einsum("bgk,bmk->bgm", rewards.nan_to_num(0.0), combined).mean(dim=2)
    raw = torch.where(torch.isnan(rewards).all(dim=2), torch.full_like(raw, float("nan")), raw)
    return _nan_zscore(raw, ddof, eps)


def random_weight(rewards, weights, ddof=0, eps=0.0, draws=None):
    """Random-weighting GRPO: RC on ``sum_k lambda_bk w_k r_k`` with the group's first draw ``lambda_b``."""
    summed = (rewards * (draws[:, :1, :] * weights)).nansum(dim=2)
    summed = torch.where(torch.isnan(rewards).all(dim=2), torch.full_like(summed, float("nan")), summed)
    return _nan_zscore(summed, ddof, eps)


def gated(rewards, weights, ddof=0, eps=0.0, gates=(), thresholds=(), inner="rc"):
    """DRO's rubric gate: rollouts failing a gate (``r < threshold``) become NaN, the rest are scored on the other
    objectives by ``inner`` (rc, ac or dvao here), failing rollouts get 0 (Xu et al., arXiv 2506.13351)."""
    n_objectives = rewards.shape[2]
    gates = list(gates)
    keep = [k for k in range(n_objectives) if k not in gates]
    passed = torch.ones(rewards.shape[:2], dtype=torch.bool)
    for gate, threshold in zip(gates, thresholds):
        passed &= rewards[:, :, gate] >= threshold
    masked = torch.where(passed.unsqueeze(2), rewards[:, :, keep], torch.full_like(rewards[:, :, keep], float("nan")))
    inner_weights = weights[keep]
    if inner == "rc":
        summed = (masked * inner_weights).nansum(dim=2)
        summed = torch.where(passed, summed, torch.full_like(summed, float("nan")))
        return _nan_zscore(summed, ddof, eps)
    if inner in ("ac", "dvao"):
        return torch.where(passed, SCHEMES[inner](masked, inner_weights, ddof, eps), torch.zeros(passed.shape,
                                                                                                  dtype=torch.float64))
    raise ValueError(f"no PyTorch gate around inner scheme {inner!r}; expected rc, ac or dvao.")


SCHEMES = {"rc": rc, "ac": ac, "gdpo": gdpo, "dvao": dvao, "saw-grpo": saw_grpo, "saw-gdpo": saw_gdpo, "vpo": vpo,
           "random-weight": random_weight, "gated": gated}
"""Scheme name (as in :func:`mowsim.schemes.available`) -> torch implementation."""

_SAW = ("saw-grpo", "saw-gdpo")


def advantages(rewards, scheme: str, weights=None, *, ddof: int = 0, eps: float = 0.0, reward_min=None,
               delta: float = 1e-8, min_weight: float = 0.0, draws=None, gates=(), thresholds=(),
               inner: str = "rc") -> torch.Tensor:
    """Advantages of ``rewards`` under ``scheme``, in PyTorch; the counterpart of :func:`mowsim.advantages`.

    Parameters
    ----------
    rewards : tensor or array_like of shape (n_groups, n_rollouts, n_objectives)
        Converted to a float64 tensor (without a copy when it already is one, or a float64 NumPy array).
    scheme : str
        A key of :data:`SCHEMES`.
    weights : tensor or array_like of shape (n_objectives,), optional
        ``None`` means ``1/K`` each.
    ddof, eps
        As in :func:`mowsim.advantages`.
    reward_min, delta, min_weight
        SAW only: the known lower bound of each reward (``None``: the batch minimum), the CV constant and
        mowsim's per-objective weight floor.
    draws : tensor or array_like of shape (n_groups, n_draws, n_objectives)
        vpo and random-weight only: the Dirichlet weights (``mowsim.schemes.vpo.dirichlet_draws(seed, ...)`` gives
        the ones a fresh scheme object with that seed uses).
    gates, thresholds, inner
        gated only: gate objective indices, their pass thresholds, the inner scheme.

    Returns
    -------
    tensor of shape (n_groups, n_rollouts)
    """
    if scheme not in SCHEMES:
        raise ValueError(f"no PyTorch implementation of scheme {scheme!r}; expected one of: {', '.join(SCHEMES)}.")
    rewards = torch.as_tensor(rewards, dtype=torch.float64)
    if rewards.ndim != 3:
        raise ValueError(
            f"rewards has shape {tuple(rewards.shape)}; expected (n_groups, n_rollouts, n_objectives). "
            "For one group pass rewards[None]."
        )
    n_objectives = rewards.shape[2]
    if weights is None:
        weights = torch.full((n_objectives,), 1.0 / n_objectives, dtype=torch.float64)
    else:
        weights = torch.as_tensor(weights, dtype=torch.float64)
    if scheme in ("vpo", "random-weight"):
        if draws is None:
            raise ValueError(f"{scheme} needs its Dirichlet draws: pass draws of shape (n_groups, n_draws, "
                             "n_objectives), e.g. mowsim.schemes.vpo.dirichlet_draws(seed, B, M, K).")
        return SCHEMES[scheme](rewards, weights, ddof, eps, draws=torch.as_tensor(draws, dtype=torch.float64))
    if scheme == "gated":
        return gated(rewards, weights, ddof, eps, gates=gates, thresholds=thresholds, inner=inner)
    if scheme in _SAW:
        if reward_min is not None:
            reward_min = torch.as_tensor(reward_min, dtype=torch.float64)
        return SCHEMES[scheme](rewards, weights, ddof, eps, reward_min=reward_min, delta=delta, min_weight=min_weight)
    return SCHEMES[scheme](rewards, weights, ddof, eps)
