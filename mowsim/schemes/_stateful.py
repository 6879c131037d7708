"""Numba kernels of the stateful schemes: one state array per run, updated from feedback the host provides.

A stateful scheme's whole memory is a float64 vector ``state`` (layout per scheme below) plus a parameter vector
``params``. Three entry points, each dispatching on the scheme id, are shared by the Python scheme objects
(:mod:`mowsim.schemes.dynamic`, used by the TRL/verl hosts) and the compiled training loops:

* :func:`pre_update` before the advantages, with this batch's feedback: the K x K Gram matrix of the per-objective
  policy gradients (gradient, MGDA, PCGrad), the batch rewards (DVAO-EMA), or a second scoring of the same
  rollouts (DVAO-reliable);
* :func:`advantages` with the current state;
* :func:`post_update` after the policy update, with the new policy's held-out performance (hypervolume-guided).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from mowsim.schemes import _kernels

HV_GUIDED = 6
GRADIENT = 7
MGDA = 8
PCGRAD = 9
DVAO_EMA = 10
DVAO_RELIABLE = 11

# Fixed slots in front of every state vector, used for the history columns.
R_PARETO = 0  # hv-guided's meta-reward (1.0 for the others)
DELTA_HV = 1  # hv-guided's last clipped hypervolume gain (NaN for the others)
STEP = 2  # number of pre_update calls so far
HEADER = 3
HV_CAPACITY = 64  # Pareto-buffer rows kept by the compiled hv-guided path


def state_size(scheme_id: int, n_objectives: int) -> int:
    """Length of the state vector of ``scheme_id`` for K objectives."""
    if scheme_id == HV_GUIDED:
        # header, buffer count, reference point (K), buffer (capacity x K)
        return HEADER + 1 + n_objectives + HV_CAPACITY * n_objectives
    # header, then K weights, coefficients or estimates (NaN: no estimate yet)
    return HEADER + n_objectives


@njit(cache=True)
def init_state(scheme_id, weights, state):
    """Fresh state: r_pareto 1, no HV gain yet, weights = the user's (normalized), estimates unset (NaN)."""
    n_objectives = weights.shape[0]
    state[:] = 0.0
    state[R_PARETO] = 1.0
    state[DELTA_HV] = np.nan
    total = weights.sum()
    if scheme_id == GRADIENT:
        for k in range(n_objectives):
            state[HEADER + k] = np.log(weights[k] / total) if weights[k] > 0 else -np.inf
    elif scheme_id == MGDA or scheme_id == PCGRAD:
        for k in range(n_objectives):
            state[HEADER + k] = weights[k] / total
    elif scheme_id == DVAO_EMA or scheme_id == DVAO_RELIABLE:
        # per objective, so an objective first seen constant (no variance to pool) starts its EMA when it varies
        for k in range(n_objectives):
            state[HEADER + k] = np.nan


# ----------------------------------------------------------------------------------------------------------------
# hypervolume (maximization) for up to 3 objectives; tested against moocore


@njit(cache=True)
def _hv2d(xs, ys, n):
    """Area dominated by n points (maximization) above the origin; xs, ys already shifted by the reference."""
    order = np.argsort(-xs[:n])
    area = 0.0
    best_y = 0.0
    for i in range(n):
        idx = order[i]
        best_y = max(best_y, ys[idx])
        next_x = xs[order[i + 1]] if i + 1 < n else 0.0
        area += (xs[idx] - next_x) * best_y
    return area


@njit(cache=True)
def hypervolume(points, n_points, reference):
    """Hypervolume (maximization) of ``points[:n_points]`` (n, d) above ``reference`` (d,), for d <= 3.

    Points that do not strictly dominate the reference in every objective add nothing. Beume et al.'s slicing
    for d = 3 (O(n^2 log n)), a sweep for d = 2, the maximum for d = 1.
    """
    d = reference.shape[0]
    shifted = np.empty((n_points, d))
    n = 0
    for i in range(n_points):
        ok = True
        for k in range(d):
            value = points[i, k] - reference[k]
            if not value > 0.0:
                ok = False
            shifted[n, k] = value
        if ok:
            n += 1
    if n == 0:
        return 0.0
    if d == 1:
        return shifted[:n, 0].max()
    if d == 2:
        return _hv2d(shifted[:n, 0].copy(), shifted[:n, 1].copy(), n)
    order = np.argsort(-shifted[:n, 2])
    xs = np.empty(n)
    ys = np.empty(n)
    volume = 0.0
    for i in range(n):
        idx = order[i]
        xs[i] = shifted[idx, 0]
        ys[i] = shifted[idx, 1]
        next_z = shifted[order[i + 1], 2] if i + 1 < n else 0.0
        height = shifted[idx, 2] - next_z
        if height > 0.0:
            volume += height * _hv2d(xs, ys, i + 1)
    return volume


@njit(cache=True)
def _dominates(a, b):
    """a weakly dominates b under maximization (a >= b everywhere)."""
    for k in range(a.shape[0]):
        if a[k] < b[k]:
            return False
    return True


@njit(cache=True)
def _hv_buffer(state, n_objectives):
    """Views of the reference point (d,) and the Pareto buffer (HV_CAPACITY, d) inside an hv-guided state."""
    ref = state[HEADER + 1:HEADER + 1 + n_objectives]
    start = HEADER + 1 + n_objectives
    buffer = state[start:start + HV_CAPACITY * n_objectives].reshape((HV_CAPACITY, n_objectives))
    return ref, buffer


@njit(cache=True)
def hv_start(state, performance, n_objectives):
    """On the first observation (empty buffer) make ``performance`` the buffer and the reference point; return
    whether it was the first. r_pareto stays 1 and dHV NaN until there is a gain to measure."""
    if state[HEADER] != 0.0:
        return False
    ref, buffer = _hv_buffer(state, n_objectives)
    ref[:] = performance
    buffer[0, :] = performance
    state[HEADER] = 1.0
    state[STEP] += 1.0
    return True


@njit(cache=True)
def hv_record(state, performance, n_objectives, gain_scale, gain):
    """Record a hypervolume gain: ``dHV = max(gain, 0)``, ``r_pareto = 0.5 + 1.5 tanh(gain_scale * dHV)``, and when
    dHV > 0 ``performance`` joins the buffer and evicts the points it dominates.

    A ``performance`` weakly dominated by a buffer point has gain exactly 0 (the two hypervolumes then differ only by
    rounding, which must not let a dominated point into the buffer). Returns False when ``performance`` should join
    but the buffer already holds ``HV_CAPACITY`` mutually non-dominated points; the caller then keeps the best
    ``HV_CAPACITY`` of the buffer and ``performance`` with :func:`hv_replace`.
    """
    _, buffer = _hv_buffer(state, n_objectives)
    count = int(state[HEADER])
    gain = max(gain, 0.0)
    for i in range(count):
        if _dominates(buffer[i], performance):
            gain = 0.0
    state[DELTA_HV] = gain
    state[R_PARETO] = 0.5 + 1.5 * np.tanh(gain_scale * gain)
    state[STEP] += 1.0
    if not gain > 0.0:
        return True
    kept = 0
    for i in range(count):
        if not _dominates(performance, buffer[i]):
            buffer[kept] = buffer[i]
            kept += 1
    state[HEADER] = kept
    if kept == HV_CAPACITY:
        return False
    buffer[kept] = performance
    state[HEADER] = kept + 1
    return True


@njit(cache=True)
def hv_replace(state, performance, n_objectives, drop):
    """Full buffer: ``drop`` indexes the least hypervolume contributor among the buffer's rows and ``performance``
    (index ``HV_CAPACITY``); SMS-EMOA's archive rule. Its contribution is at most p's gain, so the buffer's
    hypervolume never decreases."""
    if drop < HV_CAPACITY:
        _, buffer = _hv_buffer(state, n_objectives)
        buffer[drop] = performance


@njit(cache=True)
def _least_contributor(points, ref):
    """Row of ``points`` (n, d) whose removal loses the least hypervolume above ``ref``."""
    count = points.shape[0]
    total = hypervolume(points, count, ref)
    others = np.empty((count - 1, points.shape[1]))
    best = 0
    best_loss = np.inf
    for i in range(count):
        m = 0
        for r in range(count):
            if r != i:
                others[m] = points[r]
                m += 1
        loss = total - hypervolume(others, count - 1, ref)
        if loss < best_loss:
            best_loss = loss
            best = i
    return best


@njit(cache=True)
def hv_observe(state, performance, n_objectives, gain_scale):
    """Lu et al.'s meta-reward update from the new policy's performance (maximized objectives, d <= 3).

    The first call sets the buffer and the reference point to ``performance`` (:func:`hv_start`); later calls
    measure ``HV(buffer + {p}) - HV(buffer)`` with the Numba :func:`hypervolume` and pass it to :func:`hv_record`.
    """
    if hv_start(state, performance, n_objectives):
        return
    ref, buffer = _hv_buffer(state, n_objectives)
    count = int(state[HEADER])
    candidates = np.empty((count + 1, n_objectives))
    candidates[:count] = buffer[:count]
    candidates[count] = performance
    gain = hypervolume(candidates, count + 1, ref) - hypervolume(buffer, count, ref)
    if not hv_record(state, performance, n_objectives, gain_scale, gain):
        hv_replace(state, performance, n_objectives, _least_contributor(candidates, ref))


# ----------------------------------------------------------------------------------------------------------------
# gradient-level combinations from the Gram matrix of per-objective gradients


@njit(cache=True)
def _solve_small(matrix, rhs, out):
    """Solve ``matrix @ out = rhs`` (a small square system) by Gaussian elimination with partial pivoting.

    Returns False, leaving ``out`` unspecified, when a pivot vanishes relative to the matrix's largest entry.
    """
    n = rhs.shape[0]
    a = matrix.copy()
    b = rhs.copy()
    largest = 0.0
    for r in range(n):
        for c in range(n):
            largest = max(largest, abs(a[r, c]))
    for c in range(n):
        pivot = c
        for r in range(c + 1, n):
            if abs(a[r, c]) > abs(a[pivot, c]):
                pivot = r
        if not abs(a[pivot, c]) > 1e-14 * largest:
            return False
        if pivot != c:
            for m in range(n):
                a[c, m], a[pivot, m] = a[pivot, m], a[c, m]
            b[c], b[pivot] = b[pivot], b[c]
        for r in range(c + 1, n):
            factor = a[r, c] / a[c, c]
            if factor != 0.0:
                for m in range(c, n):
                    a[r, m] -= factor * a[c, m]
                b[r] -= factor * b[c]
    for r in range(n - 1, -1, -1):
        total = b[r]
        for m in range(r + 1, n):
            total -= a[r, m] * out[m]
        out[r] = total / a[r, r]
    return True


@njit(cache=True)
def min_norm_weights(gram, alpha):
    """MGDA's min-norm point of the convex hull of the gradients, from their Gram matrix.

    Solves ``min_{alpha in simplex} alpha^T Gram alpha`` (Désidéri, 2012; Sener & Koltun, 2018) with Wolfe's
    (1976) min-norm-point algorithm, which needs only inner products: a corral ``S`` of vertices holds the current
    point ``x = sum_{k in S} alpha_k g_k``; the vertex ``j`` minimizing ``<x, g_j>`` enters while
    ``<x, g_j> < |x|^2``, and each minor cycle moves toward the affine min-norm point of ``S`` (a bordered linear
    solve), dropping the vertices whose weight reaches 0. It stops at the optimality condition
    ``<x, g_k> >= |x|^2`` for every k, exact up to rounding, in finitely many steps. First-order methods
    (Frank-Wolfe, Sener & Koltun's Alg. 2; projected gradient) converge slowly when the gradient norms differ by
    orders of magnitude. ``alpha`` holds the result; all-zero gradients give ``1/K`` each.
    """
    n = gram.shape[0]
    for k in range(n):
        alpha[k] = 1.0 / n
    top = 0.0
    for k in range(n):
        top = max(top, gram[k, k])
    if not top > 0.0:
        return
    scaled = gram / top  # alpha is scale-invariant; unit diagonal scale keeps the tolerances absolute
    weight = np.zeros(n)
    members = np.empty(n, dtype=np.int64)
    start = 0
    for k in range(1, n):
        if scaled[k, k] < scaled[start, start]:
            start = k
    weight[start] = 1.0
    members[0] = start
    size = 1
    inner = np.empty(n)
    bordered = np.empty((n + 1, n + 1))
    rhs = np.empty(n + 1)
    affine = np.empty(n + 1)
    for _ in range(20 * n + 20):
        for k in range(n):
            total = 0.0
            for m in range(size):
                total += scaled[k, members[m]] * weight[members[m]]
            inner[k] = total
        norm_sq = 0.0
        for m in range(size):
            norm_sq += weight[members[m]] * inner[members[m]]
        entering = 0
        for k in range(1, n):
            if inner[k] < inner[entering]:
                entering = k
        if inner[entering] >= norm_sq - 1e-15:
            break
        already = False
        for m in range(size):
            if members[m] == entering:
                already = True
        if already:  # rounding: the affine minimum of S was not reached exactly; nothing left to gain
            break
        members[size] = entering
        size += 1
        singular = False
        for _minor in range(n + 1):
            for r in range(size):
                for c in range(size):
                    bordered[r, c] = scaled[members[r], members[c]]
                bordered[r, size] = 1.0
                bordered[size, r] = 1.0
                rhs[r] = 0.0
            bordered[size, size] = 0.0
            rhs[size] = 1.0
            if not _solve_small(bordered[:size + 1, :size + 1], rhs[:size + 1], affine[:size + 1]):
                singular = True  # affinely dependent corral (rounding): keep the current point
                break
            step = 1.0
            for m in range(size):
                if affine[m] <= 0.0:
                    current = weight[members[m]]
                    step = min(step, current / (current - affine[m]))
            kept = 0
            for m in range(size):
                k = members[m]
                value = weight[k] + step * (affine[m] - weight[k])
                if step == 1.0 or value > 1e-15:
                    weight[k] = max(value, 0.0)
                    members[kept] = k
                    kept += 1
                else:
                    weight[k] = 0.0
            size = kept
            if step == 1.0:
                break
        if singular:
            break
    total = 0.0
    for k in range(n):
        weight[k] = max(weight[k], 0.0)
        total += weight[k]
    for k in range(n):
        alpha[k] = weight[k] / total


@njit(cache=True)
def pcgrad_orders(step, orders):
    """The projection orders PCGrad uses at ``step``: row ``i`` of ``orders`` (K, K) is the permutation in which
    ``g_i`` meets the other gradients (Yu et al. shuffle once per ``g_i``).

    Fisher-Yates with a splitmix64 stream seeded by ``step``, so a step's orders are reproducible.
    """
    n = orders.shape[0]
    seed = np.uint64(step) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(0x632BE59BD9B4E019)
    for i in range(n):
        for m in range(n):
            orders[i, m] = m
        for m in range(n - 1, 0, -1):
            seed += np.uint64(0x9E3779B97F4A7C15)
            z = seed
            z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
            z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
            z = z ^ (z >> np.uint64(31))
            swap = int(z % np.uint64(m + 1))
            orders[i, m], orders[i, swap] = orders[i, swap], orders[i, m]


@njit(cache=True)
def pcgrad_weights(gram, step, beta):
    """PCGrad (Yu et al., 2020) as coefficients on the original gradients: ``sum_i g_i' = sum_k beta_k g_k``.

    Each ``g_i`` is projected onto the normal plane of every other ``g_j`` it conflicts with (negative dot
    product), in the order :func:`pcgrad_orders` draws for ``step``. Every projection adds a non-negative multiple
    of some ``g_j``, so all inner products follow from the Gram matrix and ``beta_k >= 1``.
    """
    n = gram.shape[0]
    for k in range(n):
        beta[k] = 0.0
    coef = np.empty(n)
    orders = np.empty((n, n), dtype=np.int64)
    pcgrad_orders(step, orders)
    for i in range(n):
        coef[:] = 0.0
        coef[i] = 1.0
        for position in range(n):
            j = orders[i, position]
            if j == i or gram[j, j] <= 0.0:
                continue
            dot = 0.0
            for m in range(n):
                dot += coef[m] * gram[m, j]
            if dot < 0.0:
                coef[j] -= dot / gram[j, j]
        for m in range(n):
            beta[m] += coef[m]


# ----------------------------------------------------------------------------------------------------------------
# the three entry points


@njit(cache=True)
def _group_variance_mean(rewards, ddof, out_var, out_count):
    """Mean over non-degenerate groups of each objective's within-group variance (for pooling)."""
    n_groups, _, n_objectives = rewards.shape
    mom = np.empty((_kernels.N_MOM, n_objectives))
    std = mom[_kernels.M_STD]
    mask = np.empty((n_groups, rewards.shape[1]), dtype=np.uint8)
    out_var[:] = 0.0
    out_count[:] = 0.0
    for b in range(n_groups):
        n_scorable, _ = _kernels._group_moments(rewards, b, ddof, mask, mom)
        if n_scorable == 0:
            continue
        for k in range(n_objectives):
            if std[k] > 0.0:
                out_var[k] += std[k] * std[k]
                out_count[k] += 1.0


@njit(cache=True)
def pre_update(scheme_id, state, params, weights, rewards, rescored, has_rescored, gram, lr, ddof):
    """Feed this batch's information to the scheme before its advantages are computed.

    params: GRADIENT (mu, clip_norm); HV_GUIDED (apply_to_reward,); DVAO_EMA (decay, shrinkage); DVAO_RELIABLE (decay, known noise variances (K,) with NaN
    meaning "estimate it"). ``gram`` (K, K) is the per-objective gradient Gram matrix; ``rescored`` a second,
    independent scoring of the same rollouts (shape of ``rewards``), used when ``has_rescored``.
    """
    n_objectives = weights.shape[0]
    state[STEP] += 1.0
    slots = state[HEADER:HEADER + n_objectives]
    if scheme_id == GRADIENT:
        mu = params[0]
        clip_norm = params[1]
        # Lu et al. clip each g_k to norm <= clip_norm before the Gram matrix: scale entry (k, m) by s_k s_m.
        clip = np.ones(n_objectives)
        for k in range(n_objectives):
            norm = np.sqrt(max(gram[k, k], 0.0))
            if clip_norm > 0.0 and norm > clip_norm:
                clip[k] = clip_norm / norm
        top = -np.inf
        for k in range(n_objectives):
            influence = 0.0
            for m in range(n_objectives):
                influence += gram[k, m] * clip[k] * clip[m]
            if slots[k] > -np.inf:
                slots[k] += lr * influence / mu
            top = max(top, slots[k])
        total = 0.0
        for k in range(n_objectives):
            total += np.exp(slots[k] - top)
        log_total = top + np.log(total)
        for k in range(n_objectives):
            slots[k] -= log_total
    elif scheme_id == MGDA:
        # over the weighted objectives only: a zero weight makes w_k g_k = 0, a trivial min-norm point
        active = np.empty(n_objectives, dtype=np.int64)
        n_active = 0
        for k in range(n_objectives):
            slots[k] = 0.0
            if weights[k] > 0.0:
                active[n_active] = k
                n_active += 1
        scaled = np.empty((n_active, n_active))
        for a in range(n_active):
            for b in range(n_active):
                k, m = active[a], active[b]
                scaled[a, b] = weights[k] * weights[m] * gram[k, m]
        alpha = np.empty(n_active)
        min_norm_weights(scaled, alpha)
        for a in range(n_active):
            slots[active[a]] = alpha[a] * weights[active[a]]
    elif scheme_id == PCGRAD:
        scaled = np.empty((n_objectives, n_objectives))
        for k in range(n_objectives):
            for m in range(n_objectives):
                scaled[k, m] = weights[k] * weights[m] * gram[k, m]
        beta = np.empty(n_objectives)
        pcgrad_weights(scaled, int(state[STEP]), beta)
        for k in range(n_objectives):
            slots[k] = beta[k] * weights[k]
    elif scheme_id == DVAO_EMA:
        decay = params[0]
        batch_var = np.empty(n_objectives)
        batch_count = np.empty(n_objectives)
        _group_variance_mean(rewards, ddof, batch_var, batch_count)
        for k in range(n_objectives):
            if batch_count[k] > 0.0:
                value = batch_var[k] / batch_count[k]
                slots[k] = value if np.isnan(slots[k]) else decay * slots[k] + (1.0 - decay) * value
    elif scheme_id == DVAO_RELIABLE:
        decay = params[0]
        if has_rescored:
            for k in range(n_objectives):
                total = 0.0
                count = 0.0
                for b in range(rewards.shape[0]):
                    for j in range(rewards.shape[1]):
                        d = rewards[b, j, k] - rescored[b, j, k]
                        if not np.isnan(d):
                            total += 0.5 * d * d
                            count += 1.0
                if count > 0.0:
                    value = total / count
                    slots[k] = value if np.isnan(slots[k]) else decay * slots[k] + (1.0 - decay) * value


@njit(cache=True)
def _noise_variance(state, params, k):
    known = params[1 + k]
    if not np.isnan(known):
        return known
    estimate = state[HEADER + k]
    return 0.0 if np.isnan(estimate) else estimate


@njit(cache=True)
def advantages(scheme_id, state, params, rewards, weights, ddof, eps, out, effective):
    """Advantages (B, G) and effective weights (B, K) of a stateful scheme with its current state."""
    n_groups, n_rollouts, n_objectives = rewards.shape
    slots = state[HEADER:HEADER + n_objectives]
    no_min = np.zeros(n_objectives)
    no_saw = np.zeros(_kernels.N_SAW_PARAMS)
    if scheme_id == HV_GUIDED:
        r_pareto = state[R_PARETO]
        if params[0] != 0.0:  # apply_to="reward", as in Lu et al.'s code: it cancels in the z-score up to eps
            scaled = weights * r_pareto
            _kernels.compute_serial(_kernels.RC, rewards, scaled, ddof, eps, no_min, False, no_saw, out, effective)
            return
        _kernels.compute_serial(_kernels.RC, rewards, weights, ddof, eps, no_min, False, no_saw, out, effective)
        for b in range(n_groups):
            for j in range(n_rollouts):
                out[b, j] *= r_pareto
        return
    if scheme_id == GRADIENT:
        current = np.empty(n_objectives)
        for k in range(n_objectives):
            current[k] = np.exp(slots[k])
        _kernels.compute_serial(_kernels.RC, rewards, current, ddof, eps, no_min, False, no_saw, out, effective)
        return
    if scheme_id == MGDA or scheme_id == PCGRAD:
        coefficients = slots.copy()
        _kernels.compute_serial(_kernels.AC, rewards, coefficients, ddof, eps, no_min, False, no_saw, out, effective)
        return
    # DVAO variants: A = sum_k wt_k A_k with wt_k = w_k s_k / sum_l w_l s_l, s_k a corrected spread.
    mask = np.empty((n_groups, n_rollouts), dtype=np.uint8)
    mom = np.empty((_kernels.N_MOM, n_objectives))
    mean = mom[_kernels.M_MEAN]
    correction = mom[_kernels.M_CORR]
    std = mom[_kernels.M_STD]
    spread = np.empty(n_objectives)
    for b in range(n_groups):
        n_scored, _ = _kernels._group_moments(rewards, b, ddof, mask, mom)
        total = 0.0
        for k in range(n_objectives):
            s = 0.0
            if std[k] > 0.0:
                if scheme_id == DVAO_EMA:
                    shrinkage = params[1]
                    pooled = std[k] * std[k] if np.isnan(slots[k]) else slots[k]
                    s = np.sqrt(shrinkage * pooled + (1.0 - shrinkage) * std[k] * std[k])
                else:
                    unbias = (n_scored - 1.0) / max(n_scored - ddof, 1.0)
                    s = np.sqrt(max(std[k] * std[k] - unbias * _noise_variance(state, params, k),
                                    0.0))
            spread[k] = s
            total += weights[k] * s
        for k in range(n_objectives):
            effective[b, k] = weights[k] * spread[k] / total if total > 0.0 else weights[k] / weights.sum()
        for j in range(n_rollouts):
            a = 0.0
            if mask[b, j] and total > 0.0:
                for k in range(n_objectives):
                    x = rewards[b, j, k]
                    if not np.isnan(x) and std[k] > 0.0:
                        if scheme_id == DVAO_EMA:
                            a += weights[k] * ((x - mean[k]) - correction[k]) / (total + eps)
                        else:
                            a += effective[b, k] * ((x - mean[k]) - correction[k]) / (std[k] + eps)
            out[b, j] = a


@njit(cache=True)
def post_update(scheme_id, state, params, performance):
    """Feed the updated policy's held-out performance (maximized objectives) to the scheme.

    params for HV_GUIDED: (apply_to_reward, gain_scale).
    """
    if scheme_id == HV_GUIDED:
        hv_observe(state, performance, performance.shape[0], params[1])


@njit(cache=True)
def current_weights(scheme_id, state, weights, out):
    """The scheme's current objective weights (sum 1) for the history; the fixed weights when stateless."""
    n_objectives = weights.shape[0]
    if scheme_id == GRADIENT:
        for k in range(n_objectives):
            out[k] = np.exp(state[HEADER + k])
    elif scheme_id == MGDA or scheme_id == PCGRAD:
        total = 0.0
        for k in range(n_objectives):
            total += state[HEADER + k]
        for k in range(n_objectives):
            out[k] = state[HEADER + k] / total if total > 0 else weights[k] / weights.sum()
    else:
        for k in range(n_objectives):
            out[k] = weights[k] / weights.sum()
