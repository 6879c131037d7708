"""Reward transforms: functions (B, G, K) -> (B, G, K) applied before a scheme."""

from __future__ import annotations

import numpy as np

from mowsim import validation

__all__ = ["condition_rewards"]


def condition_rewards(rewards, easy: int, hard: int, threshold: float):
    r"""GDPO's conditioned reward (GDPO paper, Eq. 8): the easy reward counts only once the hard one passes.

    .. math:: r_{\text{easy}} \leftarrow \begin{cases} r_{\text{easy}} & r_{\text{hard}} \ge t \\ 0 & \text{otherwise} \end{cases}

    Parameters
    ----------
    rewards : array_like of shape (n_groups, n_rollouts, n_objectives) or (n_rollouts, n_objectives)
    easy, hard : int
        Objective indices (distinct). ``easy`` is gated by ``hard``.
    threshold : float
        The hard reward's pass threshold ``t``.

    Returns
    -------
    ndarray of the input's shape; a new array. A NaN (unscorable) hard reward leaves the easy reward NaN.
    """
    arr, squeezed = validation.check_rewards(rewards)
    n_objectives = arr.shape[2]
    for name, index in (("easy", easy), ("hard", hard)):
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not 0 <= index < n_objectives:
            raise ValueError(f"{name} must be an objective index in [0, {n_objectives}); got {index!r}.")
    if easy == hard:
        raise ValueError(f"easy and hard must be different objectives; both are {easy}.")
    threshold = validation.check_scalar(threshold, "threshold")
    out = arr.copy()
    hard_reward = arr[:, :, hard]
    not_passed = np.where(np.isnan(hard_reward), np.nan, 0.0)
    out[:, :, easy] = np.where(hard_reward >= threshold, arr[:, :, easy], not_passed)
    return out[0] if squeezed else out
