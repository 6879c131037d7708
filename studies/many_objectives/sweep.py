"""Many objectives: does DVAO stay stable, and keep learning, as K grows from 2 to 16?

:class:`~mowsim.envs.Bandit`, 16 arms, K binary objectives whose arm means correlate with objective 0 at 0.3 (and
with each other at 0.09), equal weights. Each K is a different instance, so the setting column ``best_value`` (the
best arm's mean expected reward, :func:`mowsim.analysis.best_value`) normalizes the score. hv-guided runs only for
K <= 3: the compiled training loop's hypervolume supports at most 3 objectives.

Calibration (4 seeds, 100 steps): DVAO's max |A| falls with K (3.9 at K=2, 1.9 at K=16: its denominator
sum_l w_l sigma_l grows faster than the combined deviation), GDPO's grows (5.5 to 7.8: the batch whitening of a sum
of K z-scores); at K=16 RC and GDPO realize 99 % of the achievable gain, AC and DVAO 96.5 %, SAW 82-83 %, PCGrad
68 % and MGDA 2 %.

Scale: the studies' common one (:mod:`mowsim.grid`): 3 environment instances (the setting column ``instance``) x 16
seeds, pooled by the analysis; QUICK: instance 0 with 4 seeds.
"""

from __future__ import annotations

from mowsim.analysis import best_value
from mowsim.envs import Bandit
from mowsim.grid import INSTANCES, QUICK_INSTANCES, QUICK_SEEDS, SEEDS, STEPS, Point, grid, ids, subset
from mowsim.schemes import available

NAME = "many_objectives"
QUESTION = "Does DVAO stay stable (bounded advantages, steady progress) with 2 to 16 objectives?"

BANDIT = {"n_arms": 16, "correlation": 0.3}
N_OBJECTIVES = (2, 3, 4, 8, 16)
QUICK_N_OBJECTIVES = (2, 3, 4, 8, 16)
HV_MAX_OBJECTIVES = 3


def supported(scheme: str, k: int) -> bool:
    """Whether ``scheme`` runs in the compiled loop with ``k`` objectives (hv-guided: k <= 3)."""
    return scheme != "hv-guided" or k <= HV_MAX_OBJECTIVES


def _points(instance: int):
    for k in N_OBJECTIVES:
        env_kwargs = {**BANDIT, "n_objectives": k, "instance_seed": instance}
        best = round(best_value(Bandit(**env_kwargs)), 12)
        yield Point("bandit", env_kwargs, {"K": k, "best_value": best},
                    schemes=tuple(scheme for scheme in available(role="balance") if supported(scheme, k)))


SETTINGS = grid(NAME, _points, instances=INSTANCES, seeds=SEEDS, steps=STEPS)
QUICK = subset(SETTINGS, seeds=QUICK_SEEDS, K=QUICK_N_OBJECTIVES, instance=QUICK_INSTANCES)
TESTING = ids(QUICK, schemes=("dvao", "gdpo"), K=(2, 16))
