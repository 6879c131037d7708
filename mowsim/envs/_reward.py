"""The one reward model every environment shares: clean outcomes in, observed (noisy, mis-calibrated) rewards out.

An environment decides the *clean* value of each true objective for a rollout (a 0/1 outcome, or a mean in [0, 1]
for continuous rewards). :class:`RewardKnobs` then turns it into what a reward function would report:

1. label flips (binary objectives): the outcome is flipped with probability ``flip_prob[k]``;
2. additive noise ``noise_sd[k] * e_k``, where ``e`` is standard normal with equicorrelation ``noise_correlation``
   across objectives, or multivariate Student-t with ``noise_df`` degrees of freedom (heavy tails);
3. spurious objectives: ``n_spurious`` extra objectives whose reward is ``spurious_sd * N(0, 1)``, independent of
   the action (the failure mode of variance weighting that METHODS.md names);
4. mis-calibration: ``reward_scale[k] * r_k + reward_offset[k]`` (e.g. one objective on a 100x scale);
5. GDPO conditioning (GDPO Eq. 8): ``condition=(easy, hard, threshold)`` zeroes the easy reward unless the hard one
   reaches the threshold.

The *truth* a study tracks is the clean expected value, not the observed reward.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from numba import njit

from mowsim import _rng, validation

__all__ = ["RewardKnobs", "RewardArrays"]

MAX_OBJECTIVES = 32


def _per_objective(value, n: int, name: str, *, low: float, high: float | None = None) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(value, dtype=np.float64))
    if arr.ndim != 1 or arr.shape[0] not in (1, n):
        raise ValueError(f"{name} must be a scalar or a sequence of length {n} (one per objective); got {value!r}.")
    arr = np.broadcast_to(arr, (n,)).copy()
    for k, v in enumerate(arr):
        validation.check_scalar(float(v), f"{name}[{k}]", low=low, high=high)
    return arr


@dataclasses.dataclass(frozen=True)
class RewardArrays:
    """The reward model as plain arrays for the kernels (see :meth:`RewardKnobs.reward_arrays`)."""

    flip_prob: np.ndarray  # (K_true,)
    noise_sd: np.ndarray  # (K_true,)
    noise_factor: np.ndarray  # (K_true, K_true) F with F @ F.T = the noise correlation matrix
    noise_df: float  # inf -> Gaussian
    n_spurious: int
    spurious_sd: float
    scale: np.ndarray  # (K,) over all objectives, spurious included
    offset: np.ndarray  # (K,)
    condition: np.ndarray  # (4,) = (enabled, easy, hard, threshold)
    binary: bool


@dataclasses.dataclass(frozen=True)
class RewardKnobs:
    """Reward-model knobs shared by every environment (a mixin of the environment dataclasses).

    Per-objective knobs take a scalar (all objectives) or one value per *true* objective; ``reward_scale`` and
    ``reward_offset`` take one value per objective including the spurious ones.
    """

    binary: bool = True
    """True: each true objective is a 0/1 outcome. False: the clean reward is its mean in [0, 1]."""
    noise_sd: float | tuple = 0.0
    """Scale of additive noise per true objective."""
    noise_df: float = math.inf
    """Student-t degrees of freedom of the noise (> 2); ``inf`` gives Gaussian noise."""
    noise_correlation: float = 0.0
    """Equicorrelation of the noise across true objectives, in [-1/(K-1), 1]."""
    flip_prob: float | tuple = 0.0
    """Label-flip probability per true objective, in [0, 0.5]; binary rewards only."""
    n_spurious: int = 0
    """Extra objectives whose reward ignores the action: ``spurious_sd * N(0, 1)``."""
    spurious_sd: float = 1.0
    reward_scale: float | tuple = 1.0
    """Positive multiplier per objective (spurious included): mis-calibration."""
    reward_offset: float | tuple = 0.0
    condition: tuple | None = None
    """GDPO Eq. 8 conditioning ``(easy, hard, threshold)`` on objective indices, or None."""

    # Subclasses provide n_true_objectives (a field or a property).

    @property
    def total_objectives(self) -> int:
        """K seen by the scheme: the true objectives plus the spurious ones."""
        return self.n_true_objectives + self.n_spurious

    @property
    def objective_names(self) -> tuple[str, ...]:
        return tuple(f"objective_{k}" for k in range(self.n_true_objectives)) + tuple(
            f"spurious_{k}" for k in range(self.n_spurious)
        )

    def _check_reward_knobs(self) -> None:
        # Sequences given as lists become tuples, so the (frozen) environment stays hashable.
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, list):
                object.__setattr__(self, field.name, tuple(value))
        n_true = self.n_true_objectives
        if not isinstance(self.n_spurious, (int, np.integer)) or isinstance(self.n_spurious, bool) or self.n_spurious < 0:
            raise ValueError(f"n_spurious must be a non-negative int; got {self.n_spurious!r}.")
        if not 1 <= n_true + self.n_spurious <= MAX_OBJECTIVES:
            raise ValueError(
                f"the environment has {n_true} true + {self.n_spurious} spurious objectives; expected 1 to "
                f"{MAX_OBJECTIVES} in total."
            )
        _per_objective(self.noise_sd, n_true, "noise_sd", low=0.0)
        flips = _per_objective(self.flip_prob, n_true, "flip_prob", low=0.0, high=0.5)
        if not self.binary and np.any(flips > 0):
            raise ValueError(
                f"flip_prob={self.flip_prob!r} needs binary=True: label flips are defined for 0/1 outcomes. "
                "For continuous rewards use noise_sd (and noise_df for heavy tails)."
            )
        validation.check_scalar(self.spurious_sd, "spurious_sd", low=0.0)
        if not (self.noise_df == math.inf or (isinstance(self.noise_df, (int, float)) and self.noise_df > 2)):
            raise ValueError(f"noise_df must be > 2 (finite variance) or math.inf for Gaussian noise; got {self.noise_df!r}.")
        low = -1.0 / (n_true - 1) if n_true > 1 else -1.0
        validation.check_scalar(self.noise_correlation, "noise_correlation", low=low, high=1.0,
                                hint="An equicorrelation of K objectives must lie in [-1/(K-1), 1].")
        scale = _per_objective(self.reward_scale, self.total_objectives, "reward_scale", low=0.0)
        if np.any(scale <= 0):
            raise ValueError(f"reward_scale must be positive; got {self.reward_scale!r}.")
        _per_objective(self.reward_offset, self.total_objectives, "reward_offset", low=-np.inf)
        if self.condition is not None:
            if len(self.condition) != 3:
                raise ValueError(f"condition must be (easy, hard, threshold); got {self.condition!r}.")
            easy, hard, threshold = self.condition
            for name, idx in (("easy", easy), ("hard", hard)):
                is_index = isinstance(idx, (int, np.integer)) and not isinstance(idx, bool)
                if not is_index or not 0 <= idx < self.total_objectives:
                    raise ValueError(
                        f"condition {name} index must be in [0, {self.total_objectives}); got {idx!r}."
                    )
            if easy == hard:
                raise ValueError(f"condition easy and hard must differ; both are {easy}.")
            validation.check_scalar(threshold, "condition threshold")

    def reward_arrays(self) -> RewardArrays:
        n_true = self.n_true_objectives
        corr = self.noise_correlation
        matrix = np.full((n_true, n_true), corr) + (1.0 - corr) * np.eye(n_true)
        # Clip the smallest eigenvalue so the boundary correlation -1/(K-1) (singular) still factorizes.
        values, vectors = np.linalg.eigh(matrix)
        factor = vectors * np.sqrt(np.clip(values, 0.0, None))
        if self.condition is None:
            condition = np.zeros(4)
        else:
            easy, hard, threshold = self.condition
            condition = np.array([1.0, easy, hard, threshold], dtype=np.float64)
        return RewardArrays(
            flip_prob=_per_objective(self.flip_prob, n_true, "flip_prob", low=0.0),
            noise_sd=_per_objective(self.noise_sd, n_true, "noise_sd", low=0.0),
            noise_factor=np.ascontiguousarray(factor),
            noise_df=float(self.noise_df),
            n_spurious=int(self.n_spurious),
            spurious_sd=float(self.spurious_sd),
            scale=_per_objective(self.reward_scale, self.total_objectives, "reward_scale", low=0.0),
            offset=_per_objective(self.reward_offset, self.total_objectives, "reward_offset", low=-np.inf),
            condition=condition,
            binary=bool(self.binary),
        )


@njit(cache=True)
def observe(state, clean, flip_prob, noise_sd, noise_factor, noise_df, n_spurious, spurious_sd, scale, offset,
            binary, noise_buf, out):
    """Turn the clean values of the true objectives into observed rewards, for a whole batch at once.

    ``clean`` is (n, K_true) and ``out`` is (n, K_true + n_spurious): row i of ``out`` is rollout i's observed
    reward vector. Rollouts draw their random numbers in row order (flips, then the noise vector, then the spurious
    rewards). ``noise_buf`` is scratch of length K_true. Conditioning is applied per batch by
    :func:`condition_batch`.

    One call per batch, with no per-rollout array views: in the training loops a call per rollout cost more than
    sampling the rollout itself. When no knob is active the observed reward is the clean one, copied.
    """
    n_rows, n_true = clean.shape
    n_objectives = out.shape[1]
    any_flip = False
    any_noise = False
    for k in range(n_true):
        if binary and flip_prob[k] > 0.0:
            any_flip = True
        if noise_sd[k] > 0.0:
            any_noise = True
    calibrated = True
    for k in range(n_objectives):
        if scale[k] != 1.0 or offset[k] != 0.0:
            calibrated = False
    if not (any_flip or any_noise or n_spurious > 0):
        for i in range(n_rows):
            for k in range(n_true):
                out[i, k] = clean[i, k]
    else:
        heavy = noise_df < np.inf
        for i in range(n_rows):
            for k in range(n_true):
                value = clean[i, k]
                if any_flip and flip_prob[k] > 0.0 and _rng.uniform(state) < flip_prob[k]:
                    value = 1.0 - value
                out[i, k] = value
            if any_noise:
                for k in range(n_true):
                    noise_buf[k] = _rng.normal(state)
                mix = _rng.t_scale(state, noise_df) if heavy else 1.0
                for k in range(n_true):
                    correlated = 0.0
                    for m in range(n_true):
                        correlated += noise_factor[k, m] * noise_buf[m]
                    out[i, k] += noise_sd[k] * correlated * mix
            for k in range(n_spurious):
                out[i, n_true + k] = spurious_sd * _rng.normal(state)
    if not calibrated:
        for i in range(n_rows):
            for k in range(n_objectives):
                out[i, k] = scale[k] * out[i, k] + offset[k]


@njit(cache=True)
def condition_batch(rewards, condition):
    """GDPO Eq. 8 in place on rewards (B, G, K): ``r_easy <- r_easy if r_hard >= t else 0``."""
    if condition[0] == 0.0:
        return
    easy = int(condition[1])
    hard = int(condition[2])
    threshold = condition[3]
    for b in range(rewards.shape[0]):
        for j in range(rewards.shape[1]):
            if not rewards[b, j, hard] >= threshold:
                rewards[b, j, easy] = 0.0
