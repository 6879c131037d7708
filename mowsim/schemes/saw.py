"""SAW, Stage-Aware dynamic Weighting: objective weights from the batch coefficient of variation."""

from __future__ import annotations

import dataclasses

from mowsim import validation
from mowsim.schemes import _kernels, reference
from mowsim.schemes.base import Scheme, register

__all__ = ["SAWGRPO", "SAWGDPO"]


@dataclasses.dataclass(frozen=True)
class _SAW(Scheme):
    delta: float = 1e-8
    """Shift and denominator constant of the CV (the official code's ``1e-8``)."""

    def __post_init__(self):
        validation.check_scalar(self.delta, "delta", low=0.0, low_inclusive=False,
                                hint="SAW's official code uses delta=1e-8.")

    def _delta(self) -> float:
        return self.delta

    def _reference_kwargs(self, reward_min) -> dict:
        return {"reward_min": reward_min, "delta": self.delta}


@register
@dataclasses.dataclass(frozen=True)
class SAWGRPO(_SAW):
    r"""SAW-GRPO (reward level): ``s = sum_k w'_k w_k r_k``, then RC's group z-score.

    ``w'_k = CV_k / sum_l CV_l`` with ``CV_k = std_batch(rt_k) / (|mean_batch(rt_k)| + delta)`` and
    ``rt_k = r_k - rmin_k + delta``. SAW (2026), estimator ``grpo-h``, github.com/Zhaolutuan/SAW. K = 1: GRPO z-score.
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
