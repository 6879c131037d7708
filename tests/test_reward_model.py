"""The shared reward model (mowsim.envs._reward): flips, noise, correlation, heavy tails, spurious objectives,
mis-calibration and GDPO conditioning, checked on many draws of the compiled ``observe`` kernel and end to end.

Statistical checks use fixed seeds and 4-sigma tolerances computed from the target distribution's moments.
"""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit
from scipy import stats

import mowsim
from mowsim import _rng
from mowsim.envs import Bandit, ContextualBandit, SequenceTask
from mowsim.envs._reward import condition_batch, observe
from mowsim.train import train

N_DRAWS = 200_000


@njit(cache=True)
def _observe_many(state, clean, flip_prob, noise_sd, noise_factor, noise_df, n_spurious, spurious_sd, scale,
                  offset, binary, n):
    rows = np.empty((n, clean.shape[0]))
    for i in range(n):
        rows[i] = clean
    out = np.empty((n, clean.shape[0] + n_spurious))
    noise_buf = np.empty(clean.shape[0])
    observe(state, rows, flip_prob, noise_sd, noise_factor, noise_df, n_spurious, spurious_sd, scale, offset,
            binary, noise_buf, out)
    return out


def observe_many(env, clean, n: int = N_DRAWS, seed: int = 0) -> np.ndarray:
    """n observed reward vectors (n, K) of the clean true-objective values ``clean`` under ``env``'s knobs."""
    a = env.reward_arrays()
    state = _rng.seed_states([np.random.SeedSequence(seed)])[0]
    return _observe_many(state, np.asarray(clean, dtype=np.float64), a.flip_prob, a.noise_sd, a.noise_factor,
                         a.noise_df, a.n_spurious, a.spurious_sd, a.scale, a.offset, a.binary, n)


def assert_close(observed, expected, standard_error, what: str) -> None:
    observed, expected, standard_error = map(np.asarray, (observed, expected, standard_error))
    assert np.all(np.abs(observed - expected) <= 4.0 * standard_error), (
        f"{what}: observed {observed}, expected {expected} +- 4 x {standard_error}"
    )


# --- the knobs as arrays ------------------------------------------------------------------------------------


@pytest.mark.parametrize("n_true, correlation", [(1, 0.0), (2, -1.0), (3, 0.6), (3, -0.5), (4, 1.0), (5, -0.25)])
def test_noise_factor_reproduces_the_equicorrelation(n_true, correlation):
    env = Bandit(n_objectives=n_true, noise_correlation=correlation)
    factor = env.reward_arrays().noise_factor
    target = np.full((n_true, n_true), correlation) + (1 - correlation) * np.eye(n_true)
    np.testing.assert_allclose(factor @ factor.T, target, atol=1e-12)


def test_every_environment_shares_the_reward_model():
    knobs = dict(noise_sd=(0.1, 0.2, 0.3), flip_prob=0.05, noise_correlation=0.4, n_spurious=1,
                 reward_scale=(1.0, 2.0, 3.0, 4.0), condition=(0, 2, 0.5), noise_df=5.0)
    arrays = [Bandit(n_objectives=3, **knobs).reward_arrays(),
              ContextualBandit(n_objectives=3, **knobs).reward_arrays(),
              SequenceTask(**knobs).reward_arrays()]
    for other in arrays[1:]:
        for field in ("flip_prob", "noise_sd", "noise_factor", "scale", "offset", "condition"):
            np.testing.assert_array_equal(getattr(other, field), getattr(arrays[0], field))
    np.testing.assert_array_equal(arrays[0].condition, [1.0, 0.0, 2.0, 0.5])
    np.testing.assert_array_equal(Bandit().reward_arrays().condition, np.zeros(4))


# --- flips --------------------------------------------------------------------------------------------------


def test_label_flips_happen_at_the_requested_rate():
    flip = np.array([0.1, 0.25, 0.5, 0.0])
    env = Bandit(n_objectives=4, flip_prob=tuple(flip))
    clean = np.array([1.0, 0.0, 1.0, 1.0])
    observed = observe_many(env, clean)
    assert set(np.unique(observed)) <= {0.0, 1.0}
    flipped = (observed != clean).mean(axis=0)
    assert_close(flipped, flip, np.sqrt(flip * (1 - flip) / N_DRAWS), "flip rate")
    assert flipped[3] == 0.0
    # Flips are independent across objectives.
    both = ((observed[:, 0] != clean[0]) & (observed[:, 1] != clean[1])).mean()
    assert_close(both, 0.1 * 0.25, np.sqrt(0.025 * 0.975 / N_DRAWS), "joint flip rate")


def test_flips_apply_to_binary_rewards_only():
    """``flip_prob`` is defined for 0/1 outcomes: asking for flips of continuous rewards is an error, not a no-op."""
    with pytest.raises(ValueError, match="flip_prob.*binary=True"):
        Bandit(binary=False, flip_prob=0.4)
    observed = observe_many(Bandit(binary=False), [0.3, 0.8], n=1000)
    np.testing.assert_array_equal(observed, np.tile([0.3, 0.8], (1000, 1)))


# --- additive noise -----------------------------------------------------------------------------------------


def test_gaussian_noise_has_the_requested_sd():
    sd = np.array([0.5, 2.0, 0.0])
    env = Bandit(n_objectives=3, binary=False, noise_sd=tuple(sd))
    clean = np.array([0.3, 0.7, 0.4])
    observed = observe_many(env, clean)
    assert_close(observed.mean(axis=0)[:2], clean[:2], sd[:2] / np.sqrt(N_DRAWS), "noise mean")
    assert_close(observed.std(axis=0)[:2], sd[:2], sd[:2] / np.sqrt(2 * N_DRAWS), "noise sd")
    assert_close(stats.kurtosis(observed[:, :2], axis=0, fisher=False), 3.0, np.sqrt(24 / N_DRAWS), "kurtosis")
    np.testing.assert_array_equal(observed[:, 2], 0.4)  # noise_sd 0: untouched
    # Independent across objectives at noise_correlation=0.
    assert_close(np.corrcoef(observed[:, 0], observed[:, 1])[0, 1], 0.0, 1 / np.sqrt(N_DRAWS), "correlation")


def test_noise_is_added_after_the_binary_outcome():
    observed = observe_many(Bandit(n_objectives=1, noise_sd=0.3, flip_prob=0.2), [1.0])[:, 0]
    # Bernoulli(0.8) (1 flipped at rate 0.2) plus N(0, 0.3^2): mean 0.8, variance 0.16 + 0.09 = 0.25, and 4th
    # central moment E(B - 0.8)^4 + 6 * 0.16 * 0.09 + 3 * 0.3^4 = 0.1939.
    assert_close(observed.mean(), 0.8, np.sqrt(0.25 / N_DRAWS), "mean")
    assert_close(observed.var(), 0.25, np.sqrt((0.1939 - 0.25**2) / N_DRAWS), "variance")


@pytest.mark.parametrize("n_true, correlation", [(2, 0.6), (3, 0.95), (3, -0.3), (2, -0.8)])
def test_noise_correlation_matches_the_knob(n_true, correlation):
    env = Bandit(n_objectives=n_true, binary=False, noise_sd=tuple(np.linspace(0.5, 1.5, n_true)),
                 noise_correlation=correlation)
    observed = observe_many(env, np.full(n_true, 0.5))
    corr = np.corrcoef(observed.T)
    pairs = corr[np.triu_indices(n_true, 1)]
    assert_close(pairs, correlation, (1 - correlation**2) / np.sqrt(N_DRAWS), "noise correlation")


def test_boundary_negative_correlation_makes_the_noise_sum_to_zero():
    """At noise_correlation = -1/(K-1) the correlation matrix is singular: the K noise terms sum to 0."""
    env = Bandit(n_objectives=3, binary=False, noise_sd=1.0, noise_correlation=-0.5)
    noise = observe_many(env, [0.0, 0.0, 0.0], n=20_000)
    assert noise.var(axis=0).min() > 0.9
    assert noise.sum(axis=1).var() < 1e-20


def test_student_t_noise_is_heavier_tailed_than_gaussian():
    gaussian = observe_many(Bandit(n_objectives=1, binary=False, noise_sd=1.0), [0.0])[:, 0]
    heavy = observe_many(Bandit(n_objectives=1, binary=False, noise_sd=1.0, noise_df=3), [0.0])[:, 0]
    assert_close(stats.kurtosis(gaussian, fisher=False), 3.0, np.sqrt(24 / N_DRAWS), "gaussian kurtosis")
    # t_3 has infinite kurtosis; its sample kurtosis at this size is far above Gaussian's 3 (observed ~20-40).
    assert stats.kurtosis(heavy, fisher=False) > 8.0
    # The tails: P(|t_3| > 4) = 0.028 against 6e-5 for a normal.
    assert_close((np.abs(heavy) > 4).mean(), 2 * stats.t(3).sf(4), np.sqrt(0.028 / N_DRAWS), "t_3 tail mass")
    assert stats.kstest(heavy, stats.t(3).cdf).pvalue > 1e-3


def test_student_t_noise_scale_and_correlation():
    """noise_sd scales a multivariate t: variance noise_sd^2 df/(df-2), correlation noise_correlation."""
    df, sd, rho = 10.0, 0.5, 0.5
    env = Bandit(n_objectives=2, binary=False, noise_sd=sd, noise_df=df, noise_correlation=rho)
    noise = observe_many(env, [0.0, 0.0])
    variance = sd**2 * df / (df - 2)
    kurtosis = 3 + 6 / (df - 4)
    assert_close(noise.var(axis=0), variance, variance * np.sqrt((kurtosis - 1) / N_DRAWS), "t variance")
    assert_close(np.corrcoef(noise.T)[0, 1], rho, 2 * (1 - rho**2) / np.sqrt(N_DRAWS), "t correlation")
    # One chi-square mixing factor per rollout: the two tails move together, unlike independent t noises.
    big = np.abs(noise) > 3 * sd
    assert big.all(axis=1).mean() > 3 * big[:, 0].mean() * big[:, 1].mean()


# --- spurious objectives ------------------------------------------------------------------------------------


def test_spurious_rewards_ignore_the_clean_outcome():
    """Same random stream, opposite clean outcomes: the spurious columns are bit-identical."""
    env = Bandit(n_objectives=2, n_spurious=2, spurious_sd=1.5, noise_sd=0.2, flip_prob=0.1)
    low = observe_many(env, [0.0, 0.0], n=50_000, seed=4)
    high = observe_many(env, [1.0, 1.0], n=50_000, seed=4)
    np.testing.assert_array_equal(low[:, 2:], high[:, 2:])
    assert not np.array_equal(low[:, :2], high[:, :2])


def test_spurious_rewards_are_normal_with_the_requested_sd():
    env = Bandit(n_objectives=1, n_spurious=2, spurious_sd=1.5)
    spurious = observe_many(env, [1.0])[:, 1:]
    assert_close(spurious.mean(axis=0), 0.0, 1.5 / np.sqrt(N_DRAWS), "spurious mean")
    assert_close(spurious.std(axis=0), 1.5, 1.5 / np.sqrt(2 * N_DRAWS), "spurious sd")
    assert_close(np.corrcoef(spurious.T)[0, 1], 0.0, 1 / np.sqrt(N_DRAWS), "spurious correlation")


def test_spurious_objective_in_the_training_loop():
    """End to end with a frozen uniform policy (lr=0): the spurious objective has no truth (expected reward 0) and
    is pure noise (never a constant group), while a continuous true objective is constant exactly when both
    rollouts of a group pick the same arm (probability 1/4 with 4 arms)."""
    env = Bandit(n_arms=4, n_objectives=1, n_spurious=1, binary=False)
    history = train(env, "rc", steps=1, group_size=2, n_groups=4096, lr=0.0).history
    assert (history.loc[history.objective_name == "spurious_0", "expected_reward"] == 0.0).all()
    step0 = history[history.step == 0].set_index("objective_name")["zero_variance_share"]
    assert step0["spurious_0"] == 0.0
    assert_close(step0["objective_0"], 0.25, np.sqrt(0.25 * 0.75 / 4096), "same-arm share")


# --- mis-calibration ----------------------------------------------------------------------------------------


def test_reward_scale_and_offset():
    env = Bandit(n_objectives=2, n_spurious=1, spurious_sd=2.0, reward_scale=(1.0, 100.0, 3.0),
                 reward_offset=(0.5, -2.0, 1.0))
    observed = observe_many(env, [1.0, 0.0], n=100_000)
    np.testing.assert_array_equal(observed[:, 0], 1.5)
    np.testing.assert_array_equal(observed[:, 1], -2.0)
    assert_close(observed[:, 2].mean(), 1.0, 6.0 / np.sqrt(observed.shape[0]), "spurious offset")
    assert_close(observed[:, 2].std(), 6.0, 6.0 / np.sqrt(2 * observed.shape[0]), "spurious scale")


def test_reward_scale_multiplies_the_noise():
    env = Bandit(n_objectives=2, binary=False, noise_sd=0.1, reward_scale=(1.0, 100.0))
    observed = observe_many(env, [0.5, 0.5])
    assert_close(observed.mean(axis=0), [0.5, 50.0], [0.1 / np.sqrt(N_DRAWS), 10 / np.sqrt(N_DRAWS)], "mean")
    assert_close(observed.std(axis=0), [0.1, 10.0], np.array([0.1, 10.0]) / np.sqrt(2 * N_DRAWS), "sd")


# --- GDPO conditioning --------------------------------------------------------------------------------------


@pytest.mark.parametrize("binary", [True, False])
@pytest.mark.parametrize("easy, hard, threshold", [(0, 1, 0.5), (2, 0, 1.0), (1, 2, 0.2), (0, 2, 0.37)])
def test_condition_batch_matches_condition_rewards(binary, easy, hard, threshold):
    rng = np.random.default_rng(17)
    rewards = rng.integers(0, 2, size=(16, 8, 3)).astype(float) if binary else rng.uniform(-0.2, 1.2, (16, 8, 3))
    expected = mowsim.condition_rewards(rewards, easy, hard, threshold)
    got = rewards.copy()
    condition_batch(got, np.array([1.0, easy, hard, threshold]))
    np.testing.assert_array_equal(got, expected)
    # The conditioning did something on this batch: some easy rewards were zeroed, some kept.
    gated = rewards[:, :, hard] < threshold
    assert gated.any() and (~gated).any()
    np.testing.assert_array_equal(got[:, :, easy][gated], 0.0)


def test_condition_disabled_leaves_rewards_alone():
    rewards = np.random.default_rng(3).uniform(size=(4, 5, 2))
    got = rewards.copy()
    condition_batch(got, np.zeros(4))
    np.testing.assert_array_equal(got, rewards)


def test_conditioning_runs_in_the_training_loop():
    """With an unreachable threshold the easy reward is always zeroed: every group is constant in it."""
    env = Bandit(condition=(0, 1, 5.0))
    history = train(env, "gdpo", steps=3, group_size=8, n_groups=32).history
    defined = history[history.step < 3]
    assert (defined.loc[defined.objective == 0, "zero_variance_share"] == 1.0).all()
    assert (defined.loc[defined.objective == 1, "zero_variance_share"] < 1.0).all()
    # The truth tracks the clean objective, not the gated observation.
    assert (history.loc[history.objective == 0, "expected_reward"] > 0.0).all()
