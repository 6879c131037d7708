"""The input boundary: every bad input raises ValueError saying what was expected, what arrived and how to fix it."""

from __future__ import annotations

import dataclasses
import re
import warnings

import numpy as np
import pytest
from conftest import SCHEMES

import mowsim
from mowsim import validation
from mowsim.schemes import SAWGRPO, Scheme, base, get, register

GOOD = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])


# ---------------------------------------------------------------- rewards


def test_check_rewards_returns_contiguous_float64_3d():
    arr, squeezed = validation.check_rewards(GOOD.tolist())
    assert squeezed and arr.shape == (1, 3, 2) and arr.dtype == np.float64 and arr.flags.c_contiguous
    arr, squeezed = validation.check_rewards(np.asfortranarray(np.ones((2, 3, 4), dtype=np.float32)))
    assert not squeezed and arr.shape == (2, 3, 4) and arr.dtype == np.float64 and arr.flags.c_contiguous


@pytest.mark.parametrize("name", SCHEMES)
def test_output_shapes(name):
    assert mowsim.advantages(GOOD, name).shape == (3,)
    assert mowsim.effective_weights(GOOD, name).shape == (2,)
    batch = np.stack([GOOD, GOOD[::-1], GOOD * 2])
    assert mowsim.advantages(batch, name).shape == (3, 3)
    assert mowsim.effective_weights(batch, name).shape == (3, 2)
    np.testing.assert_array_equal(mowsim.advantages(GOOD, name), mowsim.advantages(GOOD[None], name)[0])


@pytest.mark.parametrize(
    "rewards, index",
    [
        ([[0.0, 1.0], [np.inf, 0.0]], r"\(1, 0\)"),
        ([[0.0, -np.inf], [np.inf, 0.0]], r"\(0, 1\)"),
        (np.where(np.arange(12).reshape(2, 3, 2) == 7, np.inf, 0.0), r"\(1, 0, 1\)"),
    ],
)
def test_inf_names_first_offending_index(rewards, index):
    with pytest.raises(ValueError, match=rf"rewards contains inf at index {index}.*must be finite.*Use NaN"):
        mowsim.advantages(rewards, "rc")


@pytest.mark.parametrize("name", ["rc", "ac", "gdpo", "dvao", "saw-grpo", "saw-gdpo", "dvao-ema", "mgda"])
@pytest.mark.parametrize("backend", ["numba", "numpy", "python"])
@pytest.mark.parametrize(
    "case",
    ["alone", "with_nan_in_group", "zero_weight", "minus_inf", "inf_and_minus_inf", "only_score_in_group"],
)
def test_inf_is_caught_wherever_it_hides(name, backend, case):
    """The compiled path checks for inf on the range its kernels measure, not on a scan of its own: an inf next to
    a NaN (the NaN-aware path), behind a zero weight (RC's weighted sum is then NaN), or alone in a group must
    still be reported, with its index, by every backend."""
    rewards = np.random.default_rng(0).random((3, 4, 2))
    weights = None
    if case == "alone":
        rewards[1, 2, 0] = np.inf
    elif case == "with_nan_in_group":
        rewards[1, 0, 1] = np.nan
        rewards[1, 2, 0] = np.inf
    elif case == "zero_weight":
        rewards[1, 2, 0] = np.inf
        weights = [0.0, 1.0]
    elif case == "minus_inf":
        rewards[1, 2, 0] = -np.inf
    elif case == "inf_and_minus_inf":
        rewards[1, 2, 0] = np.inf
        rewards[1, 3, 0] = -np.inf
    else:
        rewards[1] = np.nan
        rewards[1, 2, 0] = np.inf
    with pytest.raises(ValueError, match=r"rewards contains inf at index \(1, 2, 0\)"):
        mowsim.schemes.get(name).compute(rewards, weights, backend=backend)


@pytest.mark.parametrize(
    "rewards, pattern",
    [
        (np.ones(4), r"shape \(4,\) \(ndim=1\); expected \(n_groups, n_rollouts, n_objectives\).*rewards\[:, None\]"),
        (np.ones((2, 3, 4, 5)), r"shape \(2, 3, 4, 5\) \(ndim=4\); expected .*reshape\(-1, G, K\)"),
        (np.float64(1.0), r"shape \(\) \(ndim=0\); expected"),
        (np.ones((2, 0, 3)), r"shape \(2, 0, 3\) with an empty axis; expected .*every axis >= 1"),
        (np.ones((0, 3)), r"empty axis"),
        ([["a", "b"]], r"numeric array .*could not convert list to float64"),
        ([[1.0, 2.0], [3.0]], r"could not convert list"),
    ],
    ids=["1d", "4d", "0d", "empty-group", "empty-2d", "strings", "ragged"],
)
def test_bad_reward_shapes(rewards, pattern):
    with pytest.raises(ValueError, match=pattern):
        mowsim.advantages(rewards, "dvao")


# ---------------------------------------------------------------- weights


@pytest.mark.parametrize(
    "weights, pattern",
    [
        ([1.0, 2.0, 3.0], r"weights has shape \(3,\); expected \(2,\), one weight per objective "
                          r"\(rewards has n_objectives=2\)\. Pass weights=None"),
        ([[0.5, 0.5]], r"weights has shape \(1, 2\); expected \(2,\)"),
        (0.5, r"weights has shape \(\); expected \(2,\)"),
        ([0.5, -0.5], r"must be non-negative; weights\[1\] = -0.5\. To minimize an objective, negate its reward"),
        ([0.0, 0.0], r"weights are all zero \(\[0\.0, 0\.0\]\); at least one objective needs a positive weight"),
        ([np.nan, 1.0], r"weights must be finite; got \[nan, 1\.0\]"),
        ([np.inf, 1.0], r"weights must be finite; got \[inf, 1\.0\]"),
        (["x", "y"], r"weights must be a numeric array of shape \(2,\); got \['x', 'y'\]"),
    ],
    ids=["long", "2d", "scalar", "negative", "all-zero", "nan", "inf", "strings"],
)
def test_bad_weights(weights, pattern):
    with pytest.raises(ValueError, match=pattern):
        mowsim.advantages(GOOD, "ac", weights)


def test_weights_none_means_equal_and_are_not_renormalized():
    np.testing.assert_array_equal(validation.check_weights(None, 4), np.full(4, 0.25))
    np.testing.assert_array_equal(validation.check_weights([2, 0, 6], 3), [2.0, 0.0, 6.0])


# ---------------------------------------------------------------- scheme names and parameters


@pytest.mark.parametrize("bad", ["dvoa", "", "grpo", 3, None])
def test_unknown_scheme_lists_valid_names(bad):
    with pytest.raises(ValueError, match=rf"unknown scheme {re.escape(repr(bad))}; expected one of: ") as info:
        mowsim.advantages(GOOD, bad)
    for name in mowsim.schemes.available():
        assert name in str(info.value)
    assert "@mowsim.schemes.register" in str(info.value)


def test_scheme_names_are_case_insensitive():
    np.testing.assert_array_equal(mowsim.advantages(GOOD, "DVAO"), mowsim.advantages(GOOD, "dvao"))


def test_available_lists_the_issue_schemes_sorted():
    names = mowsim.schemes.available()
    assert {"rc", "ac", "gdpo", "dvao", "saw-grpo", "saw-gdpo"} <= set(names)
    assert names == sorted(names)


def test_scheme_parameters():
    assert get("saw-grpo", delta=1e-6) == SAWGRPO(delta=1e-6)
    instance = SAWGRPO(delta=0.5)
    assert get(instance) is instance
    assert get(instance, delta=0.25) == SAWGRPO(delta=0.25)
    with pytest.raises(ValueError, match=r"scheme 'rc' takes parameters \[\]; got \['delta'\]"):
        get("rc", delta=1.0)
    for bad in (0.0, -1.0, np.nan, "x"):
        with pytest.raises(ValueError, match=r"delta must be .*SAW's official code uses delta=1e-8"):
            SAWGRPO(delta=bad)


def test_register_rejects_nameless_and_duplicate_schemes():
    @dataclasses.dataclass(frozen=True)
    class Nameless(Scheme):
        pass

    with pytest.raises(ValueError, match=r"Nameless has no name; set the class attribute `name`"):
        register(Nameless)

    @dataclasses.dataclass(frozen=True)
    class Impostor(Scheme):
        name = "dvao"

    with pytest.raises(ValueError, match=r"a scheme named 'dvao' is already registered \(DVAO\)"):
        register(Impostor)
    assert type(get("dvao")).__name__ == "DVAO"


# ---------------------------------------------------------------- ddof, eps, reward_min, backend


@pytest.mark.parametrize("ddof", [2, -1, 0.5, 1.0, True, "1", None])
def test_bad_ddof(ddof):
    pattern = rf"ddof must be 0 \(population std.*or 1 \(unbiased std.*got {re.escape(repr(ddof))}"
    with pytest.raises(ValueError, match=pattern):
        mowsim.advantages(GOOD, "rc", ddof=ddof)


def test_numpy_integer_ddof_is_fine():
    np.testing.assert_array_equal(mowsim.advantages(GOOD, "rc", ddof=np.int64(1)),
                                  mowsim.advantages(GOOD, "rc", ddof=1))


@pytest.mark.parametrize(
    "eps, pattern",
    [
        (-1e-4, r"eps must be >= 0\.0; got -0\.0001\. TRL uses eps=1e-4"),
        (np.nan, r"eps must be a finite real number; got nan\. TRL uses eps=1e-4"),
        (np.inf, r"eps must be a finite real number; got inf"),
        ("1e-4", r"eps must be a finite real number; got '1e-4'"),
        (True, r"eps must be a finite real number; got True"),
    ],
)
def test_bad_eps(eps, pattern):
    with pytest.raises(ValueError, match=pattern):
        mowsim.advantages(GOOD, "rc", eps=eps)


@pytest.mark.parametrize(
    "reward_min, pattern",
    [
        ([0.0, 0.5], r"reward_min\[1\] = 0\.5 is not a lower bound: objective 1 has a reward 0\.0 below it\. "
                     r"Pass the true lower bound .*or reward_min=None"),
        (0.25, r"reward_min\[0\] = 0\.25 is not a lower bound"),
        ([0.0, 0.0, 0.0], r"reward_min has shape \(3,\); expected a scalar or \(2,\), one lower bound per objective"),
        ([np.nan, 0.0], r"reward_min must be finite; got \[nan, 0\.0\]"),
    ],
)
@pytest.mark.parametrize("name", SCHEMES)
def test_bad_reward_min(name, reward_min, pattern):
    with pytest.raises(ValueError, match=pattern):
        mowsim.advantages(GOOD, name, reward_min=reward_min)


def test_reward_min_ignores_nan_and_an_unscored_objective_without_warnings():
    rewards = np.array([[1.0, np.nan], [0.0, np.nan], [np.nan, np.nan], [2.0, np.nan]])
    with np.errstate(all="raise"):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            np.testing.assert_array_equal(validation.check_reward_min([0.0, 5.0], rewards[None]), [0.0, 5.0])
            out = mowsim.advantages(rewards, "saw-grpo", reward_min=[-1.0, 0.0])
    assert out[2] == 0.0
    assert validation.check_reward_min(None, rewards[None]) is None


@pytest.mark.parametrize("backend", ["jax", "Numba", None])
def test_bad_backend(backend):
    pattern = rf"backend must be one of \('numba', 'numpy', 'python'\); got {re.escape(repr(backend))}"
    with pytest.raises(ValueError, match=pattern):
        mowsim.advantages(GOOD, "rc", backend=backend)


def test_effective_weights_validates_the_same_way():
    with pytest.raises(ValueError, match=r"unknown scheme"):
        mowsim.effective_weights(GOOD, "nope")
    with pytest.raises(ValueError, match=r"weights must be non-negative"):
        mowsim.effective_weights(GOOD, "dvao", [-1.0, 1.0])


# ---------------------------------------------------------------- overflow guard


def test_check_magnitude_boundary():
    rewards = np.zeros((2, 8, 3))
    weights = np.full(3, 1 / 3)
    limit = np.sqrt(np.finfo(np.float64).max / (4 * 16))
    rewards[0, 0, 0] = limit * 0.99
    validation.check_magnitude(rewards, weights)
    rewards[0, 0, 0] = limit * 1.01
    with pytest.raises(ValueError, match=r"largest \|reward\| = .*expected at most .* for a batch of 16 rollouts"):
        validation.check_magnitude(rewards, weights)
    validation.check_magnitude(np.full((1, 3, 2), np.nan), np.ones(2))  # nothing scored: nothing to overflow


@pytest.mark.parametrize("backend", base.BACKENDS)
@pytest.mark.parametrize("name", SCHEMES)
def test_no_overflow_guard_for_scale_free_schemes(name, backend):
    """The stateless schemes rescale by powers of two, so rewards past the old guard (squares beyond float64) give
    the advantages of the exactly rescaled rewards, on every backend, for a large reward of either sign, also
    behind a zero weight. The stateful schemes pool variances in the rewards' units and keep the guard."""
    weights = np.array([0.5, 0.0, 0.25])
    limit = np.sqrt(np.finfo(np.float64).max / (4 * 16))
    for k, sign in ((0, 1.0), (1, -1.0), (2, 1.0)):
        rewards = np.zeros((2, 8, 3))
        rewards[1, :, 0] = np.linspace(0.0, 1.0, 8)  # a varied group beside the large one
        rewards[0, 3, k] = sign * limit * 0.99
        out = get(name).compute(rewards, weights, backend=backend)
        assert np.all(np.isfinite(out.advantages)), (k, sign)
        rewards[0, 3, k] = sign * limit * 1.01
        if get(name).stateful:
            with pytest.raises(ValueError, match=r"too large for float64 variance arithmetic.*batch of 16 rollouts"):
                get(name).compute(rewards, weights, backend=backend)
            continue
        for big in (limit * 1.01, 1e300, np.finfo(np.float64).max):
            rewards[0, 3, k] = sign * big
            got = get(name).compute(rewards, weights, backend=backend).advantages
            assert np.all(np.isfinite(got)), (k, sign, big)
            if not name.startswith("saw"):  # SAW's delta is absolute: not scale-free
                rescaled = rewards.copy()
                rescaled[0] = np.ldexp(rewards[0], -1000)  # exact; RC, AC, GDPO, DVAO are scale-free per group
                expected = get(name).compute(rescaled, weights, backend=backend).advantages
                assert np.array_equal(got[0], expected[0]), (k, sign, big)


@pytest.mark.parametrize("name", SCHEMES)
def test_rounding_errors_never_leak_nan_or_inf(name, rng):
    """Tiny (subnormal too), huge and mixed magnitudes all give finite advantages and weights (1e300 only for the
    scale-free stateless schemes; the stateful ones refuse it)."""
    base = rng.normal(size=(4, 6, 3))
    scales = (1e-320, 1e-300, 1e-150, 1e-8, 1.0, 1e8, 1e140) + (() if get(name).stateful else (1e300,))
    for scale in scales:
        for ddof in (0, 1):
            out = get(name).compute(base * scale, ddof=ddof, eps=1e-4)
            assert np.all(np.isfinite(out.advantages)) and np.all(np.isfinite(out.weights)), scale


# ---------------------------------------------------------------- other checks in mowsim.validation


def test_check_scalar_bounds_and_hint():
    assert validation.check_scalar(np.float32(0.5), "x", low=0.0, high=1.0) == 0.5
    with pytest.raises(ValueError, match=r"x must be > 0\.0; got 0\.0\. try 1"):
        validation.check_scalar(0, "x", low=0.0, low_inclusive=False, hint="try 1")
    with pytest.raises(ValueError, match=r"x must be <= 1\.0; got 2\.0"):
        validation.check_scalar(2, "x", high=1.0)
    with pytest.raises(ValueError, match=r"x must be < 1\.0; got 1\.0"):
        validation.check_scalar(1.0, "x", high=1.0, high_inclusive=False)
    with pytest.raises(ValueError, match=r"x must be a finite real number; got \(1\+2j\)"):
        validation.check_scalar(1 + 2j, "x")


def test_as_generator():
    generator = np.random.default_rng(1)
    assert validation.as_generator(generator) is generator
    assert validation.as_generator(7).integers(1 << 30) == np.random.default_rng(7).integers(1 << 30)
    sequence = np.random.SeedSequence(3)
    assert validation.as_generator(sequence).random() == np.random.default_rng(np.random.SeedSequence(3)).random()
    assert isinstance(validation.as_generator(None), np.random.Generator)
    with pytest.raises(ValueError, match=r"seed must be None, an int, a numpy SeedSequence or a Generator; got str"):
        validation.as_generator("7")
