"""The environments: frozen, validated parameter dataclasses; arm means with the documented correlation,
saturation and solved pairs; exact expected rewards against independent samplers (including a pure NumPy sampler
of SequenceTask written from the module docstring's rules alone).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest

from mowsim.envs import Bandit, ContextualBandit, SequenceTask
from mowsim.train import train

ENV_CLASSES = [Bandit, ContextualBandit, SequenceTask]
EOS, OPEN, CLOSE, FIRST_CONTENT = 0, 1, 2, 3


def softmax(logits, axis=-1):
    z = np.exp(logits - logits.max(axis=axis, keepdims=True))
    return z / z.sum(axis=axis, keepdims=True)


def logit(p):
    return np.log(p) - np.log1p(-p)


# --- dataclass behaviour ------------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", ENV_CLASSES, ids=lambda c: c.__name__)
def test_defaults_frozen_replace(cls):
    env = cls()
    assert dataclasses.is_dataclass(env)
    assert all(f.default is not dataclasses.MISSING for f in dataclasses.fields(cls)), "every field has a default"
    with pytest.raises(dataclasses.FrozenInstanceError):
        env.noise_sd = 0.5
    with pytest.raises(dataclasses.FrozenInstanceError):
        env.instance_seed = 3
    noisy = dataclasses.replace(env, noise_sd=0.25, instance_seed=4)
    assert (noisy.noise_sd, noisy.instance_seed) == (0.25, 4)
    assert (env.noise_sd, env.instance_seed) == (0.0, 0)
    assert dataclasses.replace(env) == env and hash(dataclasses.replace(env)) == hash(env)
    assert noisy != env
    # replace re-runs the validation.
    with pytest.raises(ValueError, match="noise_sd"):
        dataclasses.replace(env, noise_sd=-1.0)


@pytest.mark.parametrize("cls", ENV_CLASSES, ids=lambda c: c.__name__)
def test_computing_arrays_keeps_the_instance_equal_and_frozen(cls):
    """The cached arrays live beside the fields: they neither change equality nor open a way to mutate."""
    env = cls()
    env.expected_rewards(env.initial_params())
    assert env == cls()
    with pytest.raises(dataclasses.FrozenInstanceError):
        env.n_spurious = 2


BAD_KNOBS = [
    # The reward model, shared by every environment.
    (Bandit, dict(noise_sd=-0.1), "noise_sd"),
    (Bandit, dict(noise_sd=(0.1, 0.2, 0.3)), "noise_sd"),
    (Bandit, dict(noise_sd=math.nan), "noise_sd"),
    (SequenceTask, dict(noise_sd=-1.0), "noise_sd"),
    (Bandit, dict(flip_prob=0.6), "flip_prob"),
    (Bandit, dict(flip_prob=-0.01), "flip_prob"),
    (ContextualBandit, dict(flip_prob=(0.1, 0.51)), "flip_prob"),
    (Bandit, dict(n_objectives=3, noise_correlation=-0.6), "noise_correlation"),
    (SequenceTask, dict(noise_correlation=-0.51), "noise_correlation"),
    (Bandit, dict(noise_correlation=1.2), "noise_correlation"),
    (Bandit, dict(n_objectives=1, noise_correlation=-1.5), "noise_correlation"),
    (Bandit, dict(noise_df=2.0), "noise_df"),
    (Bandit, dict(noise_df=1), "noise_df"),
    (Bandit, dict(noise_df=math.nan), "noise_df"),
    (Bandit, dict(n_spurious=-1), "n_spurious"),
    (Bandit, dict(n_spurious=1.5), "n_spurious"),
    (Bandit, dict(spurious_sd=-1.0), "spurious_sd"),
    (Bandit, dict(reward_scale=0.0), "reward_scale"),
    (Bandit, dict(reward_scale=(1.0, -1.0)), "reward_scale"),
    (Bandit, dict(n_spurious=1, reward_scale=(1.0, 2.0)), "reward_scale"),
    (SequenceTask, dict(reward_scale=-2.0), "reward_scale"),
    (Bandit, dict(reward_offset=math.inf), "reward_offset"),
    (Bandit, dict(condition=(0, 2, 0.5)), "condition"),
    (Bandit, dict(condition=(-1, 1, 0.5)), "condition"),
    (Bandit, dict(condition=(0, 0, 0.5)), "condition"),
    (Bandit, dict(condition=(0, 1)), "condition"),
    (Bandit, dict(condition=(0.0, 1, 0.5)), "condition"),
    (Bandit, dict(condition=(True, 0, 0.5)), "condition"),
    (Bandit, dict(condition=(0, 1, math.nan)), "threshold"),
    (SequenceTask, dict(condition=(0, 3, 0.5)), "condition"),
    # Objective counts: 1 to 32 in total, spurious included.
    (Bandit, dict(n_objectives=0), "n_objectives"),
    (Bandit, dict(n_objectives=33), "n_objectives"),
    (Bandit, dict(n_objectives=30, n_spurious=3), "32"),
    (ContextualBandit, dict(n_objectives=20, n_spurious=13), "32"),
    (SequenceTask, dict(n_spurious=30), "32"),
    # The bandit family.
    (Bandit, dict(correlation=1.5), "correlation"),
    (Bandit, dict(correlation=-1.01), "correlation"),
    (Bandit, dict(correlation=math.nan), "correlation"),
    (ContextualBandit, dict(correlation=2.0), "correlation"),
    (Bandit, dict(n_arms=1), "n_arms"),
    (Bandit, dict(n_arms=4.0), "n_arms"),
    (Bandit, dict(n_arms=True), "n_arms"),
    (Bandit, dict(arm_spread=-1.0), "arm_spread"),
    (Bandit, dict(saturation=-0.5), "saturation"),
    (Bandit, dict(instance_seed=-1), "instance_seed"),
    (ContextualBandit, dict(policy="mlp"), "policy"),
    (ContextualBandit, dict(solved_share=1.5), "solved_share"),
    (ContextualBandit, dict(solved_share=-0.1), "solved_share"),
    (ContextualBandit, dict(n_prompts=0), "n_prompts"),
    (ContextualBandit, dict(n_features=0), "n_features"),
    (ContextualBandit, dict(difficulty_spread=-1.0), "difficulty_spread"),
    # SequenceTask.
    (SequenceTask, dict(max_len=8, length_limit=9), "length_limit"),
    (SequenceTask, dict(length_limit=-1), "length_limit"),
    (SequenceTask, dict(objectives=("accuracy", "speed")), "objectives"),
    (SequenceTask, dict(objectives=("accuracy", "accuracy")), "objectives"),
    (SequenceTask, dict(objectives=()), "objectives"),
    (SequenceTask, dict(length_reward="quadratic"), "length_reward"),
    (SequenceTask, dict(max_len=0), "max_len"),
    (SequenceTask, dict(max_len=65), "max_len"),
    (SequenceTask, dict(n_answers=0), "n_answers"),
    (SequenceTask, dict(n_filler=-1), "n_filler"),
    (SequenceTask, dict(n_prompts=0), "n_prompts"),
    (SequenceTask, dict(ppo_epochs=0), "ppo_epochs"),
    (SequenceTask, dict(clip_eps=0.0), "clip_eps"),
    (SequenceTask, dict(eos_bias=math.inf), "eos_bias"),
    (SequenceTask, dict(saturation=-1.0), "saturation"),
    (SequenceTask, dict(loss_aggregation="dapo"), "'seq-mean', 'token-mean', 'token-sum'"),
    (SequenceTask, dict(loss_aggregation=None), "loss_aggregation"),
]


@pytest.mark.parametrize("cls, knobs, named", BAD_KNOBS,
                         ids=[f"{c.__name__}-{'-'.join(k)}-{i}" for i, (c, k, _) in enumerate(BAD_KNOBS)])
def test_bad_knobs_raise_a_clear_value_error(cls, knobs, named):
    with pytest.raises(ValueError, match=named) as info:
        cls(**knobs)
    message = str(info.value)
    values = [v for value in knobs.values() for v in (value if isinstance(value, tuple) else (value,))]
    assert "got" in message or any(str(v) in message for v in values), f"message hides what arrived: {message!r}"


GOOD_EDGES = [
    (Bandit, dict(correlation=-1.0)),
    (Bandit, dict(correlation=1.0)),
    (Bandit, dict(n_objectives=3, noise_correlation=-0.5)),
    (Bandit, dict(n_objectives=1, noise_correlation=-1.0)),
    (Bandit, dict(flip_prob=0.5)),
    (Bandit, dict(n_objectives=32)),
    (Bandit, dict(n_objectives=1, n_spurious=31)),
    (Bandit, dict(noise_df=2.5, noise_sd=1.0)),
    (Bandit, dict(n_spurious=1, reward_scale=(1.0, 100.0, 0.01), reward_offset=-3.0)),
    (Bandit, dict(n_spurious=1, condition=(2, 0, 0.5))),
    (ContextualBandit, dict(solved_share=0.0)),
    (ContextualBandit, dict(solved_share=1.0, policy="linear")),
    (SequenceTask, dict(max_len=5, length_limit=5)),
    (SequenceTask, dict(length_limit=0)),
    (SequenceTask, dict(objectives=("format",), n_spurious=31)),
]


@pytest.mark.parametrize("cls, knobs", GOOD_EDGES, ids=[f"{c.__name__}-{i}" for i, (c, _) in enumerate(GOOD_EDGES)])
def test_boundary_values_are_accepted(cls, knobs):
    env = cls(**knobs)
    assert 1 <= env.total_objectives <= 32
    assert len(env.objective_names) == env.total_objectives
    assert env.expected_rewards(env.initial_params()).shape == (env.n_true_objectives,)


@pytest.mark.parametrize("env", [Bandit(), ContextualBandit(policy="linear"), SequenceTask()],
                         ids=["bandit", "contextual-linear", "sequence"])
def test_expected_rewards_validates_theta(env):
    """A wrong shape would index past the kernels' arrays (SequenceTask's BOS row) or silently average over the
    wrong prompts; it is an error at the boundary instead."""
    shape = env.initial_params().shape
    bad_shapes = [shape[:-1] + (shape[-1] + 1,), (shape[0] + 1,) + shape[1:], shape[1:], shape + (1,),
                  (shape[0], shape[1] - 1) + shape[2:]]  # the last: SequenceTask without its BOS row
    for bad in map(np.zeros, bad_shapes):
        with pytest.raises(ValueError, match="theta has shape"):
            env.expected_rewards(bad)
    with pytest.raises(ValueError, match="finite"):
        env.expected_rewards(np.full(shape, np.nan))
    # Any real array of the right shape is accepted (lists, ints, float32 are converted).
    as_float32 = env.expected_rewards(env.initial_params().astype(np.float32))
    np.testing.assert_allclose(as_float32, env.expected_rewards(env.initial_params().tolist()), rtol=1e-6)


def test_objective_names():
    assert Bandit(n_objectives=2, n_spurious=1).objective_names == ("objective_0", "objective_1", "spurious_0")
    task = SequenceTask(objectives=("format", "accuracy"), n_spurious=2)
    assert task.objective_names == ("format", "accuracy", "spurious_0", "spurious_1")
    assert task.total_objectives == 4


# --- Bandit ---------------------------------------------------------------------------------------------------


def test_bandit_arrays_are_a_function_of_the_instance_seed():
    features, means = Bandit(n_arms=12, n_objectives=3).arrays()
    np.testing.assert_array_equal(features, np.ones((1, 1)))
    assert means.shape == (1, 12, 3)
    assert np.all((means > 0) & (means < 1))
    np.testing.assert_array_equal(means, Bandit(n_arms=12, n_objectives=3).arrays()[1])
    assert not np.array_equal(means, Bandit(n_arms=12, n_objectives=3, instance_seed=1).arrays()[1])
    # The reward knobs do not touch the arm means.
    np.testing.assert_array_equal(means, Bandit(n_arms=12, n_objectives=3, noise_sd=0.5, n_spurious=2).arrays()[1])


@pytest.mark.parametrize("correlation", [-1.0, -0.9, -0.5, 0.0, 0.5, 0.9, 1.0])
def test_bandit_correlation_knob_tracks_the_logit_correlation(correlation):
    n_arms = 5000
    means = Bandit(n_arms=n_arms, n_objectives=3, correlation=correlation, arm_spread=1.0).arrays()[1][0]
    logits = logit(means)
    corr = np.corrcoef(logits.T)
    # Sampling sd of a correlation coefficient ~ (1 - rho^2) / sqrt(n).
    tolerance = 4 * (1 - correlation**2) / np.sqrt(n_arms) + 1e-9
    assert abs(corr[0, 1] - correlation) <= tolerance
    assert abs(corr[0, 2] - correlation) <= tolerance
    # The auxiliary objectives correlate at rho^2 (documented: keeps the matrix valid for every rho).
    assert abs(corr[1, 2] - correlation**2) <= 4 * (1 - correlation**4) / np.sqrt(n_arms) + 1e-9
    if correlation >= 0.9:
        assert corr[0, 1] > 0.85
    if correlation <= -0.9:
        assert corr[0, 1] < -0.85


def test_bandit_arm_spread_is_the_logit_scale():
    base = logit(Bandit(n_arms=4000, arm_spread=1.0).arrays()[1][0])
    wide = logit(Bandit(n_arms=4000, arm_spread=2.5).arrays()[1][0])
    np.testing.assert_allclose(wide, 2.5 * base, rtol=1e-9, atol=1e-9)
    assert abs(base[:, 0].std() - 1.0) < 4 / np.sqrt(2 * 4000)


@pytest.mark.parametrize("saturation", [0.5, 2.0, 8.0])
def test_bandit_saturation_pushes_the_last_objective_to_its_ceiling(saturation):
    plain = Bandit(n_arms=64, n_objectives=3).arrays()[1]
    saturated = Bandit(n_arms=64, n_objectives=3, saturation=saturation).arrays()[1]
    np.testing.assert_array_equal(saturated[..., :2], plain[..., :2])
    np.testing.assert_allclose(saturated[..., 2], 1.0 - (1.0 - plain[..., 2]) ** (1.0 + saturation), rtol=1e-12)
    assert np.all(saturated[..., 2] > plain[..., 2])
    assert saturated[..., 2].mean() > plain[..., 2].mean() + 0.05


def test_bandit_exact_expected_reward_is_probs_dot_means():
    env = Bandit(n_arms=10, n_objectives=3)
    theta = np.random.default_rng(0).normal(0, 2.0, size=(1, 10))
    probs = softmax(theta[0])
    np.testing.assert_allclose(env.expected_rewards(theta), probs @ env.arrays()[1][0], rtol=1e-12)
    np.testing.assert_allclose(env.expected_rewards(env.initial_params()), env.arrays()[1][0].mean(axis=0),
                               rtol=1e-12)


def test_bandit_history_expected_reward_is_exact_at_both_ends():
    env = Bandit(n_arms=6, n_objectives=2)
    result = train(env, "rc", steps=20, group_size=8, n_groups=16, lr=2.0, seed=3)
    history = result.history
    first = history[history.step == 0]["expected_reward"].to_numpy()
    last = history[history.step == 20]["expected_reward"].to_numpy()
    np.testing.assert_allclose(first, env.arrays()[1][0].mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(last, env.expected_rewards(result.final_params[0]), rtol=1e-12)
    assert not np.allclose(first, last)


def zero_variance_probability(env, theta, group_size):
    """P(a binary objective is constant in a group) under theta: mean over prompts of q^G + (1 - q)^G, with
    q[p, k] = sum_a pi(a | p) mu[p, a, k]."""
    features, means = env.arrays()
    probs = softmax(features @ theta)
    q = np.einsum("pa,pak->pk", probs, means)
    return (q**group_size + (1 - q) ** group_size).mean(axis=0)


@pytest.mark.parametrize("env", [
    Bandit(n_arms=5, n_objectives=3, saturation=1.0),
    ContextualBandit(n_prompts=6, n_arms=4, solved_share=0.4, instance_seed=2),
    ContextualBandit(n_prompts=5, n_arms=4, policy="linear", n_features=3, solved_share=0.3),
], ids=["bandit", "contextual-tabular", "contextual-linear"])
def test_compiled_sampler_matches_the_exact_group_statistics(env):
    """The loop's prompt and arm sampling, checked through the share of constant groups at the initial policy."""
    group_size, n_groups = 3, 8192
    history = train(env, "rc", steps=1, group_size=group_size, n_groups=n_groups, lr=0.0, seed=11).history
    observed = history[history.step == 0]["zero_variance_share"].to_numpy()
    expected = zero_variance_probability(env, env.initial_params(), group_size)
    # Groups are independent and each is constant with probability `expected` (its prompt drawn uniformly).
    sd = np.sqrt(expected * (1 - expected) / n_groups)
    assert np.all(np.abs(observed - expected) <= 4 * sd + 1e-12), (observed, expected, sd)


# --- ContextualBandit -----------------------------------------------------------------------------------------


def test_contextual_tabular_features_are_the_identity():
    env = ContextualBandit(n_prompts=7, n_arms=5, n_objectives=3)
    features, means = env.arrays()
    np.testing.assert_array_equal(features, np.eye(7))
    assert means.shape == (7, 5, 3)
    assert env.initial_params().shape == (7, 5)


def test_contextual_linear_policy():
    env = ContextualBandit(n_prompts=9, n_arms=5, policy="linear", n_features=4)
    features, means = env.arrays()
    assert features.shape == (9, 4) and not np.allclose(features[:4], np.eye(4))
    np.testing.assert_array_equal(means, dataclasses.replace(env, policy="tabular").arrays()[1])
    theta = np.random.default_rng(1).normal(size=(4, 5))
    assert env.initial_params().shape == (4, 5)
    expected = np.einsum("pa,pak->k", softmax(features @ theta), means) / 9
    np.testing.assert_allclose(env.expected_rewards(theta), expected, rtol=1e-12)
    result = train(env, "rc", steps=5, group_size=4, n_groups=8, lr=1.0)
    assert result.final_params[0].shape == (4, 5)
    assert not np.allclose(result.final_params[0], 0.0)


@pytest.mark.parametrize("share", [0.0, 0.3, 0.75, 1.0])
def test_contextual_solved_share(share):
    n_prompts, n_objectives = 1500, 2
    means = ContextualBandit(n_prompts=n_prompts, solved_share=share).arrays()[1]
    solved = (means == 1.0).all(axis=1)  # (P, K): every arm has mean 1
    # A pair is either solved (all arms 1) or has no arm at exactly 1.
    assert not ((means == 1.0).any(axis=1) & ~solved).any()
    n_pairs = n_prompts * n_objectives
    assert abs(solved.mean() - share) <= 4 * np.sqrt(share * (1 - share) / n_pairs)


def test_solved_pairs_give_zero_variance_groups():
    env = ContextualBandit(n_prompts=8, n_arms=4, solved_share=1.0)
    history = train(env, "gdpo", steps=2, group_size=8, n_groups=16).history
    np.testing.assert_array_equal(history["expected_reward"], 1.0)
    defined = history[history.step < 2]
    np.testing.assert_array_equal(defined["zero_variance_share"], 1.0)
    np.testing.assert_array_equal(defined["zero_variance_groups"], 1.0)
    np.testing.assert_array_equal(defined["max_abs_advantage"], 0.0)
    np.testing.assert_array_equal(defined["grad_norm"], 0.0)


def test_contextual_saturation_applies_after_solving():
    plain = ContextualBandit(n_prompts=20, solved_share=0.5).arrays()[1]
    saturated = ContextualBandit(n_prompts=20, solved_share=0.5, saturation=3.0).arrays()[1]
    np.testing.assert_array_equal(saturated[..., 0], plain[..., 0])
    np.testing.assert_allclose(saturated[..., 1], 1 - (1 - plain[..., 1]) ** 4, rtol=1e-12)


# --- SequenceTask ---------------------------------------------------------------------------------------------


def sample_sequence_rewards(theta, answers, max_len, length_limit, linear, n_per_prompt, rng):
    """Independent Monte-Carlo sampler written from the SequenceTask docstring: returns (accuracy, length, format)
    per sampled response, n_per_prompt responses for each prompt.

    Tokens come from softmax(theta[p, prev]) with prev = BOS (row V) first; a response is the tokens before EOS,
    at most max_len of them (a response that reaches max_len without EOS is truncated). accuracy: the last content
    token (id >= 3) is the prompt's answer. length: 1 if n <= L, else 0 or (linear) max(0, 1 - (n - L) / (max_len
    - L)). format: first token OPEN and last token CLOSE, and not truncated.
    """
    n_prompts, n_prev, vocab = theta.shape
    cdf = np.cumsum(softmax(theta), axis=-1)
    prompts = np.repeat(np.arange(n_prompts), n_per_prompt)
    n = prompts.size
    prev = np.full(n, vocab)
    alive = np.ones(n, dtype=bool)
    length = np.full(n, max_len)
    first = np.full(n, -1)
    last_token = np.full(n, -1)
    last_content = np.full(n, -1)
    for pos in range(max_len):
        idx = np.flatnonzero(alive)
        if idx.size == 0:
            break
        u = rng.random(idx.size)
        token = np.minimum((u[:, None] >= cdf[prompts[idx], prev[idx]]).sum(axis=1), vocab - 1)
        stop = token == EOS
        length[idx[stop]] = pos
        alive[idx[stop]] = False
        go, token = idx[~stop], token[~stop]
        if pos == 0:
            first[go] = token
        content = token >= FIRST_CONTENT
        last_content[go[content]] = token[content]
        last_token[go] = token
        prev[go] = token
    truncated = alive
    accuracy = (last_content == answers[prompts]).astype(float)
    if linear and max_len > length_limit:
        length_reward = np.clip(1.0 - (length - length_limit) / (max_len - length_limit), 0.0, 1.0)
    else:
        length_reward = np.zeros(n)
    length_reward[length <= length_limit] = 1.0
    format_reward = ((first == OPEN) & (last_token == CLOSE) & ~truncated).astype(float)
    return {"accuracy": accuracy, "length": length_reward, "format": format_reward}, truncated


def random_theta(env, rng):
    """Random logits with a nudge toward OPEN first and EOS after CLOSE, so formatted responses are common."""
    theta = rng.normal(0.0, 1.0, size=env.initial_params().shape)
    vocab = env.vocab_size
    theta[:, vocab, OPEN] += 1.5
    theta[:, CLOSE, EOS] += 1.5
    return theta


SEQUENCE_CASES = {
    "default": (SequenceTask(), 0.0),
    "linear-length-reordered": (SequenceTask(n_prompts=5, n_answers=3, n_filler=3, max_len=6, length_limit=2,
                                             length_reward="linear", objectives=("format", "length", "accuracy"),
                                             instance_seed=3), -1.0),
    "limit-equals-max-len": (SequenceTask(n_prompts=3, max_len=4, length_limit=4, length_reward="linear",
                                          objectives=("length", "accuracy")), -1.5),
    "binary-length-often-truncated": (SequenceTask(n_prompts=4, n_answers=2, n_filler=0, max_len=5,
                                                   length_limit=3, instance_seed=9), -2.0),
}


@pytest.mark.parametrize("case", list(SEQUENCE_CASES))
def test_sequence_exact_expected_rewards_match_monte_carlo(case):
    env, eos_shift = SEQUENCE_CASES[case]
    rng = np.random.default_rng(2026)
    theta = random_theta(env, rng)
    theta[:, :, EOS] += eos_shift  # negative: longer responses, more truncation
    answers = env._arrays[0]  # the prompts' answer tokens (drawn from instance_seed)
    n_per_prompt = 400_000 // env.n_prompts
    rewards, truncated = sample_sequence_rewards(theta, answers, env.max_len, env.length_limit,
                                                 env.length_reward == "linear", n_per_prompt, rng)
    exact = env.expected_rewards(theta)
    assert exact.shape == (len(env.objectives),)
    for name, value in zip(env.objectives, exact):
        sample = rewards[name]
        se = sample.std() / np.sqrt(sample.size)
        assert abs(sample.mean() - value) <= 4 * se + 1e-12, (name, sample.mean(), value, se)
        assert 0.0 < value < 1.0 or (name == "length" and env.length_limit == env.max_len and value == 1.0)
    if eos_shift <= -1.0:
        assert truncated.mean() > 0.01, "the case is meant to exercise truncation"


def test_sequence_exact_rewards_after_training_match_monte_carlo_and_history():
    env = SequenceTask(n_prompts=4, max_len=6, length_limit=3, saturation=1.0)
    result = train(env, "gdpo", steps=40, group_size=8, n_groups=16, lr=3.0, seed=5)
    history = result.history
    theta = result.final_params[0]
    np.testing.assert_allclose(history[history.step == 0]["expected_reward"],
                               env.expected_rewards(env.initial_params()), rtol=1e-12)
    np.testing.assert_allclose(history[history.step == 40]["expected_reward"], env.expected_rewards(theta),
                               rtol=1e-12)
    rng = np.random.default_rng(8)
    rewards, _ = sample_sequence_rewards(theta, env._arrays[0], env.max_len, env.length_limit, False, 100_000, rng)
    for name, value in zip(env.objectives, env.expected_rewards(theta)):
        se = rewards[name].std() / np.sqrt(rewards[name].size)
        assert abs(rewards[name].mean() - value) <= 4 * se + 1e-12


@pytest.mark.parametrize("task", [
    SequenceTask(n_prompts=1, max_len=6, length_limit=2, saturation=2.0, instance_seed=1),
    SequenceTask(n_prompts=1, max_len=4, length_limit=3, eos_bias=-1.0, saturation=3.0, n_filler=1),
], ids=["short-limit", "long-responses"])
def test_sequence_compiled_sampler_matches_the_exact_group_statistics(task):
    """With one prompt, a binary objective is constant in a group of G with probability q^G + (1 - q)^G."""
    group_size, n_groups = 2, 8192
    history = train(task, "rc", steps=1, group_size=group_size, n_groups=n_groups, lr=0.0, seed=2).history
    observed = history[history.step == 0]["zero_variance_share"].to_numpy()
    q = task.expected_rewards(task.initial_params())
    assert np.all((q > 0.02) & (q < 0.98)), q  # informative cases
    expected = q**group_size + (1 - q) ** group_size
    sd = np.sqrt(expected * (1 - expected) / n_groups)
    assert np.all(np.abs(observed - expected) <= 4 * sd), (observed, expected, sd)


def test_sequence_loss_aggregations_agree_when_every_response_has_one_token():
    """With max_len = 1 every response is one token (EOS, or a truncated token), so |o_j| = 1 = max_len and the
    three normalizers, 1/N * 1/|o_j|, 1/sum_j |o_j| and 1/(N max_len), are the same number: identical runs."""
    histories = [train(SequenceTask(max_len=1, length_limit=1, objectives=("accuracy", "length"),
                                    loss_aggregation=aggregation, answers_per_rollout=2),
                       "dvao", steps=5, group_size=4, n_groups=8, seed=1).history
                 for aggregation in ("seq-mean", "token-mean", "token-sum")]
    for other in histories[1:]:
        pd.testing.assert_frame_equal(histories[0], other)


@pytest.mark.parametrize("knobs", [{}, {"ppo_epochs": 2, "answers_per_rollout": 2}], ids=["plain", "ppo-sets"])
def test_sequence_loss_aggregations_differ_with_varying_lengths(knobs):
    runs = {aggregation: train(SequenceTask(objectives=("accuracy", "length"), loss_aggregation=aggregation, **knobs),
                               "mgda", steps=5, group_size=4, n_groups=8, seed=1)
            for aggregation in ("seq-mean", "token-mean", "token-sum")}
    finals = {name: run.final_params[0] for name, run in runs.items()}
    assert not np.array_equal(finals["seq-mean"], finals["token-mean"])
    assert not np.array_equal(finals["token-mean"], finals["token-sum"])
    for run in runs.values():  # the same batches (the first step's draws do not depend on the loss)
        step0 = run.history[run.history.step == 0]
        reference = runs["seq-mean"].history.query("step == 0")
        np.testing.assert_array_equal(step0["zero_variance_share"], reference["zero_variance_share"])
        assert np.all(np.isfinite(run.final_params[0]))


@pytest.mark.parametrize("answers", [1, 3])
def test_sequence_token_sum_is_token_mean_times_a_batch_constant(answers):
    """On the same batch (one update, the same seed) the two token aggregations differ only in the normalizer:
    token-sum's step is token-mean's times sum_j |o_j| / (B G m max_len), one constant for every parameter, and that
    constant times B G m max_len is the batch's token count, an integer between B G m and B G m max_len."""
    n_groups, group_size, max_len = 4, 3, 6
    steps = {}
    for aggregation in ("token-mean", "token-sum"):
        env = SequenceTask(max_len=max_len, length_limit=3, objectives=("accuracy", "length"),
                           answers_per_rollout=answers, loss_aggregation=aggregation)
        result = train(env, "rc", steps=1, group_size=group_size, n_groups=n_groups, lr=1.0, seed=3)
        steps[aggregation] = result.final_params[0] - env.initial_params()
    moved = np.abs(steps["token-mean"]) > 1e-12
    assert moved.sum() > 10
    ratio = steps["token-sum"][moved] / steps["token-mean"][moved]
    np.testing.assert_allclose(ratio, ratio[0], rtol=1e-9)
    responses = n_groups * group_size * answers
    tokens = ratio[0] * responses * max_len
    assert tokens == pytest.approx(round(tokens), abs=1e-6) and responses <= round(tokens) < responses * max_len


def test_sequence_default_loss_aggregation_is_seq_mean():
    env = SequenceTask()
    assert env.loss_aggregation == "seq-mean"
    assert env._loop_static() == SequenceTask(loss_aggregation="seq-mean")._loop_static()
    assert env._loop_static() != SequenceTask(loss_aggregation="token-sum")._loop_static()


def test_sequence_initial_params():
    env = SequenceTask(n_prompts=3, n_answers=2, n_filler=1, eos_bias=-0.7, saturation=1.2)
    theta = env.initial_params()
    vocab = env.vocab_size
    assert vocab == 3 + 2 + 1 and theta.shape == (3, vocab + 1, vocab)
    np.testing.assert_array_equal(theta[:, :vocab, EOS][:, [0, 1, 3, 4, 5]], -0.7)
    np.testing.assert_array_equal(theta[:, CLOSE, EOS], -0.7 + 1.2)
    np.testing.assert_array_equal(theta[:, vocab, EOS], 0.0)
    np.testing.assert_array_equal(theta[:, vocab, OPEN], 1.2)
    assert np.count_nonzero(theta) == 3 * (vocab + 1)


def test_sequence_saturation_raises_initial_format():
    plain = SequenceTask().expected_rewards(SequenceTask().initial_params())
    task = SequenceTask(saturation=3.0)
    saturated = task.expected_rewards(task.initial_params())
    assert saturated[2] > 5 * plain[2]
