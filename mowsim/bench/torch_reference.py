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

__all__ = ["SCHEMES", "nanstd", "rc", "ac", "gdpo", "dvao", "saw_grpo", "saw_gdpo", "advantages"]


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


SCHEMES = {"rc": rc, "ac": ac, "gdpo": gdpo, "dvao": dvao, "saw-grpo": saw_grpo, "saw-gdpo": saw_gdpo}
"""Scheme name (as in :func:`mowsim.schemes.available`) -> torch implementation."""

_SAW = ("saw-grpo", "saw-gdpo")


def advantages(rewards, scheme: str, weights=None, *, ddof: int = 0, eps: float = 0.0, reward_min=None,
               delta: float = 1e-8, min_weight: float = 0.0) -> torch.Tensor:
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
    if scheme in _SAW:
        if reward_min is not None:
            reward_min = torch.as_tensor(reward_min, dtype=torch.float64)
        return SCHEMES[scheme](rewards, weights, ddof, eps, reward_min=reward_min, delta=delta, min_weight=min_weight)
    return SCHEMES[scheme](rewards, weights, ddof, eps)
