"""Aligned or conflicting objectives: do conflicting objectives break any scheme?

:class:`~mowsim.envs.Bandit`, 16 arms, K=2 binary objectives whose arm means correlate at ``correlation`` from
-0.9 (every arm good at one objective is bad at the other) to +0.9 (aligned). Equal weights. Each correlation is a
different instance, so the score is normalized by the instance's exact optimum: the setting column ``best_value``
(the best arm's mean of the two expected rewards, :func:`mowsim.analysis.best_value`) is carried for that.

Calibration (4 seeds, 100 steps): from -0.6 to +0.9 every scheme but MGDA and hv-guided realizes 96-99 % of the
achievable gain; at -0.9 RC, GDPO and SAW keep 96 % while AC and the DVAO family drop to 88 % and MGDA to 26 %.

Scale: every setting runs on 3 environment instances (``instance_seed`` 0, 1, 2, the setting column ``instance``)
with 16 training seeds each; the analysis pools the 48 runs, so its CIs cover instance-to-instance variation too.
QUICK: instance 0 with 4 seeds.
"""

from __future__ import annotations

from mowsim.analysis import best_value
from mowsim.envs import Bandit
from mowsim.schemes import available
from mowsim.sweep import make_cell

NAME = "correlation"
QUESTION = "Do conflicting objectives (arm means correlated from -0.9 to +0.9) break any scheme?"

BANDIT = {"n_arms": 16, "n_objectives": 2}
CORRELATIONS = (-0.9, -0.6, -0.3, 0.0, 0.3, 0.6, 0.9)
QUICK_CORRELATIONS = (-0.9, -0.6, -0.3, 0.0, 0.3, 0.6, 0.9)
STEPS = 100
SEEDS = 16
INSTANCES = (0, 1, 2)
QUICK_INSTANCES = (0,)
QUICK_SEEDS = 4


def _settings() -> tuple:
    cells = []
    for instance in INSTANCES:
        for rho in CORRELATIONS:
            env_kwargs = {**BANDIT, "correlation": rho, "instance_seed": instance}
            best = round(best_value(Bandit(**env_kwargs)), 12)
            for scheme in available():
                cells.append(make_cell(NAME, len(cells), "bandit", env_kwargs, scheme,
                                       setting={"correlation": rho, "instance": instance, "best_value": best},
                                       seeds=SEEDS, steps=STEPS))
    return tuple(cells)


SETTINGS = _settings()
QUICK = tuple(cell.scaled(seeds=QUICK_SEEDS) for cell in SETTINGS
              if dict(cell.setting)["correlation"] in QUICK_CORRELATIONS
              and dict(cell.setting)["instance"] in QUICK_INSTANCES)
TESTING = tuple(cell.id for cell in QUICK
                if cell.scheme in ("dvao", "rc") and dict(cell.setting)["correlation"] in (-0.9, 0.9))
