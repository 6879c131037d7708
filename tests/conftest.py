"""Shared fixtures for the scheme-core tests: every registered scheme, and seeded random reward batches.

Tests that loop over schemes take them from :func:`scheme_params`, which reads the registry at collection time, so a
scheme registered later is covered without editing any test.
"""

from __future__ import annotations

import numpy as np
import pytest

import mowsim
from mowsim.schemes import get

SEED = 20260611

# One small batch to find out whether a stateful scheme can also run statelessly (then it is tested like the rest).
_PROBE = np.array([[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], [[0.5, 0.2], [0.1, 0.9], [0.3, 0.3]]])


def _stateless_skip_reason(name: str) -> str | None:
    """None if ``name`` can run statelessly through ``Scheme.compute``; else why its tests are skipped."""
    scheme = get(name)
    if not scheme.stateful:
        return None
    try:
        scheme.compute(_PROBE)
    except (NotImplementedError, ValueError) as err:  # how a scheme says "feed me first"; anything else is a bug
        return (f"{name} is stateful and cannot run without the state its host feeds it "
                f"({type(err).__name__}: {err}); these tests check stateless computation only")
    return None


def scheme_params() -> list:
    """Every registered scheme name as a pytest param; stateful schemes that need host state are skipped with why."""
    params = []
    for name in mowsim.schemes.available():
        reason = _stateless_skip_reason(name)
        marks = [pytest.mark.skip(reason=reason)] if reason else []
        params.append(pytest.param(name, id=name, marks=marks))
    return params


SCHEMES = scheme_params()
"""Parametrize with ``@pytest.mark.parametrize("name", SCHEMES)``. (No fixture named ``scheme``: other test files
parametrize their own ``scheme`` argument.)"""


@pytest.fixture
def rng() -> np.random.Generator:
    """A fresh seeded Generator per test, so tests do not depend on their order."""
    return np.random.default_rng(SEED)


def random_rewards(rng: np.random.Generator, shape, *, nan_fraction: float = 0.0, unscorable_fraction: float = 0.0,
                   binary: bool = False) -> np.ndarray:
    """A reward batch of ``shape`` (B, G, K): normal(0, 1) or {0, 1} entries, with NaN entries and NaN rollouts.

    ``nan_fraction`` of the entries become NaN; then ``unscorable_fraction`` of the rollouts become all-NaN.
    """
    rewards = rng.integers(0, 2, size=shape).astype(np.float64) if binary else rng.normal(size=shape)
    if nan_fraction:
        rewards[rng.random(shape) < nan_fraction] = np.nan
    if unscorable_fraction:
        rewards[rng.random(shape[:2]) < unscorable_fraction] = np.nan
    return rewards


def random_weights(rng: np.random.Generator, n_objectives: int) -> np.ndarray:
    """Positive weights in [0.1, 1), not normalized (the schemes must not need ``sum(w) == 1``)."""
    return rng.uniform(0.1, 1.0, size=n_objectives)


def _edge_cases() -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
    """Named (rewards, weights) batches covering the documented conventions and the numerically awkward inputs."""
    rng = np.random.default_rng(SEED)
    cases: dict[str, tuple[np.ndarray, np.ndarray | None]] = {}

    cases["random"] = (random_rewards(rng, (5, 8, 3)), random_weights(rng, 3))
    cases["equal_weights"] = (random_rewards(rng, (4, 6, 2)), None)
    cases["nan_entries"] = (random_rewards(rng, (6, 8, 3), nan_fraction=0.2), random_weights(rng, 3))
    cases["unscorable_rows"] = (random_rewards(rng, (6, 8, 3), nan_fraction=0.1, unscorable_fraction=0.25),
                                random_weights(rng, 3))

    few = random_rewards(rng, (5, 4, 2))
    few[0] = np.nan  # no scorable rollout
    few[1, 1:] = np.nan  # exactly one scorable rollout
    few[2, 0, 0] = np.nan  # one scorable rollout has a NaN objective
    few[2, 1:, :] = np.nan
    few[3, :, 1] = np.nan  # one objective never scored in this group
    cases["fewer_than_two_scorable"] = (few, random_weights(rng, 2))

    cases["one_rollout"] = (random_rewards(rng, (4, 1, 3)), random_weights(rng, 3))
    cases["one_group"] = (random_rewards(rng, (1, 7, 3), nan_fraction=0.1), random_weights(rng, 3))

    constant_objective = random_rewards(rng, (4, 5, 3))
    constant_objective[:, :, 1] = 0.1  # the group mean of 0.1s carries rounding: 0.1 * 5 / 5 != 0.1
    constant_objective[2, :, 2] = 0.7
    cases["constant_objective"] = (constant_objective, random_weights(rng, 3))

    constant_groups = random_rewards(rng, (5, 6, 2))
    constant_groups[1] = 0.1
    constant_groups[3] = [0.3, 0.7]
    cases["constant_groups"] = (constant_groups, random_weights(rng, 2))
    cases["all_constant"] = (np.full((3, 4, 2), 0.1), random_weights(rng, 2))

    batch_constant = random_rewards(rng, (4, 6, 3))
    batch_constant[:, :, 0] = 0.3  # one objective constant over the whole batch: SAW's CV of it is 0
    cases["batch_constant_objective"] = (batch_constant, random_weights(rng, 3))

    cases["one_objective"] = (random_rewards(rng, (5, 6, 1), nan_fraction=0.1), random_weights(rng, 1))
    cases["many_objectives"] = (random_rewards(rng, (3, 64, 32), nan_fraction=0.05), random_weights(rng, 32))

    mixed = random_rewards(rng, (5, 8, 3))
    mixed[:, :, 1] *= 100.0
    mixed[:, :, 2] = mixed[:, :, 2] * 1e-3 + 5.0
    cases["mixed_scales"] = (mixed, random_weights(rng, 3))

    cases["binary"] = (random_rewards(rng, (8, 4, 2), binary=True), None)
    cases["binary_nan"] = (random_rewards(rng, (8, 6, 3), binary=True, nan_fraction=0.1, unscorable_fraction=0.1),
                           random_weights(rng, 3))

    complement = random_rewards(rng, (3, 5, 1), binary=True)
    cases["anticorrelated_binary"] = (np.concatenate([complement, 1.0 - complement], axis=2), None)

    zero_weight = random_rewards(rng, (4, 6, 3))
    cases["zero_weight"] = (zero_weight, np.array([0.5, 0.0, 0.25]))
    return cases


EDGE_CASES = _edge_cases()
"""name -> (rewards (B, G, K), weights (K,) or None)."""


def reward_min_for(rewards: np.ndarray, how: str):
    """``reward_min`` variants: None (the batch minimum) or a true lower bound below every observed reward."""
    if how == "none":
        return None
    observed = np.fmin.reduce(rewards.reshape(-1, rewards.shape[2]), axis=0)
    return np.where(np.isnan(observed), -1.0, observed - 0.5)
