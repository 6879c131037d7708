"""Aligned or conflicting objectives: do conflicting objectives break any scheme?

:class:`~mowsim.envs.Bandit`, 16 arms, K=2 binary objectives whose arm means correlate at ``correlation`` from
-0.9 (every arm good at one objective is bad at the other) to +0.9 (aligned). Equal weights. Each correlation is a
different instance, so the score is normalized by the instance's exact optimum: the setting column ``best_value``
(the best arm's mean of the two expected rewards, :func:`mowsim.analysis.best_value`) is carried for that.

Calibration (4 seeds, 100 steps): from -0.6 to +0.9 every scheme but MGDA and hv-guided realizes 96-99 % of the
achievable gain; at -0.9 RC, GDPO and SAW keep 96 % while AC and the DVAO family drop to 88 % and MGDA to 26 %.

Scale: the studies' common one (:mod:`mowsim.grid`): 3 environment instances (the setting column ``instance``) x 16
seeds, pooled by the analysis; QUICK: instance 0 with 4 seeds.
"""

from __future__ import annotations

from mowsim.analysis import best_value
from mowsim.envs import Bandit
from mowsim.grid import INSTANCES, QUICK_INSTANCES, QUICK_SEEDS, SEEDS, STEPS, Point, grid, ids, subset

NAME = "correlation"
QUESTION = "Do conflicting objectives (arm means correlated from -0.9 to +0.9) break any scheme?"

BANDIT = {"n_arms": 16, "n_objectives": 2}
CORRELATIONS = (-0.9, -0.6, -0.3, 0.0, 0.3, 0.6, 0.9)
QUICK_CORRELATIONS = (-0.9, -0.6, -0.3, 0.0, 0.3, 0.6, 0.9)


def _points(instance: int):
    for rho in CORRELATIONS:
        env_kwargs = {**BANDIT, "correlation": rho, "instance_seed": instance}
        best = round(best_value(Bandit(**env_kwargs)), 12)
        yield Point("bandit", env_kwargs, {"correlation": rho, "best_value": best})


SETTINGS = grid(NAME, _points, instances=INSTANCES, seeds=SEEDS, steps=STEPS)
QUICK = subset(SETTINGS, seeds=QUICK_SEEDS, correlation=QUICK_CORRELATIONS, instance=QUICK_INSTANCES)
TESTING = ids(QUICK, schemes=("dvao", "rc"), correlation=(-0.9, 0.9))
