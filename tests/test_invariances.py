"""Hypothesis properties: the symmetries each scheme must have, and the K = 1 reduction to the GRPO z-score.

Rewards are drawn on a grid of multiples of 0.01 in [-10, 10] (with about 2% NaN entries), so a set of rewards is
either exactly constant or has a spread far above rounding. Two inputs would still make a comparison meaningless,
and :func:`assume` filters them out:

* the weighted sums ``s`` of a group (RC, SAW-GRPO) differ only by rounding while ``|s|`` itself is tiny next to
  the terms that cancelled in it: rounding-noise / rounding-noise is then whatever the rounding happened to be;
* a transformed copy (shifted) of a batch whose per-objective z-scores cancel in every rollout: the shift enlarges
  the rounding residue of AC past GDPO's zero-spread threshold.

RC and SAW-GRPO sum a NaN entry as 0 (TRL's ``nansum``), so a common shift ``c`` moves ``s`` by ``c * sum_k w_k``
over the *scored* objectives only: it is a shift of ``s`` only for rollouts scored on the same objectives. Their
shift tests therefore turn a partly scored rollout into an unscorable one (:func:`whole_rows_only`).

Tolerances are 1e-9 (1e-8 after a shift, which costs digits: ``|shift| / spread`` up to about 1e4).
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import SCHEMES
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import mowsim
from mowsim.schemes import get, reference

SETTINGS = settings(deadline=None, max_examples=50)
CLOSE = {"rtol": 1e-9, "atol": 1e-9}
SHIFTED = {"rtol": 1e-8, "atol": 1e-8}

GRID_REWARD = st.integers(-1000, 1020).map(lambda i: np.nan if i > 1000 else i / 100)
GRID_WEIGHT = st.integers(1, 100).map(lambda i: i / 100)
SCALE_FREE = ["rc", "ac", "gdpo", "dvao"]


@st.composite
def batches(draw, max_groups=3, min_rollouts=2, max_rollouts=6, max_objectives=4, n_objectives=None):
    """(rewards (B, G, K), weights (K,)) on the grid."""
    n_groups = draw(st.integers(1, max_groups))
    n_rollouts = draw(st.integers(min_rollouts, max_rollouts))
    n_objectives = n_objectives or draw(st.integers(1, max_objectives))
    rewards = draw(arrays(np.float64, (n_groups, n_rollouts, n_objectives), elements=GRID_REWARD))
    weights = draw(arrays(np.float64, (n_objectives,), elements=GRID_WEIGHT))
    return rewards, weights


def _scorable(rewards):
    scorable = ~np.all(np.isnan(rewards), axis=2)
    return scorable & (scorable.sum(axis=1) >= 2)[:, None]


def sums_are_well_conditioned(rewards, weights) -> bool:
    """False when a group's weighted sums differ by rounding only and are tiny next to their terms."""
    mask = _scorable(rewards)
    terms = np.nan_to_num(rewards * weights)
    sums, sizes = terms.sum(axis=2), np.abs(terms).sum(axis=2)
    for b in range(rewards.shape[0]):
        s, size = sums[b, mask[b]], sizes[b, mask[b]]
        if s.size < 2 or size.max() == 0:
            continue
        spread = s.max() - s.min()
        if 0 < spread < 1e-9 * size.max() and np.abs(s).max() < 1e-3 * size.max():
            return False
    return True


def combination_survives_shift(rewards, weights) -> bool:
    """False when some objective varies but AC cancels to rounding residue in every scorable rollout."""
    mask = _scorable(rewards)
    if not mask.any():
        return True
    combined, _ = reference.ac(rewards, weights)
    zscores = reference.objective_stats(rewards, 0, 0.0)[3]
    varies = np.abs(zscores[mask]).max() > 0
    return not (varies and np.abs(combined[mask]).max() < 1e-6 * weights.sum())


def whole_rows_only(rewards):
    """Make every partly scored rollout unscorable: NaN only as whole rows."""
    rewards = rewards.copy()
    rewards[np.any(np.isnan(rewards), axis=2)] = np.nan
    return rewards


def conditioned(name, rewards, weights) -> bool:
    if name == "saw-grpo":
        weights = mowsim.effective_weights(rewards, name, weights)[0] if rewards.size else weights
    return sums_are_well_conditioned(rewards, weights)


# ---------------------------------------------------------------- symmetries of every scheme


@pytest.mark.parametrize("name", SCHEMES)
@SETTINGS
@given(batch=batches(), ddof=st.sampled_from([0, 1]), eps=st.sampled_from([0.0, 1e-4]), data=st.data())
def test_permuting_rollouts_permutes_advantages(name, batch, ddof, eps, data):
    rewards, weights = batch
    assume(conditioned(name, rewards, weights))
    n_groups, n_rollouts, _ = rewards.shape
    orders = [data.draw(st.permutations(range(n_rollouts))) for _ in range(n_groups)]
    permuted = np.stack([rewards[b, order] for b, order in enumerate(orders)])
    expected = mowsim.advantages(rewards, name, weights, ddof=ddof, eps=eps)
    got = mowsim.advantages(permuted, name, weights, ddof=ddof, eps=eps)
    np.testing.assert_allclose(got, np.stack([expected[b, order] for b, order in enumerate(orders)]), **CLOSE)


@pytest.mark.parametrize("name", SCHEMES)
@SETTINGS
@given(batch=batches(), ddof=st.sampled_from([0, 1]), eps=st.sampled_from([0.0, 1e-4]), data=st.data())
def test_permuting_objectives_with_weights_changes_nothing(name, batch, ddof, eps, data):
    if getattr(get(name), "random", False):
        pytest.skip("vpo and random-weight draw Dirichlet weights per objective position: permuting the objectives "
                    "is invariant in distribution, not draw for draw")
    rewards, weights = batch
    assume(conditioned(name, rewards, weights))
    order = np.array(data.draw(st.permutations(range(rewards.shape[2]))))
    before = get(name).compute(rewards, weights, ddof=ddof, eps=eps)
    after = get(name).compute(rewards[:, :, order], weights[order], ddof=ddof, eps=eps)
    np.testing.assert_allclose(after.advantages, before.advantages, **CLOSE)
    np.testing.assert_allclose(after.weights, before.weights[:, order], **CLOSE)


@pytest.mark.parametrize("name", SCHEMES)
@SETTINGS
@given(batch=batches(), ddof=st.sampled_from([0, 1]), eps=st.sampled_from([0.0, 1e-4]))
def test_advantages_are_finite_and_unscorable_rollouts_zero(name, batch, ddof, eps):
    rewards, weights = batch
    out = get(name).compute(rewards, weights, ddof=ddof, eps=eps)
    assert np.all(np.isfinite(out.advantages)) and np.all(np.isfinite(out.weights))
    assert np.all(out.advantages[~_scorable(rewards)] == 0.0)
    np.testing.assert_allclose(out.weights.sum(axis=1), 1.0, rtol=1e-12)


# ---------------------------------------------------------------- shift and scale (eps = 0)


@pytest.mark.parametrize("name", SCALE_FREE)
@SETTINGS
@given(batch=batches(), ddof=st.sampled_from([0, 1]), shift=st.integers(-2000, 2000).map(lambda i: i / 100))
def test_common_shift_changes_nothing(name, batch, ddof, shift):
    rewards, weights = batch
    if name == "rc":
        rewards = whole_rows_only(rewards)
    assume(sums_are_well_conditioned(rewards, weights))
    assume(combination_survives_shift(rewards, weights))
    before = mowsim.advantages(rewards, name, weights, ddof=ddof)
    after = mowsim.advantages(rewards + shift, name, weights, ddof=ddof)
    np.testing.assert_allclose(after, before, **SHIFTED)


@pytest.mark.parametrize("name", SCALE_FREE)
@SETTINGS
@given(batch=batches(), ddof=st.sampled_from([0, 1]), scale=st.integers(1, 1000).map(lambda i: i / 37))
def test_positive_global_scale_changes_nothing(name, batch, ddof, scale):
    rewards, weights = batch
    assume(sums_are_well_conditioned(rewards, weights))
    before = mowsim.advantages(rewards, name, weights, ddof=ddof)
    after = mowsim.advantages(rewards * scale, name, weights, ddof=ddof)
    np.testing.assert_allclose(after, before, **CLOSE)


@pytest.mark.parametrize("name", ["saw-grpo", "saw-gdpo"])
@SETTINGS
@given(batch=batches(), ddof=st.sampled_from([0, 1]), shift=st.integers(-2000, 2000).map(lambda i: i / 100))
def test_saw_is_shift_free_with_the_batch_minimum(name, batch, ddof, shift):
    """With reward_min=None the shift ``r - min(r)`` moves with the rewards, so SAW ignores a common shift too.
    (It is not scale-free: ``delta`` does not scale.)"""
    rewards, weights = batch
    if name == "saw-grpo":
        rewards = whole_rows_only(rewards)
    effective = mowsim.effective_weights(rewards, name, weights)[0]
    assume(sums_are_well_conditioned(rewards, effective))
    assume(combination_survives_shift(rewards, effective))
    before = mowsim.advantages(rewards, name, weights, ddof=ddof)
    after = mowsim.advantages(rewards + shift, name, weights, ddof=ddof)
    np.testing.assert_allclose(after, before, **SHIFTED)


@SETTINGS
@given(batch=batches(), ddof=st.sampled_from([0, 1]), scale=st.integers(1, 1000).map(lambda i: i / 37),
       data=st.data())
def test_scaling_an_objective(batch, ddof, scale, data):
    """Scaling objective k by c > 0 equals scaling w_k by c for RC and DVAO, and changes nothing for AC and GDPO."""
    rewards, weights = batch
    k = data.draw(st.integers(0, rewards.shape[2] - 1))
    scaled_rewards = rewards.copy()
    scaled_rewards[:, :, k] *= scale
    scaled_weights = weights.copy()
    scaled_weights[k] *= scale
    assume(sums_are_well_conditioned(rewards, scaled_weights))
    for name in ("rc", "dvao"):
        np.testing.assert_allclose(mowsim.advantages(scaled_rewards, name, weights, ddof=ddof),
                                   mowsim.advantages(rewards, name, scaled_weights, ddof=ddof), **CLOSE)
    for name in ("ac", "gdpo"):
        np.testing.assert_allclose(mowsim.advantages(scaled_rewards, name, weights, ddof=ddof),
                                   mowsim.advantages(rewards, name, weights, ddof=ddof), **CLOSE)


# ---------------------------------------------------------------- K = 1: the GRPO z-score


def grpo_zscore(rewards, ddof, eps):
    """The GRPO advantage of one objective, (r - mean) / (std + eps) per group, written from scratch.

    NaN rollouts get 0, a group with < 2 scored rollouts or with all-equal rewards gets 0 (on the grid, "constant"
    means exactly equal).
    """
    rewards = rewards[:, :, 0]
    out = np.zeros(rewards.shape)
    for b, row in enumerate(rewards):
        scored = ~np.isnan(row)
        values = row[scored]
        if values.size < 2 or values.max() == values.min():
            continue
        std = np.sqrt(np.sum((values - values.mean()) ** 2) / (values.size - ddof))
        out[b, scored] = (values - values.mean()) / (std + eps)
    return out


def gdpo_k1_factor(rewards, ddof):
    """K = 1 GDPO / GRPO z-score: sqrt((N - ddof) / sum over non-constant groups of (n_b - ddof)), for eps = 0.

    The batch z-score whitens the per-group z-scores z over the N scored rollouts of the groups with n_b >= 2 of
    them. Each non-constant group has sum_j z^2 = n_b - ddof and mean 0; a constant group contributes n_b zeros.
    So the batch mean is 0 and the batch variance (sum_b (n_b - ddof) over non-constant b) / (N - ddof): the factor
    is 1 exactly when eps = 0 and every group in the batch statistics varies and (ddof = 0 or there is one group).
    """
    counts = (~np.isnan(rewards[:, :, 0])).sum(axis=1)
    in_batch = counts >= 2
    varies = np.array([np.nanmax(r) > np.nanmin(r) if c >= 2 else False for r, c in zip(rewards[:, :, 0], counts)])
    if not varies.any():
        return 1.0
    return float(np.sqrt((counts[in_batch].sum() - ddof) / (counts[varies] - ddof).sum()))


@pytest.mark.parametrize("name", SCHEMES)
@SETTINGS
@given(batch=batches(n_objectives=1), ddof=st.sampled_from([0, 1]), eps=st.sampled_from([0.0, 1e-4]))
def test_one_objective_is_the_grpo_zscore(name, batch, ddof, eps):
    """K = 1 with weights None (w = 1): every scheme but the GDPOs is the GRPO z-score, for any ddof and eps.

    GDPO and SAW-GDPO (whose weight K w' w is w when K = 1) whiten the z-scores over the batch. They equal the GRPO
    z-score exactly when eps = 0, every group in the batch statistics varies, and ddof = 0 or the batch statistics
    hold a single group (in particular: ddof = 0 with all groups non-degenerate, or B = 1). Otherwise, at eps = 0,
    they are the z-score times :func:`gdpo_k1_factor`; at eps > 0 each group's (r - mu) / (sigma + eps) still sums
    to 0, so the batch mean is 0 and the result is a positive multiple of the eps z-score, 1 / (batch std + eps).
    """
    rewards, _ = batch
    expected = grpo_zscore(rewards, ddof, eps)
    got = mowsim.advantages(rewards, name, ddof=ddof, eps=eps)
    if name not in ("gdpo", "saw-gdpo"):
        np.testing.assert_allclose(got, expected, **CLOSE)
        return
    scored = (~np.isnan(rewards[:, :, 0])).sum(axis=1)
    in_batch = [b for b in range(rewards.shape[0]) if scored[b] >= 2]
    all_vary = all(np.nanmax(rewards[b]) > np.nanmin(rewards[b]) for b in in_batch)
    if eps == 0.0 and all_vary and (ddof == 0 or len(in_batch) <= 1):
        assert gdpo_k1_factor(rewards, ddof) == 1.0
        np.testing.assert_allclose(got, expected, **CLOSE)
    elif eps == 0.0:
        np.testing.assert_allclose(got, expected * gdpo_k1_factor(rewards, ddof), **CLOSE)
    else:
        if not np.any(expected):
            assert np.all(np.abs(got) < 1e-9)
            return
        largest = np.unravel_index(np.argmax(np.abs(expected)), expected.shape)
        multiple = got[largest] / expected[largest]
        assert multiple > 0
        np.testing.assert_allclose(got, multiple * expected, **CLOSE)


@pytest.mark.parametrize("name", SCHEMES)
@SETTINGS
@given(batch=batches(n_objectives=1), ddof=st.sampled_from([0, 1]), eps=st.sampled_from([0.0, 1e-4]))
def test_one_objective_with_a_weight(name, batch, ddof, eps):
    """K = 1 with a weight w: DVAO ignores it (wt = 1); RC, SAW-GRPO and the GDPOs are scale-free at eps = 0;
    AC is w times the z-score."""
    rewards, weights = batch
    (weight,) = weights
    got = mowsim.advantages(rewards, name, weights, ddof=ddof, eps=eps)
    unweighted = mowsim.advantages(rewards, name, ddof=ddof, eps=eps)
    if name == "ac":
        np.testing.assert_allclose(got, weight * grpo_zscore(rewards, ddof, eps), **CLOSE)
    elif name == "dvao" or eps == 0.0:
        np.testing.assert_allclose(got, unweighted, **CLOSE)


@pytest.mark.parametrize("name", ["gdpo", "saw-gdpo"])
@SETTINGS
@given(batch=batches(max_groups=5, n_objectives=1), ddof=st.sampled_from([0, 1]))
def test_gdpo_one_objective_general_factor(name, batch, ddof):
    """K = 1, eps = 0: GDPO (and SAW-GDPO, whose weight K w' w = w is whitened away) is the GRPO z-score times
    :func:`gdpo_k1_factor`. With ddof = 1 and two or more varying groups, or with a constant group in the batch,
    the factor is not 1."""
    rewards, _ = batch
    expected = grpo_zscore(rewards, ddof, 0.0) * gdpo_k1_factor(rewards, ddof)
    np.testing.assert_allclose(mowsim.advantages(rewards, name, ddof=ddof), expected, **CLOSE)


def test_gdpo_one_objective_factor_examples():
    """The factor by hand. Two groups of 2 scored rollouts, both varying: z = +-1 (ddof 0) or +-1/sqrt(2) (ddof 1).
    ddof 0: batch var 4/4 = 1, factor 1. ddof 1: batch var (4 * 1/2) / 3 = 2/3, factor sqrt(3/2) = sqrt((4-1)/(2))."""
    rewards = np.array([[[0.0], [1.0]], [[2.0], [5.0]]])
    np.testing.assert_allclose(mowsim.advantages(rewards, "gdpo"), [[-1.0, 1.0], [-1.0, 1.0]], rtol=1e-14)
    np.testing.assert_allclose(mowsim.advantages(rewards, "gdpo", ddof=1),
                               np.array([[-1.0, 1.0], [-1.0, 1.0]]) / np.sqrt(2) * np.sqrt(3 / 2), rtol=1e-14)
    # Add a constant group (ddof 0): batch var (1 + 1 + 1 + 1 + 0 + 0) / 6 = 2/3, factor sqrt(3/2)
    with_constant = np.concatenate([rewards, [[[4.0], [4.0]]]])
    np.testing.assert_allclose(mowsim.advantages(with_constant, "gdpo"),
                               np.array([[-1.0, 1.0], [-1.0, 1.0], [0.0, 0.0]]) * np.sqrt(3 / 2), rtol=1e-14,
                               atol=1e-15)
