"""Saturation: does weighting by batch statistics (SAW) speed up the hard objective once the easy one saturates?

:class:`~mowsim.envs.ContextualBandit` (32 prompts, 8 arms, a tabular policy, a quarter of the (prompt, objective)
pairs solved), K=2: objective 0 is the hard one, objective 1 the easy one, pushed toward its ceiling by
``saturation`` (``mu <- 1 - (1 - mu)^(1 + s)``: at s=10 the uniform policy already scores 0.87 on it). As the easy
objective's variance collapses, SAW's batch coefficient of variation moves weight to the hard objective (SAW's
"asynchronous learning" claim). lr 16: the tabular policy spreads each step over 32 prompts, so it needs a larger
step than the one-context bandit.

Calibration (4 seeds, 100 steps): SAW-GRPO's AUC on the hard objective rises from 0.853 (s=0) to 0.882 (s=10), while
RC's goes from 0.867 to 0.879; SAW trails RC without saturation and matches or passes it with it.

Scale: the studies' common one (:mod:`mowsim.grid`): 3 environment instances (the setting column ``instance``) x 16
seeds, pooled by the analysis; QUICK: instance 0 with 4 seeds.
"""

from __future__ import annotations

from mowsim.grid import INSTANCES, QUICK_INSTANCES, QUICK_SEEDS, SEEDS, STEPS, Point, grid, ids, subset

NAME = "saturation"
QUESTION = ("Does SAW's batch-CV weighting learn the hard objective faster once the easy objective saturates "
            "(asynchronous learning)?")

CONTEXTUAL = {"n_prompts": 32, "n_arms": 8, "n_objectives": 2}
SATURATION = (0.0, 1.0, 3.0, 10.0, 30.0)
QUICK_SATURATION = (0.0, 1.0, 3.0, 10.0, 30.0)
LR = 16.0


def _points(instance: int):
    for s in SATURATION:
        yield Point("contextual", {**CONTEXTUAL, "saturation": s, "instance_seed": instance}, {"saturation": s})


SETTINGS = grid(NAME, _points, instances=INSTANCES, seeds=SEEDS, steps=STEPS, lr=LR)
QUICK = subset(SETTINGS, seeds=QUICK_SEEDS, saturation=QUICK_SATURATION, instance=QUICK_INSTANCES)
TESTING = ids(QUICK, schemes=("saw-grpo", "rc"), saturation=(0.0, 10.0))
