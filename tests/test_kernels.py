"""Kernel vs reference: the Numba kernels, their un-jitted ``py_func`` and the NumPy oracle agree on every scheme.

Three backends of :func:`mowsim.advantages` run the same batch: ``numba`` (compiled kernels), ``python``
(``compute_serial.py_func``: the driver's logic executed by the interpreter) and ``numpy``
(:mod:`mowsim.schemes.reference`). They may add in different orders, so they agree to rounding: ``rtol=1e-12``
with ``atol=1e-12`` for values near zero (advantages and weights are O(1)). The serial and the parallel driver
must agree bit for bit.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import EDGE_CASES, SCHEMES, reward_min_for

import mowsim
from mowsim.schemes import _kernels, base, get

TOLERANCE = {"rtol": 1e-12, "atol": 1e-12}


def _run(name, rewards, weights, ddof, eps, reward_min, backend):
    out = get(name).compute(rewards, weights, ddof=ddof, eps=eps, reward_min=reward_min, backend=backend)
    return out.advantages, out.weights


@pytest.mark.parametrize("eps", [0.0, 1e-4])
@pytest.mark.parametrize("ddof", [0, 1])
@pytest.mark.parametrize("case", sorted(EDGE_CASES))
@pytest.mark.parametrize("name", SCHEMES)
def test_backends_agree(name, case, ddof, eps):
    rewards, weights = EDGE_CASES[case]
    for reward_min_how in ("none", "lower_bound"):  # reward_min only matters to SAW; every scheme must accept it
        reward_min = reward_min_for(rewards, reward_min_how)
        results = {backend: _run(name, rewards, weights, ddof, eps, reward_min, backend) for backend in base.BACKENDS}
        oracle_adv, oracle_eff = results["numpy"]
        assert oracle_adv.shape == rewards.shape[:2]
        assert oracle_eff.shape == (rewards.shape[0], rewards.shape[2])
        for backend in ("numba", "python"):
            adv, eff = results[backend]
            label = f"{backend} vs numpy, reward_min={reward_min_how}"
            np.testing.assert_allclose(adv, oracle_adv, **TOLERANCE, err_msg=f"advantages, {label}")
            np.testing.assert_allclose(eff, oracle_eff, **TOLERANCE, err_msg=f"weights, {label}")
        assert np.all(np.isfinite(oracle_adv)) and np.all(np.isfinite(oracle_eff))


@pytest.mark.parametrize("name", SCHEMES)
def test_effective_weights_sum_to_one(name):
    for case, (rewards, weights) in EDGE_CASES.items():
        eff = mowsim.effective_weights(rewards, name, weights)
        np.testing.assert_allclose(eff.sum(axis=1), 1.0, rtol=1e-12, err_msg=case)
        assert np.all(eff >= 0.0), case


def uses_the_batch_drivers(name) -> bool:
    """True for schemes computed by Scheme._run's compute_serial / compute_parallel pair."""
    scheme = get(name)
    return type(scheme)._run is base.Scheme._run and scheme.kernel_id >= 0


def skip_unless_batch_drivers(name):
    if not uses_the_batch_drivers(name):
        pytest.skip(f"{name} runs its own kernel (it overrides Scheme._run), not the compute_serial/compute_parallel "
                    "pair; its backends are compared in test_backends_agree")


def _drivers(name, rewards, weights, ddof, eps, reward_min):
    """Run compute_serial and compute_parallel on the same validated input; return both (out, eff) pairs."""
    scheme = get(name)
    n_groups, n_rollouts, n_objectives = rewards.shape
    weights = np.full(n_objectives, 1.0 / n_objectives) if weights is None else np.ascontiguousarray(weights)
    has_min = reward_min is not None
    rmin = np.asarray(reward_min, dtype=np.float64) if has_min else np.zeros(n_objectives)
    results = []
    for driver in (_kernels.compute_serial, _kernels.compute_parallel):
        out = np.full((n_groups, n_rollouts), np.nan)
        eff = np.full((n_groups, n_objectives), np.nan)
        driver(scheme.kernel_id, np.ascontiguousarray(rewards), weights, ddof, eps, rmin, has_min, scheme._saw_params(),
               out, eff)
        results.append((out, eff))
    return results


@pytest.mark.parametrize("name", SCHEMES)
def test_serial_and_parallel_drivers_bit_identical(name):
    skip_unless_batch_drivers(name)
    for case, (rewards, weights) in EDGE_CASES.items():
        for ddof in (0, 1):
            for eps in (0.0, 1e-4):
                for how in ("none", "lower_bound"):
                    (serial, serial_eff), (parallel, parallel_eff) = _drivers(
                        name, rewards, weights, ddof, eps, reward_min_for(rewards, how))
                    label = f"{case} ddof={ddof} eps={eps} reward_min={how}"
                    assert np.array_equal(serial, parallel), label
                    assert np.array_equal(serial_eff, parallel_eff), label


@pytest.mark.parametrize("name", SCHEMES)
def test_parallel_switch_is_invisible(name, monkeypatch, rng):
    """Forcing either driver through ``PARALLEL_MIN_ENTRIES`` gives bit-identical public results."""
    skip_unless_batch_drivers(name)
    rewards = rng.normal(size=(33, 16, 4))
    rewards[rng.random(rewards.shape) < 0.05] = np.nan
    rewards[3, :15] = np.nan
    rewards[7] = 0.1
    weights = rng.uniform(0.1, 1.0, size=4)
    runs = []
    monkeypatch.setattr(base, "PARALLEL_MIN_THREADS", 1)
    for threshold in (1, rewards.size + 1):
        monkeypatch.setattr(base, "PARALLEL_MIN_ENTRIES", threshold)
        runs.append(get(name).compute(rewards, weights, ddof=1, eps=1e-4))
    assert np.array_equal(runs[0].advantages, runs[1].advantages)
    assert np.array_equal(runs[0].weights, runs[1].weights)


@pytest.mark.parametrize("size_vs_threshold, expected", [(-1, "compute_serial"), (0, "compute_parallel")])
def test_parallel_threshold_picks_the_driver(size_vs_threshold, expected, monkeypatch):
    """Batches with at least PARALLEL_MIN_ENTRIES entries take the prange driver; smaller ones the serial one."""
    rewards = np.arange(2 * 3 * 4, dtype=np.float64).reshape(2, 3, 4) % 5
    monkeypatch.setattr(base, "PARALLEL_MIN_ENTRIES", rewards.size - size_vs_threshold)
    monkeypatch.setattr(base, "PARALLEL_MIN_THREADS", 1)
    called = []
    for driver_name in ("compute_serial", "compute_parallel"):
        real = getattr(_kernels, driver_name)

        def spy(*args, _real=real, _name=driver_name):
            called.append(_name)
            return _real(*args)

        monkeypatch.setattr(_kernels, driver_name, spy)
    mowsim.advantages(rewards, "rc")
    assert called == [expected]


def test_default_threshold_is_what_base_documents():
    assert base.PARALLEL_MIN_ENTRIES == 1 << 17
    assert base.PARALLEL_MIN_THREADS == 4


def test_few_threads_keep_the_serial_driver(monkeypatch):
    """Below PARALLEL_MIN_THREADS Numba threads a large batch still takes the serial driver."""
    rewards = np.ones((2, 3, 4))
    rewards[:, 0] = 0.0
    monkeypatch.setattr(base, "PARALLEL_MIN_ENTRIES", 1)
    monkeypatch.setattr(base, "PARALLEL_MIN_THREADS", 10**6)
    called = []
    real = _kernels.compute_serial

    def spy(*args):
        called.append("compute_serial")
        return real(*args)

    monkeypatch.setattr(_kernels, "compute_serial", spy)
    mowsim.advantages(rewards, "rc")
    assert called == ["compute_serial"]


@pytest.mark.parametrize("name", SCHEMES)
def test_deterministic(name, rng):
    rewards = rng.normal(size=(6, 8, 3))
    first = mowsim.advantages(rewards, name, ddof=1, eps=1e-4)
    again = mowsim.advantages(rewards.copy(), name, ddof=1, eps=1e-4)
    assert np.array_equal(first, again)


@pytest.mark.parametrize("name", SCHEMES)
def test_input_not_modified(name, rng):
    rewards = rng.normal(size=(3, 5, 2))
    rewards[0, 1, 0] = np.nan
    weights = np.array([0.3, 0.9])
    kept_rewards, kept_weights = rewards.copy(), weights.copy()
    for backend in base.BACKENDS:
        mowsim.advantages(rewards, name, weights, backend=backend)
    np.testing.assert_array_equal(rewards, kept_rewards)
    np.testing.assert_array_equal(weights, kept_weights)


@pytest.mark.parametrize("name", SCHEMES)
def test_accepts_non_contiguous_and_other_dtypes(name, rng):
    rewards = rng.normal(size=(4, 6, 3))
    expected = mowsim.advantages(rewards, name)
    np.testing.assert_array_equal(mowsim.advantages(np.asfortranarray(rewards), name), expected)
    np.testing.assert_array_equal(mowsim.advantages(rewards.tolist(), name), expected)
    padded = np.zeros((4, 6, 6))
    padded[:, :, ::2] = rewards
    np.testing.assert_array_equal(mowsim.advantages(padded[:, :, ::2], name), expected)
    as_float32 = rewards.astype(np.float32)
    np.testing.assert_array_equal(mowsim.advantages(as_float32, name),
                                  mowsim.advantages(as_float32.astype(np.float64), name))


@pytest.mark.parametrize("backend", base.BACKENDS)
@pytest.mark.parametrize("name", SCHEMES)
def test_groups_without_signal_give_positive_zero(name, backend, rng):
    """A group without signal gets exactly +0, never -0 from rounding a constant's deviation times a zero multiplier:
    a constant group (its mean of 0.1s rounds), a group constant per objective, a group with one scorable rollout.
    GDPO's batch whitening then moves every scored group by the same batch mean, so there the two constant groups
    share one value and only the unscorable group (masked out of the batch) is +0."""
    rewards = rng.normal(size=(6, 5, 3))
    rewards[0] = 0.1
    rewards[1] = [0.3, 0.7, 0.1]
    rewards[2, 1:] = np.nan
    out = mowsim.advantages(rewards, name, ddof=0, eps=1e-4, backend=backend)
    silent = out[:3]
    if "gdpo" in name:
        np.testing.assert_array_equal(silent[:2], silent[0, 0])
        silent = silent[2]
    assert np.all(silent == 0.0) and not np.any(np.signbit(silent)), silent
    assert np.any(out[3:] != 0.0)


@pytest.mark.parametrize("backend", base.BACKENDS)
@pytest.mark.parametrize("name", SCHEMES)
def test_a_negative_zero_reward_at_the_mean_gives_positive_zero(name, backend):
    """Sums over objectives start from 0.0, as the reference's do, so a -0.0 reward exactly at its group's mean
    gives advantage +0, not -0, on every path (also beside a NaN-aware group)."""
    rewards = np.array([[[-0.0], [1.0], [-1.0]], [[np.nan], [0.0], [1.0]]])
    out = mowsim.advantages(rewards, name, backend=backend)
    assert out[0, 0] == 0.0 and not np.signbit(out[0, 0]), out
