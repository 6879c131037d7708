"""Exact set metrics of a bandit policy: best@k, reward-space diversity, the expected hypervolume of k answers.

An *answer* is one arm drawn from the policy ``pi_p`` of a prompt; its expected reward vector is the arm's clean
mean ``mu[p, a]`` (K_true objectives). Every metric is an expectation over k independent answers, computed exactly
from ``pi`` (as ``expected_reward`` is), then averaged over prompts:

* ``best@k`` under a weighting ``w``: ``E[max_{i <= k} w . mu_{a_i}]``. With the arms sorted by ``u = w . mu`` and
  ``F`` the policy's CDF in that order, ``E[max] = sum_i u_(i) (F_i^k - F_{i-1}^k)``. Reported under the user
  weights (normalized over the true objectives) and averaged over a fixed set of Dirichlet(1) downstream weightings
  (the same for every run: a downstream user's unknown trade-off). VPO's metric (Bahlous-Boldi et al., arXiv
  2605.22817) takes the max over k sampled answers the same way.
* ``diversity``: the mean pairwise L1 distance between two answers' expected reward vectors,
  ``sum_{a, a'} pi_a pi_a' ||mu_a - mu_a'||_1`` (VPO's reward-space diversity, in expectation).
* ``expected_hv_k`` (K_true = 2 only, NaN otherwise): ``E[HV({mu_{a_1}, ..., mu_{a_k}})]`` against the reference
  point 0 (rewards are in [0, 1]): ``HV = integral of 1[some answer dominates x] dx``, so
  ``E[HV] = integral of 1 - (1 - q(x))^k dx`` with ``q(x) = P(mu_a >= x)``, which is constant on the cells of the
  grid of the arms' coordinates: O(N^2) per prompt by a 2-D suffix sum.
* ``hidden_reward``: ``sum_a pi_a h[p, a]``, the world's hidden true reward (see :mod:`mowsim.envs.bandit`).
* ``mass_hull``, ``mass_off_hull``, ``mass_dominated``: ``sum_a pi_a 1[a in class]`` for the arm classes of
  :mod:`mowsim.envs.geometry` (a ``front`` world only; NaN elsewhere, at no cost). Recorded whether or not
  ``track_sets`` is on, as the hidden reward is.
"""

from __future__ import annotations

import numpy as np
from numba import njit

BEST_K = (1, 4, 16)
SET_COLUMNS = (
    ("hidden_reward",)
    + tuple(f"best_at_{k}" for k in BEST_K)
    + tuple(f"best_at_{k}_dirichlet" for k in BEST_K)
    + ("diversity",)
    + tuple(f"expected_hv_{k}" for k in BEST_K)
    + ("mass_hull", "mass_off_hull", "mass_dominated")
)
HIDDEN = 0
BEST_USER = 1
BEST_DIRICHLET = 1 + len(BEST_K)
DIVERSITY = 1 + 2 * len(BEST_K)
HV = DIVERSITY + 1
MASS = HV + len(BEST_K)
N_CLASSES = 3


@njit(cache=True)
def expected_best(probs_row, utility, k):
    """``E[max of k iid draws of utility[a], a ~ probs_row]``, exactly."""
    order = np.argsort(utility)
    total = 0.0
    cdf_prev = 0.0
    cdf = 0.0
    for i in range(order.shape[0]):
        a = order[i]
        cdf += probs_row[a]
        if cdf > 1.0:
            cdf = 1.0
        total += utility[a] * (cdf**k - cdf_prev**k)
        cdf_prev = cdf
    return total


@njit(cache=True)
def expected_diversity(probs_row, means_p):
    """``sum_{a, a'} pi_a pi_a' ||mu_a - mu_a'||_1`` for one prompt's arms (means_p: (N, K))."""
    n_arms, n_objectives = means_p.shape
    total = 0.0
    for a in range(n_arms):
        if probs_row[a] == 0.0:
            continue
        for b in range(a + 1, n_arms):
            distance = 0.0
            for k in range(n_objectives):
                distance += abs(means_p[a, k] - means_p[b, k])
            total += 2.0 * probs_row[a] * probs_row[b] * distance
    return total


@njit(cache=True)
def expected_hypervolume_2d(probs_row, means_p, ks, out):
    """``out[i] = E[HV of ks[i] iid answers]`` for two objectives, reference point (0, 0)."""
    n_arms = means_p.shape[0]
    order_x = np.argsort(means_p[:, 0])
    order_y = np.argsort(means_p[:, 1])
    rank_x = np.empty(n_arms, dtype=np.int64)
    rank_y = np.empty(n_arms, dtype=np.int64)
    for i in range(n_arms):
        rank_x[order_x[i]] = i
        rank_y[order_y[i]] = i
    mass = np.zeros((n_arms + 1, n_arms + 1))
    for a in range(n_arms):
        mass[rank_x[a], rank_y[a]] += probs_row[a]
    # suffix sums: mass[i, j] <- P(rank_x >= i and rank_y >= j)
    for i in range(n_arms - 1, -1, -1):
        for j in range(n_arms - 1, -1, -1):
            mass[i, j] += mass[i + 1, j] + mass[i, j + 1] - mass[i + 1, j + 1]
    for c in range(ks.shape[0]):
        out[c] = 0.0
    lower_x = 0.0
    for i in range(n_arms):
        upper_x = max(means_p[order_x[i], 0], 0.0)
        width = upper_x - lower_x
        if width > 0.0:
            lower_y = 0.0
            for j in range(n_arms):
                upper_y = max(means_p[order_y[j], 1], 0.0)
                height = upper_y - lower_y
                if height > 0.0:
                    q = min(max(mass[i, j], 0.0), 1.0)
                    for c in range(ks.shape[0]):
                        out[c] += width * height * (1.0 - (1.0 - q) ** ks[c])
                    lower_y = upper_y
            lower_x = upper_x


@njit(cache=True)
def policy_set_metrics(probs, means, hidden, metric_weights, track_sets, row):
    """Fill ``row`` (len(SET_COLUMNS)) for the policy ``probs`` (P, N) over arm means (P, N, K_true).

    ``hidden`` (P, N, 1 + C): column 0 the hidden true reward, columns 1..C (C = 0 or :data:`N_CLASSES`) the arm
    classes' indicators; ``metric_weights`` (1 + D, K_true): row 0 the user weights, rows 1..D the downstream
    weightings. Without ``track_sets`` only the hidden reward and the class masses are computed (the rest is NaN).
    """
    n_prompts, n_arms, n_true = means.shape
    n_columns = hidden.shape[2]
    for c in range(n_columns):
        total = 0.0
        for p in range(n_prompts):
            for a in range(n_arms):
                total += probs[p, a] * hidden[p, a, c]
        row[HIDDEN if c == 0 else MASS + c - 1] = total / n_prompts
    for c in range(n_columns - 1, N_CLASSES):
        row[MASS + c] = np.nan
    if not track_sets:
        for c in range(1, MASS):
            row[c] = np.nan
        return
    n_k = len(BEST_K)
    ks = np.empty(n_k, dtype=np.int64)
    for i in range(n_k):
        ks[i] = BEST_K[i]
    for c in range(1, MASS):
        row[c] = 0.0
    n_weightings = metric_weights.shape[0]
    utility = np.empty(n_arms)
    hv = np.empty(n_k)
    for p in range(n_prompts):
        for w in range(n_weightings):
            for a in range(n_arms):
                total = 0.0
                for k in range(n_true):
                    total += metric_weights[w, k] * means[p, a, k]
                utility[a] = total
            for i in range(n_k):
                value = expected_best(probs[p], utility, ks[i])
                if w == 0:
                    row[BEST_USER + i] += value / n_prompts
                else:
                    row[BEST_DIRICHLET + i] += value / (n_prompts * (n_weightings - 1))
        row[DIVERSITY] += expected_diversity(probs[p], means[p]) / n_prompts
        if n_true == 2:
            expected_hypervolume_2d(probs[p], means[p], ks, hv)
            for i in range(n_k):
                row[HV + i] += hv[i] / n_prompts
    if n_weightings == 1:
        for i in range(n_k):
            row[BEST_DIRICHLET + i] = np.nan
    if n_true != 2:
        for i in range(n_k):
            row[HV + i] = np.nan
