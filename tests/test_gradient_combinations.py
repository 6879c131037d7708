"""Gradient-level schemes: Lu et al.'s gradient-based weights, MGDA's min-norm point and PCGrad, each from the Gram
matrix of the per-objective gradients.

Each is checked against an independent computation on actual gradient vectors: the exponentiated-gradient step by
hand, a scipy QP (and the KKT conditions) for MGDA, an explicit projection loop for PCGrad. Then the advantages:
the policy gradient is linear in the advantages, so each scheme's update direction must be the advantage
combination it reports (RC with the current weights, or AC with the stored coefficients).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize

import mowsim
from mowsim.schemes import _stateful, get

CLOSE = {"rtol": 1e-12, "atol": 1e-12}


def gradients(rng, n_objectives, n_params=6, spread_decades=0.0):
    """Random per-objective gradients (K, P) whose norms span ``spread_decades`` orders of magnitude."""
    scales = 10.0 ** rng.uniform(-spread_decades / 2, spread_decades / 2, size=(n_objectives, 1))
    return rng.normal(size=(n_objectives, n_params)) * scales


# ----------------------------------------------------------------------------------------------------------------
# gradient-based weights (Lu et al., Sec. 3.2)


def eg_step(log_w, gram, lr, mu, clip_norm):
    """softmax(log w + lr I / mu) with I_k = <c_k g_k, sum_l c_l g_l>, c_k = min(1, clip_norm / |g_k|)."""
    norms = np.sqrt(np.diag(gram))
    clip = np.ones_like(norms) if clip_norm == 0 else np.minimum(1.0, clip_norm / np.where(norms > 0, norms, 1.0))
    influence = (clip[:, None] * gram * clip[None, :]).sum(axis=1)
    logits = log_w + lr * influence / mu
    top = logits.max()
    return logits - (top + np.log(np.exp(logits - top).sum()))


def test_gradient_weights_hand_worked():
    # g_0 = (3, 0) (norm 3, clipped to 1), g_1 = (-0.5, 0.5) (norm 0.71, unclipped)
    gram = np.array([[9.0, -1.5], [-1.5, 0.5]])
    scheme = get("gradient", mu=2.0, clip_norm=1.0).reset(2, [0.25, 0.75])
    scheme.update(gram=gram, lr=0.5)
    # clipped Gram [[1, -0.5], [-0.5, 0.5]]: I = (0.5, 0); logits log(0.25) + 0.125, log(0.75)
    expected = np.array([0.25 * np.exp(0.125), 0.75])
    np.testing.assert_allclose(scheme.current_weights(), expected / expected.sum(), **CLOSE)


@pytest.mark.parametrize("clip_norm", [0.0, 0.3, 1.0])
def test_gradient_weights_follow_the_exponentiated_gradient_rule(clip_norm):
    rng = np.random.default_rng(1)
    weights = np.array([0.2, 0.5, 0.3, 1.0])
    scheme = get("gradient", mu=0.7, clip_norm=clip_norm).reset(4, weights)
    log_w = np.log(weights / weights.sum())
    for step in range(10):
        g = gradients(rng, 4, spread_decades=2.0)
        lr = rng.uniform(0.1, 2.0)
        scheme.update(gram=g @ g.T, lr=lr)
        log_w = eg_step(log_w, g @ g.T, lr, 0.7, clip_norm)
        current = scheme.current_weights()
        np.testing.assert_allclose(current, np.exp(log_w), rtol=1e-11, err_msg=f"step {step}")
        assert np.all(current >= 0) and current.sum() == pytest.approx(1.0, abs=1e-14)


def test_gradient_weights_keep_a_zero_weight_at_zero():
    scheme = get("gradient").reset(3, [0.5, 0.0, 0.5])
    rng = np.random.default_rng(2)
    for _ in range(5):
        g = gradients(rng, 3)
        scheme.update(gram=g @ g.T)
    current = scheme.current_weights()
    assert current[1] == 0.0 and current.sum() == pytest.approx(1.0, abs=1e-14)


def test_gradient_weights_move_toward_the_more_influential_objective():
    # two aligned objectives and one opposed to both: the opposed one loses weight
    g = np.array([[1.0, 0.2], [0.8, 0.1], [-0.9, 0.0]])
    scheme = get("gradient", mu=1.0).reset(3)
    for _ in range(20):
        scheme.update(gram=g @ g.T)
    current = scheme.current_weights()
    assert current[2] < current[1] < current[0]
    assert current[2] < 1e-6


def test_objective_gradients_equal_their_gram():
    rng = np.random.default_rng(3)
    for name in ("gradient", "mgda", "pcgrad"):
        by_gram, by_vectors = get(name).reset(3), get(name).reset(3)
        for _ in range(4):
            g = gradients(rng, 3, n_params=9)
            by_gram.update(gram=g @ g.T, lr=0.8)
            by_vectors.update(objective_gradients=g, lr=0.8)
        np.testing.assert_allclose(by_vectors.state, by_gram.state, **CLOSE, err_msg=name)


def test_gradient_advantages_are_rc_with_the_current_weights():
    rng = np.random.default_rng(4)
    rewards = rng.normal(size=(5, 8, 3))
    scheme = get("gradient", mu=0.5).reset(3)
    for _ in range(3):
        g = gradients(rng, 3)
        scheme.update(gram=g @ g.T)
    current = scheme.current_weights()
    assert not np.allclose(current, 1 / 3)
    for backend in mowsim.schemes.BACKENDS:
        for eps in (0.0, 1e-4):
            out = scheme.compute(rewards, backend=backend, eps=eps)
            rc = get("rc").compute(rewards, current, eps=eps)
            np.testing.assert_allclose(out.advantages, rc.advantages, **CLOSE)
            np.testing.assert_allclose(out.weights, rc.weights, **CLOSE)


# ----------------------------------------------------------------------------------------------------------------
# MGDA


def min_norm(gram):
    alpha = np.empty(gram.shape[0])
    _stateful.min_norm_weights(np.ascontiguousarray(gram), alpha)
    return alpha


def qp_min_norm(gram, starts):
    """min alpha^T G alpha on the simplex by SLSQP from several starts; the best value."""
    k = gram.shape[0]
    best = np.inf
    for x0 in starts:
        result = minimize(lambda x: x @ gram @ x, x0, jac=lambda x: 2 * gram @ x, bounds=[(0.0, 1.0)] * k,
                          constraints=({"type": "eq", "fun": lambda x: x.sum() - 1.0, "jac": lambda x: np.ones(k)},),
                          method="SLSQP", options={"ftol": 1e-16, "maxiter": 500})
        best = min(best, float(result.fun))
    return best


@pytest.mark.parametrize("spread_decades", [0.0, 4.0])
def test_min_norm_matches_a_qp_solver(spread_decades):
    rng = np.random.default_rng(5)
    for _ in range(60):
        k = int(rng.integers(2, 9))
        g = gradients(rng, k, n_params=int(rng.integers(1, 10)), spread_decades=spread_decades)
        g /= np.abs(g).max()  # norms up to ~1 so that 1e-8 is an absolute tolerance on the norm
        gram = g @ g.T
        alpha = min_norm(gram)
        assert np.all(alpha >= 0.0) and alpha.sum() == pytest.approx(1.0, abs=1e-14)
        ours = np.linalg.norm(alpha @ g)
        theirs = np.sqrt(max(qp_min_norm(gram, [np.full(k, 1.0 / k), np.eye(k)[np.argmin(np.diag(gram))]]), 0.0))
        assert ours <= theirs + 1e-8, (k, ours, theirs)
        # KKT: the min-norm point d satisfies <d, g_k> >= |d|^2 for every k (equality on the support)
        d = alpha @ g
        assert np.all(g @ d >= d @ d - 1e-12)
        support = alpha > 1e-9
        np.testing.assert_allclose(g[support] @ d, d @ d, atol=1e-10)


def test_min_norm_two_objectives_closed_form():
    """Désidéri's K = 2 solution: alpha_0 = clip(<g_1 - g_0, g_1> / |g_0 - g_1|^2, 0, 1)."""
    rng = np.random.default_rng(6)
    for _ in range(200):
        g = gradients(rng, 2, n_params=3, spread_decades=2.0)
        gram = g @ g.T
        expected = np.clip((gram[1, 1] - gram[0, 1]) / (gram[0, 0] + gram[1, 1] - 2 * gram[0, 1]), 0.0, 1.0)
        np.testing.assert_allclose(min_norm(gram), [expected, 1.0 - expected], rtol=1e-10, atol=1e-12)


def test_min_norm_edge_cases():
    np.testing.assert_array_equal(min_norm(np.zeros((3, 3))), [1 / 3, 1 / 3, 1 / 3])  # no gradient at all
    # opposite gradients: the origin is in the hull
    alpha = min_norm(np.array([[4.0, -2.0], [-2.0, 1.0]]))
    np.testing.assert_allclose(alpha, [1 / 3, 2 / 3], **CLOSE)
    # a zero gradient is the min-norm point
    np.testing.assert_allclose(min_norm(np.diag([1.0, 0.0, 2.0])), [0.0, 1.0, 0.0], **CLOSE)
    # duplicated gradients and more objectives than dimensions
    g = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [-1.0, -1.0], [2.0, 2.0]])
    d = min_norm(g @ g.T) @ g
    assert np.linalg.norm(d) < 1e-12


def test_mgda_direction_descends_every_objective():
    rng = np.random.default_rng(7)
    for _ in range(50):
        g = gradients(rng, int(rng.integers(2, 6)), n_params=12, spread_decades=3.0)  # P > K: hull misses 0
        d = min_norm(g @ g.T) @ g
        assert d @ d > 0
        assert np.all(g @ d >= (d @ d) * (1 - 1e-9))


def test_mgda_scheme_stores_weighted_min_norm_coefficients():
    rng = np.random.default_rng(8)
    rewards = rng.normal(size=(4, 6, 3))
    weights = np.array([0.5, 1.0, 2.0])
    scheme = get("mgda").reset(3, weights)
    g = gradients(rng, 3, spread_decades=1.0)
    scheme.update(gram=g @ g.T)
    coefficients = min_norm((weights[:, None] * g) @ (weights[:, None] * g).T) * weights
    np.testing.assert_allclose(scheme.state[_stateful.HEADER:], coefficients, **CLOSE)
    np.testing.assert_allclose(scheme.current_weights(), coefficients / coefficients.sum(), **CLOSE)
    for backend in mowsim.schemes.BACKENDS:
        out = scheme.compute(rewards, weights, backend=backend)
        ac = get("ac").compute(rewards, coefficients)
        np.testing.assert_allclose(out.advantages, ac.advantages, **CLOSE)
        np.testing.assert_allclose(out.weights, ac.weights, **CLOSE)


# ----------------------------------------------------------------------------------------------------------------
# PCGrad


def pcgrad_orders(step, n_objectives):
    orders = np.empty((n_objectives, n_objectives), dtype=np.int64)
    _stateful.pcgrad_orders(step, orders)
    return orders


def pcgrad_explicit(g, orders):
    """Yu et al.'s Algorithm 1 on the vectors: g_i' starts at g_i and is projected off every other g_j (in row i
    of ``orders``) it conflicts with; returns sum_i g_i'."""
    total = np.zeros(g.shape[1])
    for i in range(g.shape[0]):
        projected = g[i].copy()
        for j in orders[i]:
            if j != i and projected @ g[j] < 0 and g[j] @ g[j] > 0:
                projected = projected - (projected @ g[j]) / (g[j] @ g[j]) * g[j]
        total += projected
    return total


def pcgrad_beta(gram, step):
    beta = np.empty(gram.shape[0])
    _stateful.pcgrad_weights(np.ascontiguousarray(gram), step, beta)
    return beta


def test_pcgrad_orders_are_permutations_drawn_per_step():
    orders = pcgrad_orders(11, 6)
    for row in orders:
        assert sorted(row) == list(range(6))
    np.testing.assert_array_equal(orders, pcgrad_orders(11, 6))
    assert not all(np.array_equal(pcgrad_orders(s, 6), orders) for s in range(12, 20))


def test_pcgrad_matches_explicit_projection():
    rng = np.random.default_rng(9)
    for step in range(80):
        k = int(rng.integers(2, 8))
        g = gradients(rng, k, n_params=int(rng.integers(2, 10)), spread_decades=1.0)
        beta = pcgrad_beta(g @ g.T, step)
        np.testing.assert_allclose(beta @ g, pcgrad_explicit(g, pcgrad_orders(step, k)), rtol=1e-10, atol=1e-12)
        assert np.all(beta >= 1.0 - 1e-12)


def test_pcgrad_two_objectives_closed_form():
    # with K = 2 the order does not matter: g_0' = g_0 - (<g_0, g_1> / |g_1|^2) g_1 when they conflict
    g = np.array([[1.0, 1.0], [-1.0, 0.5]])
    dot = g[0] @ g[1]
    expected = g[0] - dot / (g[1] @ g[1]) * g[1] + g[1] - dot / (g[0] @ g[0]) * g[0]
    for step in range(5):
        beta = pcgrad_beta(g @ g.T, step)
        np.testing.assert_allclose(beta @ g, expected, **CLOSE)
        np.testing.assert_allclose(beta, [1 - dot / (g[0] @ g[0]), 1 - dot / (g[1] @ g[1])], **CLOSE)


def test_pcgrad_without_conflicts_is_the_plain_sum():
    rng = np.random.default_rng(10)
    g = np.abs(rng.normal(size=(5, 4)))  # all inner products positive
    np.testing.assert_array_equal(pcgrad_beta(g @ g.T, 3), np.ones(5))
    np.testing.assert_array_equal(pcgrad_beta(np.diag([1.0, 0.0, 2.0]), 0), np.ones(3))  # orthogonal, a zero


def test_pcgrad_scheme_stores_weighted_coefficients():
    rng = np.random.default_rng(11)
    rewards = rng.normal(size=(4, 6, 3))
    weights = np.array([0.5, 1.0, 2.0])
    scheme = get("pcgrad").reset(3, weights)
    for step in range(1, 4):
        g = gradients(rng, 3)
        scheme.update(gram=g @ g.T)
        scaled = weights[:, None] * g
        coefficients = pcgrad_beta(scaled @ scaled.T, step) * weights  # step = the number of updates so far
        np.testing.assert_allclose(scheme.state[_stateful.HEADER:], coefficients, **CLOSE)
    for backend in mowsim.schemes.BACKENDS:
        out = scheme.compute(rewards, weights, backend=backend)
        np.testing.assert_allclose(out.advantages, mowsim.advantages(rewards, "ac", coefficients), **CLOSE)


def test_mgda_leaves_zero_weight_objectives_out():
    """w_k = 0 makes w_k g_k the zero vector, a trivial min-norm point; MGDA runs over the weighted objectives."""
    rng = np.random.default_rng(12)
    weights = np.array([0.5, 0.0, 0.25])
    g = gradients(rng, 3)
    scheme = get("mgda").reset(3, weights)
    scheme.update(gram=g @ g.T)
    active = weights[[0, 2], None] * g[[0, 2]]
    expected = np.zeros(3)
    expected[[0, 2]] = min_norm(active @ active.T) * weights[[0, 2]]
    np.testing.assert_allclose(scheme.state[_stateful.HEADER:], expected, **CLOSE)
    rewards = rng.normal(size=(3, 5, 3))
    np.testing.assert_allclose(scheme.compute(rewards, weights).advantages,
                               mowsim.advantages(rewards, "ac", expected), **CLOSE)
