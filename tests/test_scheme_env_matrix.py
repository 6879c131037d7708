"""Every registered scheme against every environment (gymnax's reproduction-matrix habit): shapes, finiteness,
the history's conventions and determinism, also with every reward-model knob on and from K = 1 to K = 32.

The scheme list is read from the registry at collection time, so a scheme registered later is covered without
editing this file.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

import mowsim
from mowsim.envs import Bandit, ContextualBandit, SequenceTask
from mowsim.train import train, train_many
from test_train import check_history, run_frame

SCHEMES = mowsim.schemes.available()
ENVS = {
    "bandit": Bandit(n_arms=8),
    "contextual-tabular": ContextualBandit(n_prompts=8, n_arms=6),
    "contextual-linear": ContextualBandit(n_prompts=8, n_arms=6, policy="linear", n_features=4),
    "sequence": SequenceTask(n_prompts=4, max_len=6, length_limit=3),
    "sequence-ppo": SequenceTask(n_prompts=4, max_len=6, length_limit=3, ppo_epochs=2),
}
SMALL = dict(steps=5, group_size=6, n_groups=8, lr=2.0)
# The compiled loop's documented limits on the number of true objectives (train_many raises beyond them).
TRUE_OBJECTIVE_LIMITS = {"hv-guided": 3}


def within_limits(scheme: str, env) -> bool:
    return env.n_true_objectives <= TRUE_OBJECTIVE_LIMITS.get(scheme, 32)


def check_grid(result, steps: int) -> None:
    """check_history on every run of a train_many result, plus the truth's range."""
    history = result.history
    numeric = history.select_dtypes("number").to_numpy()
    assert not np.isinf(numeric).any()
    true = history.loc[~history["objective_name"].str.startswith("spurious"), "expected_reward"]
    assert true.between(0.0, 1.0).all()
    for _, frame in history.groupby("run"):
        check_history(frame, steps, int(frame["objective"].iloc[-1]) + 1)


def test_registry_is_not_empty_and_covers_the_paper_schemes():
    assert {"rc", "ac", "gdpo", "dvao", "saw-grpo", "saw-gdpo"} <= set(SCHEMES)


@pytest.mark.parametrize("env_name", list(ENVS))
@pytest.mark.parametrize("scheme", SCHEMES)
def test_cell(scheme, env_name):
    env = ENVS[env_name]
    first = train(env, scheme, **SMALL, seed=7)
    check_history(first.history, SMALL["steps"], env.total_objectives)
    body = first.history[first.history.step < SMALL["steps"]]
    assert np.isfinite(body["grad_cosine_mean"]).all() and np.isfinite(body["grad_cosine_min"]).all()
    assert np.all(np.isfinite(first.final_params[0]))
    again = train(env, scheme, **SMALL, seed=7)
    pd.testing.assert_frame_equal(first.history, again.history, check_exact=True)
    np.testing.assert_array_equal(first.final_params[0], again.final_params[0])


def test_whole_matrix_in_one_grid_serial_equals_parallel_equals_cells():
    envs = list(ENVS.values())
    parallel = train_many(envs, SCHEMES, seeds=[1, 2], **SMALL, parallel=True)
    serial = train_many(envs, SCHEMES, seeds=[1, 2], **SMALL, parallel=False)
    pd.testing.assert_frame_equal(parallel.history, serial.history, check_exact=True)
    for a, b in zip(parallel.final_params, serial.final_params):
        np.testing.assert_array_equal(a, b)
    check_grid(parallel, SMALL["steps"])
    # Spot-check that a grid cell equals the lone run (all cells are checked this way in test_train for a few).
    run = len(parallel.runs) - 1
    env, scheme, seed = envs[-1], SCHEMES[-1], 2
    alone = train(env, scheme, **SMALL, seed=seed)
    pd.testing.assert_frame_equal(run_frame(parallel.history[parallel.history.run == run]), run_frame(alone.history),
                                  check_exact=True)


def _scales(env, big_index: int = 1) -> tuple:
    scales = [1.0] * env.total_objectives
    scales[big_index] = 100.0
    return tuple(scales)


KNOBS = {
    "gaussian-noise": lambda env: dict(noise_sd=0.3),
    "flips": lambda env: dict(flip_prob=0.2),
    "spurious": lambda env: dict(n_spurious=1),
    "scale-100x": lambda env: dict(reward_scale=_scales(env), reward_offset=-0.5),
    "condition": lambda env: dict(condition=(1, 0, 0.5)),
    "heavy-tails": lambda env: dict(noise_sd=0.5, noise_df=3.0),
    "correlated-noise": lambda env: dict(noise_sd=0.3, noise_correlation=-1.0 / max(env.n_true_objectives - 1, 1)),
    "continuous": lambda env: dict(binary=False),
    "continuous-noisy": lambda env: dict(binary=False, noise_sd=0.2, noise_correlation=0.8),
    "everything": lambda env: dict(noise_sd=0.4, noise_df=4.0, noise_correlation=0.5, flip_prob=0.1, n_spurious=2,
                                   spurious_sd=2.0, reward_scale=tuple([1.0, 100.0] + [1.0] * env.n_true_objectives),
                                   condition=(0, 1, 0.5)),
}


@pytest.mark.parametrize("knob", list(KNOBS))
def test_matrix_with_reward_knobs(knob):
    envs = [dataclasses.replace(env, **KNOBS[knob](env)) for env in ENVS.values()]
    parallel = train_many(envs, SCHEMES, seeds=[3], **SMALL, parallel=True)
    serial = train_many(envs, SCHEMES, seeds=[3], **SMALL, parallel=False)
    pd.testing.assert_frame_equal(parallel.history, serial.history, check_exact=True)
    check_grid(parallel, SMALL["steps"])


K_RANGE = {
    "bandit-K1": Bandit(n_objectives=1),
    "bandit-K5": Bandit(n_objectives=5, correlation=0.3),
    "bandit-K16-noisy": Bandit(n_objectives=16, noise_sd=0.2, noise_correlation=0.3),
    "bandit-K31+1": Bandit(n_objectives=31, n_spurious=1),
    "bandit-K32": Bandit(n_objectives=32, binary=False, noise_sd=0.1),
    "contextual-K16+16": ContextualBandit(n_objectives=16, n_spurious=16, n_prompts=4),
    "sequence-K1": SequenceTask(n_prompts=3, objectives=("accuracy",)),
    "sequence-K3+29": SequenceTask(n_prompts=3, n_spurious=29),
    "bandit-K1+31": Bandit(n_objectives=1, n_spurious=31),
}


@pytest.mark.parametrize("env_name", list(K_RANGE))
def test_matrix_from_one_to_thirty_two_objectives(env_name):
    env = K_RANGE[env_name]
    supported = [s for s in SCHEMES if within_limits(s, env)]
    steps = 3
    result = train_many(env, supported, seeds=[0], steps=steps, group_size=6, n_groups=8, lr=1.0, parallel=True)
    check_grid(result, steps)
    assert (result.history.groupby("run")["objective"].nunique() == env.total_objectives).all()
    serial = train_many(env, supported, seeds=[0], steps=steps, group_size=6, n_groups=8, lr=1.0, parallel=False)
    pd.testing.assert_frame_equal(result.history, serial.history, check_exact=True)
    for scheme in set(SCHEMES) - set(supported):
        with pytest.raises(ValueError, match=str(TRUE_OBJECTIVE_LIMITS[scheme])):
            train(env, scheme, steps=1)


@pytest.mark.parametrize("env", [Bandit(n_objectives=1), SequenceTask(n_prompts=3, objectives=("length",)),
                                 ContextualBandit(n_objectives=1, policy="linear")],
                         ids=["bandit", "sequence", "contextual-linear"])
def test_at_one_objective_rc_ac_and_dvao_are_the_grpo_z_score(env):
    """With K = 1, RC, AC (w = 1) and DVAO all reduce to the GRPO group z-score: same seed, same trajectory."""
    histories = [train(env, scheme, steps=15, group_size=6, n_groups=8, lr=2.0, seed=4).history
                 for scheme in ("rc", "ac", "dvao")]
    for other in histories[1:]:
        np.testing.assert_allclose(other["expected_reward"], histories[0]["expected_reward"], rtol=1e-9)
        np.testing.assert_allclose(other["max_abs_advantage"], histories[0]["max_abs_advantage"], rtol=1e-9)
