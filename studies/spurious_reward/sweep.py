"""A spurious reward: how much does variance weighting trust a reward that is pure noise?

:class:`~mowsim.envs.Bandit`, 16 arms, two true objectives (uncorrelated across arms) plus one spurious objective
(``n_spurious=1``) whose reward is ``spurious_sd * N(0, 1)`` whatever the action. Every scheme gets equal weights
over all three (the user believes the third reward matters), so the spurious objective holds 1/3 of the weight;
``spurious_sd`` sweeps its scale from 0 (a constant) to 10 (ten times a binary reward's largest std).

Calibration (instance 0, 4 seeds, 100 steps; mowsim 0.2.0): DVAO's effective weight on the noise climbs from 0.11
(sd 0.1) to 0.91 (sd 10) and its true reward falls from 0.80 to 0.51 (the uniform policy's); RC falls the same way;
AC, GDPO and SAW-GDPO are scale-free and unaffected (0.79-0.80); DVAO-reliable, which discounts variance its
rescoring shows to be noise, keeps 0.78.

Scale: the studies' common one (:mod:`mowsim.grid`): 3 environment instances (the setting column ``instance``) x 16
seeds, pooled by the analysis; QUICK: instance 0 with 4 seeds.
"""

from __future__ import annotations

from mowsim.grid import INSTANCES, QUICK_INSTANCES, QUICK_SEEDS, SEEDS, STEPS, Point, grid, ids, subset

NAME = "spurious_reward"
QUESTION = "How much does variance weighting trust a reward that ignores the action, as its scale grows?"

BANDIT = {"n_arms": 16, "n_objectives": 2, "correlation": 0.0, "n_spurious": 1}
SPURIOUS_SD = (0.0, 0.1, 0.3, 1.0, 3.0, 10.0)
QUICK_SD = (0.0, 0.3, 1.0, 3.0, 10.0)


def _points(instance: int):
    for sd in SPURIOUS_SD:
        yield Point("bandit", {**BANDIT, "spurious_sd": sd, "instance_seed": instance}, {"spurious_sd": sd})


SETTINGS = grid(NAME, _points, instances=INSTANCES, seeds=SEEDS, steps=STEPS)
QUICK = subset(SETTINGS, seeds=QUICK_SEEDS, spurious_sd=QUICK_SD, instance=QUICK_INSTANCES)
TESTING = ids(QUICK, schemes=("dvao", "dvao-reliable", "ac"), spurious_sd=(0.0, 10.0))
