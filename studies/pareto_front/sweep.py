"""Pareto fronts: sweeping the user weights (w1, 1 - w1), whose front dominates?

:class:`~mowsim.envs.Bandit`, 32 arms, K=2 binary objectives in strong conflict (arm means correlated at -0.8;
instance 0 has 12 Pareto-optimal arms along a curved front). Each weight vector ``(w1, 1 - w1)`` for ``w1`` in
0.1..0.9 trains every scheme; a scheme's front is its set of final expected-reward vectors over the weights. The
setting column ``best_value`` is the instance's exact optimum of ``w . E[r]`` for that weight
(:func:`mowsim.analysis.best_value`).

Calibration (4 seeds, 100 steps): per-seed hypervolumes (reference (0, 0)) of SAW-GDPO 0.612 and SAW-GRPO 0.608
lead RC 0.595, GDPO 0.594 and DVAO 0.590 (the arms' own front: 0.669); hv-guided 0.49 and MGDA 0.29 trail.

Scale: every setting runs on 3 environment instances (``instance_seed`` 0, 1, 2, the setting column ``instance``)
with 16 training seeds each; the analysis pools the 48 runs, so its CIs cover instance-to-instance variation too.
QUICK: instance 0 with 4 seeds.
"""

from __future__ import annotations

from mowsim.analysis import best_value
from mowsim.envs import Bandit
from mowsim.schemes import available
from mowsim.sweep import make_cell

NAME = "pareto_front"
QUESTION = "Sweeping the weights (w1, 1 - w1) over two conflicting objectives, whose Pareto front dominates?"

BANDIT = {"n_arms": 32, "n_objectives": 2, "correlation": -0.8}
W1 = (0.1, 0.3, 0.5, 0.7, 0.9)
QUICK_W1 = (0.1, 0.3, 0.5, 0.7, 0.9)
STEPS = 100
SEEDS = 16
INSTANCES = (0, 1, 2)
QUICK_INSTANCES = (0,)
QUICK_SEEDS = 4


def _settings() -> tuple:
    cells = []
    for instance in INSTANCES:
        env_kwargs = {**BANDIT, "instance_seed": instance}
        env = Bandit(**env_kwargs)
        for w1 in W1:
            weights = (w1, round(1.0 - w1, 12))
            best = round(best_value(env, weights), 12)
            for scheme in available():
                cells.append(make_cell(NAME, len(cells), "bandit", env_kwargs, scheme,
                                       setting={"w1": w1, "instance": instance, "best_value": best},
                                       seeds=SEEDS, steps=STEPS, weights=weights))
    return tuple(cells)


SETTINGS = _settings()
QUICK = tuple(cell.scaled(seeds=QUICK_SEEDS) for cell in SETTINGS
              if dict(cell.setting)["w1"] in QUICK_W1 and dict(cell.setting)["instance"] in QUICK_INSTANCES)
TESTING = tuple(cell.id for cell in QUICK
                if cell.scheme in ("dvao", "saw-grpo") and dict(cell.setting)["w1"] in (0.1, 0.9))
