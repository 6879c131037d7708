"""Multi-objective bandits: :class:`Bandit` (one context) and :class:`ContextualBandit` (P prompts).

Both share one compiled loop. A bandit is a contextual bandit with one prompt and the constant feature 1; a tabular
contextual policy is a linear-softmax policy over one-hot prompt features. The policy is
``pi(a | p) = softmax(phi_p @ theta)[a]`` with ``theta`` of shape (n_features, n_arms), started at 0 (uniform).

Arm means. Each objective k of each arm gets a latent quality ``z[a, k]``: ``z[a, 0] ~ N(0, 1)`` and
``z[a, k] = rho z[a, 0] + sqrt(1 - rho^2) e[a, k]`` for k >= 1, so objective 0 (the "accuracy" objective) correlates
with every other objective at ``rho = correlation`` across arms (aligned for rho > 0, conflicting for rho < 0; the
auxiliary objectives correlate with each other at rho^2, which keeps the matrix valid for every rho in [-1, 1]).
The clean mean is ``mu = sigmoid(arm_spread * z)``. ``saturation`` pushes the last true objective toward its
ceiling, ``mu <- 1 - (1 - mu)^(1 + saturation)``: the larger it is, the sooner that objective is learned and its
variance collapses.

World structure. ``structure = s`` in [0, K/(K-1)] (None: off, the ``correlation`` construction above) splits
every objective's latent into one hidden quality shared by all objectives and a conflict component that sums to 0
over the objectives:

    ``z[a, k] = sqrt(1 - s (K-1)/K) h[a] + sqrt(s (K-1)/K) c[a, k]``, ``c[a, k] = sqrt(K/(K-1)) (e[a, k] -
    mean_l e[a, l])``

with ``h, e ~ N(0, 1)`` independent, so every objective has unit variance, the objectives correlate at
``1 - s`` across arms, and their mean is the hidden quality (times ``sqrt(1 - s (K-1)/K)``). At ``s = 0`` every
objective *is* the hidden quality (noisy views of one true reward: the Bernoulli outcomes, or the reward model's
``noise_sd``/``flip_prob``, are the noise); as ``s`` grows each objective carries more of its own bias; at
``s = 1`` the objectives are uncorrelated goods that still share the hidden quality; at ``s = K/(K-1)`` (2 for
K = 2) they are purely conflicting (for K = 2 every arm lies on the anti-diagonal ``z_1 = -z_0``) and the hidden
quality has left them. K = 1 admits only ``s = 0``.

The hidden true reward is ``sigmoid(arm_spread * h)``; without ``structure`` it is the mean of the true objectives'
clean means. Its policy expectation is the history's ``hidden_reward``.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
from numba import njit, prange

from mowsim import _rng, validation
from mowsim.envs import _loop, _set_metrics
from mowsim.schemes import _set_kernels, _stateful
from mowsim.envs._reward import RewardKnobs, condition_batch, observe

__all__ = ["Bandit", "ContextualBandit"]


def _check_int(value, name, low, high=None):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low or (high and value > high):
        rng = f"[{low}, {high}]" if high else f">= {low}"
        raise ValueError(f"{name} must be an int {rng}; got {value!r}.")


def _check_theta(theta, expected_shape) -> np.ndarray:
    """Policy parameters as finite C-contiguous float64 of the environment's shape (the kernels do not check)."""
    try:
        arr = np.ascontiguousarray(theta, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"theta must be a numeric array of shape {tuple(expected_shape)}; got {type(theta).__name__} ({err})."
        ) from None
    if arr.shape != tuple(expected_shape):
        raise ValueError(
            f"theta has shape {arr.shape}; expected {tuple(expected_shape)}, the shape of initial_params()."
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError("theta must be finite; it contains NaN or inf.")
    return arr


def _latent_means(rng, n_arms, n_objectives, correlation, arm_spread, structure=None):
    """(latent (n_arms, K), hidden latent (n_arms,) or None) on the logit scale; see the module docstring."""
    if structure is not None:
        hidden = rng.standard_normal(n_arms)
        if n_objectives == 1:
            return hidden[:, None] * arm_spread, hidden * arm_spread
        own = rng.standard_normal((n_arms, n_objectives))
        conflict = np.sqrt(n_objectives / (n_objectives - 1)) * (own - own.mean(axis=1, keepdims=True))
        share = structure * (n_objectives - 1) / n_objectives
        latent = np.sqrt(max(1.0 - share, 0.0)) * hidden[:, None] + np.sqrt(share) * conflict
        return latent * arm_spread, hidden * arm_spread
    base = rng.standard_normal(n_arms)
    latent = np.empty((n_arms, n_objectives))
    latent[:, 0] = base
    for k in range(1, n_objectives):
        latent[:, k] = correlation * base + np.sqrt(1.0 - correlation**2) * rng.standard_normal(n_arms)
    return latent * arm_spread, None


def _saturate(means, saturation):
    if saturation > 0:
        means[..., -1] = 1.0 - (1.0 - means[..., -1]) ** (1.0 + saturation)
    return means


@dataclasses.dataclass(frozen=True)
class _BanditFamily(RewardKnobs):
    n_arms: int = 16
    n_objectives: int = 2
    """True objectives K (spurious ones come on top, see ``n_spurious``)."""
    correlation: float = 0.0
    """Across-arm correlation of objective 0 with each other objective, in [-1, 1]."""
    arm_spread: float = 2.0
    """Std of the latent arm quality on the logit scale: larger means more distinct arms."""
    saturation: float = 0.0
    """>= 0: how early the last true objective reaches its ceiling (0: not at all)."""
    instance_seed: int = 0
    """Seed of the arm means (the environment instance), kept apart from the training seed."""
    structure: float | None = None
    """World structure in [0, K/(K-1)]: 0 = every objective is a view of one hidden true reward, 1 = uncorrelated
    goods, K/(K-1) purely conflicting goods (correlation ``1 - structure``; see the module docstring). None
    (default): the ``correlation`` construction. Replaces ``correlation``."""
    answers_per_rollout: int = 1
    """m: a rollout is m answers (arms) drawn from the policy, each scored; set schemes (vpo) score the set, the
    others the answers' mean reward. Its one advantage reaches every answer's log-probability (weight 1/m)."""

    @property
    def n_true_objectives(self) -> int:
        return self.n_objectives

    def _check_family(self):
        _check_int(self.n_arms, "n_arms", 2)
        _check_int(self.n_objectives, "n_objectives", 1, 32)
        validation.check_scalar(self.correlation, "correlation", low=-1.0, high=1.0)
        validation.check_scalar(self.arm_spread, "arm_spread", low=0.0)
        validation.check_scalar(self.saturation, "saturation", low=0.0)
        _check_int(self.instance_seed, "instance_seed", 0)
        _check_int(self.answers_per_rollout, "answers_per_rollout", 1, 64)
        if self.structure is not None:
            top = 0.0 if self.n_objectives == 1 else self.n_objectives / (self.n_objectives - 1)
            validation.check_scalar(self.structure, "structure", low=0.0, high=top,
                                    hint=f"0: noisy views of one hidden reward; 1: independent goods; up to {top:g} "
                                         "(correlation -1/(K-1)): conflicting goods; None: off.")
            if self.correlation != 0.0:
                raise ValueError(f"structure={self.structure} and correlation={self.correlation} both shape the arm "
                                 "means; set one (structure replaces correlation, whose default is 0).")
        self._check_reward_knobs()

    def _loop_family(self):
        import sys

        return sys.modules[__name__]

    def _loop_arrays(self):
        return self._world

    def _loop_static(self) -> tuple:
        return (int(self.answers_per_rollout),)

    @functools.cached_property
    def _world(self):
        return self._build()

    def arrays(self):
        """(features (P, d), means (P, n_arms, K_true)) for the compiled loop."""
        features, means, _ = self._world
        return features, means

    def hidden_rewards(self) -> np.ndarray:
        """The hidden true reward of every (prompt, arm), shape (P, n_arms); see the module docstring."""
        return self._world[2].copy()

    def expected_hidden_reward(self, theta) -> float:
        """Exact expected hidden true reward of the policy ``theta`` (averaged over prompts)."""
        features, _, hidden = self._world
        theta = _check_theta(theta, (features.shape[1], self.n_arms))
        logits = features @ theta
        probs = np.exp(logits - logits.max(axis=1, keepdims=True))
        probs /= probs.sum(axis=1, keepdims=True)
        return float((probs * hidden).sum() / features.shape[0])

    def _hidden(self, means, hidden_latent, shift=0.0):
        if hidden_latent is None:
            return np.ascontiguousarray(means.mean(axis=-1))
        return np.ascontiguousarray(1.0 / (1.0 + np.exp(-(hidden_latent + shift))))

    def initial_params(self) -> np.ndarray:
        """The uniform policy: zeros of shape (n_features, n_arms)."""
        features, _ = self.arrays()
        return np.zeros((features.shape[1], self.n_arms))

    def expected_rewards(self, theta) -> np.ndarray:
        """Exact clean expected reward of each true objective under ``theta`` (n_features, n_arms); shape (K_true,)."""
        features, means = self.arrays()
        theta = _check_theta(theta, (features.shape[1], self.n_arms))
        logits = features @ theta
        probs = np.exp(logits - logits.max(axis=1, keepdims=True))
        probs /= probs.sum(axis=1, keepdims=True)
        return np.einsum("pa,pak->k", probs, means) / features.shape[0]


@dataclasses.dataclass(frozen=True)
class Bandit(_BanditFamily):
    """A K-objective, N-armed bandit with a softmax policy over arm logits.

    Parameters are the fields; every field has a default. See the module docstring for how arm means are drawn and
    :class:`mowsim.envs.RewardKnobs` for the reward knobs (noise, flips, spurious objectives, scales, conditioning).

    >>> Bandit(n_arms=64, n_objectives=4, correlation=-0.5).arrays()[1].shape
    (1, 64, 4)
    """

    def __post_init__(self):
        self._check_family()

    def _build(self):
        """(features (1, 1), means (1, n_arms, K_true), hidden (1, n_arms))."""
        rng = np.random.default_rng(self.instance_seed)
        latent, hidden_latent = _latent_means(rng, self.n_arms, self.n_objectives, self.correlation,
                                              self.arm_spread, self.structure)
        means = _saturate(1.0 / (1.0 + np.exp(-latent)), self.saturation)
        hidden = self._hidden(means, hidden_latent)
        return np.ones((1, 1)), np.ascontiguousarray(means[None]), np.ascontiguousarray(hidden[None])


@dataclasses.dataclass(frozen=True)
class ContextualBandit(_BanditFamily):
    """P prompts with their own arm means, some saturated, under a tabular or linear-softmax policy.

    Each step samples ``n_groups`` prompts uniformly with replacement. Prompt difficulty shifts every arm's logit by
    ``difficulty[p, k] ~ N(0, difficulty_spread)``; with probability ``solved_share`` a (prompt, objective) pair is
    *solved*: every arm has mean 1 there, so a binary reward has zero variance in that group. This is the mix of
    informative and saturated groups that GDPO's batch normalization and SAW's batch CV react to.
    """

    n_prompts: int = 32
    n_arms: int = 8
    difficulty_spread: float = 1.0
    solved_share: float = 0.25
    policy: str = "tabular"
    """"tabular" (logits per prompt) or "linear" (logits = phi_p @ theta over random prompt features)."""
    n_features: int = 8
    """Feature dimension of the linear policy (ignored by the tabular one)."""

    def __post_init__(self):
        self._check_family()
        _check_int(self.n_prompts, "n_prompts", 1)
        _check_int(self.n_features, "n_features", 1)
        validation.check_scalar(self.difficulty_spread, "difficulty_spread", low=0.0)
        validation.check_scalar(self.solved_share, "solved_share", low=0.0, high=1.0)
        if self.policy not in ("tabular", "linear"):
            raise ValueError(f"policy must be 'tabular' or 'linear'; got {self.policy!r}.")

    def _build(self):
        """(features (P, d), means (P, n_arms, K_true), hidden (P, n_arms))."""
        rng = np.random.default_rng(self.instance_seed)
        n_p, n_a, n_k = self.n_prompts, self.n_arms, self.n_objectives
        drawn = [_latent_means(rng, n_a, n_k, self.correlation, self.arm_spread, self.structure) for _ in range(n_p)]
        latent = np.stack([d[0] for d in drawn])
        difficulty = rng.normal(0.0, self.difficulty_spread, size=(n_p, 1, n_k))
        latent += difficulty
        means = 1.0 / (1.0 + np.exp(-latent))
        solved = rng.random((n_p, n_k)) < self.solved_share
        means = np.where(solved[:, None, :], 1.0, means)
        means = _saturate(means, self.saturation)
        if self.policy == "tabular":
            features = np.eye(n_p)
        else:
            features = rng.standard_normal((n_p, self.n_features)) / np.sqrt(self.n_features)
        if self.structure is None:
            hidden = self._hidden(means, None)
        else:
            hidden = self._hidden(means, np.stack([d[1] for d in drawn]), difficulty.mean(axis=2))
        return np.ascontiguousarray(features), np.ascontiguousarray(means), hidden


@njit(cache=True)
def _policy(features, theta, probs, cdf):
    """Fill probs and cdf (P, N) from the linear-softmax policy; return the mean entropy over prompts."""
    n_prompts, n_features = features.shape
    n_arms = theta.shape[1]
    logits = np.empty(n_arms)
    entropy = 0.0
    for p in range(n_prompts):
        for a in range(n_arms):
            total = 0.0
            for f in range(n_features):
                total += features[p, f] * theta[f, a]
            logits[a] = total
        entropy += _loop.softmax_row(logits, probs[p])
        running = 0.0
        for a in range(n_arms):
            running += probs[p, a]
            cdf[p, a] = running
    return entropy / n_prompts


@njit(cache=True, inline="always")
def _search(cdf, p, u):
    """The arm whose CDF interval of prompt p holds u (binary search; no row view, which costs a call's worth)."""
    lo = 0
    hi = cdf.shape[1] - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if u < cdf[p, mid]:
            hi = mid
        else:
            lo = mid + 1
    return lo


@njit(cache=True)
def _heldout_performance(state, features, means, probs, cdf, n_samples, out):
    """Performance of the true objectives: exact (n_samples == 0) or a Monte-Carlo estimate from n_samples
    held-out rollouts per prompt (as a real run must estimate it). Uses the clean outcome probabilities."""
    n_prompts, n_arms, n_true = means.shape
    for k in range(n_true):
        total = 0.0
        for p in range(n_prompts):
            if n_samples == 0:
                for a in range(n_arms):
                    total += probs[p, a] * means[p, a, k]
            else:
                hits = 0.0
                for _ in range(n_samples):
                    a = _search(cdf, p, _rng.uniform(state))
                    hits += 1.0 if _rng.uniform(state) < means[p, a, k] else 0.0
                total += hits / n_samples
        out[k] = total / n_prompts


@njit(cache=True)
def run_bandit(state, features, means, flip_prob, noise_sd, noise_factor, noise_df, n_spurious, spurious_sd,
               scale, offset, binary, condition, scheme_id, scheme_state, scheme_params, weights, ddof, eps, saw,
               steps, n_groups, group_size, lr, heldout_samples, n_answers, hidden, theta, step_out, objective_out,
               track_sets, metric_weights, set_out, normalization):
    """One training run of the bandit family; ``theta`` and ``scheme_state`` are updated in place.

    step_out: (steps + 1, len(STEP_COLUMNS)); objective_out: (steps + 1, K, len(OBJECTIVE_COLUMNS)).
    The update is plain policy-gradient ascent, ``theta += lr * g`` with
    ``g = 1/(B G) sum_{b,j} A_bj grad log pi(a_bj | p_b)`` (the GRPO surrogate with ratio 1). Per step: sample,
    per-objective z-scores and gradients g_k (the feedback of gradient-level schemes), the scheme's pre-update,
    its advantages, the update; the next step starts by giving the new policy's performance to the scheme.

    Set rollouts: with ``n_answers = m > 1`` a rollout is m arms drawn from the policy, each scored; the set
    schemes (vpo) see the (B, G, m, K) scores, every other scheme the answers' mean per objective, and the rollout's
    one advantage reaches each answer's log-probability with weight 1/m (a token-mean loss over the m answers).
    ``state`` holds two xoshiro streams: [0:4] the world's, [4:8] the scheme's draws (vpo, random-weight), so a
    scheme's draws never shift the world's stream. ``set_out`` (steps + 1, len(SET_COLUMNS)) gets the hidden
    reward, and with ``track_sets`` the exact set metrics of :mod:`mowsim.envs._set_metrics`.
    """
    n_prompts, n_features = features.shape
    n_arms = theta.shape[1]
    n_true = means.shape[2]
    n_objectives = n_true + n_spurious
    n_channels = 1 + n_objectives
    probs = np.empty((n_prompts, n_arms))
    cdf = np.empty((n_prompts, n_arms))
    n_rows = n_groups * group_size * n_answers
    set_rewards = np.empty((n_groups, group_size, n_answers, n_objectives))
    set_rescored = np.empty((n_groups, group_size, n_answers, n_objectives))
    if n_answers == 1:
        rewards = set_rewards.reshape(n_groups, group_size, n_objectives)
        rescored = set_rescored.reshape(n_groups, group_size, n_objectives)
    else:
        rewards = np.empty((n_groups, group_size, n_objectives))
        rescored = np.empty((n_groups, group_size, n_objectives))
    clean_store = np.empty((n_groups, group_size, n_answers, n_true))
    rescore = scheme_id == _stateful.DVAO_RELIABLE
    set_scheme = _set_kernels.is_set_scheme(scheme_id)
    stateful = scheme_id >= _stateful.HV_GUIDED and not set_scheme
    scheme_rng = state[4:8]
    clean_rows = clean_store.reshape(n_rows, n_true)
    reward_rows = set_rewards.reshape(n_rows, n_objectives)
    rescored_rows = set_rescored.reshape(n_rows, n_objectives)
    answer_rows = set_rewards.reshape(n_groups, group_size * n_answers, n_objectives)
    rescored_answer_rows = set_rescored.reshape(n_groups, group_size * n_answers, n_objectives)
    inv_answers = 1.0 / n_answers
    arms = np.empty((n_groups, group_size, n_answers), dtype=np.int64)
    prompts = np.empty(n_groups, dtype=np.int64)
    advantages = np.empty((n_groups, group_size))
    effective = np.empty((n_groups, n_objectives))
    zscores = np.empty((n_groups, group_size, n_objectives))
    grads = np.empty((n_channels, n_features * n_arms))
    gram = np.empty((n_objectives, n_objectives))
    coef = np.empty((n_prompts, n_channels, n_arms))
    channel_sum = np.empty((n_prompts, n_channels))
    performance = np.empty(n_true)
    noise_buf = np.empty(n_true)
    inv_batch = 1.0 / (n_groups * group_size)
    for t in range(steps + 1):
        step_out[t, _loop.ENTROPY] = _policy(features, theta, probs, cdf)
        for k in range(n_objectives):
            total = 0.0
            if k < n_true:
                for p in range(n_prompts):
                    for a in range(n_arms):
                        total += probs[p, a] * means[p, a, k]
            objective_out[t, k, _loop.EXPECTED] = total / n_prompts
        _set_metrics.policy_set_metrics(probs, means, hidden, metric_weights, track_sets, set_out[t])
        if scheme_id == _stateful.HV_GUIDED:
            _heldout_performance(state, features, means, probs, cdf, heldout_samples, performance)
            _stateful.post_update(scheme_id, scheme_state, scheme_params, performance)
        _loop.record_scheme_state(scheme_id, scheme_state, step_out[t])
        if t == steps:
            _loop.finish_last_row(step_out[t], objective_out[t])
            break
        for b in range(n_groups):
            p = 0
            if n_prompts > 1:
                p = int(_rng.uniform(state) * n_prompts)
            prompts[b] = p
            for j in range(group_size):
                for s in range(n_answers):
                    a = _search(cdf, p, _rng.uniform(state))
                    arms[b, j, s] = a
                    for k in range(n_true):
                        mu = means[p, a, k]
                        if binary:
                            clean_store[b, j, s, k] = 1.0 if _rng.uniform(state) < mu else 0.0
                        else:
                            clean_store[b, j, s, k] = mu
        observe(state, clean_rows, flip_prob, noise_sd, noise_factor, noise_df, n_spurious, spurious_sd, scale,
                offset, binary, noise_buf, reward_rows)
        if rescore:
            observe(state, clean_rows, flip_prob, noise_sd, noise_factor, noise_df, n_spurious, spurious_sd, scale,
                    offset, binary, noise_buf, rescored_rows)
        condition_batch(answer_rows, condition)
        if rescore:
            condition_batch(rescored_answer_rows, condition)
        if n_answers > 1:
            _answer_means(set_rewards, rewards)
            if rescore:
                _answer_means(set_rescored, rescored)
        _loop.objective_zscores(rewards, ddof, eps, zscores, step_out[t], objective_out[t])
        # grad log pi(a | p) = phi_p (e_a - pi_p): sum the advantages per (prompt, channel, arm) first, then
        # expand once per prompt, so the cost is O(B G K + P N d K) rather than O(B N d K).
        coef[:] = 0.0
        channel_sum[:] = 0.0
        if n_answers == 1:  # the plain loop, without the per-answer weight
            for b in range(n_groups):
                p = prompts[b]
                for j in range(group_size):
                    a = arms[b, j, 0]
                    for k in range(n_objectives):
                        coef[p, 1 + k, a] += zscores[b, j, k]
                        channel_sum[p, 1 + k] += zscores[b, j, k]
        else:
            for b in range(n_groups):
                p = prompts[b]
                for j in range(group_size):
                    for s in range(n_answers):
                        a = arms[b, j, s]
                        for k in range(n_objectives):
                            coef[p, 1 + k, a] += zscores[b, j, k] * inv_answers
                            channel_sum[p, 1 + k] += zscores[b, j, k] * inv_answers
        if stateful:
            _expand(features, probs, coef, channel_sum, inv_batch, 1, n_channels, grads)
            _loop.objective_gram(grads, gram)
            _stateful.pre_update(scheme_id, scheme_state, scheme_params, weights, rewards, rescored, rescore,
                                 gram, lr, ddof)
        if set_scheme:
            _set_kernels.loop_advantages(scheme_id, scheme_rng, scheme_params, set_rewards, rewards, weights, ddof,
                                         eps, saw, advantages, effective)
        else:
            _loop.scheme_advantages(scheme_id, scheme_state, scheme_params, rewards, weights, ddof, eps, saw,
                                    advantages, effective, normalization)
        _loop.advantage_diagnostics(advantages, effective, step_out[t], objective_out[t])
        for b in range(n_groups):
            p = prompts[b]
            for j in range(group_size):
                if n_answers == 1:
                    coef[p, 0, arms[b, j, 0]] += advantages[b, j]
                    channel_sum[p, 0] += advantages[b, j]
                else:
                    for s in range(n_answers):
                        coef[p, 0, arms[b, j, s]] += advantages[b, j] * inv_answers
                        channel_sum[p, 0] += advantages[b, j] * inv_answers
        _expand(features, probs, coef, channel_sum, inv_batch, 0, 1 if stateful else n_channels, grads)
        _loop.gradient_geometry(grads, step_out[t])
        for f in range(n_features):
            for a in range(n_arms):
                theta[f, a] += lr * grads[0, f * n_arms + a]


@njit(cache=True)
def _answer_means(set_rewards, rewards):
    """rewards[b, j, k] = the mean over a rollout's answers of set_rewards[b, j, :, k]."""
    n_groups, n_rollouts, n_answers, n_objectives = set_rewards.shape
    for b in range(n_groups):
        for j in range(n_rollouts):
            for k in range(n_objectives):
                total = 0.0
                for s in range(n_answers):
                    total += set_rewards[b, j, s, k]
                rewards[b, j, k] = total / n_answers


@njit(cache=True)
def _expand(features, probs, coef, channel_sum, inv_batch, first, last, grads):
    """grads[c] = 1/(B G) sum_p phi_p (coef[p, c] - channel_sum[p, c] pi_p) for channels first..last-1."""
    n_prompts, n_features = features.shape
    n_arms = probs.shape[1]
    for c in range(first, last):
        grads[c, :] = 0.0
        for p in range(n_prompts):
            for a in range(n_arms):
                g = (coef[p, c, a] - channel_sum[p, c] * probs[p, a]) * inv_batch
                if g != 0.0:
                    for f in range(n_features):
                        grads[c, f * n_arms + a] += features[p, f] * g


@njit(cache=True)
def _run_one(r, states, features, means, hiddens, flip_prob, noise_sd, noise_factor, noise_df, n_spurious,
             spurious_sd, scale, offset, binary, condition, scheme_ids, scheme_states, scheme_params, weights, ddof,
             eps, saw, steps, n_groups, group_size, lr, heldout_samples, n_answers, thetas, step_out, objective_out,
             track_sets, metric_weights, set_out, normalization):
    run_bandit(states[r], features[r], means[r], flip_prob[r], noise_sd[r], noise_factor[r], noise_df[r],
               n_spurious, spurious_sd[r], scale[r], offset[r], binary[r], condition[r], scheme_ids[r],
               scheme_states[r], scheme_params[r], weights[r], ddof, eps[r], saw[r], steps, n_groups, group_size,
               lr[r], heldout_samples, n_answers, hiddens[r], thetas[r], step_out[r], objective_out[r], track_sets,
               metric_weights[r], set_out[r], normalization)


@njit(cache=True)
def run_many_serial(states, features, means, hiddens, flip_prob, noise_sd, noise_factor, noise_df, n_spurious,
                    spurious_sd, scale, offset, binary, condition, scheme_ids, scheme_states, scheme_params, weights,
                    ddof, eps, saw, steps, n_groups, group_size, lr, heldout_samples, n_answers, thetas, step_out,
                    objective_out, track_sets, metric_weights, set_out, normalization):
    """Independent runs one after another (the serial twin of :func:`run_many_parallel`)."""
    for r in range(states.shape[0]):
        _run_one(r, states, features, means, hiddens, flip_prob, noise_sd, noise_factor, noise_df, n_spurious,
                 spurious_sd, scale, offset, binary, condition, scheme_ids, scheme_states, scheme_params, weights,
                 ddof, eps, saw, steps, n_groups, group_size, lr, heldout_samples, n_answers, thetas, step_out,
                 objective_out, track_sets, metric_weights, set_out, normalization)


@njit(cache=True, parallel=True)
def run_many_parallel(states, features, means, hiddens, flip_prob, noise_sd, noise_factor, noise_df, n_spurious,
                      spurious_sd, scale, offset, binary, condition, scheme_ids, scheme_states, scheme_params,
                      weights, ddof, eps, saw, steps, n_groups, group_size, lr, heldout_samples, n_answers, thetas,
                      step_out, objective_out, track_sets, metric_weights, set_out, normalization):
    """Independent runs with ``prange``; each run owns its RNG state, so results equal the serial twin's."""
    for r in prange(states.shape[0]):
        _run_one(r, states, features, means, hiddens, flip_prob, noise_sd, noise_factor, noise_df, n_spurious,
                 spurious_sd, scale, offset, binary, condition, scheme_ids, scheme_states, scheme_params, weights,
                 ddof, eps, saw, steps, n_groups, group_size, lr, heldout_samples, n_answers, thetas, step_out,
                 objective_out, track_sets, metric_weights, set_out, normalization)
