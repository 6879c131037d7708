"""The DVAO paper's propositions (mowsim.theory): hand-worked groups, then hypothesis properties of every claim."""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import mowsim
from mowsim import theory

PROPERTY = settings(max_examples=60, deadline=None)
RTOL = 1e-8

# Rewards on a 6-decimal grid mixed with quarter steps: ties and constant objectives are common, and no value is so
# close to another that rounding, not the proposition, decides the outcome.
REWARD = st.one_of(
    st.sampled_from([0.0, 0.25, 0.5, 1.0]),
    st.floats(-1.0, 1.0, allow_subnormal=False).map(lambda v: round(v, 6)),
)


@st.composite
def groups(draw, min_objectives=1, max_objectives=4, max_rollouts=10, batched=None):
    """(rewards, weights): rewards (G, K) or (B, G, K), weights positive and summing to 1."""
    n_objectives = draw(st.integers(min_objectives, max_objectives))
    n_rollouts = draw(st.integers(2, max_rollouts))
    if batched is None:
        batched = draw(st.booleans())
    shape = (draw(st.integers(1, 3)), n_rollouts, n_objectives) if batched else (n_rollouts, n_objectives)
    rewards = draw(hnp.arrays(np.float64, shape, elements=REWARD))
    raw = draw(hnp.arrays(np.float64, n_objectives, elements=st.floats(0.05, 1.0)))
    return rewards, raw / raw.sum()


def one_hot_group(n_rollouts, n_objectives):
    """Every objective singles out rollout 0: each z-score attains Samuelson's bound there."""
    rewards = np.zeros((n_rollouts, n_objectives))
    rewards[0] = 1.0
    return rewards


# ---- hand-worked values ----


def test_samuelson_bound_values():
    assert theory.samuelson_bound(4) == pytest.approx(np.sqrt(3))
    assert theory.samuelson_bound(4, ddof=1) == pytest.approx(3 / 2)
    assert theory.samuelson_bound(1) == 0.0
    assert theory.gdpo_unwhitened_bound(4, 3) == pytest.approx(3 * np.sqrt(3))


def test_one_hot_group_attains_samuelson_for_every_scheme():
    rewards = one_hot_group(5, 3)
    for ddof in (0, 1):
        bound = theory.samuelson_bound(5, ddof)
        for scheme in ("rc", "ac", "dvao"):
            assert np.abs(mowsim.advantages(rewards, scheme, ddof=ddof)).max() == pytest.approx(bound)
        assert np.abs(theory.gdpo_unwhitened(rewards, ddof)).max() == pytest.approx(3 * bound)


def test_constant_objective_breaks_the_printed_ac_form():
    # Objective 2 is constant: A_AC = w1 A_1, so the mean square is w1^2, not 1 - 2 w1 w2 = w1^2 + w2^2.
    rewards = np.array([[0.0, 1.0], [1.0, 1.0], [0.0, 1.0], [1.0, 1.0]])
    weights = np.array([0.75, 0.25])
    predicted, observed = theory.ac_mean_square(rewards, weights)
    assert observed == pytest.approx(0.75**2)
    assert predicted == pytest.approx(0.75**2)
    assert theory.ac_mean_square_paper(rewards, weights) == pytest.approx(0.75**2 + 0.25**2)
    np.testing.assert_allclose(theory.objective_mean_squares(rewards), [1.0, 0.0])


def test_anticorrelated_pair_makes_dvao_equal_rc_without_correlation():
    # r2 = 1 - r1 with equal weights: s is constant, both advantages are 0, the objectives have rho = -1.
    first = np.array([0.0, 0.3, 1.0, 0.6])
    rewards = np.stack([first, 1.0 - first], axis=1)
    assert theory.dvao_equals_rc(rewards)
    assert not theory.objectives_perfectly_correlated(rewards)
    assert theory.within_group_correlation(rewards)[0, 1] == pytest.approx(-1.0)


def test_printed_sensitivity_is_exact_only_at_ddof_0():
    rewards = np.array([[0.1, 0.9], [0.4, 0.2], [0.8, 0.5], [0.3, 0.0], [0.6, 0.7]])
    weights = np.array([0.3, 0.7])
    for scheme in ("ac", "dvao"):
        exact = theory.sensitivity(rewards, scheme, weights, ddof=0)
        np.testing.assert_allclose(theory.sensitivity(rewards, scheme, weights, ddof=0, as_printed=True), exact)
        numeric = np.einsum("jjk->jk", theory.finite_difference_jacobian(rewards, scheme, weights, ddof=1))
        np.testing.assert_allclose(theory.sensitivity(rewards, scheme, weights, ddof=1), numeric, rtol=1e-6)
        printed = theory.sensitivity(rewards, scheme, weights, ddof=1, as_printed=True)
        assert np.abs(printed - numeric).max() > 1e-3


def test_jacobian_at_two_rollouts():
    # With G = 2 every z-score is +-1 whatever the rewards, so RC's and AC's derivatives vanish. DVAO's advantage is
    # +-sigma_sum / sum_k w_k sigma_k, which conflicting objectives shrink below 1, and it does move.
    rewards = np.array([[0.2, 0.9], [0.7, 0.1]])
    for scheme in ("rc", "ac"):
        np.testing.assert_allclose(theory.advantage_jacobian(rewards, scheme), 0.0, atol=1e-12)
    dvao = theory.advantage_jacobian(rewards, "dvao")
    assert np.abs(dvao).max() > 0.1
    np.testing.assert_allclose(dvao, theory.finite_difference_jacobian(rewards, "dvao"), atol=1e-8)


def test_jacobian_is_nan_where_the_derivative_does_not_exist():
    rewards = np.array([[0.0, 1.0], [1.0, 1.0], [0.5, 1.0]])
    assert np.isnan(theory.advantage_jacobian(rewards, "ac")[..., 1]).all()
    assert np.isfinite(theory.advantage_jacobian(rewards, "ac")[..., 0]).all()
    assert np.isnan(theory.advantage_jacobian(rewards, "dvao")[..., 1]).all()


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: theory.rc_mean_square(np.array([[0.0, np.nan], [1.0, 0.0]])), "NaN"),
        (lambda: theory.ac_mean_square(np.ones((1, 2))), "at least 2 rollouts"),
        (lambda: theory.ac_mean_square_paper(np.eye(3)[:, :2], [0.5, 0.6]), "summing to 1"),
        (lambda: theory.advantage_jacobian(np.eye(3), "gdpo"), "scheme must be one of"),
        (lambda: theory.sensitivity(np.eye(3), "rc", as_printed=True), "AC and DVAO only"),
        (lambda: theory.batch_mean_square(np.eye(3), "dvao"), "scheme must be one of"),
        (lambda: theory.samuelson_bound(0), "positive integer"),
        (lambda: theory.dvao_mean_square(np.eye(3), ddof=2), "ddof"),
        (lambda: theory.worst_case_search("rc", 1, 2), "n_rollouts"),
        (lambda: theory.worst_case_search("dvao", 4, 2, target="mean"), "target must be one of"),
    ],
)
def test_bad_input_raises(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ---- Prop. 1: mean-square advantage ----


@PROPERTY
@given(groups(), st.sampled_from([0, 1]))
def test_prop1_rc_mean_square(case, ddof):
    rewards, weights = case
    predicted, observed = theory.rc_mean_square(rewards, weights, ddof)
    np.testing.assert_allclose(observed, predicted, rtol=RTOL, atol=1e-12)
    n_rollouts = rewards.shape[-2]
    assert np.all(np.isclose(predicted, (n_rollouts - ddof) / n_rollouts) | (predicted == 0.0))


@PROPERTY
@given(groups(min_objectives=2), st.sampled_from([0, 1]))
def test_prop1_ac_mean_square_general_identity(case, ddof):
    rewards, weights = case
    predicted, observed = theory.ac_mean_square(rewards, weights, ddof)
    np.testing.assert_allclose(observed, predicted, rtol=RTOL, atol=1e-12)
    n_rollouts = rewards.shape[-2]
    assert np.all(observed <= (n_rollouts - ddof) / n_rollouts * (1 + RTOL))


@PROPERTY
@given(groups(min_objectives=2))
def test_prop1_ac_printed_form_when_every_objective_varies(case):
    rewards, weights = case
    std = rewards.std(axis=-2)
    assume(np.all(std > 1e-3 * np.maximum(1.0, np.abs(rewards).max())))
    _, observed = theory.ac_mean_square(rewards, weights)
    np.testing.assert_allclose(theory.ac_mean_square_paper(rewards, weights), observed, rtol=RTOL, atol=1e-12)


# ---- Prop. 2: boundedness ----


@PROPERTY
@given(groups(min_objectives=2), st.sampled_from([0, 1]))
def test_prop2_dvao_shrinks_rc_pointwise(case, ddof):
    rewards, weights = case
    abs_dvao = np.abs(mowsim.advantages(rewards, "dvao", weights, ddof=ddof))
    abs_rc = np.abs(mowsim.advantages(rewards, "rc", weights, ddof=ddof))
    assert np.all(abs_dvao <= abs_rc + 1e-9 * np.maximum(1.0, abs_rc))
    shrinkage = theory.dvao_shrinkage(rewards, weights)
    assert np.all(shrinkage <= 1.0 + 1e-12)
    np.testing.assert_allclose(abs_dvao, np.expand_dims(shrinkage, -1) * abs_rc, rtol=RTOL, atol=1e-9)


@PROPERTY
@given(groups(min_objectives=2, max_rollouts=6), st.sampled_from([0, 1]))
def test_prop2_equality_iff_perfectly_correlated(case, ddof):
    rewards, weights = case
    rc = mowsim.advantages(rewards, "rc", weights, ddof=ddof)
    informative = np.any(rc != 0.0, axis=-1)  # a constant weighted sum makes both advantages 0: equal regardless
    equal = theory.dvao_equals_rc(rewards, weights, ddof)
    correlated = theory.objectives_perfectly_correlated(rewards, weights)
    np.testing.assert_array_equal(equal[informative], correlated[informative])


@PROPERTY
@given(hnp.arrays(np.float64, st.integers(2, 10), elements=REWARD), st.integers(1, 4), st.sampled_from([0, 1]),
       st.data())
def test_prop2_affinely_related_objectives_attain_equality(shared, n_objectives, ddof, data):
    assume(np.ptp(shared) > 1e-3)
    slopes = data.draw(hnp.arrays(np.float64, n_objectives, elements=st.floats(0.1, 5.0)))
    offsets = data.draw(hnp.arrays(np.float64, n_objectives, elements=st.floats(-2.0, 2.0)))
    rewards = offsets + slopes * shared[:, None]
    assert theory.objectives_perfectly_correlated(rewards)
    assert theory.dvao_equals_rc(rewards, ddof=ddof)
    assert theory.dvao_shrinkage(rewards) == pytest.approx(1.0)


@PROPERTY
@given(groups(), st.sampled_from([0, 1]))
def test_prop2_samuelson(case, ddof):
    rewards, weights = case
    bound = theory.samuelson_bound(rewards.shape[-2], ddof) * (1 + 1e-12)
    for scheme in ("rc", "ac", "dvao"):
        assert np.abs(mowsim.advantages(rewards, scheme, weights, ddof=ddof)).max() <= bound
    single = rewards[..., :1]
    assert np.abs(mowsim.advantages(single, "ac", [1.0], ddof=ddof)).max() <= bound


@PROPERTY
@given(groups(min_objectives=2), st.sampled_from([0, 1]))
def test_prop2_dvao_mean_square(case, ddof):
    rewards, weights = case
    predicted, observed = theory.dvao_mean_square(rewards, weights, ddof)
    np.testing.assert_allclose(observed, predicted, rtol=RTOL, atol=1e-12)
    n_rollouts = rewards.shape[-2]
    assert np.all(observed <= (n_rollouts - ddof) / n_rollouts * (1 + RTOL))


# ---- Prop. 3: sensitivity ----


@PROPERTY
@given(groups(min_objectives=2, max_objectives=3, max_rollouts=8, batched=False), st.sampled_from([0, 1]),
       st.sampled_from(theory.JACOBIAN_SCHEMES))
def test_prop3_jacobian_matches_finite_differences(case, ddof, scheme):
    rewards, weights = case
    std = rewards.std(axis=0)
    assume(np.all(std > 0.05) and (rewards @ weights).std() > 0.05)
    analytic = theory.advantage_jacobian(rewards, scheme, weights, ddof)
    numeric = theory.finite_difference_jacobian(rewards, scheme, weights, ddof)
    # Errors in units of the advantage per one std of the objective's reward, as mowsim bounds reports them.
    assert np.abs((numeric - analytic) * std).max() < 1e-6
    diagonal = np.einsum("jjk->jk", analytic)
    np.testing.assert_allclose(theory.sensitivity(rewards, scheme, weights, ddof), diagonal)


# ---- GDPO: growth of the unwhitened sum, removed by the batch z-score ----


@PROPERTY
@given(groups(batched=True), st.sampled_from([0, 1]))
def test_gdpo_unwhitened_bound_and_whitened_scale(case, ddof):
    rewards, weights = case
    n_groups, n_rollouts, n_objectives = rewards.shape
    unwhitened = np.abs(theory.gdpo_unwhitened(rewards, ddof))
    assert unwhitened.max() <= theory.gdpo_unwhitened_bound(n_rollouts, n_objectives, ddof) * (1 + 1e-12)
    for scheme in ("gdpo", "saw-gdpo"):
        predicted, observed = theory.batch_mean_square(rewards, scheme, weights, ddof)
        assert observed == pytest.approx(predicted, rel=RTOL, abs=1e-12)
        assert predicted in (0.0, pytest.approx((n_groups * n_rollouts - ddof) / (n_groups * n_rollouts)))


@pytest.mark.parametrize("n_objectives", [1, 2, 4, 8])
def test_gdpo_unwhitened_grows_with_k_and_whitening_removes_it(n_objectives):
    rewards = np.stack([one_hot_group(6, n_objectives), np.random.default_rng(0).random((6, n_objectives))])
    bound = theory.gdpo_unwhitened_bound(6, n_objectives)
    assert np.abs(theory.gdpo_unwhitened(rewards)).max() == pytest.approx(bound)
    assert theory.batch_mean_square(rewards).observed == pytest.approx(1.0)
