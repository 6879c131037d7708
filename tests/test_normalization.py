"""Advantage normalization as a host option (issue 16): ``normalization`` in {"group", "batch", "none"}.

Layers: a hand-worked batch (B=2, G=3, K=2, small integers) for every mode; the batch std's population; the kernel
against the NumPy reference (edge cases and hypothesis batches over the whole float64 range); "group" against the
schemes as they were; power-of-two invariances; the errors; training on both environments; sweep cells.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from math import sqrt

import numpy as np
import pytest
from conftest import EDGE_CASES, reward_min_for
from hypothesis import given, settings
from hypothesis import strategies as st
from test_exactness import hard_batches

import mowsim
from mowsim import sweep, validation
from mowsim.grid import Point, grid
from mowsim.schemes import get, normalization, reference

SUPPORTED = list(normalization.SUPPORTED)
MODES = list(normalization.NORMALIZATIONS)
SCOPED = ["batch", "none"]
TOLERANCE = {"rtol": 1e-12, "atol": 1e-12}

# Group 0: objective 0 is 0, 1, 2 and objective 1 is 0, 2, 4. Group 1: objective 0 is constant (contributes 0),
# objective 1 is 0, 0, 3. Equal weights 1, ddof 0.
HAND = np.array([[[0.0, 0.0], [1.0, 2.0], [2.0, 4.0]],
                 [[1.0, 0.0], [1.0, 0.0], [1.0, 3.0]]])
HAND_WEIGHTS = np.array([1.0, 1.0])
# The group-centered pieces everything below is built from.
CENTERED_SUM = np.array([[-3.0, 0.0, 3.0], [-1.0, -1.0, 2.0]])  # s - mean_b s, s = r_0 + r_1
CENTERED_0 = np.array([[-1.0, 0.0, 1.0], [0.0, 0.0, 0.0]])  # r_0 - mu_b0
CENTERED_1 = np.array([[-2.0, 0.0, 2.0], [-1.0, -1.0, 2.0]])  # r_1 - mu_b1
# Batch stds (ddof 0) over the 6 pooled rollouts:
BATCH_STD_SUM = sqrt(17) / 2  # s = 0, 3, 6, 1, 1, 4: mean 5/2, squared deviations 51/2, variance 17/4
BATCH_STD_0 = 1 / sqrt(3)  # r_0 = 0, 1, 2, 1, 1, 1: mean 1, variance 2/6
BATCH_STD_1 = sqrt(31 / 12)  # r_1 = 0, 2, 4, 0, 0, 3: mean 3/2, squared deviations 31/2, variance 31/12


def _whiten(values):
    return (values - values.mean()) / values.std()


HAND_EXPECTED = {
    ("rc", "group"): np.array([CENTERED_SUM[0] / sqrt(6), CENTERED_SUM[1] / sqrt(2)]),  # group vars 18/3, 6/3
    ("rc", "batch"): CENTERED_SUM / BATCH_STD_SUM,
    ("rc", "none"): CENTERED_SUM,
    ("ac", "group"): np.array([CENTERED_0[0] / sqrt(2 / 3) + CENTERED_1[0] / sqrt(8 / 3),
                               CENTERED_1[1] / sqrt(2)]),
    ("ac", "batch"): CENTERED_0 / BATCH_STD_0 + CENTERED_1 / BATCH_STD_1,
    ("ac", "none"): CENTERED_0 + CENTERED_1,
    ("dvao", "group"): np.array([CENTERED_SUM[0] / (sqrt(2 / 3) + sqrt(8 / 3)), CENTERED_SUM[1] / sqrt(2)]),
    ("dvao", "batch"): CENTERED_SUM / (BATCH_STD_0 + BATCH_STD_1),
    ("dvao", "none"): CENTERED_SUM / 2,  # shares w_k / sum w = 1/2: RC-none over sum w
    ("gdpo", "group"): _whiten(np.array([CENTERED_0[0] / sqrt(2 / 3) + CENTERED_1[0] / sqrt(8 / 3),
                                         CENTERED_1[1] / sqrt(2)])),
    ("gdpo", "batch"): _whiten(CENTERED_0 / BATCH_STD_0 + CENTERED_1 / BATCH_STD_1),
    ("gdpo", "none"): CENTERED_SUM / 2,  # the centered sums -3, 0, 3, -1, -1, 2: mean 0, variance 24/6
}


@pytest.mark.parametrize("scheme, mode", sorted(HAND_EXPECTED))
def test_hand_worked(scheme, mode):
    for backend in ("numba", "numpy", "python"):
        got = mowsim.advantages(HAND, scheme, HAND_WEIGHTS, normalization=mode, backend=backend)
        np.testing.assert_allclose(got, HAND_EXPECTED[scheme, mode], rtol=1e-14, atol=1e-14, err_msg=backend)


def test_hand_worked_dvao_batch_weights():
    shares = np.array([BATCH_STD_0, BATCH_STD_1]) / (BATCH_STD_0 + BATCH_STD_1)
    for backend in ("numba", "numpy"):
        eff = mowsim.effective_weights(HAND, "dvao", HAND_WEIGHTS, normalization="batch", backend=backend)
        np.testing.assert_allclose(eff, [shares, shares], rtol=1e-14)
        eff = mowsim.effective_weights(HAND, "dvao", HAND_WEIGHTS, normalization="none", backend=backend)
        np.testing.assert_allclose(eff, [[0.5, 0.5], [0.5, 0.5]], rtol=1e-15)


def test_hand_worked_eps():
    """``eps`` is added to the batch std as to a group std, and not at all with "none"."""
    eps = 0.25
    got = mowsim.advantages(HAND, "rc", HAND_WEIGHTS, eps=eps, normalization="batch")
    np.testing.assert_allclose(got, CENTERED_SUM / (BATCH_STD_SUM + eps), rtol=1e-14)
    for scheme in ("rc", "ac", "dvao"):
        np.testing.assert_array_equal(mowsim.advantages(HAND, scheme, HAND_WEIGHTS, eps=eps, normalization="none"),
                                      mowsim.advantages(HAND, scheme, HAND_WEIGHTS, normalization="none"))


def test_batch_std_population():
    """The batch std pools the scorable rollouts of groups with >= 2 of them: a group with one scorable rollout (and
    an unscorable rollout of a counted group) changes nothing and gets 0; NaN entries are left out."""
    extra = np.full((1, 3, 2), np.nan)
    extra[0, 0] = [50.0, -7.0]  # one scorable rollout: not in any statistic
    padded = np.concatenate([HAND, extra])
    unscorable = np.concatenate([HAND, np.full((2, 1, 2), np.nan)], axis=1)  # an all-NaN rollout per group
    for scheme, mode in HAND_EXPECTED:
        if mode == "group":
            continue
        for backend in ("numba", "numpy"):
            got = mowsim.advantages(padded, scheme, HAND_WEIGHTS, normalization=mode, backend=backend)
            np.testing.assert_allclose(got[:2], HAND_EXPECTED[scheme, mode], rtol=1e-14, atol=1e-14)
            np.testing.assert_array_equal(got[2], 0.0)
            got = mowsim.advantages(unscorable, scheme, HAND_WEIGHTS, normalization=mode, backend=backend)
            np.testing.assert_allclose(got[:, :3], HAND_EXPECTED[scheme, mode], rtol=1e-14, atol=1e-14)
            np.testing.assert_array_equal(got[:, 3], 0.0)
    # a NaN entry leaves r_1's batch std over the 5 scored values; r_0 and the group means are unchanged
    holed = HAND.copy()
    holed[1, 2, 1] = np.nan  # group 1's objective 1 is now 0, 0: constant
    r1 = np.array([0.0, 2.0, 4.0, 0.0, 0.0])
    expected = np.array([CENTERED_0[0] / BATCH_STD_0 + CENTERED_1[0] / r1.std(), [0.0, 0.0, 0.0]])
    np.testing.assert_allclose(mowsim.advantages(holed, "ac", HAND_WEIGHTS, normalization="batch"), expected,
                               rtol=1e-14, atol=1e-14)


def test_zero_batch_std_gives_zeros():
    constant = np.full((3, 4, 2), 0.1)
    for scheme in SUPPORTED:
        for mode in SCOPED:
            np.testing.assert_array_equal(mowsim.advantages(constant, scheme, normalization=mode, eps=1e-4), 0.0)
    # each group constant, the batch not: the batch std is positive but every centered value is 0
    stepped = np.stack([np.full((4, 2), 1.0), np.full((4, 2), 3.0)])
    for scheme in SUPPORTED:
        np.testing.assert_array_equal(mowsim.advantages(stepped, scheme, normalization="batch"), 0.0)


@pytest.mark.parametrize("name", SUPPORTED)
def test_group_is_the_scheme(name):
    """"group" is each scheme as published, bit for bit, on every backend (the reference calls the same code)."""
    for case, (rewards, weights) in EDGE_CASES.items():
        for backend in ("numba", "numpy"):
            plain = get(name).compute(rewards, weights, ddof=1, eps=1e-4, backend=backend)
            grouped = get(name).compute(rewards, weights, ddof=1, eps=1e-4, backend=backend, normalization="group")
            np.testing.assert_array_equal(grouped.advantages, plain.advantages, err_msg=case)
            np.testing.assert_array_equal(grouped.weights, plain.weights, err_msg=case)
        checked = validation.check_weights(weights, rewards.shape[2])
        advantages, _ = normalization.REFERENCES[name](rewards, checked, 1, 1e-4, normalization="group")
        np.testing.assert_array_equal(advantages, type(get(name)).reference(rewards, checked, 1, 1e-4)[0],
                                      err_msg=case)


def _compare(name, rewards, weights, ddof, eps, mode, reward_min=None):
    """Kernel (and its py_func) against the reference; both raise or neither does."""
    results = {}
    for backend in ("numpy", "numba", "python"):
        try:
            out = get(name).compute(rewards, weights, ddof=ddof, eps=eps, reward_min=reward_min, backend=backend,
                                    normalization=mode)
            results[backend] = (out.advantages, out.weights)
        except ValueError as err:
            results[backend] = str(err)
    oracle = results["numpy"]
    for backend in ("numba", "python"):
        if isinstance(oracle, str) or isinstance(results[backend], str):
            assert isinstance(oracle, str) and isinstance(results[backend], str), (backend, oracle, results[backend])
            continue
        scale = max(1.0, float(np.max(np.abs(oracle[0]))))  # "none" advantages carry the rewards' units
        np.testing.assert_allclose(results[backend][0], oracle[0], rtol=1e-12, atol=1e-12 * scale, err_msg=backend)
        np.testing.assert_allclose(results[backend][1], oracle[1], **TOLERANCE, err_msg=backend)


@pytest.mark.parametrize("mode", SCOPED)
@pytest.mark.parametrize("name", SUPPORTED)
def test_kernel_matches_reference_edge_cases(name, mode):
    for case, (rewards, weights) in EDGE_CASES.items():
        for ddof in (0, 1):
            for eps in (0.0, 1e-4):
                for how in ("none", "lower_bound"):
                    _compare(name, rewards, weights, ddof, eps, mode, reward_min_for(rewards, how))


@settings(deadline=None, max_examples=60)
@given(batch=hard_batches(), name=st.sampled_from(SUPPORTED), mode=st.sampled_from(SCOPED),
       ddof=st.sampled_from([0, 1]), eps=st.sampled_from([0.0, 1e-4]))
def test_kernel_matches_reference_any_scale(batch, name, mode, ddof, eps):
    rewards, weights = batch
    _compare(name, rewards, weights, ddof, eps, mode)


@settings(deadline=None, max_examples=40)
@given(batch=hard_batches(), exponent=st.sampled_from([-700, -60, -1, 3, 45, 600]), ddof=st.sampled_from([0, 1]))
def test_power_of_two_scaling(batch, exponent, ddof):
    """eps = 0: "batch" (and GDPO-none, which is whitened) are unchanged bit for bit by a power-of-two scaling of
    the rewards; RC-, AC- and DVAO-none scale by exactly that power of two (whenever the scaled rewards and
    advantages are exact normal floats)."""
    rewards, weights = batch
    scored = np.abs(rewards[~np.isnan(rewards)])
    scored = scored[scored > 0]
    if scored.size == 0:
        return
    with np.errstate(over="ignore", under="ignore"):
        scaled = np.ldexp(rewards, exponent)
        low, high = np.ldexp(scored.min(), exponent), np.ldexp(scored.max(), exponent)
    if not (low > 2.0**-1000 and high < 2.0**1000 and scored.min() > 2.0**-1000 and scored.max() < 2.0**1000):
        return
    for name in ["rc", "ac", "gdpo", "dvao"]:
        for backend in ("numba", "numpy"):
            kw = {"ddof": ddof, "backend": backend}
            batch_plain = mowsim.advantages(rewards, name, weights, normalization="batch", **kw)
            batch_scaled = mowsim.advantages(scaled, name, weights, normalization="batch", **kw)
            np.testing.assert_array_equal(batch_scaled, batch_plain, err_msg=f"{name} batch {backend}")
            none_plain = mowsim.advantages(rewards, name, weights, normalization="none", **kw)
            none_scaled = mowsim.advantages(scaled, name, weights, normalization="none", **kw)
            if name == "gdpo":
                np.testing.assert_array_equal(none_scaled, none_plain, err_msg=f"{name} none {backend}")
            elif np.all(np.abs(none_plain[none_plain != 0]) > 2.0**-1000) and np.all(np.abs(none_plain) < 2.0**1000):
                np.testing.assert_array_equal(none_scaled, np.ldexp(none_plain, exponent),
                                              err_msg=f"{name} none {backend}")


def test_none_is_linear_in_the_rewards():
    rng = np.random.default_rng(5)
    rewards = rng.normal(size=(6, 5, 3))
    weights = np.array([0.2, 0.5, 0.3])
    for name in ("rc", "ac", "dvao"):  # (SAW's absolute delta makes its CV weights move a little with the scale)
        base = mowsim.advantages(rewards, name, weights, normalization="none")
        np.testing.assert_allclose(mowsim.advantages(3.0 * rewards, name, weights, normalization="none"), 3 * base,
                                   rtol=1e-12, atol=1e-14)
    # Dr. GRPO erases the difference between RC, AC and DVAO up to the scale sum(w) (without NaN)
    rc = mowsim.advantages(rewards, "rc", weights, normalization="none")
    np.testing.assert_allclose(mowsim.advantages(rewards, "ac", weights, normalization="none"), rc, atol=1e-14)
    np.testing.assert_allclose(mowsim.advantages(rewards, "dvao", 4 * weights, normalization="none") * 4, 4 * rc,
                               atol=1e-13)


def test_saw_uses_the_scope_on_its_reweighted_sums():
    rng = np.random.default_rng(11)
    rewards = rng.random((5, 6, 3))
    weights = np.array([1.0, 2.0, 0.5])
    cv = reference.saw_cv_weights(rewards, 0, None, 1e-8)
    for mode in SCOPED:
        np.testing.assert_allclose(mowsim.advantages(rewards, "saw-grpo", weights, normalization=mode),
                                   mowsim.advantages(rewards, "rc", cv * weights, normalization=mode), rtol=1e-13,
                                   atol=1e-15)
        np.testing.assert_allclose(mowsim.advantages(rewards, "saw-gdpo", weights, normalization=mode),
                                   mowsim.advantages(rewards, "gdpo", 3 * cv * weights, normalization=mode),
                                   rtol=1e-13, atol=1e-15)


def test_errors():
    rewards = HAND
    with pytest.raises(ValueError, match=r"one of \('group', 'batch', 'none'\)"):
        mowsim.advantages(rewards, "rc", normalization="std")
    with pytest.raises(ValueError, match="one of"):
        mowsim.advantages(rewards, "rc", normalization=None)
    for name in mowsim.schemes.available():
        if name in SUPPORTED:
            continue
        for mode in SCOPED:
            with pytest.raises(ValueError, match="rc, ac, gdpo, dvao, saw-grpo, saw-gdpo"):
                get(name).compute(rewards, normalization=mode)
    with pytest.raises(ValueError, match="one of"):
        normalization.rc(rewards, HAND_WEIGHTS, normalization="Batch")
    with pytest.raises(ValueError, match="saw-grpo, saw-gdpo"):
        mowsim.train(mowsim.envs.Bandit(), "mgda", steps=2, normalization="none")
    with pytest.raises(ValueError, match="one of"):
        mowsim.train(mowsim.envs.Bandit(), "rc", steps=2, normalization="batch-std")
    with pytest.raises(ValueError, match="vpo"):
        sweep.make_cell("demo", 0, "bandit", {}, "vpo", setting={}, normalization="batch")


TRAIN = {"steps": 6, "n_groups": 6, "group_size": 4}


@pytest.mark.parametrize("env", [mowsim.envs.Bandit(n_objectives=3), mowsim.envs.SequenceTask()],
                         ids=["bandit", "sequence"])
def test_train_modes(env):
    for name in ("rc", "dvao", "saw-gdpo"):
        default = mowsim.train(env, name, seed=2, **TRAIN)
        histories = {}
        for mode in MODES:
            result = mowsim.train(env, name, seed=2, normalization=mode, **TRAIN)
            again = mowsim.train(env, name, seed=2, normalization=mode, **TRAIN)
            assert result.history.equals(again.history), (name, mode)
            assert (result.runs["normalization"] == mode).all()
            assert np.isfinite(result.history["expected_reward"]).all()
            histories[mode] = result
        assert histories["group"].history.equals(default.history)
        np.testing.assert_array_equal(histories["group"].final_params[0], default.final_params[0])
        # the modes differ in what they update (a check that the option reaches the compiled loop)
        assert not np.array_equal(histories["batch"].final_params[0], histories["group"].final_params[0])
        assert not np.array_equal(histories["none"].final_params[0], histories["group"].final_params[0])


def test_train_loop_uses_the_scoped_advantages():
    """The loop's batch diagnostics are those of the scoped kernel: with "none" and equal weights summing to 1,
    RC and DVAO are the same advantages, hence the same histories."""
    env = mowsim.envs.Bandit(n_objectives=2)
    rc = mowsim.train(env, "rc", seed=4, normalization="none", **TRAIN)
    dvao = mowsim.train(env, "dvao", seed=4, normalization="none", **TRAIN)
    np.testing.assert_array_equal(rc.final_params[0], dvao.final_params[0])
    np.testing.assert_array_equal(rc.history["mean_sq_advantage"], dvao.history["mean_sq_advantage"])


def test_train_many_parallel_equals_serial():
    env = mowsim.envs.Bandit(n_objectives=2)
    kwargs = {"seeds": 3, "normalization": "batch", **TRAIN}
    parallel = mowsim.train_many(env, ["rc", "gdpo", "ac"], parallel=True, **kwargs)
    serial = mowsim.train_many(env, ["rc", "gdpo", "ac"], parallel=False, **kwargs)
    assert parallel.history.equals(serial.history)


def _old_key(cell):
    """The key as computed before ``normalization`` existed."""
    fields = {f.name: sweep._jsonable(getattr(cell, f.name)) for f in dataclasses.fields(cell)
              if f.name != "normalization"}
    text = json.dumps({"mowsim": mowsim.__version__, "cell": fields}, sort_keys=True, separators=(",", ":"),
                      allow_nan=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def test_sweep_cells():
    def points(instance):
        yield Point("bandit", {"instance_seed": instance}, {"norm": "group"})
        yield Point("bandit", {"instance_seed": instance}, {"norm": "batch"}, train={"normalization": "batch"})

    cells = grid("demo", points, schemes=["rc"], steps=3, seeds=1, n_groups=4, group_size=4)
    assert [c.normalization for c in cells] == ["group", "batch"]
    assert cells[0].key() == _old_key(cells[0])
    assert cells[1].key() != _old_key(cells[1])
    assert cells[0].key() != dataclasses.replace(cells[1], setting=cells[0].setting).key()
    frame = sweep.train_cell(cells[1])
    direct = mowsim.train_many(cells[1].env_instance(), "rc", seeds=1, steps=3, n_groups=4, group_size=4,
                               normalization="batch", parallel=False)
    np.testing.assert_array_equal(frame["expected_reward"].to_numpy(), direct.history["expected_reward"].to_numpy())


@pytest.mark.parametrize("mode", SCOPED)
@pytest.mark.parametrize("name", SUPPORTED)
def test_subnormal_rewards_with_eps(name, mode):
    """Found by hypothesis: ``eps`` in the units of subnormal rewards overflows; the uncompiled kernel must give inf
    there as the compiled one does, not raise OverflowError."""
    rewards = np.array([[[1.2573022110e-314], [6.4042265045e-314]]])
    _compare(name, rewards, np.array([0.8319432152802452]), 0, 1e-4, mode)
