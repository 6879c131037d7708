"""Numba kernels of the schemes that draw random weights or drop rollouts: VPO, random-weight GRPO, rubric gates.

They follow the conventions of :mod:`mowsim.schemes.reference` by reducing each scheme to a scalar per rollout (or
a masked reward array) and handing it to the RC / stateless kernels of :mod:`mowsim.schemes._kernels`, so NaN
exclusion, the >= 2-scorable-rollouts rule, ``ddof``, ``eps`` and the zero-spread rule are literally the same code.

Randomness. Dirichlet weights are drawn by :func:`dirichlet_fill` from an explicit xoshiro256** state
(:mod:`mowsim._rng`), *draw-major*: for every draw index ``d``, then every group ``b``. So the first ``B`` draws of a
stream are draw 0 of every group whatever the number of draws ``M``: ``random-weight`` (one draw per group) sees
exactly VPO's first weight vector of each group, and VPO with ``M = 10`` sees the first 10 of ``M = 100``'s
(common random numbers across schemes and settings). The wrappers (:mod:`mowsim.schemes.vpo`) and the compiled
training loops (:func:`loop_advantages`) both draw through it; the kernels proper take the draws as an array.

Scheme ids continue after the stateful ones (:mod:`mowsim.schemes._stateful`); :func:`is_set_scheme` tells the
loops which dispatcher to call.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from mowsim import _rng
from mowsim.schemes import _kernels

VPO = 20
RANDOM_WEIGHT = 21
GATED = 22

# Parameter vectors the training loops pass (zero-padded):
#   VPO:           (samples, alpha)
#   RANDOM_WEIGHT: (alpha,)
#   GATED:         (inner_id, min_spread, n_gates, gate_0, ..., gate_{n-1}, threshold_0, ..., threshold_{n-1})
VPO_SAMPLES, VPO_ALPHA = 0, 1
RW_ALPHA = 0
GATED_INNER, GATED_MIN_SPREAD, GATED_COUNT, GATED_FIRST = 0, 1, 2, 3


@njit(cache=True)
def is_set_scheme(scheme_id):
    return scheme_id >= VPO


@njit(cache=True)
def dirichlet_fill(state, alpha, draws):
    """Fill ``draws`` (B, M, K) with independent ``Dirichlet(alpha * 1_K)`` vectors, draw-major (see the module).

    Each vector is K independent ``Gamma(alpha, 1)`` values over their sum; ``alpha == 1`` uses ``-log(1 - u)``
    (``Gamma(1, 1)`` is the unit exponential), one uniform per entry. A sum that underflows to 0 (only possible for
    tiny ``alpha``) gives the uniform vector ``1/K``.
    """
    n_groups, n_draws, n_objectives = draws.shape
    for d in range(n_draws):
        for b in range(n_groups):
            total = 0.0
            for k in range(n_objectives):
                if alpha == 1.0:
                    g = -np.log(1.0 - _rng.uniform(state))
                else:
                    g = _rng.gamma(state, alpha)
                draws[b, d, k] = g
                total += g
            if total > 0.0:
                for k in range(n_objectives):
                    draws[b, d, k] /= total
            else:
                for k in range(n_objectives):
                    draws[b, d, k] = 1.0 / n_objectives


@njit(cache=True, error_model="numpy")
def vpo_raw(set_rewards, draws, scale, raw, effective):
    """VPO's set score per rollout, ``raw[b, j] = (1/M) sum_d max_{s scorable} sum_k draws[b, d, k] scale[k] r[b, j, s, k]``.

    ``set_rewards`` is (B, G, m, K); NaN entries count 0 in the weighted sum; an answer whose every objective is NaN
    is left out of the max, and a rollout with no scorable answer gets ``raw = NaN`` (unscorable). ``effective``
    (B, K) gets each group's mean scalarization ``sum_d draws[b, d, k] scale[k]``, normalized to sum 1.
    """
    n_groups, n_rollouts, n_answers, n_objectives = set_rewards.shape
    n_draws = draws.shape[1]
    combined = np.empty((n_draws, n_objectives))
    for b in range(n_groups):
        grand = 0.0
        for k in range(n_objectives):
            effective[b, k] = 0.0
        for d in range(n_draws):
            for k in range(n_objectives):
                c = draws[b, d, k] * scale[k]
                combined[d, k] = c
                effective[b, k] += c
        for k in range(n_objectives):
            grand += effective[b, k]
        for k in range(n_objectives):
            effective[b, k] = effective[b, k] / grand if grand > 0.0 else 1.0 / n_objectives
        # A group whose largest |r| is outside the kernels' safe window is scored in units of 2**shift (exact), so
        # the sum over the M draws cannot overflow; its scores are scaled back, and they equal the unscaled ones.
        largest = 0.0
        for j in range(n_rollouts):
            for s in range(n_answers):
                for k in range(n_objectives):
                    x = abs(set_rewards[b, j, s, k])
                    if x > largest:
                        largest = x
        shift = 0 if _kernels._in_window(largest) or not np.isfinite(largest) else math.frexp(largest)[1]
        for j in range(n_rollouts):
            any_scorable = False
            for s in range(n_answers):
                for k in range(n_objectives):
                    if not np.isnan(set_rewards[b, j, s, k]):
                        any_scorable = True
            if not any_scorable:
                raw[b, j] = np.nan
                continue
            total = 0.0
            for d in range(n_draws):
                best = -np.inf
                for s in range(n_answers):
                    value = 0.0
                    scored = False
                    for k in range(n_objectives):
                        x = set_rewards[b, j, s, k]
                        if not np.isnan(x):
                            value += combined[d, k] * (x if shift == 0 else math.ldexp(x, -shift))
                            scored = True
                    if scored and value > best:
                        best = value
                total += best
            raw[b, j] = total / n_draws if shift == 0 else math.ldexp(total / n_draws, shift)


@njit(cache=True, error_model="numpy")
def random_weight_scalar(rewards, draws, weights, scalar, effective):
    """Random-weight GRPO's scalar reward ``s[b, j] = sum_k draws[b, 0, k] w_k r[b, j, k]`` (NaN counts 0; an
    all-NaN rollout gives NaN) and each group's effective weights ``draws[b, 0] * w`` normalized."""
    n_groups, n_rollouts, n_objectives = rewards.shape
    for b in range(n_groups):
        total = 0.0
        for k in range(n_objectives):
            effective[b, k] = draws[b, 0, k] * weights[k]
            total += effective[b, k]
        for k in range(n_objectives):
            effective[b, k] = effective[b, k] / total if total > 0.0 else weights[k] / _kernels._weight_total(weights)
        for j in range(n_rollouts):
            value = 0.0
            scored = False
            for k in range(n_objectives):
                x = rewards[b, j, k]
                if not np.isnan(x):
                    value += draws[b, 0, k] * weights[k] * x
                    scored = True
            scalar[b, j] = value if scored else np.nan


@njit(cache=True)
def _scalar_zscore(scalar, ddof, eps, out):
    """The GRPO z-score of one value per rollout (B, G), NaN = unscorable: RC with K = 1, weight 1."""
    n_groups, n_rollouts = scalar.shape
    ones = np.ones(1)
    no_min = np.zeros(1)
    saw = np.zeros(_kernels.N_SAW_PARAMS)
    scratch = np.empty((n_groups, 1))
    return _kernels.compute_serial(_kernels.RC, scalar.reshape(n_groups, n_rollouts, 1), ones, ddof, eps, no_min,
                                   False, saw, out, scratch)


@njit(cache=True)
def vpo_advantages(set_rewards, draws, scale, ddof, eps, out, effective):
    """VPO's advantages (B, G): the z-score of :func:`vpo_raw`'s set scores."""
    raw = np.empty(out.shape)
    vpo_raw(set_rewards, draws, scale, raw, effective)
    _scalar_zscore(raw, ddof, eps, out)


@njit(cache=True)
def random_weight_advantages(rewards, draws, weights, ddof, eps, out, effective):
    """Random-weight GRPO's advantages (B, G): the z-score of :func:`random_weight_scalar`."""
    scalar = np.empty(out.shape)
    random_weight_scalar(rewards, draws, weights, scalar, effective)
    _scalar_zscore(scalar, ddof, eps, out)


@njit(cache=True, error_model="numpy")
def gate_mask(rewards, gates, thresholds, inner_columns, inner_weights, min_spread, ddof, masked, passed):
    """DRO's rubric gate: copy the non-gate objectives into ``masked`` (B, G, K_inner), NaN for dropped rollouts.

    A rollout passes when every gate objective ``gates[i]`` is ``>= thresholds[i]`` (NaN fails). With
    ``min_spread > 0`` a group whose passing rollouts' weighted inner reward ``sum_k w_k r_k`` has a std below
    ``min_spread`` is dropped whole (DRO's variance filter). ``passed`` (B, G) gets 1 for a kept rollout, else 0.
    """
    n_groups, n_rollouts, _ = rewards.shape
    n_inner = inner_columns.shape[0]
    for b in range(n_groups):
        count = 0
        total = 0.0
        for j in range(n_rollouts):
            ok = True
            for i in range(gates.shape[0]):
                if not rewards[b, j, gates[i]] >= thresholds[i]:
                    ok = False
            passed[b, j] = 1 if ok else 0
            for c in range(n_inner):
                masked[b, j, c] = rewards[b, j, inner_columns[c]] if ok else np.nan
        if min_spread > 0.0:
            values = np.empty(n_rollouts)
            for j in range(n_rollouts):
                if passed[b, j]:
                    value = 0.0
                    for c in range(n_inner):
                        x = masked[b, j, c]
                        if not np.isnan(x):
                            value += inner_weights[c] * x
                    values[count] = value
                    total += value
                    count += 1
            spread = 0.0
            if count - ddof > 0 and count > 0:
                mean = total / count
                sum_sq = 0.0
                for i in range(count):
                    sum_sq += (values[i] - mean) ** 2
                spread = np.sqrt(sum_sq / (count - ddof))
            if spread < min_spread:
                for j in range(n_rollouts):
                    passed[b, j] = 0
                    for c in range(n_inner):
                        masked[b, j, c] = np.nan


@njit(cache=True)
def gated_advantages(rewards, gates, thresholds, inner_id, min_spread, weights, ddof, eps, saw, out, effective):
    """Rubric-gated advantages (B, G): the inner stateless scheme ``inner_id`` on the passing rollouts' non-gate
    objectives, 0 for every dropped rollout. ``effective`` (B, K) is the inner scheme's weights on the non-gate
    objectives and 0 on the gates."""
    n_groups, n_rollouts, n_objectives = rewards.shape
    n_inner = n_objectives - gates.shape[0]
    inner_columns = np.empty(n_inner, dtype=np.int64)
    inner_weights = np.empty(n_inner)
    c = 0
    for k in range(n_objectives):
        is_gate = False
        for i in range(gates.shape[0]):
            if gates[i] == k:
                is_gate = True
        if not is_gate:
            inner_columns[c] = k
            inner_weights[c] = weights[k]
            c += 1
    masked = np.empty((n_groups, n_rollouts, n_inner))
    passed = np.empty((n_groups, n_rollouts), dtype=np.uint8)
    gate_mask(rewards, gates, thresholds, inner_columns, inner_weights, min_spread, ddof, masked, passed)
    inner_effective = np.empty((n_groups, n_inner))
    no_min = np.zeros(n_inner)
    checks = _kernels.compute_serial(inner_id, masked, inner_weights, ddof, eps, no_min, False, saw, out,
                                     inner_effective)
    for b in range(n_groups):
        for k in range(n_objectives):
            effective[b, k] = 0.0
        for i in range(n_inner):
            effective[b, inner_columns[i]] = inner_effective[b, i]
    return checks


@njit(cache=True)
def loop_advantages(scheme_id, rng, params, set_rewards, rewards, weights, ddof, eps, saw, out, effective):
    """Advantages of a set scheme inside the compiled training loops; draws come from ``rng`` (the run's scheme
    stream). ``set_rewards`` is (B, G, m, K) and ``rewards`` the per-rollout (B, G, K) (the answers' mean)."""
    n_groups, _, _, n_objectives = set_rewards.shape
    if scheme_id == VPO:
        draws = np.empty((n_groups, int(params[VPO_SAMPLES]), n_objectives))
        dirichlet_fill(rng, params[VPO_ALPHA], draws)
        scale = np.empty(n_objectives)
        for k in range(n_objectives):
            scale[k] = n_objectives * weights[k]
        vpo_advantages(set_rewards, draws, scale, ddof, eps, out, effective)
    elif scheme_id == RANDOM_WEIGHT:
        draws = np.empty((n_groups, 1, n_objectives))
        dirichlet_fill(rng, params[RW_ALPHA], draws)
        random_weight_advantages(rewards, draws, weights, ddof, eps, out, effective)
    else:
        n_gates = int(params[GATED_COUNT])
        gates = np.empty(n_gates, dtype=np.int64)
        thresholds = np.empty(n_gates)
        for i in range(n_gates):
            gates[i] = int(params[GATED_FIRST + i])
            thresholds[i] = params[GATED_FIRST + n_gates + i]
        gated_advantages(rewards, gates, thresholds, int(params[GATED_INNER]), params[GATED_MIN_SPREAD], weights,
                         ddof, eps, saw, out, effective)
