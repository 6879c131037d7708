"""Group size: how small can G be before per-group variance estimates fail?

:class:`~mowsim.envs.Bandit`, 16 arms, K=2 binary objectives, the auxiliary with Gaussian noise of sd 0.5 (so its
within-group variance is partly noise, the case the DVAO paper warns about at G <= 4). G runs over 2..64 with the
rollout budget fixed, ``B * G = 1024`` (B = 512 groups of 2 ... 16 groups of 64): every cell sees the same number
of rollouts per update, so the score isolates how the rollouts are grouped, not how many there are. ``dvao-ema``
(cross-batch pooled variance) is the candidate fix for small G.

Calibration (instance 0, 4 seeds, 100 steps; mowsim 0.2.0): every scheme loses at G=2, AC the most (true-reward AUC
0.60 against 0.66 at G=64), DVAO 0.65 against 0.68, RC 0.65 against 0.71; dvao-ema (0.64) does not recover the loss
in this setting.

Scale: the studies' common one (:mod:`mowsim.grid`): 3 environment instances (the setting column ``instance``) x 16
seeds, pooled by the analysis; QUICK: instance 0 with 4 seeds.
"""

from __future__ import annotations

from mowsim.grid import INSTANCES, QUICK_INSTANCES, QUICK_SEEDS, SEEDS, STEPS, Point, grid, ids, subset

NAME = "group_size"
QUESTION = "How small can the group size G be (rollout budget B*G fixed) before variance-based schemes fail?"

BANDIT = {"n_arms": 16, "n_objectives": 2, "noise_sd": (0.0, 0.5)}
ROLLOUTS = 1024
GROUP_SIZES = (2, 4, 8, 16, 32, 64)
QUICK_GROUP_SIZES = (2, 4, 8, 16, 64)


def _points(instance: int):
    for g in GROUP_SIZES:
        yield Point("bandit", {**BANDIT, "instance_seed": instance}, {"G": g},
                    train={"group_size": g, "n_groups": ROLLOUTS // g})


SETTINGS = grid(NAME, _points, instances=INSTANCES, seeds=SEEDS, steps=STEPS)
QUICK = subset(SETTINGS, seeds=QUICK_SEEDS, G=QUICK_GROUP_SIZES, instance=QUICK_INSTANCES)
TESTING = ids(QUICK, schemes=("dvao", "dvao-ema"), G=(2, 16))
