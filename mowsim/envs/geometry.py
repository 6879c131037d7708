"""Exact geometry of a set of arm points: Pareto-optimal arms, the arms on the upper convex hull, off-hull arms.

A stochastic policy's expected reward vector is a convex combination of its arms' points, and a fixed linear
weighting ``w >= 0`` of the objectives is maximized by putting every bit of mass on arms that maximize ``w . x``.
An arm is therefore reachable by some fixed weighting only if it is *supported*: the optimum of ``w . x`` over all
arms for some ``w`` in the simplex. Lu et al. (arXiv 2509.11452) argue that fixed linear scalarization "provably
fail[s] to capture non-convex Pareto fronts": a Pareto-optimal arm below the convex hull of the others
(*off-hull*) is never the optimum of any fixed weighting, and a mixture of hull arms dominates it in expectation.

Classes (every arm is in exactly one):

* ``hull``: Pareto-optimal and supported, i.e. ``max_{w in simplex} min_b w . (x_a - x_b) >= -tol``. Ties count:
  an arm that is *an* optimum of some weighting, even tied with others, is on the hull. On a linear front every
  point is therefore a hull arm, optimal only at the one weighting where the whole front ties.
* ``off_hull``: Pareto-optimal (no other arm weakly dominates it) but not supported.
* ``dominated``: some other arm is at least as good in every objective and strictly better in one. Equal points do
  not dominate each other; a dominated arm that ties a hull arm at a weighting on the simplex's edge is still
  dominated. Ties also come from the simplex's edges: an objective on which every arm is equal makes every Pareto
  arm an optimum of the weighting that puts all weight on it.

Two objectives use an exact monotone chain over the Pareto arms (cross products with a tolerance for collinear
points); more objectives solve one linear program per Pareto arm (``scipy.optimize.linprog``, HiGHS) for the
max-min above. ``tol`` (relative to the points' magnitude) decides ties in both.
"""

from __future__ import annotations

import dataclasses

import numpy as np

__all__ = ["ArmGeometry", "arm_geometry", "class_mass", "CLASSES"]

CLASSES = ("hull", "off_hull", "dominated")


@dataclasses.dataclass(frozen=True)
class ArmGeometry:
    """Boolean masks of shape (n_arms,): ``pareto`` (= ``hull | off_hull``), ``hull``, ``off_hull``,
    ``dominated``; :meth:`indicators` stacks the three classes as (n_arms, 3) floats in :data:`CLASSES` order."""

    pareto: np.ndarray
    hull: np.ndarray
    off_hull: np.ndarray
    dominated: np.ndarray

    def indicators(self) -> np.ndarray:
        return np.column_stack([self.hull, self.off_hull, self.dominated]).astype(np.float64)


def _check_points(points) -> np.ndarray:
    try:
        arr = np.asarray(points, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"points must be a numeric array of shape (n_arms, n_objectives); got {err}.") from None
    if arr.ndim != 2 or 0 in arr.shape:
        raise ValueError(f"points has shape {arr.shape}; expected (n_arms, n_objectives) with both >= 1. "
                         "For one arm pass points[None].")
    if not np.all(np.isfinite(arr)):
        raise ValueError("points must be finite; they contain NaN or inf.")
    return arr


def _dominated(points: np.ndarray) -> np.ndarray:
    """dominated[a]: some b has points[b] >= points[a] everywhere and > somewhere (exact comparisons)."""
    geq = np.all(points[:, None, :] >= points[None, :, :], axis=2)  # geq[b, a]: b >= a everywhere
    gt = np.any(points[:, None, :] > points[None, :, :], axis=2)
    return np.any(geq & gt, axis=0)


def _supported_2d(points: np.ndarray, pareto: np.ndarray, tol: float) -> np.ndarray:
    """Pareto arms on the upper-right hull chain: sorted by x ascending (so y descending), an arm is dropped when
    it lies strictly (beyond ``tol``) below the segment of its neighbours on the chain."""
    index = np.flatnonzero(pareto)
    order = index[np.lexsort((-points[index, 1], points[index, 0]))]
    chain: list[int] = []
    for a in order:
        while len(chain) >= 2:
            o, m = points[chain[-2]], points[chain[-1]]
            # m is below segment o -> a (not on the upper hull) when the turn o -> m -> a is counter-clockwise
            cross = (m[0] - o[0]) * (points[a][1] - o[1]) - (m[1] - o[1]) * (points[a][0] - o[0])
            if cross > tol:
                chain.pop()
            else:
                break
        chain.append(int(a))
    supported = np.zeros(points.shape[0], dtype=bool)
    supported[chain] = True
    return supported


def _supported_lp(points: np.ndarray, pareto: np.ndarray, tol: float) -> np.ndarray:
    """Per Pareto arm a: ``max t`` s.t. ``w . (x_a - x_b) >= t`` for all b, ``sum w = 1``, ``w >= 0``."""
    from scipy.optimize import linprog

    n_arms, n_objectives = points.shape
    supported = np.zeros(n_arms, dtype=bool)
    cost = np.zeros(n_objectives + 1)
    cost[-1] = -1.0
    equality = np.ones((1, n_objectives + 1))
    equality[0, -1] = 0.0
    bounds = [(0.0, None)] * n_objectives + [(None, None)]
    for a in np.flatnonzero(pareto):
        # t - w . (x_a - x_b) <= 0
        upper = np.column_stack([-(points[a] - points), np.ones(n_arms)])
        result = linprog(cost, A_ub=upper, b_ub=np.zeros(n_arms), A_eq=equality, b_eq=[1.0], bounds=bounds,
                         method="highs")
        if result.status != 0:
            raise RuntimeError(f"the support LP of arm {a} did not solve: {result.message}")
        supported[a] = -result.fun >= -tol
    return supported


def arm_geometry(points, *, tol: float = 1e-9) -> ArmGeometry:
    """Classify arm points (n_arms, n_objectives), larger is better, into hull, off-hull and dominated arms.

    ``tol`` is relative to the largest coordinate magnitude (at least 1): a point within it of the hull counts as on
    the hull (a tie). See the module docstring for the definitions.

    >>> arm_geometry([[1, 0], [0.2, 0.2], [0, 1], [0.6, 0.6]]).hull.tolist()
    [True, False, True, True]
    """
    arr = _check_points(points)
    validation_tol = float(tol)
    if not (np.isfinite(validation_tol) and validation_tol >= 0):
        raise ValueError(f"tol must be a finite number >= 0; got {tol!r}.")
    scaled_tol = validation_tol * max(1.0, float(np.abs(arr).max()))
    dominated = _dominated(arr)
    pareto = ~dominated
    if arr.shape[1] == 1:
        supported = pareto.copy()  # the Pareto arms of one objective are its maxima: each is the optimum
    elif arr.shape[1] == 2:
        supported = _supported_2d(arr, pareto, scaled_tol)
    else:
        supported = _supported_lp(arr, pareto, scaled_tol)
    hull = pareto & supported
    return ArmGeometry(pareto=pareto, hull=hull, off_hull=pareto & ~supported, dominated=dominated)


def class_mass(probs, indicators) -> np.ndarray:
    """The policy mass on each arm class: ``probs`` (P, N) over prompts, ``indicators`` (P, N, C); returns (C,)
    averaged over prompts (the NumPy reference of the training loop's ``mass_*`` columns)."""
    probs = np.asarray(probs, dtype=np.float64)
    indicators = np.asarray(indicators, dtype=np.float64)
    return np.einsum("pa,pac->c", probs, indicators) / probs.shape[0]
