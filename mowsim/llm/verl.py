"""mowsim's schemes as verl advantage estimators: ``algorithm.adv_estimator=mowsim_dvao`` and the like.

Tested against verl 0.9.1's registry and its legacy trainer's ``compute_advantage`` (``trainer.use_v1=False``);
see docs/LLM.md for the whole recipe and what verl's v1 trainer lacks.

* :func:`register_verl_estimators` registers every scheme as ``mowsim_<name>`` (``-`` becomes ``_``: ``mowsim_rc``,
  ``mowsim_dvao``, ``mowsim_saw_gdpo``, ...) through ``verl.trainer.ppo.core_algos.register_adv_est``, with the
  signature of verl's outcome estimators::

      fn(token_level_rewards, response_mask, index, epsilon=1e-6, norm_adv_by_std_in_grpo=True, config=None,
         non_tensor_batch=None, batch=None, **kwargs) -> (advantages, returns)   # both (bs, response_length)

* Per-objective rewards: verl hands a generic estimator only the summed ``token_level_rewards``. The objectives
  travel as the extra keys of ``compute_score``'s returned dict (verl's ``reward_extra_info``), which the trainer
  stores in ``data.non_tensor_batch``; verl passes ``non_tensor_batch`` to its own ``gdpo`` estimator only. So
  :func:`register_verl_estimators` also wraps ``verl.trainer.ppo.ray_trainer.compute_advantage`` to pass
  ``non_tensor_batch`` and ``batch`` to the ``mowsim_*`` estimators (every other estimator is untouched).
* Which keys are objectives, in order: ``+algorithm.gdpo_reward_keys=[...]`` (the key verl's own ``gdpo`` reads,
  so one config serves both) or ``+algorithm.mowsim_reward_keys``. Weights: ``gdpo_reward_weights`` /
  ``mowsim_reward_weights``. (The ``+`` is Hydra's: verl 0.9.1's YAML does not list these keys.)
  ``+algorithm.mowsim_ddof`` (default 1, as ``torch.std``), ``+algorithm.mowsim_eps`` (default: verl's
  ``epsilon``, 1e-6), ``+algorithm.mowsim_reward_min``, ``+algorithm.mowsim_scheme_params`` (a dict of scheme
  parameters) and ``+algorithm.mowsim_rescored_keys`` (a second scoring, for dvao-reliable) are optional.
* Groups come from ``index`` (the ``uid`` of each response's prompt) and may be of unequal size; shorter groups are
  padded with NaN, which mowsim treats as unscorable (it neither counts in any statistic nor gets an advantage).
* Normalization (:mod:`mowsim.schemes.normalization`): verl's ``algorithm.norm_adv_by_std_in_grpo`` is honoured as
  in its own ``grpo`` estimator, whose ``scores - mean`` is divided by ``std + epsilon`` only when it is True:
  True (verl's default) -> ``normalization="group"``, False -> ``"none"`` (Dr. GRPO). verl has no batch-std option
  for GRPO, so ``"batch"`` (Lite PPO) is ``+algorithm.mowsim_normalization=batch``, which takes precedence
  (``group`` or ``none`` there must agree with ``norm_adv_by_std_in_grpo``). Only RC, AC, GDPO, DVAO, SAW-GRPO and
  SAW-GDPO run with "batch" or "none"; the others raise.

The registry is per process. verl computes advantages inside its Ray ``TaskRunner`` actor, not in the shell that
starts the job, so registering there is what counts: run ``python -m mowsim.llm.verl <hydra overrides>``, which is
verl's ``main_ppo`` with a TaskRunner that registers first.

Stateful schemes keep one instance per estimator in the process. ``rewards`` and ``rescored`` feedback come from the
batch; ``performance`` (hv-guided) must be fed by the host with :func:`feed_performance` from the same process;
``gram`` schemes (gradient, mgda, pcgrad) need per-objective policy gradients that an advantage estimator cannot
see, so they raise a ValueError in verl.
"""

from __future__ import annotations

import numpy as np

from mowsim import validation
from mowsim.llm import require
from mowsim.schemes import available, get as get_scheme

__all__ = ["PREFIX", "estimator_name", "make_estimator", "register_verl_estimators", "feed_performance",
           "patch_compute_advantage", "grouped_rewards", "make_task_runner", "main"]

PREFIX = "mowsim_"
_STATEFUL: dict[str, object] = {}


def estimator_name(scheme_name: str) -> str:
    """The verl estimator name of a mowsim scheme: ``"saw-gdpo"`` -> ``"mowsim_saw_gdpo"``."""
    return PREFIX + scheme_name.replace("-", "_")


def _option(config, key: str, default=None):
    """``config[key]`` for verl's DictConfig, its ``AlgoConfig`` dataclass, or a plain dict; ``default`` if absent."""
    if config is None:
        return default
    getter = getattr(config, "get", None)
    if callable(getter):
        value = getter(key, default)
    else:
        value = getattr(config, key, default)
    return default if value is None else value


def grouped_rewards(per_objective: np.ndarray, index) -> tuple[np.ndarray, np.ndarray]:
    """Group rows by ``index`` into (B, G_max, K), padding short groups with NaN.

    Returns the grouped rewards and, per row, its flat position in the grouped array (``group * G_max + slot``).
    """
    keys = np.asarray(index, dtype=object)
    if keys.shape[0] != per_objective.shape[0]:
        raise ValueError(f"index has {keys.shape[0]} entries; the batch has {per_objective.shape[0]} responses.")
    group_of: dict = {}
    slots = np.empty(len(keys), dtype=np.int64)
    groups = np.empty(len(keys), dtype=np.int64)
    sizes: list[int] = []
    for row, key in enumerate(keys.tolist()):
        group = group_of.setdefault(key, len(group_of))
        if group == len(sizes):
            sizes.append(0)
        groups[row], slots[row] = group, sizes[group]
        sizes[group] += 1
    width = max(sizes)
    grouped = np.full((len(sizes), width, per_objective.shape[1]), np.nan)
    grouped[groups, slots] = per_objective
    return grouped, groups * width + slots


def _objective_rewards(keys, non_tensor_batch, estimator: str) -> np.ndarray:
    missing = [key for key in keys if key not in non_tensor_batch]
    if missing:
        raise ValueError(
            f"{estimator}: reward keys {missing} are not in the batch (it has {sorted(non_tensor_batch)}). Return "
            "them from compute_score as a dict, e.g. {'score': total, 'accuracy': ..., 'length': ...}. verl's v1 "
            "trainer (trainer.use_v1=True, the default in verl 0.9) does not carry reward_extra_info to advantage "
            "computation; set trainer.use_v1=False."
        )
    columns = []
    for key in keys:
        values = [np.nan if v is None else v for v in np.asarray(non_tensor_batch[key], dtype=object).tolist()]
        columns.append(np.asarray(values, dtype=np.float64))
    return np.stack(columns, axis=1)


def make_estimator(scheme_name: str):
    """A verl advantage estimator computing ``scheme_name``'s advantages from the named per-objective rewards."""
    scheme_name = get_scheme(scheme_name).name
    estimator = estimator_name(scheme_name)

    def compute_mowsim_advantage(token_level_rewards, response_mask, index=None, epsilon: float = 1e-6,
                                 norm_adv_by_std_in_grpo: bool = True, config=None, non_tensor_batch=None,
                                 batch=None, **kwargs):
        import torch

        keys = list(_option(config, "mowsim_reward_keys", None) or _option(config, "gdpo_reward_keys", None) or [])
        if not keys:
            raise ValueError(f"{estimator} needs the names of the per-objective rewards: set "
                             "+algorithm.gdpo_reward_keys=[accuracy,length] (keys of compute_score's returned dict).")
        if non_tensor_batch is None:
            raise ValueError(f"{estimator} received no non_tensor_batch, so it cannot read the rewards {keys}: verl "
                             "passes it to the gdpo estimator only. Call mowsim.llm.verl.register_verl_estimators() "
                             "in the process that computes advantages (python -m mowsim.llm.verl does), which also "
                             "wraps verl's compute_advantage to pass it.")
        if index is None:
            raise ValueError(f"{estimator} needs the group ids (index, verl's 'uid'); none were passed.")
        per_objective = _objective_rewards(keys, non_tensor_batch, estimator)
        grouped, position = grouped_rewards(per_objective, index)
        weights = _option(config, "mowsim_reward_weights", None) or _option(config, "gdpo_reward_weights", None)
        weights = None if weights is None else np.asarray(list(weights), dtype=np.float64)
        ddof = int(_option(config, "mowsim_ddof", 1))
        eps = float(_option(config, "mowsim_eps", epsilon))
        reward_min = _option(config, "mowsim_reward_min", None)
        reward_min = None if reward_min is None else np.asarray(reward_min, dtype=np.float64)
        normalization = _normalization(config, norm_adv_by_std_in_grpo, estimator)
        scheme = _scheme_for(scheme_name, config)
        validation.check_normalization(normalization, scheme.name)  # before a stateful scheme's state moves
        if scheme.stateful:
            _feed_batch(scheme, estimator, grouped, position, non_tensor_batch, index, config, ddof)
        advantages = scheme.compute(grouped, weights, ddof=ddof, eps=eps, reward_min=reward_min,
                                    normalization=normalization).advantages
        per_response = advantages.reshape(-1)[position]
        per_response[np.all(np.isnan(per_objective), axis=1)] = 0.0
        scores = torch.as_tensor(per_response, dtype=torch.float32, device=response_mask.device)
        scores = scores.unsqueeze(-1) * response_mask.to(torch.float32)
        return scores, scores

    compute_mowsim_advantage.__name__ = f"compute_{estimator}_advantage"
    compute_mowsim_advantage.__qualname__ = compute_mowsim_advantage.__name__
    compute_mowsim_advantage.__doc__ = (f"verl advantage estimator {estimator!r}: mowsim scheme {scheme_name!r} on "
                                        "the per-objective rewards named by algorithm.gdpo_reward_keys.")
    return compute_mowsim_advantage


def _normalization(config, norm_adv_by_std_in_grpo, estimator: str) -> str:
    """mowsim's ``normalization`` from ``+algorithm.mowsim_normalization`` or else verl's ``norm_adv_by_std_in_grpo``
    (True: "group", False: "none")."""
    implied = "group" if norm_adv_by_std_in_grpo else "none"
    chosen = _option(config, "mowsim_normalization", None)
    if chosen is None:
        return implied
    validation.check_normalization(chosen)
    if chosen != "batch" and chosen != implied:
        raise ValueError(f"{estimator}: +algorithm.mowsim_normalization={chosen} contradicts "
                         f"algorithm.norm_adv_by_std_in_grpo={bool(norm_adv_by_std_in_grpo)} (which means "
                         f"{implied!r}); set one of them.")
    return chosen


def _plain(value):
    """OmegaConf containers as plain dicts and tuples (scheme parameters are frozen dataclass fields)."""
    if hasattr(value, "items"):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)) or type(value).__name__ == "ListConfig":
        return tuple(_plain(v) for v in value)
    return value


def _scheme_for(scheme_name: str, config):
    params = _plain(_option(config, "mowsim_scheme_params", None) or {})
    scheme = get_scheme(scheme_name, **params)
    key = f"{scheme_name}:{sorted(params.items())}"
    if getattr(scheme, "random", False):  # vpo, random-weight: one instance, so its draws advance per batch
        return _STATEFUL.setdefault(key, scheme)
    if not scheme.stateful:
        return scheme
    feedback = scheme.feedback
    if "gram" in feedback:
        raise ValueError(f"{estimator_name(scheme_name)} needs the Gram matrix of per-objective policy gradients "
                         "(gram feedback), which a verl advantage estimator cannot compute: it never sees the policy. "
                         "Use it through mowsim.llm.trl.MultiObjectiveGRPOTrainer, or a static or rewards-fed scheme.")
    return _STATEFUL.setdefault(key, scheme)


def _feed_batch(scheme, estimator, grouped, position, non_tensor_batch, index, config, ddof) -> None:
    feedback = scheme.feedback
    if "performance" in feedback:
        if scheme.state is None:
            raise ValueError(f"{estimator} needs held-out performance: call mowsim.llm.verl.feed_performance("
                             f"{scheme.name!r}, scores) in the TaskRunner process before training and after each "
                             "update (e.g. from a validation hook).")
        return
    update = {"rewards": grouped}
    if "rescored" in feedback and getattr(scheme, "noise_variance", None) is None:
        rescored_keys = list(_option(config, "mowsim_rescored_keys", None) or [])
        if not rescored_keys:
            raise ValueError(f"{estimator} needs a second, independent scoring of the same responses: return it from "
                             "compute_score under extra keys and set +algorithm.mowsim_rescored_keys=[...], or give "
                             "+algorithm.mowsim_scheme_params.noise_variance=[...].")
        rescored, _ = grouped_rewards(_objective_rewards(rescored_keys, non_tensor_batch, estimator), index)
        update["rescored"] = rescored
    scheme.update(**update, ddof=ddof)


def feed_performance(scheme_name: str, performance, **params) -> None:
    """Give a stateful scheme's verl estimator the held-out performance (K,) of the policy after an update."""
    scheme = get_scheme(scheme_name, **params)
    key = f"{scheme.name}:{sorted(params.items())}"
    _STATEFUL.setdefault(key, scheme).update(performance=np.asarray(performance, dtype=np.float64))


def patch_compute_advantage(module) -> bool:
    """Wrap ``module.compute_advantage`` (verl's ``ray_trainer``) so ``mowsim_*`` estimators get the whole batch.

    Returns False when ``module`` has no ``compute_advantage`` or it is already wrapped.
    """
    original = getattr(module, "compute_advantage", None)
    if original is None or getattr(original, "_mowsim_wrapped", False):
        return False

    def compute_advantage(data, adv_estimator, gamma=1.0, lam=1.0, num_repeat=1, norm_adv_by_std_in_grpo=True,
                          config=None):
        name = getattr(adv_estimator, "value", adv_estimator)
        if not (isinstance(name, str) and name.startswith(PREFIX)):
            return original(data, adv_estimator=adv_estimator, gamma=gamma, lam=lam, num_repeat=num_repeat,
                            norm_adv_by_std_in_grpo=norm_adv_by_std_in_grpo, config=config)
        from verl.trainer.ppo import core_algos

        if "response_mask" not in data.batch.keys():
            data.batch["response_mask"] = module.compute_response_mask(data)
        estimator = core_algos.get_adv_estimator_fn(name)
        advantages, returns = estimator(
            token_level_rewards=data.batch["token_level_rewards"], response_mask=data.batch["response_mask"],
            index=data.non_tensor_batch.get("uid"), norm_adv_by_std_in_grpo=norm_adv_by_std_in_grpo, config=config,
            non_tensor_batch=data.non_tensor_batch, batch=data.batch)
        data.batch["advantages"] = advantages
        data.batch["returns"] = returns
        return data

    compute_advantage._mowsim_wrapped = True
    compute_advantage.__wrapped__ = original
    compute_advantage.__doc__ = original.__doc__
    module.compute_advantage = compute_advantage
    return True


def register_verl_estimators(*, patch: bool = True) -> list[str]:
    """Register ``mowsim_<name>`` for every scheme in verl's registry (idempotent); return the names.

    With ``patch`` (default), also wrap ``verl.trainer.ppo.ray_trainer.compute_advantage`` (see the module doc).
    """
    require("torch")
    try:
        from verl.trainer.ppo import core_algos
    except ImportError as err:
        raise ImportError(f"mowsim.llm.verl needs verl (pip install verl); importing it failed: {err}") from err
    names = []
    for scheme_name in available():
        name = estimator_name(scheme_name)
        existing = core_algos.ADV_ESTIMATOR_REGISTRY.get(name)
        if existing is None:
            core_algos.register_adv_est(name)(make_estimator(scheme_name))
        names.append(name)
    if patch:
        from verl.trainer.ppo import ray_trainer

        patch_compute_advantage(ray_trainer)
    return names


def make_task_runner():
    """verl's legacy ``TaskRunner`` Ray actor, with :func:`register_verl_estimators` run first in its own process."""
    import ray
    from verl.trainer.main_ppo_v0 import TaskRunner

    base = TaskRunner.__ray_actor_class__

    class MowsimTaskRunner(base):
        def run(self, config):
            register_verl_estimators()
            return base.run(self, config)

    return ray.remote(MowsimTaskRunner)


def main() -> None:
    """verl's ``main_ppo`` with the TaskRunner of :func:`make_task_runner`.

    ``python -m mowsim.llm.verl algorithm.adv_estimator=mowsim_dvao +algorithm.gdpo_reward_keys=[acc,length]
    trainer.use_v1=False ...`` takes every override ``python -m verl.trainer.main_ppo`` takes.
    """
    import os

    import hydra
    import verl.trainer.main_ppo as main_ppo

    config_dir = os.path.join(os.path.dirname(main_ppo.__file__), "config")

    @hydra.main(config_path=config_dir, config_name="ppo_trainer", version_base=None)
    def entry(config):
        if config.trainer.get("use_v1", False):
            raise ValueError("python -m mowsim.llm.verl runs verl's legacy trainer, whose compute_advantage sees "
                             "reward_extra_info; add trainer.use_v1=False.")
        main_ppo.auto_set_device(config)
        main_ppo.validate_config(config=config, use_reference_policy=main_ppo.need_reference_policy(config),
                                 use_critic=main_ppo.need_critic(config))
        main_ppo.run_ppo(config, task_runner_class=make_task_runner())

    entry()


if __name__ == "__main__":
    main()
