"""GRPO-style training of the toy policies: :func:`train` for one run, :func:`train_many` for a grid in one call.

The Python side validates, draws the environment instance, seeds each run from ``numpy.random.SeedSequence``, and
stacks runs that share array shapes; a compiled loop (``prange`` over runs, or its serial twin) does all the work.
Each run owns its RNG state, so a run's result depends only on its (env, scheme, weights, seed, hyper-parameters):
the same seed gives the same history in one process, across processes, alone or inside a grid, serial or parallel.
Different schemes with the same seed see the same random stream (common random numbers), which sharpens
comparisons between schemes.
"""

from __future__ import annotations

import dataclasses
import itertools
import numbers
from typing import Sequence

import numpy as np
import pandas as pd

from mowsim import _rng, validation
from mowsim.envs import _loop, _set_metrics
from mowsim.schemes import _stateful
from mowsim.schemes import base as scheme_base

__all__ = ["TrainResult", "train", "train_many", "HISTORY_COLUMNS"]

HISTORY_COLUMNS = (
    ("run", "env", "scheme", "seed", "step", "objective", "objective_name")
    + _loop.OBJECTIVE_COLUMNS
    + _loop.STEP_COLUMNS
    + _set_metrics.SET_COLUMNS
)

DOWNSTREAM_SEED = 260522817
"""Seed of the fixed Dirichlet(1) downstream weightings that ``best_at_k_dirichlet`` averages over (the same for
every run, scheme and study, so the metric is comparable everywhere)."""


@dataclasses.dataclass
class TrainResult:
    """The outcome of :func:`train` or :func:`train_many`.

    Attributes
    ----------
    history : pandas.DataFrame
        Tidy, one row per (run, step, objective), columns :data:`HISTORY_COLUMNS`. ``expected_reward`` is the exact
        clean expected reward of the policy after ``step`` updates (0 for a spurious objective, which has no
        truth); the batch diagnostics of row ``step`` describe the batch drawn for update ``step + 1`` (NaN at the
        last step). Per-step diagnostics repeat on each objective's row. ``hidden_reward`` is the policy's exact
        expected hidden true reward (bandits; NaN for the sequence task); with ``set_metrics=True`` the bandits
        also record the exact ``best_at_{1,4,16}`` (user weights), ``best_at_{1,4,16}_dirichlet`` (mean over
        fixed Dirichlet(1) downstream weightings), ``diversity`` and ``expected_hv_{1,4,16}`` (two objectives)
        of :mod:`mowsim.envs._set_metrics`; NaN otherwise.
    runs : pandas.DataFrame
        One row per run: run, env (its repr), scheme, seed, lr, normalization, and the env's fields.
    final_params : list of ndarray
        Each run's policy parameters after training.
    """

    history: pd.DataFrame
    runs: pd.DataFrame
    final_params: list

    def final(self) -> pd.DataFrame:
        """The last step's rows (one per run and objective)."""
        last = self.history["step"].max()
        return self.history[self.history["step"] == last].reset_index(drop=True)


@dataclasses.dataclass(frozen=True)
class _Run:
    env: object
    scheme: scheme_base.Scheme
    weights: np.ndarray
    seed: int
    lr: float
    eps: float
    normalization: str = "group"


def _check_env(env):
    if not hasattr(env, "_loop_family"):
        from mowsim import envs as envs_module

        raise ValueError(
            f"env must be one of mowsim.envs ({', '.join(envs_module.__all__)}); got {type(env).__name__}."
        )


def _check_positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive int; got {value!r}.")
    return int(value)


def _as_list(value) -> list:
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def train(env, scheme, *, steps: int = 200, group_size: int = 16, n_groups: int = 64, lr: float = 1.0,
          seed: int = 0, weights=None, ddof: int = 0, eps: float = 0.0, heldout_samples: int = 0,
          set_metrics: bool = False, downstream_weightings: int = 32, normalization: str = "group") -> TrainResult:
    """Train the toy policy of ``env`` with ``scheme`` for ``steps`` updates.

    Parameters
    ----------
    env : mowsim.envs.Bandit, ContextualBandit or SequenceTask
    scheme : str or mowsim.schemes.Scheme
    steps : int
        Number of policy updates; the history has ``steps + 1`` steps (0 is the initial policy).
    group_size : int
        Rollouts per group, G (>= 2 for any learning signal).
    n_groups : int
        Groups (prompts) per batch, B.
    lr : float
        Step size of the policy-gradient ascent on the logits.
    seed : int
        Training seed; the environment instance has its own ``instance_seed``.
    weights : array_like of shape (K,), optional
        Objective weights over all K objectives (spurious included); None means equal.
    ddof, eps
        Passed to the scheme; see :func:`mowsim.advantages`.
    heldout_samples : int
        Held-out performance fed to schemes that need it (hv-guided): 0 uses the exact expected reward vector;
        n > 0 estimates it from n held-out rollouts per prompt, as a real run must.
    set_metrics : bool
        Record the exact set metrics (best@k, diversity, expected hypervolume) every step (bandits only; about
        one extra step's worth of work per step, so off by default).
    downstream_weightings : int
        How many fixed Dirichlet(1) downstream weightings ``best_at_k_dirichlet`` averages over.
    normalization : {"group", "batch", "none"}
        Which std the scheme divides by: its group's (the scheme as published), the batch's (Lite PPO) or none
        (Dr. GRPO); see :mod:`mowsim.schemes.normalization`. Only RC, AC, GDPO, DVAO, SAW-GRPO and SAW-GDPO take
        "batch" and "none". Recorded in the run table.
    """
    return train_many(env, scheme, seeds=[seed], steps=steps, group_size=group_size, n_groups=n_groups, lr=lr,
                      weights=weights, ddof=ddof, eps=eps, heldout_samples=heldout_samples, parallel=False,
                      set_metrics=set_metrics, downstream_weightings=downstream_weightings,
                      normalization=normalization)


def train_many(envs, schemes, *, seeds: int | Sequence[int] = 4, steps: int = 200, group_size: int = 16,
               n_groups: int = 64, lr: float | Sequence[float] = 1.0, weights=None, ddof: int = 0, eps: float = 0.0,
               heldout_samples: int = 0, parallel: bool = True, set_metrics: bool = False,
               downstream_weightings: int = 32, normalization: str = "group") -> TrainResult:
    """Train every (env, scheme, seed, lr) combination; runs sharing array shapes go through one compiled call.

    ``seeds`` is a count (seeds ``0..n-1``) or an explicit list. With ``parallel=True`` runs are spread over the
    cores with ``prange``; the results are bit-identical to ``parallel=False``. ``set_metrics``,
    ``downstream_weightings`` and ``normalization`` (one value for every run): see :func:`train`.
    """
    env_list = _as_list(envs)
    for env in env_list:
        _check_env(env)
    scheme_list = [scheme_base.get(s) for s in _as_list(schemes)]
    if isinstance(seeds, numbers.Integral) and not isinstance(seeds, bool):
        seed_list = list(range(_check_positive_int(seeds, "seeds")))
    else:
        try:
            seed_list = list(seeds)
        except TypeError:  # a bool or a float is neither a count nor a list
            seed_list = []
        if not seed_list or any(isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 0
                                for s in seed_list):
            raise ValueError(f"seeds must be a positive count or a non-empty list of non-negative ints; got {seeds!r}.")
        seed_list = [int(s) for s in seed_list]
    steps = _check_positive_int(steps, "steps")
    group_size = _check_positive_int(group_size, "group_size")
    n_groups = _check_positive_int(n_groups, "n_groups")
    ddof = validation.check_ddof(ddof)
    eps = validation.check_eps(eps)
    scope = validation.check_normalization(normalization)
    for scheme in scheme_list:
        validation.check_normalization(normalization, scheme.name)
    lr_list = [validation.check_scalar(v, "lr", low=0.0) for v in _as_list(lr)]
    if isinstance(heldout_samples, bool) or not isinstance(heldout_samples, numbers.Integral) or heldout_samples < 0:
        raise ValueError(f"heldout_samples must be a non-negative int (0 = exact); got {heldout_samples!r}.")
    if not isinstance(set_metrics, (bool, np.bool_)):
        raise ValueError(f"set_metrics must be True or False; got {set_metrics!r}.")
    downstream_weightings = _check_positive_int(downstream_weightings, "downstream_weightings")
    for scheme in scheme_list:
        for env in env_list:
            _bind_objective_names(scheme, env).check_objectives(env.total_objectives)
        if scheme.kernel_id == _stateful.HV_GUIDED:
            for env in env_list:
                if env.n_true_objectives > 3:
                    raise ValueError(
                        f"hv-guided in the compiled loop supports up to 3 true objectives (its Numba hypervolume); "
                        f"{type(env).__name__} has {env.n_true_objectives}. Use the scheme object with moocore in "
                        "your own loop for more."
                    )

    runs = []
    for env, scheme, lr_value, seed in itertools.product(env_list, scheme_list, lr_list, seed_list):
        w = validation.check_weights(weights, env.total_objectives)
        runs.append(_Run(env, _bind_objective_names(scheme, env), w, seed, lr_value, eps, normalization))

    step_out = [None] * len(runs)
    objective_out = [None] * len(runs)
    params = [None] * len(runs)
    set_out = [None] * len(runs)
    for indices in _batches(runs).values():
        _execute([runs[i] for i in indices], indices, steps, n_groups, group_size, ddof, heldout_samples, parallel,
                 step_out, objective_out, params, set_metrics, downstream_weightings, set_out, scope)
    return TrainResult(history=_history(runs, step_out, objective_out, set_out), runs=_run_table(runs),
                       final_params=params)


def _bind_objective_names(scheme, env):
    """A gate given by objective name learns the environment's names (``objective_names`` left None)."""
    if getattr(scheme, "objective_names", ()) is None and any(isinstance(g, str) for g in scheme.gates):
        return dataclasses.replace(scheme, objective_names=env.objective_names)
    return scheme


def _metric_weights(run, n_true: int, downstream_weightings: int) -> np.ndarray:
    """(1 + D, K_true): the user weights over the true objectives (normalized), then the downstream weightings."""
    from mowsim.schemes.vpo import dirichlet_draws

    user = run.weights[:n_true]
    user = user / user.sum() if user.sum() > 0 else np.full(n_true, 1.0 / n_true)
    downstream = dirichlet_draws(DOWNSTREAM_SEED, 1, downstream_weightings, n_true)[0]
    return np.vstack([user, downstream])


def _batches(runs) -> dict:
    """Group run indices by everything that fixes array shapes (and the loop family)."""
    batches: dict = {}
    for i, run in enumerate(runs):
        arrays = run.env._loop_arrays()
        key = (run.env._loop_family().__name__, tuple(a.shape for a in arrays), run.env.n_spurious,
               run.env._loop_static())
        batches.setdefault(key, []).append(i)
    return batches


def _execute(runs, indices, steps, n_groups, group_size, ddof, heldout_samples, parallel, step_out, objective_out,
             params, set_metrics, downstream_weightings, set_out, scope=0):
    env0 = runs[0].env
    family = env0._loop_family()
    n_objectives = env0.total_objectives
    # two streams per run: the world's (as before) and the scheme's own draws (a spawned child of the run's seed)
    states = np.ascontiguousarray(np.hstack([
        _rng.seed_states([np.random.SeedSequence(run.seed) for run in runs]),
        _rng.seed_states([np.random.SeedSequence(run.seed).spawn(1)[0] for run in runs]),
    ]))
    env_arrays = [np.ascontiguousarray(np.stack(parts)) for parts in zip(*(run.env._loop_arrays() for run in runs))]
    rewards = [run.env.reward_arrays() for run in runs]
    reward_stack = (
        np.stack([r.flip_prob for r in rewards]),
        np.stack([r.noise_sd for r in rewards]),
        np.stack([r.noise_factor for r in rewards]),
        np.array([r.noise_df for r in rewards]),
        env0.n_spurious,
        np.array([r.spurious_sd for r in rewards]),
        np.stack([r.scale for r in rewards]),
        np.stack([r.offset for r in rewards]),
        np.array([r.binary for r in rewards]),
        np.stack([r.condition for r in rewards]),
    )
    scheme_ids = np.array([run.scheme.kernel_id for run in runs], dtype=np.int64)
    scheme_states, scheme_params = _scheme_arrays(runs, env0)
    weights = np.stack([run.weights for run in runs])
    eps = np.array([run.eps for run in runs])
    saw = np.stack([run.scheme._saw_params() for run in runs])
    lr = np.array([run.lr for run in runs])
    thetas = np.stack([run.env.initial_params() for run in runs])
    steps_arr = np.empty((len(runs), steps + 1, len(_loop.STEP_COLUMNS)))
    objective_arr = np.empty((len(runs), steps + 1, n_objectives, len(_loop.OBJECTIVE_COLUMNS)))
    n_true = env0.n_true_objectives
    metric_weights = np.ascontiguousarray(np.stack([_metric_weights(run, n_true, downstream_weightings)
                                                    for run in runs]))
    set_arr = np.full((len(runs), steps + 1, len(_set_metrics.SET_COLUMNS)), np.nan)
    driver = family.run_many_parallel if parallel and len(runs) > 1 else family.run_many_serial
    driver(states, *env_arrays, *reward_stack, scheme_ids, scheme_states, scheme_params, weights, ddof, eps, saw,
           steps, n_groups, group_size, lr, heldout_samples, *env0._loop_static(), thetas, steps_arr, objective_arr,
           bool(set_metrics), metric_weights, set_arr, scope)
    for local, i in enumerate(indices):
        set_out[i] = set_arr[local]
        step_out[i] = steps_arr[local]
        objective_out[i] = objective_arr[local]
        params[i] = thetas[local]


def _scheme_arrays(runs, env):
    """Fresh per-run scheme states and parameter vectors, zero-padded to common lengths."""
    n_objectives, n_true = env.total_objectives, env.n_true_objectives
    states, params = [], []
    for run in runs:
        scheme = run.scheme
        if scheme.stateful:
            dims = n_true if scheme.kernel_id == _stateful.HV_GUIDED else n_objectives
            state = np.empty(scheme.state_size(dims))
            _stateful.init_state(scheme.kernel_id, run.weights, state)
            states.append(state)
            params.append(scheme.kernel_params(n_objectives))
        elif hasattr(scheme, "loop_params"):  # vpo, random-weight, gated
            states.append(np.zeros(1))
            params.append(scheme.loop_params(n_objectives))
        else:
            states.append(np.zeros(1))
            params.append(np.zeros(1))
    width_s = max(len(x) for x in states)
    width_p = max(len(x) for x in params)
    state_arr = np.zeros((len(runs), width_s))
    param_arr = np.zeros((len(runs), width_p))
    for i, (state, param) in enumerate(zip(states, params)):
        state_arr[i, :len(state)] = state
        param_arr[i, :len(param)] = param
    return state_arr, param_arr


def _history(runs, step_out, objective_out, set_out) -> pd.DataFrame:
    frames = []
    for i, run in enumerate(runs):
        n_steps, n_objectives = objective_out[i].shape[:2]
        step_index = np.repeat(np.arange(n_steps), n_objectives)
        objective_index = np.tile(np.arange(n_objectives), n_steps)
        frame = {
            "run": np.full(step_index.shape, i),
            "env": type(run.env).__name__,
            "scheme": run.scheme.name,
            "seed": run.seed,
            "step": step_index,
            "objective": objective_index,
            "objective_name": np.asarray(run.env.objective_names)[objective_index],
        }
        for c, name in enumerate(_loop.OBJECTIVE_COLUMNS):
            frame[name] = objective_out[i][:, :, c].ravel()
        for c, name in enumerate(_loop.STEP_COLUMNS):
            frame[name] = np.repeat(step_out[i][:, c], n_objectives)
        for c, name in enumerate(_set_metrics.SET_COLUMNS):
            frame[name] = np.repeat(set_out[i][:, c], n_objectives)
        frames.append(pd.DataFrame(frame))
    history = pd.concat(frames, ignore_index=True)
    history["env"] = history["env"].astype("category")
    history["scheme"] = history["scheme"].astype("category")
    return history


def _run_table(runs) -> pd.DataFrame:
    rows = []
    for i, run in enumerate(runs):
        row = {"run": i, "env": type(run.env).__name__, "scheme": run.scheme.name, "seed": run.seed, "lr": run.lr,
               "normalization": run.normalization}
        for field in dataclasses.fields(run.env):
            value = getattr(run.env, field.name)
            row[field.name] = value if np.isscalar(value) or value is None else str(value)
        rows.append(row)
    return pd.DataFrame(rows)
