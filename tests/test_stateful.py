"""Stateful schemes: the feedback protocol, mowsim's DVAO variants (dvao-ema, dvao-reliable), and every stateful
scheme inside the compiled training loops.

The DVAO variants are checked against formulas written out here (not the NumPy references in
:mod:`mowsim.schemes.dynamic`, which the backend comparison covers), and against DVAO in the cases where they must
reduce to it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import EDGE_CASES
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import mowsim
from mowsim.envs import Bandit, ContextualBandit, SequenceTask
from mowsim.schemes import _stateful, dynamic, get, reference
from mowsim.train import train, train_many

CLOSE = {"rtol": 1e-12, "atol": 1e-12}
STATEFUL = [name for name in mowsim.schemes.available() if get(name).stateful]
GRAM_SCHEMES = ("gradient", "mgda", "pcgrad")


def feed(scheme, rng, n_objectives, steps=3, shape=(4, 6)):
    """Drive a scheme the way a host does: update(rewards, rescored, gram) before the batch, performance after."""
    for _ in range(steps):
        rewards = rng.normal(size=shape + (n_objectives,))
        g = rng.normal(size=(n_objectives, 5))
        scheme.update(rewards=rewards, rescored=rewards + 0.3 * rng.normal(size=rewards.shape), gram=g @ g.T,
                      lr=0.5)
        scheme.update(performance=rng.random(min(n_objectives, 3)))
    return scheme


# ----------------------------------------------------------------------------------------------------------------
# the protocol, for every stateful scheme


def test_stateful_schemes_are_registered():
    assert set(STATEFUL) == {"hv-guided", "gradient", "mgda", "pcgrad", "dvao-ema", "dvao-reliable"}


@pytest.mark.parametrize("name", STATEFUL)
def test_feedback_declaration_and_state(name):
    scheme = get(name)
    assert scheme.feedback and set(scheme.feedback) <= set(dynamic.FEEDBACK)
    assert scheme.state is None
    assert scheme.reset(3, [0.2, 0.3, 0.5]) is scheme
    state = scheme.state
    assert state.shape == (_stateful.state_size(scheme.kernel_id, 3),)
    assert state[_stateful.R_PARETO] == 1.0 and np.isnan(state[_stateful.DELTA_HV])
    state[:] = 123.0  # a copy: the scheme's own state is untouched
    assert scheme.state[_stateful.R_PARETO] == 1.0
    np.testing.assert_allclose(scheme.current_weights(), [0.2, 0.3, 0.5], **CLOSE)


@pytest.mark.parametrize("name", STATEFUL)
def test_fresh_state_gives_the_stateless_baseline(name):
    """Before any feedback: hv-guided and gradient are RC, MGDA and PCGrad AC, the DVAO variants DVAO."""
    rewards, weights = EDGE_CASES["nan_entries"]
    baseline = {"hv-guided": "rc", "gradient": "rc", "mgda": "ac", "pcgrad": "ac", "dvao-ema": "dvao",
                "dvao-reliable": "dvao"}[name]
    normalized = weights / weights.sum()
    expected = mowsim.advantages(rewards, baseline, normalized if baseline == "ac" else weights)
    np.testing.assert_allclose(get(name).compute(rewards, weights).advantages, expected, **CLOSE)


@pytest.mark.parametrize("eps", [0.0, 1e-4])
@pytest.mark.parametrize("ddof", [0, 1])
@pytest.mark.parametrize("name", STATEFUL)
def test_backends_agree_after_updates(name, ddof, eps):
    rng = np.random.default_rng(1)
    for case in ("random", "nan_entries", "unscorable_rows", "constant_objective", "zero_weight", "mixed_scales"):
        rewards, weights = EDGE_CASES[case]
        scheme = feed(get(name).reset(rewards.shape[2], weights), rng, rewards.shape[2])
        results = {b: scheme.compute(rewards, weights, ddof=ddof, eps=eps, backend=b)
                   for b in mowsim.schemes.BACKENDS}
        for backend in ("numba", "python"):
            np.testing.assert_allclose(results[backend].advantages, results["numpy"].advantages, **CLOSE,
                                       err_msg=f"{case} {backend}")
            np.testing.assert_allclose(results[backend].weights, results["numpy"].weights, **CLOSE,
                                       err_msg=f"{case} {backend}")
        np.testing.assert_allclose(results["numba"].weights.sum(axis=1), 1.0, rtol=1e-12)


def _missing_feedback_calls(rewards, gram):
    """name -> update() calls that lack the feedback the scheme needs before its advantages."""
    return {
        "hv-guided": [{}],
        "gradient": [{}, {"rewards": rewards}, {"rewards": rewards, "rescored": rewards}],
        "mgda": [{}, {"rewards": rewards}],
        "pcgrad": [{}, {"rewards": rewards}],
        "dvao-ema": [{}, {"gram": gram}],
        "dvao-reliable": [{}, {"rewards": rewards}, {"rescored": rewards}, {"gram": gram}],
    }


@pytest.mark.parametrize("name", STATEFUL)
def test_update_without_required_feedback_raises(name):
    rewards = np.random.default_rng(2).normal(size=(2, 4, 2))
    calls = _missing_feedback_calls(rewards, np.eye(2))
    assert name in calls, f"add the calls that must fail for the new stateful scheme {name!r}"
    for kwargs in calls[name]:
        with pytest.raises(ValueError, match="feedback|rescored"):
            get(name).reset(2).update(**kwargs)


def test_update_calls_a_host_makes_are_accepted():
    rewards = np.random.default_rng(3).normal(size=(2, 4, 2))
    # the post-update call of a scheme that does not use performance, and the pre-update call of hv-guided
    for name in STATEFUL:
        get(name).reset(2).update(performance=[0.1, 0.2])
    get("hv-guided").reset(2).update(rewards=rewards, lr=0.1)
    # dvao-reliable needs no rescoring when every noise variance is known
    get("dvao-reliable", noise_variance=(0.1, 0.0)).reset(2).update(rewards=rewards)


@pytest.mark.parametrize("kwargs, match", [
    ({"gram": np.ones((2, 3))}, "square"),
    ({"gram": np.array([[1.0, np.nan], [np.nan, 1.0]])}, "finite"),
    ({"gram": np.eye(3), "rewards": np.zeros((1, 2, 2))}, "objectives"),
    ({"objective_gradients": np.ones(3)}, "objective_gradients"),
    ({"gram": np.eye(2), "objective_gradients": np.ones((2, 3))}, "either"),
    ({"gram": np.eye(2), "lr": -1.0}, "lr"),
    ({"gram": np.eye(2), "lr": np.nan}, "lr"),
    ({"performance": [np.nan, 1.0]}, "performance"),
    ({"performance": np.ones((2, 2))}, "performance"),
])
def test_update_rejects_malformed_feedback(kwargs, match):
    with pytest.raises(ValueError, match=match):
        get("gradient").reset(2).update(**kwargs)


def test_rescored_must_match_the_rewards():
    rewards = np.zeros((2, 4, 2))
    with pytest.raises(ValueError, match="rescored"):
        get("dvao-reliable").update(rewards=rewards, rescored=np.zeros((2, 3, 2)))


@pytest.mark.parametrize("name, params", [
    ("gradient", {"mu": 0.0}), ("gradient", {"mu": -1.0}), ("gradient", {"mu": np.nan}),
    ("gradient", {"clip_norm": -0.1}),
    ("hv-guided", {"apply_to": "rewards"}), ("hv-guided", {"gain_scale": 0.0}), ("hv-guided", {"gain_scale": np.inf}),
    ("dvao-ema", {"decay": 1.0}), ("dvao-ema", {"decay": -0.1}), ("dvao-ema", {"shrinkage": 1.5}),
    ("dvao-ema", {"shrinkage": -0.1}),
    ("dvao-reliable", {"decay": 1.0}), ("dvao-reliable", {"noise_variance": (0.1, -0.2)}),
    ("dvao-reliable", {"noise_variance": (np.inf, 0.0)}), ("dvao-reliable", {"noise_variance": ((0.1,),)}),
])
def test_bad_parameters_raise(name, params):
    with pytest.raises(ValueError):
        get(name, **params)


def test_noise_variance_must_match_the_number_of_objectives():
    with pytest.raises(ValueError, match="noise_variance"):
        get("dvao-reliable", noise_variance=(0.1, 0.2)).compute(np.zeros((1, 3, 3)))


# ----------------------------------------------------------------------------------------------------------------
# dvao-ema


def group_variances(rewards, ddof):
    """Each objective's mean within-group variance over the groups where it varies (NaN if none)."""
    _, std = reference.moments(rewards, axis=1, ddof=ddof)
    varies = (std > 0).sum(axis=0)
    return np.where(varies > 0, np.where(std > 0, std**2, 0.0).sum(axis=0) / np.maximum(varies, 1), np.nan)


def ema_advantages(rewards, weights, pooled, shrinkage, ddof):
    """A = sum_k w_k (r_k - mu_k) / sum_l w_l s_l, s_l^2 = lambda v_l + (1 - lambda) sigma_l^2 (0 if constant)."""
    mean, std = reference.moments(rewards, axis=1, ddof=ddof)
    pooled = np.where(np.isnan(pooled), std**2, pooled)
    spread = np.where(std > 0, np.sqrt(shrinkage * pooled + (1 - shrinkage) * std**2), 0.0)
    total = (weights * spread).sum(axis=1)
    centered = np.where(np.isnan(rewards) | (std[:, None] == 0), 0.0, rewards - mean[:, None])
    return (weights * centered).sum(axis=2) / total[:, None], weights * spread / total[:, None]


@pytest.mark.parametrize("ddof", [0, 1])
def test_dvao_ema_pooled_variance_by_hand(ddof):
    rng = np.random.default_rng(4)
    decay, shrinkage = 0.8, 0.6
    weights = np.array([0.5, 1.0, 0.25])
    scheme = get("dvao-ema", decay=decay, shrinkage=shrinkage).reset(3, weights)
    assert np.isnan(scheme.pooled_variance()).all()
    first = rng.normal(size=(5, 6, 3)) * [1.0, 3.0, 0.5]
    first[:, :, 2] = 0.7  # objective 2 is constant in every group of the first batch: no variance to pool yet
    scheme.update(rewards=first, ddof=ddof)
    expected = group_variances(first, ddof)
    assert np.isnan(expected[2])
    np.testing.assert_allclose(scheme.pooled_variance(), expected, **CLOSE)
    for _ in range(4):
        batch = rng.normal(size=(5, 6, 3)) * [1.0, 3.0, 0.5]
        batch[0, :, 1] = 2.0  # a constant group does not enter the mean
        scheme.update(rewards=batch, ddof=ddof)
        value = group_variances(batch, ddof)
        expected = np.where(np.isnan(expected), value, decay * expected + (1 - decay) * value)
        np.testing.assert_allclose(scheme.pooled_variance(), expected, **CLOSE)
    rewards = rng.normal(size=(3, 5, 3))
    rewards[1, :, 0] = 0.1  # constant in one group
    advantages, effective = ema_advantages(rewards, weights, expected, shrinkage, ddof)
    out = scheme.compute(rewards, weights, ddof=ddof)
    np.testing.assert_allclose(out.advantages, advantages, **CLOSE)
    np.testing.assert_allclose(out.weights, effective, **CLOSE)
    assert np.all(out.weights[1, 0] == 0.0)


def test_dvao_ema_objective_first_seen_constant_starts_its_ema_when_it_varies():
    scheme = get("dvao-ema", decay=0.9).reset(2)
    constant = np.zeros((2, 4, 2))
    constant[:, :, 0] = [[0.0, 1.0, 0.0, 1.0]]
    scheme.update(rewards=constant)
    assert scheme.pooled_variance()[0] == 0.25 and np.isnan(scheme.pooled_variance()[1])
    varying = np.zeros((2, 4, 2))
    varying[:, :, 1] = [[0.0, 2.0, 0.0, 2.0]]
    scheme.update(rewards=varying)
    # objective 1 is pooled from its first varying batch, not pulled toward a 0 it never had
    np.testing.assert_allclose(scheme.pooled_variance(), [0.25, 1.0], **CLOSE)


@pytest.mark.parametrize("ddof", [0, 1])
@pytest.mark.parametrize("case", sorted(EDGE_CASES))
def test_dvao_ema_without_shrinkage_is_dvao(case, ddof):
    rewards, weights = EDGE_CASES[case]
    scheme = feed(get("dvao-ema", shrinkage=0.0).reset(rewards.shape[2], weights), np.random.default_rng(5),
                  rewards.shape[2])
    out = scheme.compute(rewards, weights, ddof=ddof)
    dvao = get("dvao").compute(rewards, weights, ddof=ddof)
    np.testing.assert_allclose(out.advantages, dvao.advantages, **CLOSE)
    np.testing.assert_allclose(out.weights, dvao.weights, **CLOSE)


def test_dvao_ema_constant_objectives_contribute_nothing():
    rng = np.random.default_rng(6)
    scheme = feed(get("dvao-ema", shrinkage=0.7).reset(3), rng, 3)
    rewards = rng.normal(size=(4, 6, 3))
    rewards[:, :, 1] = 0.3
    shifted = rewards.copy()
    shifted[:, :, 1] = 5.0
    out = scheme.compute(rewards)
    np.testing.assert_array_equal(out.weights[:, 1], 0.0)
    np.testing.assert_allclose(scheme.compute(shifted).advantages, out.advantages, **CLOSE)


# ----------------------------------------------------------------------------------------------------------------
# dvao-reliable


@pytest.mark.parametrize("eps", [0.0, 1e-4])
@pytest.mark.parametrize("case", sorted(EDGE_CASES))
def test_dvao_reliable_without_noise_is_dvao(case, eps):
    rewards, weights = EDGE_CASES[case]
    k = rewards.shape[2]
    dvao = get("dvao").compute(rewards, weights, eps=eps)
    known = get("dvao-reliable", noise_variance=(0.0,) * k).compute(rewards, weights, eps=eps)
    estimated = get("dvao-reliable").reset(k, weights)
    estimated.update(rewards=rewards, rescored=rewards)  # identical rescoring: noise estimate 0
    np.testing.assert_array_equal(estimated.noise_estimate(), 0.0)
    for out in (known, estimated.compute(rewards, weights, eps=eps)):
        np.testing.assert_allclose(out.advantages, dvao.advantages, **CLOSE)
        np.testing.assert_allclose(out.weights, dvao.weights, **CLOSE)


def test_dvao_reliable_drops_an_objective_that_is_all_noise():
    rng = np.random.default_rng(7)
    n_rollouts = 16
    signal = rng.integers(0, 2, size=(6, n_rollouts, 2)).astype(float)
    noise = rng.normal(size=(6, n_rollouts, 1))
    noise = (noise - noise.mean(axis=1, keepdims=True)) / noise.std(axis=1, keepdims=True)
    noise *= 2.0 * np.sqrt((n_rollouts - 1) / n_rollouts)  # sample variance (ddof 0) = its expectation c * 4
    rewards = np.concatenate([signal, noise], axis=2)
    out = get("dvao-reliable", noise_variance=(0.0, 0.0, 4.0)).compute(rewards)
    assert np.all(out.weights[:, 2] < 1e-6)
    np.testing.assert_allclose(out.advantages, mowsim.advantages(signal, "dvao"), atol=1e-6)
    assert np.all(mowsim.effective_weights(rewards, "dvao")[:, 2] > 0.5)  # DVAO trusts it the most


def test_dvao_reliable_mostly_ignores_noise_in_large_groups():
    rng = np.random.default_rng(8)
    signal = rng.integers(0, 2, size=(8, 2048, 2)).astype(float)
    rewards = np.concatenate([signal, 2.0 * rng.normal(size=(8, 2048, 1))], axis=2)
    reliable = get("dvao-reliable", noise_variance=(0.0, 0.0, 4.0)).compute(rewards).weights[:, 2]
    assert reliable.mean() < 0.1 < 0.6 < mowsim.effective_weights(rewards, "dvao")[:, 2].mean()


def test_dvao_reliable_noise_estimate_converges_to_the_true_noise_variance():
    rng = np.random.default_rng(9)
    noise_sd = np.array([0.0, 0.5, 2.0])
    scheme = get("dvao-reliable", decay=0.9).reset(3)
    for _ in range(60):
        signal = rng.integers(0, 2, size=(16, 16, 3)).astype(float)
        rewards = signal + noise_sd * rng.normal(size=signal.shape)
        rescored = signal + noise_sd * rng.normal(size=signal.shape)
        scheme.update(rewards=rewards, rescored=rescored)
    estimate = scheme.noise_estimate()
    assert estimate[0] == 0.0
    np.testing.assert_allclose(estimate[1:], noise_sd[1:] ** 2, rtol=0.1)


def test_dvao_reliable_noise_estimate_ema_by_hand():
    rng = np.random.default_rng(10)
    scheme = get("dvao-reliable", decay=0.7, noise_variance=(np.nan, 0.3)).reset(2)
    expected = None
    for _ in range(3):
        rewards = rng.normal(size=(3, 4, 2))
        rescored = rewards + rng.normal(size=rewards.shape)
        rescored[0, 0, 0] = np.nan  # an unscored entry leaves the mean
        value = np.nanmean(0.5 * (rewards - rescored) ** 2, axis=(0, 1))
        expected = value if expected is None else 0.7 * expected + 0.3 * value
        scheme.update(rewards=rewards, rescored=rescored)
    np.testing.assert_allclose(scheme.noise_estimate(), [expected[0], 0.3], **CLOSE)  # known variances win


GRID = st.integers(-300, 310).map(lambda i: np.nan if i > 300 else i / 100)


@settings(deadline=None, max_examples=100)
@given(rewards=st.integers(2, 12).flatmap(
           lambda g: arrays(np.float64, st.tuples(st.integers(1, 3), st.just(g), st.integers(1, 4)), elements=GRID)),
       noise=st.lists(st.integers(0, 200).map(lambda i: i / 100), min_size=4, max_size=4))
def test_dvao_reliable_bounds(rewards, noise):
    """A convex combination of z-scores: |A| <= max_k |A_k| <= sqrt(G - 1) and mean-square <= 1 (ddof 0)."""
    k = rewards.shape[2]
    out = get("dvao-reliable", noise_variance=tuple(noise[:k])).compute(rewards)
    zscores = reference.objective_stats(rewards, 0, 0.0)[3]
    assert np.all(np.abs(out.advantages) <= np.abs(zscores).max(axis=2) * (1 + 1e-12) + 1e-12)
    assert np.all(np.abs(out.advantages) <= np.sqrt(rewards.shape[1] - 1) + 1e-12)
    assert np.all((out.advantages**2).mean(axis=1) <= 1 + 1e-12)
    np.testing.assert_allclose(out.weights.sum(axis=1), 1.0, rtol=1e-12)
    assert np.all(out.weights >= 0)


# ----------------------------------------------------------------------------------------------------------------
# inside the compiled training loops

ENVS = {
    "bandit": Bandit(n_arms=6, n_objectives=2),
    "contextual": ContextualBandit(n_prompts=4, n_arms=4, n_objectives=3, n_spurious=1),
    "sequence": SequenceTask(n_prompts=2, max_len=5, length_limit=3),
}
LOOP = dict(steps=12, group_size=6, n_groups=6)


@pytest.fixture(scope="module")
def loop_histories():
    """env name -> history of every stateful scheme, seeds 0 and 1 (one compiled call per env)."""
    return {name: train_many(env, STATEFUL, seeds=[0, 1], parallel=False, **LOOP).history
            for name, env in ENVS.items()}


@pytest.mark.parametrize("env_name", sorted(ENVS))
def test_loop_records_the_meta_reward_only_for_hv_guided(loop_histories, env_name):
    history = loop_histories[env_name]
    assert set(history["scheme"].astype(str)) == set(STATEFUL)
    for name, rows in history.groupby("scheme", observed=True):
        r_pareto, delta_hv = rows["r_pareto"].to_numpy(), rows["delta_hv"].to_numpy()
        if name != "hv-guided":
            assert np.isnan(r_pareto).all() and np.isnan(delta_hv).all(), name
            continue
        assert np.all((r_pareto >= 0.5) & (r_pareto < 2.0))
        first = rows["step"].to_numpy() == 0
        assert np.all(r_pareto[first] == 1.0) and np.isnan(delta_hv[first]).all()
        assert np.all(delta_hv[~first] >= 0.0)
        np.testing.assert_allclose(r_pareto[~first], 0.5 + 1.5 * np.tanh(delta_hv[~first]), rtol=1e-14)


@pytest.mark.parametrize("env_name", sorted(ENVS))
def test_loop_gradient_schemes_move_their_weights(loop_histories, env_name):
    history = loop_histories[env_name]
    for name in GRAM_SCHEMES:
        rows = history[(history["scheme"] == name) & (history["seed"] == 0)]
        weights = rows.pivot(index="step", columns="objective", values="effective_weight").to_numpy()[:-1]
        np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-12)
        assert np.all(weights >= 0)
        assert np.ptp(weights[:, 0]) > 1e-3, name


@pytest.mark.parametrize("env_name", sorted(ENVS))
def test_loop_is_deterministic_and_parallel_equals_serial(loop_histories, env_name):
    parallel = train_many(ENVS[env_name], STATEFUL, seeds=[0, 1], parallel=True, **LOOP).history
    pd.testing.assert_frame_equal(parallel, loop_histories[env_name])
    alone = train(ENVS[env_name], "hv-guided", seed=1, **LOOP).history
    grid = loop_histories[env_name]
    grid = grid[(grid["scheme"] == "hv-guided") & (grid["seed"] == 1)]
    np.testing.assert_array_equal(alone["expected_reward"].to_numpy(), grid["expected_reward"].to_numpy())
    np.testing.assert_array_equal(alone["r_pareto"].to_numpy(), grid["r_pareto"].to_numpy())


@pytest.mark.parametrize("env_name", sorted(ENVS))
def test_loop_heldout_samples_estimate_the_performance(env_name):
    exact = train(ENVS[env_name], "hv-guided", heldout_samples=0, **LOOP).history
    sampled = train(ENVS[env_name], "hv-guided", heldout_samples=4, **LOOP).history
    again = train(ENVS[env_name], "hv-guided", heldout_samples=4, **LOOP).history
    pd.testing.assert_frame_equal(sampled, again)
    later = sampled["step"] > 0
    assert np.isfinite(sampled.loc[later, "delta_hv"]).all()
    # the held-out rollouts draw from the run's own stream, so the whole trajectory moves
    assert not np.array_equal(sampled["expected_reward"].to_numpy(), exact["expected_reward"].to_numpy())
    if (exact["delta_hv"] > 0).any():  # (the sequence task trades accuracy for length: no gain either way)
        assert not np.array_equal(sampled["delta_hv"].to_numpy(), exact["delta_hv"].to_numpy(), equal_nan=True)


def test_loop_rejects_hv_guided_beyond_three_true_objectives():
    with pytest.raises(ValueError, match="3 true objectives"):
        train(Bandit(n_objectives=4), "hv-guided", steps=2)
    # spurious objectives have no held-out truth, so they do not count
    history = train(Bandit(n_objectives=3, n_spurious=2), "hv-guided", steps=2, group_size=4, n_groups=4).history
    assert np.isfinite(history["r_pareto"]).all()


@pytest.mark.parametrize("env_name", sorted(ENVS))
def test_loop_reductions_to_stateless_schemes(env_name):
    """In the loop as out of it: dvao-ema without shrinkage is DVAO, hv-guided on the reward is RC (eps = 0),
    dvao-reliable with known zero noise is DVAO. Same seed, same random stream, so the histories coincide.

    dvao-reliable's loop always rescores, which draws fresh noise for noisy and spurious objectives and so moves
    the random stream; its reduction is checked on the environments whose rewards need no draws."""
    env = ENVS[env_name]
    pairs = [(dynamic.DVAOEMA(shrinkage=0.0), "dvao"), (dynamic.HypervolumeGuided(apply_to="reward"), "rc")]
    if env.n_spurious == 0:
        pairs.append((dynamic.DVAOReliable(noise_variance=(0.0,) * env.total_objectives), "dvao"))
    for variant, baseline in pairs:
        ours = train(env, variant, **LOOP).history
        theirs = train(env, baseline, **LOOP).history
        np.testing.assert_allclose(ours["expected_reward"], theirs["expected_reward"], rtol=1e-9, atol=1e-12,
                                   err_msg=variant.name)
        np.testing.assert_allclose(ours["effective_weight"], theirs["effective_weight"], rtol=1e-9, atol=1e-12,
                                   err_msg=variant.name)
