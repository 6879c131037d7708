"""Spread instead of balance: VPO (vector policy optimization) and its random-weighting ablation baseline.

Both draw Dirichlet scalarizations from an explicit seed. Each scheme object owns a xoshiro256** stream seeded from
``numpy.random.SeedSequence(seed)``; every :meth:`compute` advances it, so a host that keeps one object (the TRL
trainer, a verl estimator) gets fresh draws per batch, reproducible from the seed, while
``mowsim.advantages(r, "vpo", ...)`` (a fresh object per call) gives the same draws every call. :meth:`reset`
restarts the stream. Draws are draw-major (see :mod:`mowsim.schemes._set_kernels`): with the same seed,
``random-weight``'s weight for group ``b`` is VPO's first draw for group ``b``. In the compiled training loops the
draws come from the run's own scheme stream (seeded by the run's seed), not from the ``seed`` field.
"""

from __future__ import annotations

import dataclasses
import numbers
from typing import ClassVar

import numpy as np

from mowsim import _rng, validation
from mowsim.schemes import _kernels, _set_kernels, reference
from mowsim.schemes.base import Scheme, SchemeOutput, register

__all__ = ["VPO", "RandomWeight", "vpo_reference", "random_weight_reference", "check_set_rewards", "dirichlet_draws"]


def dirichlet_draws(seed: int, n_groups: int, n_draws: int, n_objectives: int, alpha: float = 1.0) -> np.ndarray:
    """``(n_groups, n_draws, n_objectives)`` Dirichlet(alpha 1_K) weights from a fresh stream of ``seed`` (the draws a
    fresh :class:`VPO` with that seed uses on its first call)."""
    draws = np.empty((n_groups, n_draws, n_objectives))
    _set_kernels.dirichlet_fill(_rng.seed_states([np.random.SeedSequence(seed)])[0], float(alpha), draws)
    return draws


def check_set_rewards(rewards) -> np.ndarray:
    """Validate set rewards (B, G, m, K): ``m`` answers per rollout, each scored on K objectives. NaN is an unscorable
    entry; inf is an error. Returns C-contiguous float64."""
    try:
        arr = np.ascontiguousarray(rewards, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"set rewards must be a numeric array of shape (n_groups, n_rollouts, n_answers, "
                         f"n_objectives); got {type(rewards).__name__} ({err}).") from None
    if arr.ndim != 4 or 0 in arr.shape:
        raise ValueError(f"set rewards have shape {arr.shape}; expected (n_groups, n_rollouts, n_answers, "
                         "n_objectives) with every axis >= 1. Per-rollout rewards (B, G, K) are the case m = 1; for "
                         "one group of sets pass rewards[None].")
    if np.isinf(arr).any():
        raise ValueError("set rewards contain inf; use NaN for an unscorable entry, or clip the reward.")
    return arr


def _check_seed(seed):
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed must be a non-negative int; got {seed!r}.")


def _check_alpha(alpha):
    validation.check_scalar(alpha, "alpha", low=0.0, low_inclusive=False,
                            hint="It is the Dirichlet concentration; VPO's code uses alpha=1 (uniform on the simplex).")


def vpo_reference(set_rewards: np.ndarray, draws: np.ndarray, weights: np.ndarray, ddof: int = 0, eps: float = 0.0):
    r"""NumPy reference of VPO on set rewards (B, G, m, K) with given draws (B, M, K).

    .. math:: \text{raw}_{bj} = \frac{1}{M} \sum_{d=1}^{M} \max_{s \in R_{bj}} \sum_k \lambda_{bdk}\, K w_k\, r_{bjsk},
              \qquad A_{bj} = \frac{\text{raw}_{bj} - \operatorname{mean}_j \text{raw}}{\operatorname{std}_j \text{raw} + \epsilon}

    with ``lambda_bd ~ Dirichlet(alpha 1_K)`` shared by the G rollouts of group b. With equal user weights
    ``K w_k = 1``: the paper's set score, the Monte-Carlo estimate of ``E_lambda[max_{y in S} lambda . r(y)]``.
    Source: Bahlous-Boldi et al., "Vector Policy Optimization", arXiv 2605.22817, code github.com/ryanboldi/vpo
    (M = 100, alpha = 1; their advantage uses eps = 1e-6). NaN entries count 0 in ``lambda . r``; an all-NaN
    answer is left out of the max (VPO's code zeroes duplicate or unparsable answers instead: pass 0 rows for
    that); a rollout with no scorable answer is unscorable (advantage 0) and the z-score follows the library's
    contract (:func:`mowsim.schemes.reference.rc` with K = 1).
    """
    n_objectives = set_rewards.shape[3]
    # K w scaled by the power of two that puts its largest entry in [0.5, 1): then every lambda . r is at most
    # max |r| (no overflow at any reward scale) and the z-score, with eps in the same units, is unchanged bit for bit
    scale, exponent = reference.normalized_weights(n_objectives * weights)
    combined = draws * scale  # (B, M, K)
    valid = ~np.isnan(set_rewards)
    # groups beyond the kernels' safe magnitude window are scored in units of 2**shift (exact) and scaled back
    largest = np.where(valid, np.abs(set_rewards), 0.0).reshape(set_rewards.shape[0], -1).max(axis=1)
    in_window = (largest == 0) | ((largest >= _kernels.SAFE_LOW) & (largest < _kernels.SAFE_HIGH))
    shift = np.where(in_window, 0, np.frexp(largest)[1])[:, None, None, None]
    clean = np.ldexp(np.where(valid, set_rewards, 0.0), -shift)
    values = np.einsum("bjsk,bdk->bjsd", clean, combined)
    answer_ok = valid.any(axis=3)  # (B, G, m)
    values = np.where(answer_ok[..., None], values, -np.inf)
    best = values.max(axis=2)  # (B, G, M)
    raw = np.where(answer_ok.any(axis=2), best.mean(axis=2) if best.shape[2] else 0.0, np.nan)
    raw = np.ldexp(raw, shift[:, :, 0, 0])
    advantages, _ = reference.rc(raw[..., None], np.ones(1), ddof, float(np.ldexp(eps, -exponent)))
    total = combined.sum(axis=1)
    grand = total.sum(axis=1, keepdims=True)
    effective = np.where(grand > 0, total / np.where(grand > 0, grand, 1.0), 1.0 / n_objectives)
    return advantages, effective


def random_weight_reference(rewards: np.ndarray, draws: np.ndarray, weights: np.ndarray, ddof: int = 0,
                            eps: float = 0.0):
    r"""NumPy reference of random-weighting GRPO on rewards (B, G, K) with draws (B, >= 1, K) (the first is used).

    .. math:: s_{bj} = \sum_k \lambda_{bk} w_k r_{bjk}, \quad \lambda_b \sim \operatorname{Dir}(\alpha 1_K), \qquad
              A_{bj} = \frac{s_{bj} - \operatorname{mean}_j s}{\operatorname{std}_j s + \epsilon}

    One weight vector per prompt group, then RC. VPO's ablation baseline (Bahlous-Boldi et al., arXiv 2605.22817,
    "random-weighting GRPO": one answer, reward ``w . r`` with one ``w ~ Dir(1)`` per prompt); with equal user
    weights it is exactly that. K = 1: the GRPO z-score.
    """
    lam = draws[:, 0, :] * weights
    valid = ~np.isnan(rewards)
    scalar = np.where(valid.any(axis=2), reference._weighted_sum(rewards, lam[:, None, :]), np.nan)
    advantages, _ = reference.rc(scalar[..., None], np.ones(1), ddof, eps)
    total = lam.sum(axis=1, keepdims=True)
    effective = np.where(total > 0, lam / np.where(total > 0, total, 1.0), weights / weights.sum())
    return advantages, effective


@dataclasses.dataclass(frozen=True)
class _DrawingScheme(Scheme):
    """A stateless scheme that draws Dirichlet weights from its own seeded stream (see the module docstring)."""

    _fused_checks: ClassVar[bool] = False
    role: ClassVar[str] = "spread"
    draws_per_group: ClassVar[int] = 1
    random: ClassVar[bool] = True
    """Hosts keep one instance across batches so that its stream advances (verl's estimators do)."""

    def __post_init__(self):
        _check_alpha(self.alpha)
        _check_seed(self.seed)
        self.reset()

    def reset(self):
        """Restart the draw stream from ``seed``."""
        object.__setattr__(self, "_stream", _rng.seed_states([np.random.SeedSequence(self.seed)])[0])
        return self

    def _draw(self, n_groups: int, n_objectives: int) -> np.ndarray:
        draws = np.empty((n_groups, self._n_draws(), n_objectives))
        _set_kernels.dirichlet_fill(self._stream, float(self.alpha), draws)
        return draws

    def _n_draws(self) -> int:
        return 1


@register
@dataclasses.dataclass(frozen=True)
class VPO(_DrawingScheme):
    r"""VPO: score each rollout's *set* of answers by ``mean_d max_{answers} lambda_d . r``, then the group z-score.

    ``lambda_1..lambda_M ~ Dirichlet(alpha 1_K)``, drawn once per group and shared by its G rollouts;
    ``raw_j = (1/M) sum_d max_{s in R_j} sum_k lambda_dk K w_k r_sk``; ``A_j = (raw_j - mean raw) / (std raw + eps)``.
    Bahlous-Boldi et al., "Vector Policy Optimization" (arXiv 2605.22817), code github.com/ryanboldi/vpo: M = 100,
    alpha = 1, their eps 1e-6. The user weights rescale the objectives (``K w_k``; equal weights are the paper).
    Takes set rewards (B, G, m, K) (m answers per rollout) or (B, G, K) (m = 1). With m = 1 and alpha = 1,
    ``E[lambda . r] = mean_k r_k``: VPO is RC (GRPO on the weighted sum) plus Monte-Carlo noise; its diversity comes
    from the set, not from the weights. K = 1: the GRPO z-score exactly. See :func:`vpo_reference`.
    """

    name = "vpo"
    kernel_id = _set_kernels.VPO
    reference = staticmethod(vpo_reference)
    samples: int = 100
    """M, the number of Dirichlet scalarizations per group."""
    alpha: float = 1.0
    seed: int = 0

    def __post_init__(self):
        if isinstance(self.samples, bool) or not isinstance(self.samples, numbers.Integral) or self.samples < 1:
            raise ValueError(f"samples must be a positive int (VPO's code uses 100); got {self.samples!r}.")
        super().__post_init__()

    def _n_draws(self) -> int:
        return int(self.samples)

    def loop_params(self, n_objectives: int) -> np.ndarray:
        return np.array([float(self.samples), float(self.alpha)])

    def compute(self, rewards, weights=None, *, ddof: int = 0, eps: float = 0.0, reward_min=None,
                backend: str = "numba", normalization: str = "group") -> SchemeOutput:
        """As :meth:`mowsim.schemes.Scheme.compute`; ``rewards`` may also be set rewards (B, G, m, K)."""
        validation.check_normalization(normalization, self.name)
        if np.ndim(rewards) != 4:
            return super().compute(rewards, weights, ddof=ddof, eps=eps, reward_min=reward_min, backend=backend)
        from mowsim.schemes.base import BACKENDS

        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}; got {backend!r}.")
        sets = check_set_rewards(rewards)
        n_groups, n_rollouts, n_answers, n_objectives = sets.shape
        weights = validation.check_weights(weights, n_objectives)
        validation.check_magnitude(sets.reshape(n_groups, n_rollouts * n_answers, n_objectives), weights)
        ddof = validation.check_ddof(ddof)
        eps = validation.check_eps(eps)
        advantages, effective = self._sets(sets, weights, ddof, eps, backend)
        return SchemeOutput(advantages, effective)

    def _run(self, rewards, weights, ddof, eps, reward_min, backend):
        return (*self._sets(rewards[:, :, None, :], weights, ddof, eps, backend), None)

    def _sets(self, sets, weights, ddof, eps, backend):
        n_groups, n_rollouts, _, n_objectives = sets.shape
        draws = self._draw(n_groups, n_objectives)
        if backend == "numpy":
            return vpo_reference(sets, draws, weights, ddof, eps)
        out = np.empty((n_groups, n_rollouts))
        effective = np.empty((n_groups, n_objectives))
        kernel = _set_kernels.vpo_advantages.py_func if backend == "python" else _set_kernels.vpo_advantages
        scale, exponent = reference.normalized_weights(n_objectives * weights)  # as vpo_reference does
        kernel(np.ascontiguousarray(sets), draws, scale, ddof, float(np.ldexp(eps, -exponent)), out, effective)
        return out, effective


@register
@dataclasses.dataclass(frozen=True)
class RandomWeight(_DrawingScheme):
    r"""Random-weighting GRPO: one ``lambda_b ~ Dirichlet(alpha 1_K)`` per prompt group, then RC on
    ``s = sum_k lambda_bk w_k r_k``.

    VPO's ablation baseline (Bahlous-Boldi et al., arXiv 2605.22817). Each group is pushed toward one random
    trade-off, so the batch as a whole spreads over the front while every single answer is scalar-scored. With the
    same seed its weight for group b is VPO's first draw for group b. K = 1: the GRPO z-score. See
    :func:`random_weight_reference`.
    """

    name = "random-weight"
    kernel_id = _set_kernels.RANDOM_WEIGHT
    reference = staticmethod(random_weight_reference)
    alpha: float = 1.0
    seed: int = 0

    def loop_params(self, n_objectives: int) -> np.ndarray:
        return np.array([float(self.alpha)])

    def _run(self, rewards, weights, ddof, eps, reward_min, backend):
        n_groups, n_rollouts, n_objectives = rewards.shape
        draws = self._draw(n_groups, n_objectives)
        if backend == "numpy":
            return (*random_weight_reference(rewards, draws, weights, ddof, eps), None)
        out = np.empty((n_groups, n_rollouts))
        effective = np.empty((n_groups, n_objectives))
        kernel = (_set_kernels.random_weight_advantages.py_func if backend == "python"
                  else _set_kernels.random_weight_advantages)
        kernel(rewards, draws, weights, ddof, eps, out, effective)
        return out, effective, None

