"""Set rollouts, the world-structure knob, the hidden reward, and the exact set metrics against Monte Carlo."""

from __future__ import annotations

import numpy as np
import pytest

import mowsim
from mowsim.envs import Bandit, ContextualBandit, SequenceTask, _set_metrics
from mowsim.schemes.vpo import dirichlet_draws


def _hv_2d(points):
    """Hypervolume of 2-D points against (0, 0), maximization (a staircase sweep)."""
    order = np.argsort(-points[:, 0])
    area, best_y = 0.0, 0.0
    for i in order:
        x, y = points[i]
        if y > best_y:
            area += x * (y - best_y)
            best_y = y
    return area


@pytest.fixture
def policy():
    rng = np.random.default_rng(12)
    probs = rng.dirichlet(np.ones(7))
    means = rng.random((7, 2))
    return probs, means, rng


@pytest.mark.parametrize("k", [1, 4, 16])
def test_best_at_k_is_exact(policy, k):
    probs, means, rng = policy
    utility = means @ np.array([0.3, 0.7])
    draws = rng.choice(7, size=(200_000, k), p=probs)
    monte_carlo = utility[draws].max(axis=1)
    exact = _set_metrics.expected_best(probs, utility, k)
    assert abs(exact - monte_carlo.mean()) < 4 * monte_carlo.std() / np.sqrt(len(monte_carlo)) + 1e-12


def test_diversity_is_exact(policy):
    probs, means, rng = policy
    pairs = rng.choice(7, size=(400_000, 2), p=probs)
    distances = np.abs(means[pairs[:, 0]] - means[pairs[:, 1]]).sum(axis=1)
    exact = _set_metrics.expected_diversity(probs, means)
    assert abs(exact - distances.mean()) < 4 * distances.std() / np.sqrt(len(distances))


def test_expected_hypervolume_is_exact(policy):
    probs, means, rng = policy
    ks = np.array([1, 4, 16])
    exact = np.empty(3)
    _set_metrics.expected_hypervolume_2d(probs, means, ks, exact)
    assert _hv_2d(means[:1]) == pytest.approx(means[0, 0] * means[0, 1])
    np.testing.assert_allclose(exact[0], (probs * means[:, 0] * means[:, 1]).sum(), rtol=1e-12)
    for i, k in enumerate(ks):
        samples = np.array([_hv_2d(means[rng.choice(7, size=k, p=probs)]) for _ in range(20_000)])
        assert abs(exact[i] - samples.mean()) < 4 * samples.std() / np.sqrt(len(samples)) + 1e-12
    assert exact[0] < exact[1] < exact[2] <= _hv_2d(means) + 1e-12


def test_history_metrics_match_the_exact_functions_at_the_uniform_policy():
    env = Bandit(n_arms=12, n_objectives=2, structure=0.5)
    result = mowsim.train(env, "rc", steps=2, set_metrics=True, downstream_weightings=8, weights=[0.25, 0.75])
    first = result.history[result.history.step == 0].iloc[0]
    _, means, hidden = env._loop_arrays()
    probs = np.full(12, 1 / 12)
    assert first.hidden_reward == pytest.approx(hidden[0].mean())
    assert first.best_at_4 == pytest.approx(_set_metrics.expected_best(probs, means[0] @ [0.25, 0.75], 4))
    downstream = dirichlet_draws(mowsim.train.__globals__["DOWNSTREAM_SEED"], 1, 8, 2)[0]
    dirichlet = np.mean([_set_metrics.expected_best(probs, means[0] @ w, 16) for w in downstream])
    assert first.best_at_16_dirichlet == pytest.approx(dirichlet)
    assert first.diversity == pytest.approx(_set_metrics.expected_diversity(probs, means[0]))
    off = mowsim.train(env, "rc", steps=2).history
    assert off.best_at_4.isna().all() and off.hidden_reward.notna().all()
    three = mowsim.train(Bandit(n_objectives=3), "rc", steps=2, set_metrics=True).history
    assert three.expected_hv_4.isna().all() and three.best_at_4.notna().all()


def test_structure_moves_from_one_hidden_reward_to_independent_goods():
    same = Bandit(n_arms=2000, n_objectives=3, structure=0.0)
    means, hidden = same.arrays()[1][0], same.hidden_rewards()[0]
    for k in range(3):
        np.testing.assert_allclose(means[:, k], hidden, rtol=1e-12)
    for n_objectives in (2, 3):  # near-linear sigmoid: the means correlate like the latents, at 1 - s
        top = n_objectives / (n_objectives - 1)
        for structure in (0.5, 1.0, top):
            world = Bandit(n_arms=4000, n_objectives=n_objectives, structure=structure, arm_spread=0.1)
            corr = np.corrcoef(np.column_stack([world.arrays()[1][0], world.hidden_rewards()[0]]).T)
            np.testing.assert_allclose(corr[:-1, :-1][np.triu_indices(n_objectives, 1)], 1 - structure, atol=0.05)
            # each objective loads on the hidden quality with sqrt(1 - s (K-1)/K)
            loading = np.sqrt(max(1 - structure * (n_objectives - 1) / n_objectives, 0))
            np.testing.assert_allclose(corr[-1, :-1], loading, atol=0.05)
    plain = Bandit(n_arms=8)
    np.testing.assert_allclose(plain.hidden_rewards(), plain.arrays()[1].mean(axis=2))
    contextual = ContextualBandit(structure=0.0, solved_share=0.0, difficulty_spread=0.0)
    np.testing.assert_allclose(contextual.arrays()[1][..., 0], contextual.hidden_rewards(), rtol=1e-12)
    theta = np.zeros_like(plain.initial_params())
    assert plain.expected_hidden_reward(theta) == pytest.approx(plain.hidden_rewards().mean())


@pytest.mark.parametrize("bad, match", [
    ({"structure": 2.5}, "structure"), ({"structure": 1.6, "n_objectives": 3}, "structure"),
    ({"structure": 0.5, "n_objectives": 1}, "structure"),
    ({"structure": 0.5, "correlation": 0.3}, "structure"),
    ({"answers_per_rollout": 0}, "answers_per_rollout"), ({"answers_per_rollout": 2.0}, "answers_per_rollout"),
])
def test_bad_world_knobs_are_refused(bad, match):
    with pytest.raises(ValueError, match=match):
        Bandit(**bad)


@pytest.mark.parametrize("env", [Bandit(n_arms=16, structure=0.8, answers_per_rollout=3, noise_sd=0.2),
                                 ContextualBandit(answers_per_rollout=2), SequenceTask(n_prompts=3),
                                 SequenceTask(n_prompts=3, answers_per_rollout=2, ppo_epochs=2)])
def test_set_schemes_train_deterministically_serial_equals_parallel(env):
    schemes = ["vpo", "random-weight", mowsim.schemes.get("gated", gates=(0,), thresholds=0.5), "rc"]
    kwargs = {"steps": 8, "seeds": [1, 2], "set_metrics": True}
    serial = mowsim.train_many(env, schemes, parallel=False, **kwargs).history
    parallel = mowsim.train_many(env, schemes, parallel=True, **kwargs).history
    again = mowsim.train_many(env, schemes, parallel=False, **kwargs).history
    numeric = serial.select_dtypes("number").columns
    np.testing.assert_array_equal(serial[numeric].to_numpy(), parallel[numeric].to_numpy())
    np.testing.assert_array_equal(serial[numeric].to_numpy(), again[numeric].to_numpy())
    assert np.isfinite(serial.expected_reward).all()


def test_the_scheme_stream_leaves_the_world_stream_alone():
    # random-weight draws from its own stream: its first batch is the batch RC sees (same step-0 diagnostics of the
    # rewards), and with one objective its weight is 1, so it trains exactly like RC.
    env = Bandit(n_arms=8, n_objectives=1, noise_sd=0.1)
    rc = mowsim.train(env, "rc", steps=10, seed=4).history
    rw = mowsim.train(env, "random-weight", steps=10, seed=4).history
    np.testing.assert_allclose(rw.expected_reward, rc.expected_reward, rtol=1e-12)


def test_answers_per_rollout_one_is_the_plain_loop_and_m_answers_reach_the_gradient():
    base = mowsim.train(Bandit(n_arms=16), "rc", steps=5, seed=2).history
    one = mowsim.train(Bandit(n_arms=16, answers_per_rollout=1), "rc", steps=5, seed=2).history
    np.testing.assert_array_equal(base.expected_reward, one.expected_reward)
    sets = mowsim.train(Bandit(n_arms=16, answers_per_rollout=3), "vpo", steps=60, seed=2).history
    assert sets[sets.step == 60].expected_reward.mean() > sets[sets.step == 0].expected_reward.mean()


def test_gates_by_name_in_the_sequence_loop():
    env = SequenceTask(n_prompts=3, objectives=("accuracy", "format"))
    scheme = mowsim.schemes.get("gated", gates=("format",), thresholds=1.0)
    history = mowsim.train(env, scheme, steps=5).history
    assert np.isfinite(history.expected_reward).all()
    with pytest.raises(ValueError, match="unknown gate name"):
        mowsim.train(env, mowsim.schemes.get("gated", gates=("fromat",), thresholds=1.0), steps=2)


def test_sequence_sets_learn_and_m_one_is_the_plain_loop():
    base = mowsim.train(SequenceTask(n_prompts=3), "rc", steps=5, seed=2).history
    one = mowsim.train(SequenceTask(n_prompts=3, answers_per_rollout=1), "rc", steps=5, seed=2).history
    np.testing.assert_array_equal(base.expected_reward, one.expected_reward)
    env = SequenceTask(n_prompts=3, answers_per_rollout=3)
    for scheme in ("vpo", "rc"):
        history = mowsim.train(env, scheme, steps=40, seed=2).history
        first, last = (history[history.step == s].expected_reward.mean() for s in (0, 40))
        assert last > first, scheme
    with pytest.raises(ValueError, match="answers_per_rollout"):
        SequenceTask(answers_per_rollout=0)
