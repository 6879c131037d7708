"""The single boundary where input is judged.

Every public entry point of mowsim passes its arrays through these checks once; the kernels behind them see only
clean ``float64`` arrays and plain scalars. Each error says what was expected, what arrived, and how to fix it
(the habit of scikit-learn's ``check_array``).
"""

from __future__ import annotations

import math
import numbers

import numpy as np
from numba import njit

__all__ = [
    "check_rewards",
    "check_weights",
    "check_ddof",
    "check_eps",
    "check_reward_min",
    "check_normalization",
    "check_magnitude",
    "check_scalar",
    "as_generator",
]

_AXES = "(n_groups, n_rollouts, n_objectives)"
_FLOAT64_MAX = float(np.finfo(np.float64).max)


def check_rewards(rewards, *, check_finite: bool = True) -> tuple[np.ndarray, bool]:
    """Validate a reward array and return it as C-contiguous ``float64`` of shape (B, G, K).

    Parameters
    ----------
    rewards : array_like of shape (n_rollouts, n_objectives) or (n_groups, n_rollouts, n_objectives)
        ``NaN`` marks an unscorable entry (TRL's semantics) and is allowed; ``inf`` is not.
    check_finite : bool
        Scan for ``inf`` here. The compiled scheme path passes False: its kernels measure the reward range and say
        whether it holds an ``inf``, and only then does it call :func:`check_reward_range` for the
        error (one pass over the batch rather than two).

    Returns
    -------
    rewards : ndarray of shape (n_groups, n_rollouts, n_objectives)
    squeezed : bool
        True when the input was one group of shape (G, K); the caller returns (G,) instead of (1, G).
    """
    try:
        arr = np.asarray(rewards, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"rewards must be a numeric array of shape {_AXES} or (n_rollouts, n_objectives); "
            f"could not convert {type(rewards).__name__} to float64 ({err})."
        ) from None
    if arr.ndim == 2:
        squeezed = True
        arr = arr[None]
    elif arr.ndim == 3:
        squeezed = False
    else:
        hint = (
            " For a single objective pass rewards[:, None] (one group) or rewards[..., None]."
            if arr.ndim == 1
            else " Flatten extra leading axes into n_groups with rewards.reshape(-1, G, K)."
        )
        raise ValueError(
            f"rewards has shape {arr.shape} (ndim={arr.ndim}); expected {_AXES} "
            f"or (n_rollouts, n_objectives) for one group.{hint}"
        )
    if 0 in arr.shape:
        raise ValueError(
            f"rewards has shape {arr.shape} with an empty axis; expected {_AXES} with every axis >= 1."
        )
    if check_finite and np.isinf(arr).any():
        _raise_inf(arr, squeezed)
    return np.ascontiguousarray(arr), squeezed


def _raise_inf(arr: np.ndarray, squeezed: bool):
    """Raise the ValueError for the first ``inf`` in ``arr`` (shape (B, G, K)), indexed as the caller passed it."""
    first = tuple(int(i) for i in np.argwhere(np.isinf(arr))[0])
    value = arr[first]
    if squeezed:
        first = first[1:]
    raise ValueError(
        f"rewards contains inf at index {first} (value {value}); "
        "rewards must be finite. Use NaN to mark an unscorable entry, or clip the reward function's output."
    )


def check_reward_range(rewards: np.ndarray, squeezed: bool, lower: float, upper: float) -> None:
    """The inf check of :func:`check_rewards`, on a measured range.

    ``[lower, upper]`` is a range that holds every non-NaN reward, as the scheme kernels return it: an end is
    infinite exactly when the batch holds that ``inf`` (``+inf``/``-inf`` when nothing is scored). Raises exactly
    the error :func:`check_rewards` raises. (The stateless schemes compute scale-free, so no finite magnitude is
    refused; :func:`check_magnitude` guards only the stateful schemes.)
    """
    if lower == -np.inf or upper == np.inf:
        _raise_inf(rewards, squeezed)


def check_weights(weights, n_objectives: int) -> np.ndarray:
    """Validate objective weights; ``None`` means equal weights ``1/K``.

    Weights are used as given (not renormalized): RC, GDPO, DVAO and SAW do not depend on their overall scale,
    AC's advantages scale with ``sum(w)``. The papers' propositions take ``sum(w) == 1``.
    """
    if weights is None:
        return np.full(n_objectives, 1.0 / n_objectives)
    try:
        w = np.asarray(weights, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"weights must be a numeric array of shape ({n_objectives},); got {weights!r} ({err}).") from None
    if w.ndim != 1 or w.shape[0] != n_objectives:
        raise ValueError(
            f"weights has shape {w.shape}; expected ({n_objectives},), one weight per objective "
            f"(rewards has n_objectives={n_objectives}). Pass weights=None for equal weights."
        )
    if not np.all(np.isfinite(w)):
        raise ValueError(f"weights must be finite; got {w.tolist()}.")
    if np.any(w < 0):
        first = int(np.argmax(w < 0))
        raise ValueError(
            f"weights must be non-negative; weights[{first}] = {w[first]}. To minimize an objective, negate its "
            "reward instead of its weight."
        )
    if not np.any(w > 0):
        raise ValueError(f"weights are all zero ({w.tolist()}); at least one objective needs a positive weight.")
    return np.ascontiguousarray(w)


def check_ddof(ddof) -> int:
    """``ddof`` is 0 (population std, the papers' propositions) or 1 (unbiased std, TRL and verl)."""
    if isinstance(ddof, bool) or not isinstance(ddof, numbers.Integral) or int(ddof) not in (0, 1):
        raise ValueError(
            f"ddof must be 0 (population std, as in the DVAO propositions) or 1 (unbiased std, as in TRL/verl); "
            f"got {ddof!r}."
        )
    return int(ddof)


def check_eps(eps) -> float:
    """``eps`` is a finite non-negative number added to every std, as TRL adds its 1e-4."""
    return check_scalar(eps, "eps", low=0.0, hint="TRL uses eps=1e-4; the papers' formulas use 0.")


NORMALIZATIONS = ("group", "batch", "none")
"""The values of ``normalization`` (:mod:`mowsim.schemes.normalization`), in the order of their kernel ids."""

NORMALIZED_SCHEMES = ("rc", "ac", "gdpo", "dvao", "saw-grpo", "saw-gdpo")
"""The schemes that take ``normalization != "group"``."""


def check_normalization(normalization, scheme_name: str | None = None) -> int:
    """Validate ``normalization`` (one of :data:`NORMALIZATIONS`) for ``scheme_name`` and return its kernel id.

    ``"group"`` (the default) is every scheme as published; ``"batch"`` (Lite PPO) and ``"none"`` (Dr. GRPO) are
    supported by the schemes in :data:`NORMALIZED_SCHEMES` only.
    """
    if not isinstance(normalization, str) or normalization not in NORMALIZATIONS:
        raise ValueError(
            f"normalization must be one of {NORMALIZATIONS}; got {normalization!r}. \"group\" is each scheme as "
            "published, \"batch\" divides by the whole batch's std (Lite PPO), \"none\" by no std (Dr. GRPO)."
        )
    if normalization != "group" and scheme_name is not None and scheme_name not in NORMALIZED_SCHEMES:
        raise ValueError(
            f"normalization={normalization!r} is supported by the schemes {', '.join(NORMALIZED_SCHEMES)}; "
            f"scheme {scheme_name!r} runs only with normalization=\"group\" (its state, draws or gates define "
            "their own scale)."
        )
    return NORMALIZATIONS.index(normalization)


def check_reward_min(reward_min, rewards: np.ndarray) -> np.ndarray | None:
    """Validate SAW's known per-objective lower bound ``rmin_k``; ``None`` means "use the batch minimum"."""
    if reward_min is None:
        return None
    n_objectives = rewards.shape[-1]
    rmin = np.asarray(reward_min, dtype=np.float64)
    if rmin.ndim == 0:
        rmin = np.full(n_objectives, float(rmin))
    if rmin.shape != (n_objectives,):
        raise ValueError(
            f"reward_min has shape {rmin.shape}; expected a scalar or ({n_objectives},), one lower bound per objective."
        )
    if not np.all(np.isfinite(rmin)):
        raise ValueError(f"reward_min must be finite; got {rmin.tolist()}.")
    # fmin skips NaN without nanmin's "All-NaN slice" warning for an objective scored nowhere in the batch
    observed = np.fmin.reduce(rewards.reshape(-1, n_objectives), axis=0)
    below = np.flatnonzero(observed < rmin)
    if below.size:
        k = int(below[0])
        raise ValueError(
            f"reward_min[{k}] = {rmin[k]} is not a lower bound: objective {k} has a reward {observed[k]} below it. "
            "Pass the true lower bound of each reward, or reward_min=None to use the batch minimum."
        )
    return np.ascontiguousarray(rmin)


def check_magnitude(rewards: np.ndarray, weights: np.ndarray) -> None:
    """Refuse rewards and weights so large that a stateful scheme's variance arithmetic would overflow ``float64``.

    The stateful schemes (:mod:`mowsim.schemes.dynamic`) pool variances in the rewards' own units, so they keep this
    guard; the stateless ones rescale each group by a power of two and accept every finite reward.

    Every scheme sums at most ``B*G`` squared deviations of values no larger than ``V``: a reward (``max|r|``), a
    weighted reward sum (``max|r| * sum(w)``) or a weighted sum of z-scores (``K * sum(w) * sqrt(G)``, SAW-GDPO's
    factor ``K`` included). If ``4 B G V**2`` overflowed, a std would become ``inf`` and the advantages silent zeros,
    so such input is an error instead.
    """
    # In-place reductions: np.abs(rewards) would copy the whole batch (18 ms at 1M x 4).
    upper = float(np.fmax.reduce(rewards, axis=None))
    lower = float(np.fmin.reduce(rewards, axis=None))
    largest = max(abs(upper), abs(lower))
    largest = 0.0 if np.isnan(largest) else largest
    _check_largest(largest, rewards.shape, weights)


@njit(cache=True)
def magnitude_limits(largest, n_groups, n_rollouts, n_objectives, weight_sum):
    """``(bound, limit)`` of :func:`check_magnitude`: the input is safe when ``bound < limit``.

    ``weight_sum`` is added in objective order.
    """
    bound = max(largest, largest * weight_sum, n_objectives * weight_sum * math.sqrt(n_rollouts))
    limit = math.sqrt(_FLOAT64_MAX / (4.0 * n_groups * n_rollouts))
    return bound, limit


def _check_largest(largest: float, shape: tuple[int, int, int], weights: np.ndarray) -> None:
    n_groups, n_rollouts, n_objectives = shape
    weight_sum = sum(weights.tolist())  # left to right, as the kernels add it
    bound, limit = magnitude_limits(float(largest), n_groups, n_rollouts, n_objectives, weight_sum)
    if not bound < limit:
        raise ValueError(
            f"rewards and weights are too large for float64 variance arithmetic: largest |reward| = {largest:.3g}, "
            f"sum(weights) = {weight_sum:.3g}, so values up to {bound:.3g} would be squared; expected at most "
            f"{limit:.3g} for a batch of {n_groups * n_rollouts} rollouts. Rescale the rewards or the weights."
        )


def check_scalar(value, name: str, *, low: float | None = None, high: float | None = None,
                 low_inclusive: bool = True, high_inclusive: bool = True, hint: str = "") -> float:
    """Validate a finite real scalar within optional bounds and return it as ``float``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise ValueError(f"{name} must be a finite real number; got {value!r}. {hint}".rstrip())
    value = float(value)
    if low is not None and (value < low or (value == low and not low_inclusive)):
        bound = ">=" if low_inclusive else ">"
        raise ValueError(f"{name} must be {bound} {low}; got {value}. {hint}".rstrip())
    if high is not None and (value > high or (value == high and not high_inclusive)):
        bound = "<=" if high_inclusive else "<"
        raise ValueError(f"{name} must be {bound} {high}; got {value}. {hint}".rstrip())
    return value


def as_generator(seed) -> np.random.Generator:
    """Turn ``None``, an int, a ``SeedSequence`` or a ``Generator`` into a ``numpy.random.Generator``."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or isinstance(seed, (numbers.Integral, np.random.SeedSequence)):
        return np.random.default_rng(seed)
    raise ValueError(f"seed must be None, an int, a numpy SeedSequence or a Generator; got {type(seed).__name__}.")
