"""Exactness at any scale (issue 15): Samuelson's bound, bit-exact power-of-two scale invariance, accurate centering.

Batches are drawn over the whole float64 range: magnitudes 1e-300..1e300 (subnormal ones too), offsets up to 1e12
times the spread (near-constant groups), heavy tails (Cauchy), binary rewards, NaN entries and unscorable rollouts,
objectives of very different scales, both ``ddof`` and ``eps`` in {0, 1e-6, 1e-4}.

* Samuelson: a z-score of ``n`` values has ``|z| <= sqrt(n - 1)`` with the population std (``ddof = 0``) and
  ``|z| <= (n - 1) / sqrt(n)`` with the unbiased one (``ddof = 1``: ``max d_j**2 <= (n - 1) / n * sum d**2``).
  RC, DVAO (a convex combination of per-objective z-scores, ``|A_DVAO| <= |A_RC|``) and SAW-GRPO obey it per group
  over the group's scorable rollouts; AC obeys ``sum_k w_k`` times it; GDPO and SAW-GDPO obey it over the batch.
  ``eps > 0`` only shrinks a z-score. Checked to a relative ``1e-12`` on every backend.
* Scale invariance, bit for bit: ``advantages(2**k R) == advantages(R)`` for RC, AC, GDPO and DVAO whenever
  ``2**k R`` is exact, and likewise for ``2**m w`` (AC: the advantages scale by exactly ``2**m``). Only with
  ``eps = 0``: ``eps`` is absolute, so with ``eps > 0`` a scaling changes the advantages as the formula says. SAW is
  not scale-free at all (its ``delta`` is absolute).
* Centering: the reference's centered values of a group sum to a few ulps of its spread; the kernels' z-scores of a
  group sum to ``1e-13 n sqrt(n)`` (they leave out the correction where it cannot matter, see
  ``_kernels._plain_ratio``), and to rounding in near-constant groups.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import mowsim
from mowsim.schemes import reference

SETTINGS = settings(deadline=None, max_examples=150)
STATIC = ["rc", "ac", "gdpo", "dvao", "saw-grpo", "saw-gdpo"]
SCALE_FREE = ["rc", "ac", "gdpo", "dvao"]
BACKENDS = ("numba", "numpy", "python")
EPS = st.sampled_from([0.0, 1e-6, 1e-4])
DDOF = st.sampled_from([0, 1])
SLACK = 1.0 + 1e-12


@st.composite
def hard_batches(draw, max_groups=4, max_rollouts=9, max_objectives=3):
    """(rewards (B, G, K), weights (K,)) anywhere in the float64 range; see the module docstring."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    shape = (draw(st.integers(1, max_groups)), draw(st.integers(1, max_rollouts)),
             draw(st.integers(1, max_objectives)))
    kind = draw(st.sampled_from(["normal", "cauchy", "binary", "near-constant"]))
    if kind == "normal":
        unit = rng.normal(size=shape)
    elif kind == "cauchy":
        unit = rng.standard_cauchy(size=shape)
    elif kind == "binary":
        unit = rng.integers(0, 2, size=shape).astype(np.float64)
    else:
        unit = rng.random(size=shape)
    offset = draw(st.sampled_from([0.0, 0.0, 1.0, 1e3, 1e6, 1e9, 1e12]))
    spread = 1e-11 if kind == "near-constant" else 1.0
    rewards = (offset + unit * spread) if offset else unit * spread
    with np.errstate(over="ignore"):
        rewards = rewards * 10.0 ** draw(st.integers(-300, 300))
    if draw(st.booleans()):  # objectives of very different scales
        with np.errstate(over="ignore"):
            rewards = rewards * 10.0 ** rng.integers(-40, 41, size=shape[2])
    if draw(st.booleans()):
        rewards[rng.random(shape) < draw(st.sampled_from([0.05, 0.2, 0.5]))] = np.nan
    if draw(st.booleans()):
        rewards[rng.random(shape[:2]) < 0.2] = np.nan
    weights = rng.uniform(0.1, 1.0, size=shape[2])
    if shape[2] > 1 and draw(st.booleans()):
        weights[rng.integers(shape[2])] = 0.0
        weights[rng.integers(shape[2])] += 0.5  # at least one positive weight
    assume(np.all(np.isfinite(rewards[~np.isnan(rewards)])))
    return np.ascontiguousarray(rewards), weights


def _scorable_counts(rewards):
    """(B,) scorable rollouts per group (0 when fewer than 2) and (B, G) the scorable mask."""
    scorable = ~np.all(np.isnan(rewards), axis=2)
    counts = scorable.sum(axis=1)
    counts = np.where(counts >= 2, counts, 0)
    return counts, scorable & (counts >= 2)[:, None]


def samuelson(n, ddof):
    """The largest |z-score| of ``n`` values: sqrt(n - 1) (ddof=0) or (n - 1) / sqrt(n) (ddof=1); 0 for n < 2."""
    n = np.asarray(n, dtype=np.float64)
    safe = np.maximum(n, 1.0)
    bound = np.sqrt(safe - 1.0) if ddof == 0 else (safe - 1.0) / np.sqrt(safe)
    return np.where(n >= 2, bound, 0.0)


def advantage_bound(name, rewards, weights, ddof):
    """(B, G) bound on |A| for ``name``; see the module docstring."""
    counts, mask = _scorable_counts(rewards)
    if name in ("gdpo", "saw-gdpo"):
        per_group = np.full(rewards.shape[0], samuelson(mask.sum(), ddof))
    elif name == "ac":
        per_group = samuelson(counts, ddof) * weights.sum()
    else:
        per_group = samuelson(counts, ddof)
    return np.broadcast_to(per_group[:, None], mask.shape)


@pytest.mark.parametrize("name", STATIC)
@SETTINGS
@given(batch=hard_batches(), ddof=DDOF, eps=EPS)
def test_samuelson_bound_at_any_scale(name, batch, ddof, eps):
    rewards, weights = batch
    bound = advantage_bound(name, rewards, weights, ddof)
    for backend in BACKENDS:
        advantages = mowsim.advantages(rewards, name, weights, ddof=ddof, eps=eps, backend=backend)
        assert np.all(np.isfinite(advantages)), backend
        excess = np.abs(advantages) - bound * SLACK
        assert np.all(excess <= 0.0), (backend, float(excess.max()), float(np.max(np.abs(advantages))))


@pytest.mark.parametrize("name", STATIC)
@SETTINGS
@given(batch=hard_batches(), ddof=DDOF, eps=EPS)
def test_kernels_equal_the_reference_at_any_scale(name, batch, ddof, eps):
    rewards, weights = batch
    compiled = mowsim.schemes.get(name).compute(rewards, weights, ddof=ddof, eps=eps)
    oracle = mowsim.schemes.get(name).compute(rewards, weights, ddof=ddof, eps=eps, backend="numpy")
    atol = 1e-12
    if name == "saw-grpo":
        # SAW's CV weights are batch sums in another order than the reference's: an ulp in w'_k moves the weighted
        # sum s by an ulp of the terms, i.e. the advantages by ~1e-16 times the condition max_j sum_k |w_k r_jk| /
        # std(s), large for offset rewards
        atol = atol + 1e-14 * weighted_sum_condition(rewards, weights)[:, None]
    error = np.abs(compiled.advantages - oracle.advantages)
    assert np.all(error <= atol + 1e-12 * np.abs(oracle.advantages)), float(error.max())
    np.testing.assert_allclose(compiled.weights, oracle.weights, rtol=1e-12, atol=1e-15)


def weighted_sum_condition(rewards, weights):
    """(B,) each group's ``max_j sum_k |w_k r_jk| / std_j(sum_k w_k r_jk)`` (inf for a constant group)."""
    largest = np.fmax.reduce(np.abs(rewards).reshape(rewards.shape[0], -1), axis=1)
    unit = rewards / np.where(largest > 0, largest, 1.0)[:, None, None]
    terms = np.nan_to_num(unit * weights)
    sums = np.where(np.all(np.isnan(rewards), axis=2), np.nan, terms.sum(axis=2))  # unscorable rows left out
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        condition = np.abs(terms).sum(axis=2).max(axis=1) / np.nanstd(sums, axis=1)
    return np.where(np.isnan(condition), np.inf, condition)


def _exact_power(values, k):
    """``values * 2**k`` if that is exact (finite, no digit lost), else None."""
    with np.errstate(over="ignore", under="ignore"):
        scaled = np.ldexp(values, k)
    finite = ~np.isnan(values)
    if not np.all(np.isfinite(scaled[finite])) or not np.array_equal(np.ldexp(scaled, -k), values,
                                                                     equal_nan=True):
        return None
    return scaled


@pytest.mark.parametrize("name", SCALE_FREE)
@SETTINGS
@given(batch=hard_batches(), ddof=DDOF, k=st.integers(-1100, 1100))
def test_power_of_two_scaling_changes_no_bit(name, batch, ddof, k):
    """eps = 0 only: eps is absolute, so with eps > 0 a rescaling legitimately changes the advantages."""
    rewards, weights = batch
    scaled = _exact_power(rewards, k)
    assume(scaled is not None)
    for backend in BACKENDS:
        expected = mowsim.advantages(rewards, name, weights, ddof=ddof, backend=backend)
        got = mowsim.advantages(scaled, name, weights, ddof=ddof, backend=backend)
        assert np.array_equal(got, expected), (backend, float(np.max(np.abs(got - expected))))


@pytest.mark.parametrize("name", SCALE_FREE)
@SETTINGS
@given(batch=hard_batches(), ddof=DDOF, m=st.integers(-1000, 1000))
def test_power_of_two_weight_scaling(name, batch, ddof, m):
    """RC, GDPO and DVAO do not depend on the weights' scale; AC's advantages scale with them (eps = 0)."""
    rewards, weights = batch
    scaled = _exact_power(weights, m)
    assume(scaled is not None)
    for backend in BACKENDS:
        expected = mowsim.advantages(rewards, name, weights, ddof=ddof, backend=backend)
        got = mowsim.advantages(rewards, name, scaled, ddof=ddof, backend=backend)
        if name == "ac":
            expected = _exact_power(expected, m)
            assume(expected is not None)
        assert np.array_equal(got, expected), backend


@SETTINGS
@given(batch=hard_batches(), ddof=DDOF)
def test_reference_centering_sums_to_rounding(batch, ddof):
    """Each objective's centered values ``(x - m) - c`` of a group sum to a few ulps of its spread."""
    rewards, _ = batch
    _, std, centered, _ = reference._objective_parts(rewards, ddof, 0.0)
    exponent = reference._exponent(reference._largest_abs(rewards, axis=1))
    scaled = np.ldexp(rewards, -exponent[:, None, :])
    with np.errstate(invalid="ignore"):
        spread = np.fmax.reduce(scaled, axis=1) - np.fmin.reduce(scaled, axis=1)
    n = (~np.isnan(rewards)).sum(axis=1)
    live = std > 0
    total = np.abs(centered.sum(axis=1))
    assert np.all(total[live] <= 4 * n[live] * np.spacing(spread[live]))


@pytest.mark.parametrize("offset", [0.0, 1.0, 1e6, 1e12])
@pytest.mark.parametrize("backend", BACKENDS)
def test_zscores_of_a_group_sum_to_zero(offset, backend, rng):
    """AC with one objective is the group z-score: it sums to 0 up to ``1e-13 n sqrt(n)`` (to rounding in
    near-constant groups, where the kernels always correct the mean)."""
    for n in (2, 3, 16, 64):
        unit = rng.random((200, n, 1))
        rewards = offset + unit * (1e-11 if offset else 1.0)
        advantages = mowsim.advantages(rewards, "ac", backend=backend)
        sums = np.abs(advantages.sum(axis=1))
        tolerance = 1e-13 * n * np.sqrt(n) if offset < 1e6 else 16 * n * np.finfo(np.float64).eps
        assert np.all(sums <= tolerance), (n, float(sums.max()))


@pytest.mark.parametrize("name", ["rc", "dvao", "ac"])
def test_near_constant_pairs_meet_samuelson(name, rng):
    """Issue 15's example: ``1 + 1e-11 u`` at G = 2 reached |A| = 1.0002; the bound is 1."""
    rewards = 1.0 + 1e-11 * rng.random((20000, 2, 1))
    for backend in ("numba", "numpy"):
        assert np.max(np.abs(mowsim.advantages(rewards, name, backend=backend))) <= SLACK


@pytest.mark.parametrize("name", STATIC)
def test_tiny_rewards_keep_their_signal(name):
    """Issue 15's example: four rewards of order 7e-201 gave RC [0, 0, 0, 0] (the squares underflowed)."""
    rewards = np.array([[-1.44], [0.53], [-0.33], [1.24]]) * 7e-201
    for backend in BACKENDS:
        tiny = mowsim.advantages(rewards, name, backend=backend)
        if name.startswith("saw"):
            assert np.all(np.isfinite(tiny))
            continue
        assert np.array_equal(tiny, mowsim.advantages(rewards * 2.0**660, name, backend=backend)), backend
        assert np.max(np.abs(tiny)) > 1.0


@pytest.mark.parametrize("name", STATIC)
def test_subnormal_and_huge_groups_side_by_side(name):
    """A batch holding a group of subnormal rewards, a group near the float64 limit and an ordinary one gives every
    group the advantages it has alone (each group is scaled by its own power of two)."""
    ordinary = np.array([[0.1, 2.0], [0.7, 1.0], [0.4, 3.0]])
    batch = np.stack([np.ldexp(ordinary, -1066), np.ldexp(ordinary, 1021), ordinary])
    for backend in BACKENDS:
        together = mowsim.advantages(batch, name, backend=backend)
        assert np.all(np.isfinite(together)), backend
        if name in ("rc", "ac", "dvao"):
            alone = mowsim.advantages(ordinary, name, backend=backend)
            assert np.array_equal(together[1], alone) and np.array_equal(together[2], alone), backend
            np.testing.assert_allclose(together[0], alone, atol=1e-2)  # subnormal input keeps few digits


def test_stateful_schemes_keep_the_magnitude_guard():
    """The stateful schemes pool variances in the rewards' own units: rewards whose squares overflow stay refused."""
    rewards = np.array([[1e200, 0.0], [0.0, 1.0], [1.0, 2.0]])
    with pytest.raises(ValueError, match=r"too large for float64 variance arithmetic"):
        mowsim.advantages(rewards, "dvao-ema")


@pytest.mark.parametrize("name", ["saw-grpo", "saw-gdpo"])
def test_saw_cv_of_rewards_that_differ_in_their_12th_digit(name):
    """Found by hypothesis: objectives whose rollouts differ in the 12th digit. Without the mean's correction the
    std took the mean's rounding error at second order (``n e**2`` against a tiny sum of squares) and the kernel's
    effective weights left the reference's by 1e-9."""
    rewards = np.array([[[1.0000000000051182e-18, 1.0000000000095046e+27, 1.0000000000014415e-20],
                         [1.0000000000094864e-18, 1.0000000000031184e+27, 1.0000000000042332e-20]]])
    weights = np.array([0.5946343189057536, 0.0, 1.2781617978073259])
    compiled = mowsim.schemes.get(name).compute(rewards, weights)
    oracle = mowsim.schemes.get(name).compute(rewards, weights, backend="numpy")
    np.testing.assert_allclose(compiled.weights, oracle.weights, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(compiled.advantages, oracle.advantages, rtol=1e-12, atol=1e-12)
