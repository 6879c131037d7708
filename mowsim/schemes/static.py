"""The fixed-formula schemes: RC, AC, GDPO and DVAO. Formulas and sources are in each class's docstring."""

from __future__ import annotations

import dataclasses

from mowsim.schemes import _kernels, reference
from mowsim.schemes.base import Scheme, register

__all__ = ["RC", "AC", "GDPO", "DVAO"]


@register
@dataclasses.dataclass(frozen=True)
class RC(Scheme):
    r"""Reward Combination, i.e. plain GRPO on the weighted reward sum.

    ``A = (s - mean_j s) / (std_j s + eps)`` with ``s = sum_k w_k r_k``. DVAO paper (Liu et al., 2026) Eq. 1-2;
    TRL ``sum_then_normalize``. Mean-square advantage exactly 1 at ``ddof=0`` (Prop. 1). K = 1: GRPO z-score.
    """

    name = "rc"
    kernel_id = _kernels.RC
    reference = staticmethod(reference.rc)


@register
@dataclasses.dataclass(frozen=True)
class AC(Scheme):
    r"""Advantage Combination: ``A = sum_k w_k (r_k - mu_k) / (sigma_k + eps)``.

    DVAO paper (Liu et al., 2026), baseline. Mean-square ``1 - 2 sum_{k<l} w_k w_l (1 - rho_kl)`` (Prop. 1).
    K = 1 with ``w = 1``: GRPO z-score.
    """

    name = "ac"
    kernel_id = _kernels.AC
    reference = staticmethod(reference.ac)


@register
@dataclasses.dataclass(frozen=True)
class GDPO(Scheme):
    r"""GDPO: AC followed by a z-score over the whole batch.

    GDPO paper, Eq. 4-7; TRL ``normalize_then_sum``. Before whitening ``|a|`` can reach ``K sqrt(G-1)`` (equal unit
    weights); the batch z-score removes that growth.
    """

    name = "gdpo"
    kernel_id = _kernels.GDPO
    reference = staticmethod(reference.gdpo)


@register
@dataclasses.dataclass(frozen=True)
class DVAO(Scheme):
    r"""DVAO: ``A = sum_k wt_k A_k`` with ``wt_k = w_k sigma_k / sum_l w_l sigma_l``.

    Equals ``sum_k w_k (r_k - mu_k) / sum_l w_l sigma_l`` at ``eps = 0``. DVAO paper (Liu et al., 2026,
    "Dynamic Variance-adaptive Advantage Optimization for Multi-reward RL"). ``|A_DVAO| <= |A_RC|`` (Prop. 2).
    K = 1: GRPO z-score.
    """

    name = "dvao"
    kernel_id = _kernels.DVAO
    reference = staticmethod(reference.dvao)
