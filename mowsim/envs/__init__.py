"""Simulation environments: frozen parameter dataclasses whose compiled loops train a toy policy.

Every environment shares the reward model of :class:`RewardKnobs` (noise, flips, heavy tails, correlation,
spurious objectives, mis-calibration, GDPO conditioning) and reports the exact expected reward of each objective.
"""

from mowsim.envs._reward import RewardKnobs
from mowsim.envs.bandit import Bandit, ContextualBandit
from mowsim.envs.sequence import SequenceTask

__all__ = ["Bandit", "ContextualBandit", "SequenceTask", "RewardKnobs"]
