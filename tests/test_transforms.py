"""Reward transforms: GDPO's conditioned reward (GDPO paper, Eq. 8), worked by hand."""

from __future__ import annotations

import numpy as np
import pytest

import mowsim
from mowsim.schemes import condition_rewards

NAN = np.nan


def test_condition_rewards_hand_worked():
    # easy = 0 is gated by hard = 1 at threshold 0.5 (inclusive: r_hard >= t passes)
    rewards = np.array([
        [1.0, 0.7],  # hard passes          -> easy stays 1
        [1.0, 0.2],  # hard fails           -> easy 0
        [0.5, 0.5],  # hard exactly at t    -> easy stays 0.5
        [0.8, 0.49999],  # just below t     -> easy 0
        [-2.0, 3.0],  # passes, negative easy reward kept
    ])
    expected = np.array([[1.0, 0.7], [0.0, 0.2], [0.5, 0.5], [0.0, 0.49999], [-2.0, 3.0]])
    out = condition_rewards(rewards, easy=0, hard=1, threshold=0.5)
    np.testing.assert_array_equal(out, expected)


def test_condition_rewards_other_objectives_untouched_and_input_kept():
    rewards = np.array([[[0.3, 1.0, 9.0], [0.6, 0.0, 8.0]], [[0.9, 0.0, 7.0], [0.1, 1.0, 6.0]]])
    kept = rewards.copy()
    # easy = 1 gated by hard = 0 at threshold 0.5: only rollouts with r0 >= 0.5 keep r1
    out = condition_rewards(rewards, easy=1, hard=0, threshold=0.5)
    expected = np.array([[[0.3, 0.0, 9.0], [0.6, 0.0, 8.0]], [[0.9, 0.0, 7.0], [0.1, 0.0, 6.0]]])
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(rewards, kept)
    assert out is not rewards and out.shape == rewards.shape


def test_condition_rewards_nan():
    rewards = np.array([
        [1.0, NAN],  # hard unscorable: the gate is unknown, easy becomes NaN (unscorable) too
        [NAN, 1.0],  # easy unscorable, hard passes: stays NaN
        [NAN, 0.0],  # easy unscorable, hard fails: gated to 0 (Eq. 8 gives 0 whatever r_easy was)
        [NAN, NAN],  # unscorable rollout stays unscorable
    ])
    out = condition_rewards(rewards, easy=0, hard=1, threshold=0.5)
    np.testing.assert_array_equal(out, np.array([[NAN, NAN], [NAN, 1.0], [0.0, 0.0], [NAN, NAN]]))


def test_condition_rewards_feeds_a_scheme():
    # accuracy (hard) and format (easy): format only counts for correct answers
    rewards = np.array([[1.0, 1.0], [1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])  # columns: format, accuracy
    conditioned = condition_rewards(rewards, easy=0, hard=1, threshold=1.0)
    np.testing.assert_array_equal(conditioned[:, 0], [1.0, 0.0, 0.0, 0.0])
    # AC on the conditioned rewards, equal weights: format [1,0,0,0] -> mu 1/4, sigma sqrt(3)/4,
    # A = [3, -1, -1, -1] / sqrt(3); accuracy [1, 0, 1, 0] -> A = [1, -1, 1, -1]
    expected = (np.array([3.0, -1.0, -1.0, -1.0]) / np.sqrt(3) + np.array([1.0, -1.0, 1.0, -1.0])) / 2
    np.testing.assert_allclose(mowsim.advantages(conditioned, "ac"), expected, rtol=1e-14)


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        ({"easy": 2, "hard": 0, "threshold": 0.5}, r"easy must be an objective index in \[0, 2\); got 2"),
        ({"easy": 0, "hard": -1, "threshold": 0.5}, r"hard must be an objective index in \[0, 2\); got -1"),
        ({"easy": 0.0, "hard": 1, "threshold": 0.5}, r"easy must be an objective index in \[0, 2\); got 0\.0"),
        ({"easy": True, "hard": 1, "threshold": 0.5}, r"easy must be an objective index .*got True"),
        ({"easy": 1, "hard": 1, "threshold": 0.5}, r"easy and hard must be different objectives; both are 1"),
        ({"easy": 0, "hard": 1, "threshold": np.nan}, r"threshold must be a finite real number; got nan"),
        ({"easy": 0, "hard": 1, "threshold": "0.5"}, r"threshold must be a finite real number"),
    ],
)
def test_condition_rewards_errors(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        condition_rewards(np.zeros((3, 2)), **kwargs)


def test_condition_rewards_validates_rewards():
    with pytest.raises(ValueError, match=r"rewards contains inf at index \(1, 1\)"):
        condition_rewards([[0.0, 1.0], [0.0, np.inf]], easy=0, hard=1, threshold=0.5)
    with pytest.raises(ValueError, match=r"ndim=1"):
        condition_rewards([0.0, 1.0], easy=0, hard=1, threshold=0.5)


def test_condition_rewards_numpy_integer_indices():
    out = condition_rewards(np.array([[1.0, 0.0]]), easy=np.int64(0), hard=np.int32(1), threshold=0.5)
    np.testing.assert_array_equal(out, [[0.0, 0.0]])
