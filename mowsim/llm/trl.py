"""mowsim's schemes inside TRL: :class:`MultiObjectiveGRPOTrainer`, a ``GRPOTrainer`` whose advantages come from
:func:`mowsim.advantages`.

How it hooks in (TRL 1.16; ``_calculate_rewards`` is the per-function reward hook TRL keeps for subclasses, TRL
issue #4525):

1. ``_calculate_rewards`` is captured: it returns ``rewards_per_func``, gathered over all processes, shape
   ``(B*G, K)`` with each prompt's ``G = num_generations`` completions contiguous, NaN where a reward function
   returned None.
2. ``_generate_and_score_completions`` runs TRL's own code, then replaces ``output["advantages"]`` (the tensor the
   loss reads) with ``mowsim.advantages(rewards_per_func.reshape(B, G, K), scheme, reward_weights, ddof, eps,
   normalization)``, sliced to this process exactly as TRL slices (``process_index * len(prompts)`` onward). A
   completion every reward function left unscored (an all-NaN row) gets advantage 0, as in TRL.
3. Effective weights and diagnostics go to TRL's ``self._metrics[mode]`` under ``mowsim/...``.

The scheme replaces TRL's ``multi_objective_aggregation``; ``scheme="rc"`` with ``ddof=1, eps=1e-4`` is TRL's
``sum_then_normalize`` and ``scheme="gdpo"`` its ``normalize_then_sum`` (tests hold them equal).

``args.scale_rewards`` is honoured as mowsim's ``normalization`` (:mod:`mowsim.schemes.normalization`):
``"group"`` / ``True`` -> ``"group"``, ``"batch"`` -> ``"batch"`` (Lite PPO), ``"none"`` / ``False`` -> ``"none"``
(Dr. GRPO); only RC, AC, GDPO, DVAO, SAW-GRPO and SAW-GDPO run with the last two (others raise at construction).
With ``scheme="rc", ddof=1, eps=1e-4`` each equals TRL 1.16's ``sum_then_normalize`` under the same
``scale_rewards`` (``_generate_and_score_completions``: "batch" divides ``rewards - mean_grouped_rewards`` by
``nanstd(rewards) + 1e-4``, the unbiased std of every scorable completion's weighted reward sum over the gathered
batch; "none" divides by nothing) with one documented difference: TRL's batch std also counts the completion of a
group that has a single scorable completion (its advantage is 0 in both), mowsim's leaves it out, as GDPO's batch
statistics do; where no group has exactly one scorable completion the two agree (tests/test_trl_equivalence.py).
TRL's own ``normalize_then_sum`` ignores ``scale_rewards``; ``scheme="gdpo"`` under "batch" or "none" is mowsim's
scoped GDPO, which TRL does not have.

Stateful schemes get their feedback from the trainer (see :mod:`mowsim.schemes.dynamic`):

* ``rewards`` (dvao-ema): the gathered batch, before its advantages; training batches only.
* ``rescored`` (dvao-reliable without known ``noise_variance``): the reward functions run a second time on the same
  completions; with deterministic reward functions that estimates zero noise, which is right.
* ``performance`` (hv-guided): ``performance_fn(trainer) -> array (K,)``, called before training (the reference
  point) and after every ``performance_every``-th optimizer step. Required; there is no default.
* ``gram`` (gradient, mgda, pcgrad): per-objective policy gradients ``g_k`` of the surrogate
  ``-mean_t A_k logpi`` with ``A_k`` objective k's own group z-score, on this process's completions and the
  parameters ``gram_parameters`` selects (names containing any of its substrings; None: every trainable parameter),
  averaged over processes. That is one forward pass and K backward passes per generation batch. Sharded parameters
  (DeepSpeed ZeRO-3, FSDP) are refused with a ValueError.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np

from mowsim.llm import require

require("torch", "transformers", "accelerate", "datasets", "trl")

import torch  # noqa: E402
from transformers import TrainerCallback  # noqa: E402
from trl import GRPOTrainer  # noqa: E402

import mowsim  # noqa: E402
from mowsim.schemes import get as get_scheme  # noqa: E402

__all__ = ["MultiObjectiveGRPOTrainer", "multi_objective_advantages", "normalization_of", "SCALE_REWARDS"]


SCALE_REWARDS = {"group": "group", True: "group", "batch": "batch", "none": "none", False: "none"}
"""TRL's ``scale_rewards`` -> mowsim's ``normalization``."""


def normalization_of(scale_rewards) -> str:
    """mowsim's ``normalization`` for TRL's ``scale_rewards`` (see :data:`SCALE_REWARDS`)."""
    try:
        return SCALE_REWARDS[scale_rewards]
    except (KeyError, TypeError):
        raise ValueError(f"scale_rewards must be one of 'group' (or True), 'batch', 'none' (or False), as in TRL; "
                         f"got {scale_rewards!r}.") from None


def multi_objective_advantages(rewards_per_func, num_generations: int, scheme, weights=None, *, ddof: int = 1,
                               eps: float = 1e-4, reward_min=None, normalization: str = "group"):
    """The advantages (B*G,) and effective weights (B, K) of TRL's flat ``rewards_per_func`` (B*G, K).

    Rows are grouped ``num_generations`` at a time, as TRL lays them out; an all-NaN row gets advantage 0.
    ``normalization`` is mowsim's (``"group"``, ``"batch"``, ``"none"``; :func:`normalization_of` maps TRL's
    ``scale_rewards`` to it).
    """
    rewards = np.asarray(rewards_per_func, dtype=np.float64)
    if rewards.ndim != 2 or rewards.shape[0] % num_generations:
        raise ValueError(f"rewards_per_func has shape {rewards.shape}; expected (B*G, K) with B*G a multiple of "
                         f"num_generations={num_generations}.")
    grouped = rewards.reshape(-1, num_generations, rewards.shape[1])
    out = get_scheme(scheme).compute(grouped, weights, ddof=ddof, eps=eps, reward_min=reward_min,
                                     normalization=normalization)
    advantages = out.advantages.reshape(-1)
    advantages[np.all(np.isnan(rewards), axis=1)] = 0.0
    return advantages, out.weights


class MultiObjectiveGRPOTrainer(GRPOTrainer):
    """``trl.GRPOTrainer`` with a mowsim multi-objective advantage scheme.

    Parameters
    ----------
    *args, **kwargs
        Passed to ``GRPOTrainer`` (``model``, ``reward_funcs`` (one per objective), ``args``, ``train_dataset``,
        ``processing_class``, ...). ``args.reward_weights`` are the user weights ``w`` (non-negative);
        ``args.scale_rewards`` picks the normalization (:func:`normalization_of`, the module docstring).
    scheme : str or mowsim.schemes.Scheme
        A registered name (``"dvao"``, ``"rc"``, ``"gdpo"``, ``"saw-gdpo"``, ...) or an instance, stateful ones
        included; a stateful instance passed in keeps its state across trainers.
    ddof, eps : int, float
        Group-statistics options of :func:`mowsim.advantages`. The defaults (1, 1e-4) are TRL's.
    reward_min : float or sequence of float, optional
        Known lower bound of each reward, for SAW.
    performance_fn : callable, optional
        ``performance_fn(trainer) -> array (K,)``: held-out performance, for schemes with ``performance`` feedback.
    performance_every : int
        Optimizer steps between ``performance_fn`` calls.
    gram_parameters : sequence of str, optional
        For ``gram`` feedback: gradients are taken over parameters whose name contains any of these substrings.
    """

    def __init__(self, *args, scheme="dvao", ddof: int = 1, eps: float = 1e-4, reward_min=None,
                 performance_fn: Callable | None = None, performance_every: int = 1,
                 gram_parameters: Sequence[str] | None = None, **kwargs):
        self.scheme = get_scheme(scheme)
        self.ddof = mowsim.validation.check_ddof(ddof)
        self.eps = mowsim.validation.check_eps(eps)
        self.reward_min = reward_min
        feedback = getattr(self.scheme, "feedback", ())
        if "performance" in feedback and performance_fn is None:
            raise ValueError(f"scheme {self.scheme.name!r} needs held-out performance after each update; pass "
                             "performance_fn=lambda trainer: <array of K objective scores> (higher is better).")
        if not isinstance(performance_every, int) or performance_every < 1:
            raise ValueError(f"performance_every must be a positive int; got {performance_every!r}.")
        self.performance_fn = performance_fn
        self.performance_every = performance_every
        self.gram_parameters = None if gram_parameters is None else tuple(gram_parameters)
        self.mowsim_seconds = 0.0
        """Wall-clock seconds spent in :func:`mowsim.advantages` (and the scheme's state update), all batches."""
        self.mowsim_gram_seconds = 0.0
        """Wall-clock seconds spent on per-objective gradients for ``gram`` feedback."""
        self._mowsim_capture = None
        super().__init__(*args, **kwargs)
        self.normalization = normalization_of(self.scale_rewards)
        try:
            mowsim.validation.check_normalization(self.normalization, self.scheme.name)
        except ValueError as err:
            raise ValueError(f"args.scale_rewards={self.scale_rewards!r}: {err} Set scale_rewards='group' for "
                             f"scheme {self.scheme.name!r}.") from None
        if self.reward_weights.lt(0).any():
            raise ValueError(f"reward_weights must be non-negative for mowsim's schemes; got "
                             f"{self.reward_weights.tolist()}. Negate the reward function's output instead.")
        if "gram" in feedback and (self.is_deepspeed_enabled or self.is_fsdp_enabled):
            raise ValueError(f"scheme {self.scheme.name!r} needs per-objective gradients (gram feedback), which "
                             "MultiObjectiveGRPOTrainer computes on unsharded parameters only; DeepSpeed and FSDP "
                             "shard them. Use a scheme without gram feedback, or train without sharding.")
        if "performance" in feedback:
            self.add_callback(_PerformanceFeedback(self))

    # -- TRL hooks ----------------------------------------------------------------------------------------------
    def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
        rewards_per_func = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
        self._mowsim_capture = {"rewards": rewards_per_func, "inputs": inputs, "prompts": prompts,
                                "completions": completions, "completion_ids_list": completion_ids_list}
        return rewards_per_func

    def _generate_and_score_completions(self, inputs):
        self._mowsim_capture = None
        output = super()._generate_and_score_completions(inputs)
        capture, self._mowsim_capture = self._mowsim_capture, None
        if capture is None:
            raise RuntimeError("TRL did not call _calculate_rewards; this TRL version is not supported by "
                               "MultiObjectiveGRPOTrainer (tested with TRL 1.16).")
        mode = "train" if self.model.training else "eval"
        num_generations = self.num_generations if mode == "train" else self.num_generations_eval
        rewards = capture["rewards"].detach().to("cpu", torch.float64).numpy()
        weights = self.reward_weights.detach().to("cpu", torch.float64).numpy()
        n_local = len(capture["prompts"])
        process_slice = slice(self.accelerator.process_index * n_local, (self.accelerator.process_index + 1) * n_local)

        if mode == "train" and self.scheme.stateful:
            self._feed_scheme(capture, rewards, num_generations, process_slice, output)

        start = time.perf_counter()
        advantages, effective = multi_objective_advantages(rewards, num_generations, self.scheme, weights,
                                                           ddof=self.ddof, eps=self.eps, reward_min=self.reward_min,
                                                           normalization=self.normalization)
        elapsed = time.perf_counter() - start
        self.mowsim_seconds += elapsed

        local = torch.as_tensor(advantages[process_slice], dtype=output["advantages"].dtype,
                                device=output["advantages"].device)
        output["advantages"] = local
        self._replace_logged_advantages(advantages)
        self._log_diagnostics(mode, rewards, advantages, effective, elapsed)
        return output

    # -- stateful feedback --------------------------------------------------------------------------------------
    def _feed_scheme(self, capture, rewards, num_generations, process_slice, output):
        scheme = self.scheme
        grouped = rewards.reshape(-1, num_generations, rewards.shape[1])
        update = {}
        if "rewards" in scheme.feedback or "rescored" in scheme.feedback:
            update["rewards"] = grouped
        if "rescored" in scheme.feedback and getattr(scheme, "noise_variance", None) is None:
            again = super()._calculate_rewards(capture["inputs"], capture["prompts"], capture["completions"],
                                               capture["completion_ids_list"])
            update["rescored"] = again.detach().to("cpu", torch.float64).numpy().reshape(grouped.shape)
        if "gram" in scheme.feedback:
            start = time.perf_counter()
            update["gram"] = self._objective_gram(grouped, process_slice, output)
            self.mowsim_gram_seconds += time.perf_counter() - start
        if not update:
            return
        start = time.perf_counter()
        scheme.update(**update, lr=float(self._current_lr()), ddof=self.ddof)
        self.mowsim_seconds += time.perf_counter() - start

    def _current_lr(self) -> float:
        if getattr(self, "lr_scheduler", None) is not None:
            return self.lr_scheduler.get_last_lr()[0]
        return self.args.learning_rate

    def _objective_gram(self, grouped, process_slice, output) -> np.ndarray:
        """Gram matrix (K, K) of the per-objective surrogate gradients on this process's completions."""
        n_objectives = grouped.shape[2]
        zscores = np.stack([mowsim.advantages(grouped[..., k:k + 1], "ac", ddof=self.ddof, eps=self.eps).reshape(-1)
                            for k in range(n_objectives)], axis=1)
        zscores = np.nan_to_num(zscores[process_slice], nan=0.0)
        model = self.accelerator.unwrap_model(self.model)
        params = [p for name, p in model.named_parameters() if p.requires_grad and (
            self.gram_parameters is None or any(part in name for part in self.gram_parameters))]
        if not params:
            raise ValueError(f"gram_parameters={self.gram_parameters} selects no trainable parameter of the model.")
        input_ids = torch.cat([output["prompt_ids"], output["completion_ids"]], dim=1)
        attention_mask = torch.cat([output["prompt_mask"], output["completion_mask"]], dim=1)
        logits_to_keep = output["completion_ids"].size(1)
        with torch.enable_grad():
            logps, _, _ = self._get_per_token_logps_and_entropies(model, input_ids, attention_mask, logits_to_keep)
            mask = output["completion_mask"].to(logps.dtype)
            per_sequence = (logps * mask).sum(dim=1) / mask.sum().clamp(min=1.0)
            coefficients = torch.as_tensor(zscores, dtype=logps.dtype, device=logps.device)
            gradients = []
            for k in range(n_objectives):
                surrogate = -(coefficients[:, k] * per_sequence).sum()
                grads = torch.autograd.grad(surrogate, params, retain_graph=k < n_objectives - 1, allow_unused=True)
                gradients.append(torch.cat([(g if g is not None else torch.zeros_like(p)).reshape(-1)
                                            for g, p in zip(grads, params)]))
        stacked = torch.stack(gradients).detach().to(torch.float64)
        if self.accelerator.num_processes > 1:
            stacked = self.accelerator.reduce(stacked, reduction="mean")
        return (stacked @ stacked.T).cpu().numpy()

    # -- logging ------------------------------------------------------------------------------------------------
    def _replace_logged_advantages(self, advantages: np.ndarray) -> None:
        logged = self._logs.get("advantages") if isinstance(getattr(self, "_logs", None), dict) else None
        if logged is None or len(logged) < len(advantages):
            return
        for _ in range(len(advantages)):
            logged.pop()
        logged.extend(advantages.tolist())

    def _log_diagnostics(self, mode, rewards, advantages, effective, elapsed) -> None:
        metrics = self._metrics[mode]
        scorable = ~np.all(np.isnan(rewards), axis=1)
        scored = advantages[scorable] if scorable.any() else np.zeros(1)
        metrics["mowsim/adv_max_abs"].append(float(np.abs(scored).max()))
        metrics["mowsim/adv_mean_sq"].append(float(np.mean(scored**2)))
        metrics["mowsim/frac_unscorable"].append(float(1.0 - scorable.mean()))
        metrics["mowsim/seconds"].append(float(elapsed))
        names = list(self.reward_func_names)
        for name, share in zip(names, np.asarray(effective).reshape(-1, len(names)).mean(axis=0)):
            metrics[f"mowsim/weight/{name}"].append(float(share))
        if self.scheme.stateful and self.scheme.state is not None:
            for name, share in zip(names, self.scheme.current_weights()):
                metrics[f"mowsim/state_weight/{name}"].append(float(share))
            if self.scheme.name == "hv-guided":
                metrics["mowsim/r_pareto"].append(float(self.scheme.r_pareto))


class _PerformanceFeedback(TrainerCallback):
    """Feeds ``performance_fn(trainer)`` to the scheme before training and after every ``performance_every`` steps."""

    def __init__(self, trainer: MultiObjectiveGRPOTrainer):
        self.trainer = trainer

    def _feed(self):
        performance = np.asarray(self.trainer.performance_fn(self.trainer), dtype=np.float64)
        self.trainer.scheme.update(performance=performance)

    def on_train_begin(self, args, state, control, **kwargs):
        self._feed()

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step % self.trainer.performance_every == 0:
            self._feed()
