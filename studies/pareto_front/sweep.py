"""Pareto fronts: sweeping the user weights (w1, 1 - w1), whose front dominates?

:class:`~mowsim.envs.Bandit`, 32 arms, K=2 binary objectives in strong conflict (arm means correlated at -0.8;
instance 0 has 12 Pareto-optimal arms along a curved front). Each weight vector ``(w1, 1 - w1)`` for ``w1`` in
0.1..0.9 trains every scheme; a scheme's front is its set of final expected-reward vectors over the weights. The
setting column ``best_value`` is the instance's exact optimum of ``w . E[r]`` for that weight
(:func:`mowsim.analysis.best_value`).

Calibration (4 seeds, 100 steps): per-seed hypervolumes (reference (0, 0)) of SAW-GDPO 0.612 and SAW-GRPO 0.608
lead RC 0.595, GDPO 0.594 and DVAO 0.590 (the arms' own front: 0.669); hv-guided 0.49 and MGDA 0.29 trail.

Scale: the studies' common one (:mod:`mowsim.grid`): 3 environment instances (the setting column ``instance``) x 16
seeds, pooled by the analysis; QUICK: instance 0 with 4 seeds.
"""

from __future__ import annotations

from mowsim.analysis import best_value
from mowsim.envs import Bandit
from mowsim.grid import INSTANCES, QUICK_INSTANCES, QUICK_SEEDS, SEEDS, STEPS, Point, grid, ids, subset

NAME = "pareto_front"
QUESTION = "Sweeping the weights (w1, 1 - w1) over two conflicting objectives, whose Pareto front dominates?"

BANDIT = {"n_arms": 32, "n_objectives": 2, "correlation": -0.8}
W1 = (0.1, 0.3, 0.5, 0.7, 0.9)
QUICK_W1 = (0.1, 0.3, 0.5, 0.7, 0.9)


def _points(instance: int):
    env_kwargs = {**BANDIT, "instance_seed": instance}
    env = Bandit(**env_kwargs)
    for w1 in W1:
        weights = (w1, round(1.0 - w1, 12))
        yield Point("bandit", env_kwargs, {"w1": w1, "best_value": round(best_value(env, weights), 12)},
                    train={"weights": weights})


SETTINGS = grid(NAME, _points, instances=INSTANCES, seeds=SEEDS, steps=STEPS)
QUICK = subset(SETTINGS, seeds=QUICK_SEEDS, w1=QUICK_W1, instance=QUICK_INSTANCES)
TESTING = ids(QUICK, schemes=("dvao", "saw-grpo"), w1=(0.1, 0.9))
