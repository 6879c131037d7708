"""Learning is real: training raises the exact expected reward of every objective that is not in conflict.

Each test trains a fixed seed set and asserts that every run's gain (final minus initial exact expected reward) is
at least half of the gain observed when the test was written, averaged over the schemes and seeds. The observed
values are recorded next to each test; the smallest single-run gain was always well above the asserted half.
"""

from __future__ import annotations

import numpy as np
import pytest

from mowsim.envs import Bandit, ContextualBandit, SequenceTask
from mowsim.train import train_many

PAPER_SCHEMES = ["rc", "ac", "gdpo", "dvao", "saw-grpo", "saw-gdpo"]
SEEDS = [0, 1, 2]


def gains(result, steps: int) -> dict:
    """(scheme, seed) -> gain of each objective, shape (K,)."""
    history = result.history
    out = {}
    for run, frame in history.groupby("run"):
        first = frame.loc[frame.step == 0, "expected_reward"].to_numpy()
        last = frame.loc[frame.step == steps, "expected_reward"].to_numpy()
        row = result.runs.loc[run]
        out[(row["scheme"], row["seed"])] = last - first
    return out


def assert_all_gain(gain_by_run: dict, required) -> None:
    required = np.asarray(required)
    failures = {run: gain.round(3).tolist() for run, gain in gain_by_run.items() if np.any(gain < required)}
    assert not failures, f"runs whose gain falls below {required.tolist()}: {failures}"


def test_every_paper_scheme_learns_the_default_bandit():
    """Default Bandit (16 arms, K=2, correlation 0, instance_seed 0), 300 steps of lr 1.

    The objectives are not in conflict on this instance: every scheme and seed converges near arm 5 (means 0.673
    and 0.939) and raises both. Observed mean gains (0.256, 0.457); smallest single run (0.252, 0.377), saw-grpo
    on seed 2, which settles on a neighbouring arm. Instances 1 and 2 behave the same (mean gains (0.195, 0.434)
    and (0.376, 0.487)); none of instances 0-4 had a conflicting objective at correlation 0.
    """
    steps = 300
    result = train_many(Bandit(), PAPER_SCHEMES, seeds=SEEDS, steps=steps, lr=1.0)
    assert_all_gain(gains(result, steps), 0.5 * np.array([0.256, 0.457]))


@pytest.mark.parametrize("policy, observed", [("tabular", (0.196, 0.211)), ("linear", (0.133, 0.183))])
def test_every_paper_scheme_learns_the_contextual_bandit(policy, observed):
    """Default ContextualBandit (32 prompts, 8 arms, a quarter of the (prompt, objective) pairs solved), 200 steps
    of lr 3. Observed mean gains: tabular (0.196, 0.211), smallest run (0.162, 0.177) with AC; linear (0.133,
    0.183), smallest run (0.122, 0.143) with AC. The linear policy shares parameters across prompts, so it gains
    less than the tabular one."""
    steps = 200
    result = train_many(ContextualBandit(policy=policy), PAPER_SCHEMES, seeds=SEEDS, steps=steps, lr=3.0)
    assert_all_gain(gains(result, steps), 0.5 * np.array(observed))


# Observed mean gains of (accuracy, length) on the default SequenceTask after 300 steps of lr 3.
SEQUENCE_OBSERVED = {
    "rc": (0.819, 0.526),
    "gdpo": (0.832, 0.535),
    "saw-grpo": (0.829, 0.529),
    "dvao": (0.706, 0.469),
    "ac": (0.552, 0.381),
    "saw-gdpo": (0.335, 0.425),
}


def test_every_paper_scheme_learns_accuracy_and_length_on_the_sequence_task():
    """Default SequenceTask (accuracy, length, format), 300 steps of lr 3.

    Format starts at 0.006: almost every group is constant in it, so it carries almost no signal and every scheme
    but SAW-GDPO lets it drift down slightly (gain -0.006); SAW-GDPO raises it by 0.37 at the cost of accuracy.
    Format is therefore not asserted. Accuracy and length rise for every scheme, at very different speeds: RC,
    GDPO and SAW-GRPO reach accuracy ~0.97 by step 300, DVAO only ~0.85 (its accuracy first falls to ~0.11 while
    length is learned, as RC's does briefly, and turns up about 100 steps after GDPO's), AC ~0.70 and SAW-GDPO
    ~0.48. The smallest single-run gains were within 0.03 of the means.
    """
    steps = 300
    result = train_many(SequenceTask(), list(SEQUENCE_OBSERVED), seeds=SEEDS, steps=steps, lr=3.0)
    by_run = gains(result, steps)
    for scheme, observed in SEQUENCE_OBSERVED.items():
        runs = {key: gain[:2] for key, gain in by_run.items() if key[0] == scheme}
        assert len(runs) == len(SEEDS)
        assert_all_gain(runs, 0.5 * np.array(observed))


def test_gain_is_not_an_artifact_of_the_update_rule():
    """The same runs with lr=0 gain exactly nothing: the gains above come from the policy-gradient updates."""
    steps = 20
    frozen = train_many([Bandit(), SequenceTask(n_prompts=2)], ["rc", "gdpo"], seeds=[0], steps=steps, lr=0.0)
    for gain in gains(frozen, steps).values():
        np.testing.assert_array_equal(gain, 0.0)
