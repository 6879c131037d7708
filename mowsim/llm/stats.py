"""Statistics of the sim-to-LLM transfer table: Kendall's tau with an exact permutation p-value, and bootstrap CIs
of contrasts between independent groups of runs.

Pure NumPy; no ``llm`` extra needed.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

__all__ = ["kendall_tau", "tau_permutation_p", "contrast_ci", "EXACT_MAX_N"]

EXACT_MAX_N = 8
"""Up to this many items the permutation p-value enumerates all n! orderings; above, 20,000 random ones."""


def kendall_tau(x, y) -> float:
    """Kendall's tau-b between two scorings of the same items (ties allowed; NaN if either is constant).

    >>> kendall_tau([1, 2, 3], [10, 20, 30]), kendall_tau([1, 2, 3], [3, 2, 1])
    (1.0, -1.0)
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"x and y must be 1-D of the same length; got shapes {x.shape} and {y.shape}.")
    i, j = np.triu_indices(len(x), k=1)
    dx, dy = np.sign(x[i] - x[j]), np.sign(y[i] - y[j])
    n_x, n_y = np.count_nonzero(dx), np.count_nonzero(dy)
    if n_x == 0 or n_y == 0:
        return math.nan
    return float(np.sum(dx * dy) / math.sqrt(n_x * n_y))


def tau_permutation_p(x, y, *, n_random: int = 20_000, seed: int = 0) -> float:
    """One-sided p-value of ``tau(x, y)`` under the null that ``y``'s order is unrelated to ``x``'s.

    The share of orderings of ``y`` whose tau with ``x`` is at least the observed one: all ``n!`` of them when
    ``n <= EXACT_MAX_N`` (exact), else ``n_random`` random permutations plus the observed one. One-sided because the
    simulation predicts agreement: a reversed ordering is a failed prediction, not a significant one.

    >>> tau_permutation_p([1, 2, 3], [1, 2, 3])  # only the identity of 3! = 6 orderings reaches tau = 1
    0.16666666666666666
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    observed = kendall_tau(x, y)
    if math.isnan(observed):
        return math.nan
    tolerance = 1e-12
    if len(y) <= EXACT_MAX_N:
        taus = np.array([kendall_tau(x, y[list(order)]) for order in itertools.permutations(range(len(y)))])
        return float(np.mean(taus >= observed - tolerance))
    rng = np.random.default_rng(seed)
    taus = np.array([kendall_tau(x, rng.permutation(y)) for _ in range(n_random)])
    return float((np.sum(taus >= observed - tolerance) + 1) / (n_random + 1))


def contrast_ci(groups, signs, *, confidence: float = 0.95, n_resamples: int = 4000,
                seed: int = 0) -> tuple[float, float, float]:
    """``sum_i signs[i] * mean(groups[i])`` with a percentile-bootstrap CI, each group resampled on its own.

    ``groups`` are independent samples of runs (e.g. a scheme's stressed runs and its clean runs): the effect of a
    stress is ``contrast_ci([stressed, clean], [1, -1])``, the difference of two schemes' effects has four groups.
    Returns ``(estimate, low, high)``; a group with one run contributes its value without spread.
    """
    groups = [np.asarray(g, dtype=np.float64)[np.isfinite(np.asarray(g, dtype=np.float64))] for g in groups]
    if len(groups) != len(signs) or any(g.size == 0 for g in groups):
        return (math.nan, math.nan, math.nan)
    estimate = float(sum(s * g.mean() for s, g in zip(signs, groups)))
    rng = np.random.default_rng(seed)
    total = np.zeros(n_resamples)
    for sign, group in zip(signs, groups):
        picks = rng.integers(0, group.size, size=(n_resamples, group.size))
        total += sign * group[picks].mean(axis=1)
    alpha = (1.0 - confidence) / 2
    low, high = np.quantile(total, [alpha, 1.0 - alpha])
    return estimate, float(low), float(high)
