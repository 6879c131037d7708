"""mowsim.train: the tidy history's shape and columns, the diagnostics' conventions, the Samuelson bound,
validation, seeds from SeedSequence, and determinism (same process, across processes, train vs train_many,
serial vs parallel, alone vs inside a mixed grid).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

from mowsim.envs import Bandit, ContextualBandit, SequenceTask
from mowsim.train import HISTORY_COLUMNS, TrainResult, train, train_many

REQUIRED_COLUMNS = ("step", "objective", "expected_reward", "effective_weight")
STEP_DIAGNOSTICS = ("max_abs_advantage", "mean_sq_advantage", "zero_variance_groups", "grad_norm", "entropy",
                    "grad_cosine_mean", "grad_cosine_min")
BATCH_DIAGNOSTICS = ("max_abs_advantage", "mean_sq_advantage", "zero_variance_groups", "grad_norm",
                     "grad_cosine_mean", "grad_cosine_min")
SMALL = dict(steps=6, group_size=6, n_groups=8)


def run_frame(history: pd.DataFrame) -> pd.DataFrame:
    """One run's rows, comparable between train() and train_many() (drop the run index, plain-string labels)."""
    out = history.drop(columns=["run"]).reset_index(drop=True)
    for column in ("env", "scheme"):
        out[column] = out[column].astype(str)
    return out


def check_history(history: pd.DataFrame, steps: int, n_objectives: int) -> None:
    """The conventions every history obeys (see TrainResult and mowsim.envs._loop), on (step, objective) grids."""
    for column in REQUIRED_COLUMNS + STEP_DIAGNOSTICS:
        assert column in history.columns, column
    assert len(history) == (steps + 1) * n_objectives
    grid = {c: history[c].to_numpy().reshape(steps + 1, n_objectives)
            for c in ("step", "objective", "expected_reward", "effective_weight", "zero_variance_share")
            + STEP_DIAGNOSTICS}
    np.testing.assert_array_equal(grid["step"], np.arange(steps + 1)[:, None].repeat(n_objectives, axis=1))
    np.testing.assert_array_equal(grid["objective"], np.arange(n_objectives)[None].repeat(steps + 1, axis=0))
    # Per-step diagnostics repeat on every objective's row.
    for column in STEP_DIAGNOSTICS:
        np.testing.assert_array_equal(grid[column], grid[column][:, :1].repeat(n_objectives, axis=1))
    step = {c: grid[c][:, 0] for c in STEP_DIAGNOSTICS}
    # Effective weights: one distribution over objectives per step; NaN on the last row (no batch there).
    weights, shares = grid["effective_weight"], grid["zero_variance_share"]
    np.testing.assert_allclose(weights[:-1].sum(axis=1), 1.0, atol=1e-9)
    assert np.all(weights[:-1] >= -1e-12)
    assert np.isnan(weights[-1]).all() and np.isnan(shares[-1]).all()
    for column in BATCH_DIAGNOSTICS:
        assert np.isnan(step[column][-1]), column
    for column in ("max_abs_advantage", "mean_sq_advantage", "zero_variance_groups", "grad_norm"):
        assert np.isfinite(step[column][:-1]).all(), column
    assert np.isfinite(step["entropy"]).all() and np.isfinite(grid["expected_reward"]).all()
    assert np.all((shares[:-1] >= 0) & (shares[:-1] <= 1))
    assert np.all((step["zero_variance_groups"][:-1] >= 0) & (step["zero_variance_groups"][:-1] <= 1))
    assert np.all(step["max_abs_advantage"][:-1] >= 0) and np.all(step["grad_norm"][:-1] >= 0)
    cosines = np.stack([step["grad_cosine_mean"][:-1], step["grad_cosine_min"][:-1]], axis=1)
    if n_objectives == 1:
        assert np.isnan(cosines).all()
    else:
        # NaN where fewer than two objectives have a nonzero gradient (e.g. every group constant in all but one).
        assert (np.isnan(cosines[:, 0]) == np.isnan(cosines[:, 1])).all()
        defined = cosines[~np.isnan(cosines[:, 0])]
        assert np.all(np.abs(defined) <= 1 + 1e-12)
        assert np.all(defined[:, 1] <= defined[:, 0] + 1e-12)


# --- shape and conventions ----------------------------------------------------------------------------------


@pytest.mark.parametrize("env, n_objectives", [
    (Bandit(), 2),
    (Bandit(n_objectives=1), 1),
    (Bandit(n_objectives=3, n_spurious=2), 5),
    (ContextualBandit(), 2),
    (ContextualBandit(policy="linear"), 2),
    (SequenceTask(), 3),
    (SequenceTask(objectives=("length",)), 1),
], ids=["bandit", "bandit-K1", "bandit-spurious", "contextual", "contextual-linear", "sequence", "sequence-K1"])
def test_history_shape_and_conventions(env, n_objectives):
    result = train(env, "rc", **SMALL, lr=1.0, seed=1)
    assert isinstance(result, TrainResult)
    history = result.history
    assert tuple(history.columns) == HISTORY_COLUMNS
    check_history(history, SMALL["steps"], n_objectives)
    body = history[history.step < SMALL["steps"]]
    if n_objectives > 1:
        assert np.isfinite(body["grad_cosine_mean"]).all() and np.isfinite(body["grad_cosine_min"]).all()
    assert list(history["objective_name"].unique()) == list(env.objective_names)
    assert (history["seed"] == 1).all() and (history["run"] == 0).all()
    assert (history["env"] == type(env).__name__).all() and (history["scheme"] == "rc").all()
    assert len(result.final_params) == 1 and result.final_params[0].shape == env.initial_params().shape
    final = result.final()
    assert len(final) == n_objectives and (final["step"] == SMALL["steps"]).all()
    runs = result.runs
    assert len(runs) == 1 and runs.loc[0, "scheme"] == "rc" and runs.loc[0, "seed"] == 1 and runs.loc[0, "lr"] == 1.0


def test_spurious_objectives_have_no_truth():
    history = train(Bandit(n_spurious=2), "gdpo", **SMALL).history
    spurious = history[history.objective_name.str.startswith("spurious")]
    assert len(spurious) == 2 * (SMALL["steps"] + 1)
    np.testing.assert_array_equal(spurious["expected_reward"], 0.0)


@pytest.mark.parametrize("scheme", ["rc", "dvao"])
@pytest.mark.parametrize("binary", [True, False])
def test_max_abs_advantage_respects_the_samuelson_bound(scheme, binary):
    """|z| <= sqrt(G - 1) for a population-std z-score (ddof=0); DVAO's sum_k w_k d_k / sum_k w_k sigma_k obeys
    it too by the triangle inequality. A binary group with one odd rollout attains it exactly."""
    group_size = 8
    env = Bandit(n_arms=6, n_objectives=3, binary=binary, noise_sd=0.0 if binary else 0.3)
    history = train(env, scheme, steps=30, group_size=group_size, n_groups=32, lr=2.0, ddof=0).history
    largest = history["max_abs_advantage"].max()
    bound = np.sqrt(group_size - 1)
    assert largest <= bound * (1 + 1e-12)
    assert largest > 0.6 * bound  # not vacuous: the advantages come near the bound


def test_weights_steer_the_effective_weights():
    env = Bandit(n_objectives=3)
    history = train(env, "rc", **SMALL, weights=[2.0, 1.0, 1.0]).history
    body = history[history.step < SMALL["steps"]]
    np.testing.assert_allclose(body.groupby("objective")["effective_weight"].mean(), [0.5, 0.25, 0.25])
    zero = train(env, "dvao", **SMALL, weights=[1.0, 0.0, 1.0]).history
    assert (zero.loc[(zero.step < SMALL["steps"]) & (zero.objective == 1), "effective_weight"] == 0.0).all()


def test_lr_zero_freezes_the_policy():
    env = ContextualBandit(n_prompts=4, n_arms=5)
    result = train(env, "gdpo", **SMALL, lr=0.0)
    np.testing.assert_array_equal(result.final_params[0], env.initial_params())
    rewards = result.history.pivot(index="step", columns="objective", values="expected_reward")
    np.testing.assert_array_equal(rewards.to_numpy(), np.tile(rewards.iloc[0].to_numpy(), (SMALL["steps"] + 1, 1)))
    np.testing.assert_allclose(result.history["entropy"], np.log(5), rtol=1e-12)


def test_ddof_and_eps_reach_the_scheme():
    base = train(Bandit(), "rc", **SMALL).history
    assert not base.equals(train(Bandit(), "rc", **SMALL, ddof=1).history)
    assert not base.equals(train(Bandit(), "rc", **SMALL, eps=0.1).history)


def test_sequence_ppo_epochs():
    """Extra clipped epochs change the trajectory but keep every convention."""
    one = train(SequenceTask(n_prompts=4), "rc", **SMALL, lr=2.0)
    three = train(SequenceTask(n_prompts=4, ppo_epochs=3, clip_eps=0.1), "rc", **SMALL, lr=2.0)
    check_history(three.history, SMALL["steps"], 3)
    assert not np.allclose(one.final_params[0], three.final_params[0])
    # The first batch and its diagnostics are the same; only the update differs.
    first = lambda h: h[h.step == 0].drop(columns=["entropy"]).reset_index(drop=True)  # noqa: E731
    pd.testing.assert_frame_equal(first(one.history), first(three.history))


# --- validation ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs, named", [
    (dict(steps=0), "steps"),
    (dict(steps=2.5), "steps"),
    (dict(group_size=0), "group_size"),
    (dict(n_groups=-1), "n_groups"),
    (dict(lr=-0.1), "lr"),
    (dict(lr=float("nan")), "lr"),
    (dict(weights=[1.0]), "weights"),
    (dict(weights=[1.0, -1.0]), "weights"),
    (dict(ddof=2), "ddof"),
    (dict(eps=-1.0), "eps"),
    (dict(seed=-3), "seeds"),
])
def test_train_rejects_bad_arguments(kwargs, named):
    with pytest.raises(ValueError, match=named):
        train(Bandit(), "rc", **{**SMALL, **kwargs})


def test_train_rejects_unknown_env_and_scheme():
    with pytest.raises(ValueError, match="env must be one of"):
        train(object(), "rc")
    with pytest.raises(ValueError, match="unknown scheme"):
        train(Bandit(), "no-such-scheme")


@pytest.mark.parametrize("seeds", [0, -2, [], [1, -1], True, 2.0, [1.5], [True], "12"])
def test_train_many_rejects_bad_seeds(seeds):
    with pytest.raises(ValueError, match="seeds"):
        train_many(Bandit(), "rc", seeds=seeds, **SMALL)


# --- seeds --------------------------------------------------------------------------------------------------


def test_seed_count_means_range_and_list_means_itself():
    by_count = train_many(Bandit(), "rc", seeds=3, **SMALL, parallel=False)
    by_list = train_many(Bandit(), "rc", seeds=[0, 1, 2], **SMALL, parallel=False)
    pd.testing.assert_frame_equal(by_count.history, by_list.history, check_exact=True)
    assert list(by_count.runs["seed"]) == [0, 1, 2]
    explicit = train_many(Bandit(), "rc", seeds=[7, 3], **SMALL)
    assert list(explicit.runs["seed"]) == [7, 3]
    for run, seed in enumerate([7, 3]):
        alone = train(Bandit(), "rc", **SMALL, seed=seed).history
        pd.testing.assert_frame_equal(run_frame(explicit.history[explicit.history.run == run]), run_frame(alone),
                                      check_exact=True)
    numpy_seeds = train_many(Bandit(), "rc", seeds=np.array([7, 3]), **SMALL)
    pd.testing.assert_frame_equal(numpy_seeds.history, explicit.history, check_exact=True)


def test_runs_ignore_numpy_global_random_state():
    """Every run is seeded from its own SeedSequence, never from np.random's global state; large seeds work."""
    np.random.seed(0)
    first = train(Bandit(), "rc", **SMALL, seed=2**40).history
    np.random.seed(1)
    np.random.random(10)
    second = train(Bandit(), "rc", **SMALL, seed=2**40).history
    pd.testing.assert_frame_equal(first, second, check_exact=True)
    check_history(first, SMALL["steps"], 2)


def test_runs_table_orders_env_scheme_lr_seed():
    envs = [Bandit(), Bandit(n_arms=4)]
    result = train_many(envs, ["rc", "gdpo"], seeds=2, lr=[0.5, 1.0], **SMALL)
    runs = result.runs
    assert len(runs) == 2 * 2 * 2 * 2
    expected = [(n_arms, scheme, lr, seed) for n_arms in (16, 4) for scheme in ("rc", "gdpo")
                for lr in (0.5, 1.0) for seed in (0, 1)]
    assert list(zip(runs["n_arms"], runs["scheme"], runs["lr"], runs["seed"])) == expected
    assert sorted(result.history["run"].unique()) == list(range(16))


# --- determinism --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("env", [Bandit(noise_sd=0.2, flip_prob=0.1, n_spurious=1),
                                 ContextualBandit(policy="linear", noise_df=3.0, noise_sd=0.3),
                                 SequenceTask(n_prompts=4, noise_sd=0.1)], ids=["bandit", "contextual", "sequence"])
def test_same_seed_same_frame_different_seed_different_frame(env):
    first = train(env, "dvao", **SMALL, seed=5)
    second = train(env, "dvao", **SMALL, seed=5)
    pd.testing.assert_frame_equal(first.history, second.history, check_exact=True)
    np.testing.assert_array_equal(first.final_params[0], second.final_params[0])
    other = train(env, "dvao", **SMALL, seed=6)
    assert not np.array_equal(first.final_params[0], other.final_params[0])
    assert not first.history["grad_norm"].equals(other.history["grad_norm"])


def test_same_seed_same_frame_across_processes(tmp_path):
    path = tmp_path / "history.parquet"
    script = textwrap.dedent(f"""
        from mowsim.envs import SequenceTask, Bandit
        from mowsim.train import train_many
        envs = [Bandit(noise_sd=0.3, noise_df=4.0, n_spurious=1), SequenceTask(n_prompts=4, flip_prob=0.1)]
        train_many(envs, ["rc", "saw-gdpo"], seeds=[3, 11], steps=8, group_size=6, n_groups=8,
                   parallel=True).history.to_parquet({str(path)!r})
    """)
    subprocess.run([sys.executable, "-c", script], check=True, timeout=300)
    envs = [Bandit(noise_sd=0.3, noise_df=4.0, n_spurious=1), SequenceTask(n_prompts=4, flip_prob=0.1)]
    here = train_many(envs, ["rc", "saw-gdpo"], seeds=[3, 11], steps=8, group_size=6, n_groups=8).history
    there = pd.read_parquet(path)
    pd.testing.assert_frame_equal(there, here, check_exact=True)


@pytest.mark.parametrize("env", [ContextualBandit(n_prompts=6, noise_sd=0.2),
                                 SequenceTask(n_prompts=4, ppo_epochs=2)], ids=["contextual", "sequence"])
def test_train_equals_train_many_serial_and_parallel(env):
    schemes, seeds = ["rc", "gdpo", "saw-grpo"], [0, 4, 9]
    parallel = train_many(env, schemes, seeds=seeds, **SMALL, parallel=True)
    serial = train_many(env, schemes, seeds=seeds, **SMALL, parallel=False)
    pd.testing.assert_frame_equal(parallel.history, serial.history, check_exact=True)
    for a, b in zip(parallel.final_params, serial.final_params):
        np.testing.assert_array_equal(a, b)
    for run, (scheme, seed) in enumerate((s, d) for s in schemes for d in seeds):
        alone = train(env, scheme, **SMALL, seed=seed)
        pd.testing.assert_frame_equal(run_frame(parallel.history[parallel.history.run == run]),
                                      run_frame(alone.history), check_exact=True)
        np.testing.assert_array_equal(parallel.final_params[run], alone.final_params[0])


def test_a_run_is_the_same_inside_a_mixed_grid():
    """Runs of different shapes and loop families batch separately; each equals its own train() call."""
    envs = [Bandit(n_arms=4), SequenceTask(n_prompts=3), Bandit(n_arms=9, n_spurious=1),
            ContextualBandit(n_prompts=3, n_arms=4), SequenceTask(n_prompts=3, ppo_epochs=2)]
    grid = train_many(envs, ["ac", "dvao"], seeds=[2], **SMALL, parallel=True)
    run = 0
    for env in envs:
        for scheme in ("ac", "dvao"):
            alone = train(env, scheme, **SMALL, seed=2)
            pd.testing.assert_frame_equal(run_frame(grid.history[grid.history.run == run]), run_frame(alone.history),
                                          check_exact=True)
            run += 1


def test_schemes_share_the_random_stream_at_step_zero():
    """Common random numbers: with the same seed every scheme sees the same first batch, so the batch statistics
    that do not depend on the scheme agree at step 0."""
    histories = [train(Bandit(), scheme, **SMALL, seed=3).history for scheme in ("rc", "gdpo", "dvao", "ac")]
    first = [h.loc[h.step == 0, ["expected_reward", "zero_variance_share", "zero_variance_groups", "entropy",
                                 "grad_cosine_mean", "grad_cosine_min"]].reset_index(drop=True) for h in histories]
    for other in first[1:]:
        pd.testing.assert_frame_equal(first[0], other, check_exact=True)
