"""SAW, Stage-Aware dynamic Weighting: objective weights from the batch coefficient of variation."""

from __future__ import annotations

import dataclasses

import numpy as np

from mowsim import validation
from mowsim.schemes import _kernels, reference
from mowsim.schemes.base import Scheme, register

__all__ = ["SAWGRPO", "SAWGDPO"]


@dataclasses.dataclass(frozen=True)
class _SAW(Scheme):
    delta: float = 1e-8
    """Shift and denominator constant of the CV (the official code's ``1e-8``)."""
    min_weight: float = 0.0
    """Per-objective floor ``m`` on the CV weights: ``w'_k <- m + (1 - K m) w'_k``, so every ``w'_k >= m`` and they
    still sum to 1. 0 (the default) is the paper's SAW; ``1/K`` gives equal weights. *mowsim's own addition*: the
    paper has no floor, and its reading note lists that as a limitation (a learned objective's CV, hence its weight,
    goes to 0, and nothing then stops it regressing)."""

    def __post_init__(self):
        validation.check_scalar(self.delta, "delta", low=0.0, low_inclusive=False,
                                hint="SAW's official code uses delta=1e-8.")
        validation.check_scalar(self.min_weight, "min_weight", low=0.0, high=1.0,
                                hint="It is a share of the total weight: 0 is the paper's SAW, 1/K equal weights.")

    def check_objectives(self, n_objectives: int) -> None:
        if self.min_weight * n_objectives > 1.0 + 1e-12:
            raise ValueError(
                f"{self.name}: min_weight = {self.min_weight} is more than 1/K = {1.0 / n_objectives:.6g} for "
                f"K = {n_objectives} objectives, so the floors alone would exceed the total weight 1. "
                f"Pass min_weight <= 1/{n_objectives} (1/K means equal weights)."
            )

    def _saw_params(self) -> np.ndarray:
        return np.array([self.delta, self.min_weight])

    def _reference_kwargs(self, reward_min) -> dict:
        return {"reward_min": reward_min, "delta": self.delta, "min_weight": self.min_weight}


@register
@dataclasses.dataclass(frozen=True)
class SAWGRPO(_SAW):
    r"""SAW-GRPO (reward level): ``s = sum_k w'_k w_k r_k``, then RC's group z-score.

    ``w'_k = CV_k / sum_l CV_l`` with ``CV_k = std_batch(rt_k) / (|mean_batch(rt_k)| + delta)`` and
    ``rt_k = r_k - rmin_k + delta``. SAW (2026), estimator ``grpo-h``, github.com/Zhaolutuan/SAW. K = 1: GRPO z-score.
    ``min_weight > 0`` floors every ``w'_k`` (mowsim's own; see ``min_weight``).
    """

    name = "saw-grpo"
    kernel_id = _kernels.SAW_GRPO
    reference = staticmethod(reference.saw_grpo)


@register
@dataclasses.dataclass(frozen=True)
class SAWGDPO(_SAW):
    r"""SAW-GDPO (advantage level): ``a = sum_k K w'_k w_k A_k``, then GDPO's batch z-score.

    SAW (2026), estimator ``gdpo-h``, github.com/Zhaolutuan/SAW. See :class:`SAWGRPO` for ``w'``.
    """

    name = "saw-gdpo"
    kernel_id = _kernels.SAW_GDPO
    reference = staticmethod(reference.saw_gdpo)
