"""A miniature language model: an autoregressive token policy whose rewards mirror the papers' math setting.

Vocabulary: ``EOS = 0``, ``OPEN = 1``, ``CLOSE = 2``, ``n_answers`` answer tokens, then ``n_filler`` filler
tokens. A response is the tokens before EOS (at most ``max_len``; a response that reaches ``max_len`` without EOS is
truncated). The policy is ``pi(x_t | prompt, x_{t-1}) = softmax(theta[prompt, x_{t-1}])``, with ``x_0 = BOS``: a
tabular bigram LM per prompt, small enough that every expectation is exact by dynamic programming over the state
(previous token, opened, last content token correct).

Objectives (any subset, in any order, via ``objectives``):

* ``accuracy``: the last content token (answer or filler) is the prompt's answer;
* ``length``: 1 if the response has at most ``length_limit`` tokens, or with ``length_reward="linear"`` the
  continuous penalty ``max(0, 1 - (n - L) / (max_len - L))`` above the limit;
* ``format``: the response opens with OPEN and ends with CLOSE (not truncated).

The loss is the token-level GRPO surrogate ``l_jt = min(rho_t A_j, clip(rho_t, 1-e, 1+e) A_j)``, maximized by
gradient ascent, aggregated over the batch's ``N = B G`` responses as ``loss_aggregation`` says:

* ``"seq-mean"`` (default; GRPO, TRL ``loss_type="grpo"``): ``J = 1/N sum_j 1/|o_j| sum_t l_jt``, each response's
  token mean, then the mean over responses;
* ``"token-mean"`` (DAPO, Lite PPO; TRL ``"dapo"``, and ``"bnpo"`` when the whole batch is one micro-batch):
  ``J = 1/(sum_j |o_j|) sum_j sum_t l_jt``, every token of the batch weighted alike;
* ``"token-sum"`` (Dr. GRPO; TRL ``"dr_grpo"``): ``J = 1/(N max_len) sum_j sum_t l_jt``, the token sum over a
  constant, so a long response weighs more and no normalizer depends on the batch.

TRL 1.16 ``GRPOTrainer._compute_loss`` (``grpo_trainer.py``) with ``mask`` the completion mask:
``grpo``: ``((l * mask).sum(-1) / mask.sum(-1).clamp(min=1)).mean()``; ``bnpo``: ``(l * mask).sum() /
mask.sum().clamp(min=1)``; ``dr_grpo``: ``(l * mask).sum() / (l.size(0) * max_completion_length)``; ``dapo``:
``(l * mask).sum() / num_items_in_batch`` (the tokens of the whole generation batch). TRL's mask keeps the tokens up
to and including the first EOS, and so does ``|o_j|`` here: the tokens sampled, EOS included; a truncated response
has ``|o_j| = max_len``, so ``max_len`` plays ``max_completion_length``.

With ``answers_per_rollout = m > 1`` every sum runs over the ``N = B G m`` responses sampled, the rollout's advantage
repeated on each of its m responses (for ``"seq-mean"``, a weight ``1/m`` on each response's token mean). The
normalizers are the batch's and are fixed when it is sampled: with ``ppo_epochs = 1`` the ratio is 1 and clipping
is inactive (on-policy); ``ppo_epochs > 1`` reuses each batch for more clipped updates, as PPO does, and a clipped
token gives no gradient but still counts in ``|o_j|`` and ``sum_j |o_j|`` (as in TRL, whose mask does not see the
clipping). The per-objective gradient channels (the Gram matrix of the stateful schemes, the gradient geometry
diagnostics) aggregate the same way.
"""

from __future__ import annotations

import dataclasses
import functools
import sys

import numpy as np
from numba import njit, prange

from mowsim import _rng, validation
from mowsim.envs import _loop
from mowsim.envs._reward import RewardKnobs, condition_batch, observe
from mowsim.envs.bandit import _check_int, _check_theta
from mowsim.schemes import _set_kernels, _stateful

__all__ = ["SequenceTask"]

EOS, OPEN, CLOSE, FIRST_CONTENT = 0, 1, 2, 3
OBJECTIVES = ("accuracy", "length", "format")
_ACCURACY, _LENGTH, _FORMAT = 0, 1, 2
LOSS_AGGREGATIONS = ("seq-mean", "token-mean", "token-sum")
_SEQ_MEAN, _TOKEN_MEAN, _TOKEN_SUM = 0, 1, 2


@dataclasses.dataclass(frozen=True)
class SequenceTask(RewardKnobs):
    """A toy LM task with accuracy, length and format rewards. See the module docstring.

    >>> SequenceTask(max_len=10, length_limit=5).n_true_objectives
    3
    """

    n_prompts: int = 8
    n_answers: int = 4
    n_filler: int = 2
    max_len: int = 8
    length_limit: int = 4
    length_reward: str = "binary"
    """"binary" (1 iff at most ``length_limit`` tokens) or "linear" (continuous penalty above it)."""
    objectives: tuple = OBJECTIVES
    eos_bias: float = 0.0
    """Initial logit of EOS after any token: negative values make the initial responses long."""
    saturation: float = 0.0
    """Initial logit bonus for OPEN first and EOS after CLOSE: the larger, the sooner format saturates."""
    ppo_epochs: int = 1
    clip_eps: float = 0.2
    instance_seed: int = 0
    answers_per_rollout: int = 1
    """m: a rollout is m responses sampled for the same prompt, each scored; set schemes (vpo) score the set, the
    others the responses' mean reward; its one advantage reaches every response's tokens (weight 1/m)."""
    loss_aggregation: str = "seq-mean"
    """How the token losses of a batch are combined: "seq-mean" (GRPO: each response's token mean, then the mean
    over responses), "token-mean" (DAPO / Lite PPO: the mean over all the batch's tokens) or "token-sum" (Dr. GRPO:
    the token sum over the constant ``B G m max_len``). See the module docstring for the formulas and TRL's."""

    def __post_init__(self):
        _check_int(self.n_prompts, "n_prompts", 1)
        _check_int(self.n_answers, "n_answers", 1)
        _check_int(self.n_filler, "n_filler", 0)
        _check_int(self.max_len, "max_len", 1, 64)
        _check_int(self.length_limit, "length_limit", 0)
        if self.length_limit > self.max_len:
            raise ValueError(f"length_limit ({self.length_limit}) must be <= max_len ({self.max_len}).")
        if self.length_reward not in ("binary", "linear"):
            raise ValueError(f"length_reward must be 'binary' or 'linear'; got {self.length_reward!r}.")
        objectives = tuple(self.objectives)
        if not objectives or len(set(objectives)) != len(objectives) or any(o not in OBJECTIVES for o in objectives):
            raise ValueError(
                f"objectives must be distinct names from {OBJECTIVES}; got {self.objectives!r}."
            )
        validation.check_scalar(self.eos_bias, "eos_bias")
        validation.check_scalar(self.saturation, "saturation", low=0.0)
        _check_int(self.ppo_epochs, "ppo_epochs", 1)
        validation.check_scalar(self.clip_eps, "clip_eps", low=0.0, low_inclusive=False)
        _check_int(self.instance_seed, "instance_seed", 0)
        _check_int(self.answers_per_rollout, "answers_per_rollout", 1, 64)
        if self.loss_aggregation not in LOSS_AGGREGATIONS:
            raise ValueError(
                f"loss_aggregation must be one of {', '.join(repr(a) for a in LOSS_AGGREGATIONS)}; "
                f"got {self.loss_aggregation!r}."
            )
        self._check_reward_knobs()

    @property
    def n_true_objectives(self) -> int:
        return len(self.objectives)

    @property
    def objective_names(self) -> tuple[str, ...]:
        return tuple(self.objectives) + tuple(f"spurious_{k}" for k in range(self.n_spurious))

    @property
    def vocab_size(self) -> int:
        return FIRST_CONTENT + self.n_answers + self.n_filler

    @functools.cached_property
    def _arrays(self):
        rng = np.random.default_rng(self.instance_seed)
        answers = rng.integers(0, self.n_answers, size=self.n_prompts) + FIRST_CONTENT
        selected = np.array([OBJECTIVES.index(o) for o in self.objectives], dtype=np.int64)
        return answers.astype(np.int64), selected

    def _loop_family(self):
        return sys.modules[__name__]

    def _loop_arrays(self):
        return self._arrays

    def _loop_static(self) -> tuple:
        return (self.max_len, self.length_limit, self.length_reward == "linear", self.ppo_epochs,
                float(self.clip_eps), int(self.answers_per_rollout),
                LOSS_AGGREGATIONS.index(self.loss_aggregation))

    def initial_params(self) -> np.ndarray:
        """Logits of shape (n_prompts, vocab_size + 1, vocab_size); row ``vocab_size`` is BOS."""
        vocab = self.vocab_size
        theta = np.zeros((self.n_prompts, vocab + 1, vocab))
        theta[:, :vocab, EOS] = self.eos_bias
        theta[:, vocab, EOS] = 0.0
        theta[:, vocab, OPEN] += self.saturation
        theta[:, CLOSE, EOS] += self.saturation
        return theta

    def expected_rewards(self, theta) -> np.ndarray:
        """Exact clean expected reward of each true objective under ``theta``; shape (K_true,)."""
        answers, selected = self._arrays
        theta = _check_theta(theta, (self.n_prompts, self.vocab_size + 1, self.vocab_size))
        probs = np.empty_like(theta)
        _policy_table(theta, probs)
        out = np.zeros(3)
        _exact(probs, answers, self.max_len, self.length_limit, self.length_reward == "linear", out)
        return out[selected]


@njit(cache=True)
def _policy_table(theta, probs):
    """probs[p, prev] = softmax(theta[p, prev]); returns nothing."""
    for p in range(theta.shape[0]):
        for prev in range(theta.shape[1]):
            _loop.softmax_row(theta[p, prev], probs[p, prev])


@njit(cache=True, inline="always")
def _length_value(n, max_len, length_limit, linear):
    if n <= length_limit:
        return 1.0
    if not linear or max_len == length_limit:
        return 0.0
    return max(0.0, 1.0 - (n - length_limit) / (max_len - length_limit))


@njit(cache=True)
def _exact(probs, answers, max_len, length_limit, linear, out):
    """Exact expected (accuracy, length, format) averaged over prompts into out[:3]; returns the mean sequence
    entropy (the chain-rule entropy of the response distribution)."""
    n_prompts, n_prev, vocab = probs.shape
    bos = vocab
    mass = np.zeros((n_prev, 2, 2))
    nxt = np.zeros((n_prev, 2, 2))
    out[:] = 0.0
    entropy = 0.0
    for p in range(n_prompts):
        answer = answers[p]
        mass[:] = 0.0
        mass[bos, 0, 0] = 1.0
        for t in range(max_len + 1):
            nxt[:] = 0.0
            for prev in range(n_prev):
                for opened in range(2):
                    for correct in range(2):
                        m = mass[prev, opened, correct]
                        if m == 0.0:
                            continue
                        if t == max_len:  # truncated: no format, length max_len
                            out[_ACCURACY] += m * correct
                            out[_LENGTH] += m * _length_value(max_len, max_len, length_limit, linear)
                            continue
                        row = probs[p, prev]
                        for v in range(vocab):
                            if row[v] > 0.0:
                                entropy -= m * row[v] * np.log(row[v])
                        stop = m * row[EOS]
                        out[_ACCURACY] += stop * correct
                        out[_LENGTH] += stop * _length_value(t, max_len, length_limit, linear)
                        if opened == 1 and prev == CLOSE:
                            out[_FORMAT] += stop
                        for v in range(1, vocab):
                            new_opened = (1 if v == OPEN else 0) if t == 0 else opened
                            new_correct = correct
                            if v >= FIRST_CONTENT:
                                new_correct = 1 if v == answer else 0
                            nxt[v, new_opened, new_correct] += m * row[v]
            mass[:] = nxt
    out[:] /= n_prompts
    return entropy / n_prompts


@njit(cache=True)
def _accumulate(theta_shape_prev, probs, prompts, tokens, n_tokens, values, scale_out, grads, channel, ratio_ref,
                clip_eps, per_sequence):
    """Add the token-level surrogate gradient of one advantage channel to grads[channel] (flattened theta).

    ``values`` (B, G) are the advantages; each response's tokens are weighted by ``A / |o| * scale_out`` when
    ``per_sequence`` ("seq-mean"), else by ``A * scale_out`` (the token aggregations, ``scale_out`` then holding
    their normalizer, see :func:`_token_scale`). With ``ratio_ref``
    (old per-token probabilities, same shape as ``tokens``) the PPO ratio and clipping apply; pass an empty array
    for the on-policy gradient (ratio 1).

    A token x after ``prev`` moves only row (p, prev) of theta, by ``factor * (e_x - pi(. | p, prev))``. So the
    factors are first summed per (p, prev, x) and per (p, prev), and each row is expanded once at the end:
    O(tokens + P (V + 1) V) instead of O(tokens V) (the per-token row update took more than half of a step).
    """
    n_groups, group_size = values.shape
    n_prompts, vocab = probs.shape[0], probs.shape[2]
    n_rows = n_prompts * theta_shape_prev
    use_ratio = ratio_ref.shape[0] > 0
    coef = np.zeros(n_rows * vocab)  # theta's flat layout: row (p * (V + 1) + prev), column x
    row_total = np.zeros(n_rows)
    for b in range(n_groups):
        p = prompts[b]
        for j in range(group_size):
            count = n_tokens[b, j]
            a = values[b, j]
            if count == 0 or a == 0.0:
                continue
            weight = a / count * scale_out if per_sequence else a * scale_out
            prev = theta_shape_prev - 1  # BOS
            for t in range(count):
                x = tokens[b, j, t]
                factor = weight
                if use_ratio:
                    ratio = probs[p, prev, x] / ratio_ref[b, j, t]
                    if (a > 0.0 and ratio > 1.0 + clip_eps) or (a < 0.0 and ratio < 1.0 - clip_eps):
                        prev = x
                        continue
                    factor = weight * ratio
                row = p * theta_shape_prev + prev
                coef[row * vocab + x] += factor
                row_total[row] += factor
                prev = x
    for row in range(n_rows):
        p = row // theta_shape_prev
        prev = row - p * theta_shape_prev
        total = row_total[row]
        base = row * vocab
        for v in range(vocab):
            grads[channel, base + v] += coef[base + v] - total * probs[p, prev, v]


@njit(cache=True)
def _sample_response(state, probs, p, answer, max_len, length_limit, linear, tokens, old_probs, b, j, clean_all):
    """Sample one response for prompt p into tokens[b, j] and old_probs[b, j]; fill clean (accuracy, length,
    format); return |o|.

    Each token is drawn by inverse CDF with a linear scan of ``probs[p, prev]`` (the vocabulary is short), indexed
    in place: a row view per token, or a call per token with one, cost as much as the draw.
    """
    vocab = probs.shape[2]
    last = vocab - 1
    prev = vocab  # BOS
    opened = False
    correct = 0.0
    length = max_len
    stopped = False
    count = 0
    for pos in range(max_len):
        u = _rng.uniform(state)
        x = last
        cumulative = 0.0
        for i in range(last):
            cumulative += probs[p, prev, i]
            if u < cumulative:
                x = i
                break
        tokens[b, j, pos] = x
        old_probs[b, j, pos] = probs[p, prev, x]
        count += 1
        if x == EOS:
            length = pos
            stopped = True
            break
        if pos == 0:
            opened = x == OPEN
        if x >= FIRST_CONTENT:
            correct = 1.0 if x == answer else 0.0
        prev = x
    clean_all[_ACCURACY] = correct
    clean_all[_LENGTH] = _length_value(length, max_len, length_limit, linear)
    clean_all[_FORMAT] = 1.0 if (stopped and opened and prev == CLOSE) else 0.0
    return count


@njit(cache=True)
def _heldout_performance(state, probs, answers, selected, max_len, length_limit, linear, exact, n_samples, out):
    """Performance of the true objectives: exact, or estimated from n_samples held-out responses per prompt."""
    n_true = selected.shape[0]
    if n_samples == 0:
        for k in range(n_true):
            out[k] = exact[selected[k]]
        return
    tokens = np.empty((1, 1, max_len + 1), dtype=np.int64)
    token_probs = np.empty((1, 1, max_len + 1))
    clean_all = np.empty(3)
    totals = np.zeros(3)
    n_prompts = probs.shape[0]
    for p in range(n_prompts):
        for _ in range(n_samples):
            _sample_response(state, probs, p, answers[p], max_len, length_limit, linear, tokens, token_probs, 0, 0,
                             clean_all)
            for i in range(3):
                totals[i] += clean_all[i]
    for k in range(n_true):
        out[k] = totals[selected[k]] / (n_prompts * n_samples)


@njit(cache=True)
def run_sequence(state, answers, selected, flip_prob, noise_sd, noise_factor, noise_df, n_spurious, spurious_sd,
                 scale, offset, binary, condition, scheme_id, scheme_state, scheme_params, weights, ddof, eps, saw,
                 steps, n_groups, group_size, lr, heldout_samples, max_len, length_limit, linear, ppo_epochs,
                 clip_eps, set_size, aggregation, theta, step_out, objective_out, normalization):
    """One training run of :class:`SequenceTask`; ``theta`` (P, V + 1, V) and ``scheme_state`` are updated in
    place. The step order is the bandit loop's (see :func:`mowsim.envs.bandit.run_bandit`), and ``state[4:8]`` is
    the scheme's own stream (vpo, random-weight). With ``set_size = m > 1`` a rollout is m responses to its prompt:
    set schemes see the (B, G, m, K) scores, the others the responses' mean, and the rollout's advantage weights
    each response's tokens by 1/m under "seq-mean" (the loss is the mean over the m responses of their
    length-normalized sums; the token aggregations sum over all B G m responses' tokens). ``aggregation`` is the index of the env's ``loss_aggregation`` in :data:`LOSS_AGGREGATIONS`; its normalizer is
    fixed per batch and serves every gradient channel and every PPO epoch."""
    n_prompts, n_prev, vocab = theta.shape
    n_true = selected.shape[0]
    n_objectives = n_true + n_spurious
    n_channels = 1 + n_objectives
    n_params = theta.size
    probs = np.empty(theta.shape)
    exact = np.zeros(3)
    n_responses = group_size * set_size
    response_rewards = np.empty((n_groups, n_responses, n_objectives))
    response_rescored = np.empty((n_groups, n_responses, n_objectives))
    if set_size == 1:
        rewards = response_rewards
        rescored = response_rescored
    else:
        rewards = np.empty((n_groups, group_size, n_objectives))
        rescored = np.empty((n_groups, group_size, n_objectives))
    clean_store = np.empty((n_groups, n_responses, n_true))
    rescore = scheme_id == _stateful.DVAO_RELIABLE
    set_scheme = _set_kernels.is_set_scheme(scheme_id)
    stateful = scheme_id >= _stateful.HV_GUIDED and not set_scheme
    scheme_rng = state[4:8]
    set_rewards = response_rewards.reshape(n_groups, group_size, set_size, n_objectives)
    clean_rows = clean_store.reshape(n_groups * n_responses, n_true)
    reward_rows = response_rewards.reshape(n_groups * n_responses, n_objectives)
    rescored_rows = response_rescored.reshape(n_groups * n_responses, n_objectives)
    tokens = np.zeros((n_groups, n_responses, max_len + 1), dtype=np.int64)
    old_probs = np.empty((n_groups, n_responses, max_len + 1))
    n_tokens = np.empty((n_groups, n_responses), dtype=np.int64)
    per_response = np.empty((n_groups, n_responses))  # a rollout's value repeated over its m responses (m > 1)
    inv_set = 1.0 / set_size
    prompts = np.empty(n_groups, dtype=np.int64)
    advantages = np.empty((n_groups, group_size))
    effective = np.empty((n_groups, n_objectives))
    zscores = np.empty((n_groups, group_size, n_objectives))
    grads = np.empty((n_channels, n_params))
    gram = np.empty((n_objectives, n_objectives))
    clean_all = np.empty(3)
    performance = np.empty(n_true)
    noise_buf = np.empty(n_true)
    no_ratio = np.empty((0, 0, 0))
    theta_flat = theta.reshape(n_params)
    inv_batch = 1.0 / (n_groups * group_size)
    per_sequence = aggregation == _SEQ_MEAN
    loss_scale = inv_batch if set_size == 1 else inv_batch * inv_set
    for t in range(steps + 1):
        _policy_table(theta, probs)
        step_out[t, _loop.ENTROPY] = _exact(probs, answers, max_len, length_limit, linear, exact)
        for k in range(n_objectives):
            objective_out[t, k, _loop.EXPECTED] = exact[selected[k]] if k < n_true else 0.0
        if scheme_id == _stateful.HV_GUIDED:
            _heldout_performance(state, probs, answers, selected, max_len, length_limit, linear, exact,
                                 heldout_samples, performance)
            _stateful.post_update(scheme_id, scheme_state, scheme_params, performance)
        _loop.record_scheme_state(scheme_id, scheme_state, step_out[t])
        if t == steps:
            _loop.finish_last_row(step_out[t], objective_out[t])
            break
        for b in range(n_groups):
            p = int(_rng.uniform(state) * n_prompts) if n_prompts > 1 else 0
            prompts[b] = p
            for j in range(n_responses):
                n_tokens[b, j] = _sample_response(state, probs, p, answers[p], max_len, length_limit, linear,
                                                  tokens, old_probs, b, j, clean_all)
                for k in range(n_true):
                    clean_store[b, j, k] = clean_all[selected[k]]
        if not per_sequence:
            loss_scale = _token_scale(n_tokens, aggregation, max_len)
        observe(state, clean_rows, flip_prob, noise_sd, noise_factor, noise_df, n_spurious, spurious_sd, scale,
                offset, binary, noise_buf, reward_rows)
        if rescore:
            observe(state, clean_rows, flip_prob, noise_sd, noise_factor, noise_df, n_spurious, spurious_sd, scale,
                    offset, binary, noise_buf, rescored_rows)
        condition_batch(response_rewards, condition)
        if rescore:
            condition_batch(response_rescored, condition)
        if set_size > 1:
            _set_means(response_rewards, set_size, rewards)
            if rescore:
                _set_means(response_rescored, set_size, rescored)
        _loop.objective_zscores(rewards, ddof, eps, zscores, step_out[t], objective_out[t])
        for k in range(n_objectives):
            grads[1 + k, :] = 0.0
            if set_size == 1:
                _accumulate(n_prev, probs, prompts, tokens, n_tokens, zscores[:, :, k], loss_scale, grads, 1 + k,
                            no_ratio, clip_eps, per_sequence)
            else:
                _repeat_over_set(zscores[:, :, k], set_size, per_response)
                _accumulate(n_prev, probs, prompts, tokens, n_tokens, per_response, loss_scale, grads, 1 + k,
                            no_ratio, clip_eps, per_sequence)
        if stateful:
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
        grads[0, :] = 0.0
        if set_size == 1:
            _accumulate(n_prev, probs, prompts, tokens, n_tokens, advantages, loss_scale, grads, 0, no_ratio,
                        clip_eps, per_sequence)
        else:
            _repeat_over_set(advantages, set_size, per_response)
            _accumulate(n_prev, probs, prompts, tokens, n_tokens, per_response, loss_scale, grads, 0, no_ratio,
                        clip_eps, per_sequence)
        _loop.gradient_geometry(grads, step_out[t])
        for i in range(n_params):
            theta_flat[i] += lr * grads[0, i]
        for _ in range(1, ppo_epochs):
            _policy_table(theta, probs)
            grads[0, :] = 0.0
            if set_size == 1:
                _accumulate(n_prev, probs, prompts, tokens, n_tokens, advantages, loss_scale, grads, 0, old_probs,
                            clip_eps, per_sequence)
            else:
                _accumulate(n_prev, probs, prompts, tokens, n_tokens, per_response, loss_scale, grads, 0, old_probs,
                            clip_eps, per_sequence)
            for i in range(n_params):
                theta_flat[i] += lr * grads[0, i]


@njit(cache=True)
def _token_scale(n_tokens, aggregation, max_len):
    """The per-token weight of a token aggregation over the batch's responses ``n_tokens`` (B, G m):
    ``1 / sum_j |o_j|`` ("token-mean") or ``1 / (B G m max_len)`` ("token-sum")."""
    if aggregation == _TOKEN_SUM:
        return 1.0 / (n_tokens.size * max_len)
    total = 0
    for b in range(n_tokens.shape[0]):
        for j in range(n_tokens.shape[1]):
            total += n_tokens[b, j]
    return 1.0 / total


@njit(cache=True)
def _set_means(response_rewards, set_size, rewards):
    """rewards[b, j, k] = the mean of response_rewards[b, j * m + s, k] over the rollout's m responses."""
    n_groups, n_rollouts, n_objectives = rewards.shape
    for b in range(n_groups):
        for j in range(n_rollouts):
            for k in range(n_objectives):
                total = 0.0
                for s in range(set_size):
                    total += response_rewards[b, j * set_size + s, k]
                rewards[b, j, k] = total / set_size


@njit(cache=True)
def _repeat_over_set(values, set_size, out):
    """out[b, j * m + s] = values[b, j]: a rollout's advantage for each of its m responses."""
    for b in range(values.shape[0]):
        for j in range(values.shape[1]):
            for s in range(set_size):
                out[b, j * set_size + s] = values[b, j]


@njit(cache=True)
def _run_one(r, states, answers, selected, flip_prob, noise_sd, noise_factor, noise_df, n_spurious, spurious_sd,
             scale, offset, binary, condition, scheme_ids, scheme_states, scheme_params, weights, ddof, eps, saw,
             steps, n_groups, group_size, lr, heldout_samples, max_len, length_limit, linear, ppo_epochs, clip_eps,
             set_size, aggregation, thetas, step_out, objective_out, track_sets, metric_weights, set_out,
             normalization):
    run_sequence(states[r], answers[r], selected[r], flip_prob[r], noise_sd[r], noise_factor[r], noise_df[r],
                 n_spurious, spurious_sd[r], scale[r], offset[r], binary[r], condition[r], scheme_ids[r],
                 scheme_states[r], scheme_params[r], weights[r], ddof, eps[r], saw[r], steps, n_groups,
                 group_size, lr[r], heldout_samples, max_len, length_limit, linear, ppo_epochs, clip_eps, set_size,
                 aggregation, thetas[r], step_out[r], objective_out[r], normalization)


@njit(cache=True)
def run_many_serial(states, answers, selected, flip_prob, noise_sd, noise_factor, noise_df, n_spurious, spurious_sd,
                    scale, offset, binary, condition, scheme_ids, scheme_states, scheme_params, weights, ddof, eps,
                    saw, steps, n_groups, group_size, lr, heldout_samples, max_len, length_limit, linear,
                    ppo_epochs, clip_eps, set_size, aggregation, thetas, step_out, objective_out, track_sets,
                    metric_weights, set_out, normalization):
    """Independent runs one after another (the serial twin of :func:`run_many_parallel`)."""
    for r in range(states.shape[0]):
        _run_one(r, states, answers, selected, flip_prob, noise_sd, noise_factor, noise_df, n_spurious,
                 spurious_sd, scale, offset, binary, condition, scheme_ids, scheme_states, scheme_params, weights,
                 ddof, eps, saw, steps, n_groups, group_size, lr, heldout_samples, max_len, length_limit, linear,
                 ppo_epochs, clip_eps, set_size, aggregation, thetas, step_out, objective_out, track_sets,
                 metric_weights, set_out, normalization)


@njit(cache=True, parallel=True)
def run_many_parallel(states, answers, selected, flip_prob, noise_sd, noise_factor, noise_df, n_spurious,
                      spurious_sd, scale, offset, binary, condition, scheme_ids, scheme_states, scheme_params,
                      weights, ddof, eps, saw, steps, n_groups, group_size, lr, heldout_samples, max_len,
                      length_limit, linear, ppo_epochs, clip_eps, set_size, aggregation, thetas, step_out,
                      objective_out, track_sets, metric_weights, set_out, normalization):
    """Independent runs with ``prange``; each run owns its RNG state, so results equal the serial twin's."""
    for r in prange(states.shape[0]):
        _run_one(r, states, answers, selected, flip_prob, noise_sd, noise_factor, noise_df, n_spurious,
                 spurious_sd, scale, offset, binary, condition, scheme_ids, scheme_states, scheme_params, weights,
                 ddof, eps, saw, steps, n_groups, group_size, lr, heldout_samples, max_len, length_limit, linear,
                 ppo_epochs, clip_eps, set_size, aggregation, thetas, step_out, objective_out, track_sets,
                 metric_weights, set_out, normalization)
