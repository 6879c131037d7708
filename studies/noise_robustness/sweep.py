"""Noise on the auxiliary objective: which scheme keeps accuracy (objective 0) progress as the auxiliary gets noisier?

Three sub-sweeps (setting ``noise``), every balancing scheme at every ``level``:

* ``gaussian``: :class:`~mowsim.envs.Bandit`, 16 arms, K=2, the auxiliary correlated with accuracy across arms at
  0.7 (a helpful auxiliary such as format), additive Gaussian noise of sd ``level`` on the auxiliary alone.
* ``flip``: the same bandit, the auxiliary's 0/1 label flipped with probability ``level`` (0.5 = pure noise).
* ``sequence``: :class:`~mowsim.envs.SequenceTask` with the DVAO paper's math rewards, accuracy and a binary length
  reward (responses start long, ``eos_bias=-1``), Gaussian noise of sd ``level`` on the length reward; lr 10 so
  the bigram LM moves within 100 updates.

Calibration (instance 0, 4 seeds, 100 steps; mowsim 0.2.0): with a clean auxiliary every scheme reaches accuracy
~0.86 on the bandit; at noise sd 4 RC and DVAO stall near 0.65 (the noise inflates their shared denominator and
damps accuracy's signal) while AC, GDPO, SAW-GDPO and DVAO-reliable reach ~0.92. The effect is one of speed (at 200
steps DVAO is back at 0.81), so the horizon stays at 100 updates and the headline is the AUC of accuracy.

Scale: the studies' common one (:mod:`mowsim.grid`): 3 environment instances (the setting column ``instance``) x 16
seeds, pooled by the analysis; QUICK: instance 0 with 4 seeds.
"""

from __future__ import annotations

from mowsim.grid import INSTANCES, QUICK_INSTANCES, QUICK_SEEDS, SEEDS, STEPS, Point, grid, ids, subset

NAME = "noise_robustness"
QUESTION = ("Which scheme keeps accuracy (objective 0) progress as the auxiliary reward gets noisier, with "
            "Gaussian noise or label flips?")

BANDIT = {"n_arms": 16, "n_objectives": 2, "correlation": 0.7}
SEQUENCE = {"objectives": ("accuracy", "length"), "eos_bias": -1.0}
LEVELS = {
    "gaussian": (0.0, 0.25, 0.5, 1.0, 2.0, 4.0),
    "flip": (0.0, 0.1, 0.2, 0.3, 0.4, 0.5),
    "sequence": (0.0, 0.5, 1.0, 2.0),
}
QUICK_LEVELS = {
    "gaussian": (0.0, 0.5, 1.0, 2.0, 4.0),
    "flip": (0.0, 0.2, 0.4, 0.5),
    "sequence": (0.0, 1.0, 2.0),
}


def _points(instance: int):
    for noise, levels in LEVELS.items():
        for level in levels:
            setting = {"noise": noise, "level": level}
            if noise == "gaussian":
                yield Point("bandit", {**BANDIT, "noise_sd": (0.0, level), "instance_seed": instance}, setting)
            elif noise == "flip":
                yield Point("bandit", {**BANDIT, "flip_prob": (0.0, level), "instance_seed": instance}, setting)
            else:
                yield Point("sequence", {**SEQUENCE, "noise_sd": (0.0, level), "instance_seed": instance}, setting,
                            train={"lr": 10.0})


SETTINGS = grid(NAME, _points, instances=INSTANCES, seeds=SEEDS, steps=STEPS, lr=1.0)
QUICK = subset(SETTINGS, seeds=QUICK_SEEDS, instance=QUICK_INSTANCES,
               where=lambda setting: setting["level"] in QUICK_LEVELS[setting["noise"]])
TESTING = ids(QUICK, schemes=("dvao", "gdpo"), level=(0.0, 2.0), noise=("gaussian", "sequence"))
