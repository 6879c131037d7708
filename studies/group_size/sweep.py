"""Group size: how small can G be before per-group variance estimates fail?

:class:`~mowsim.envs.Bandit`, 16 arms, K=2 binary objectives, the auxiliary with Gaussian noise of sd 0.5 (so its
within-group variance is partly noise, the case the DVAO paper warns about at G <= 4). G runs over 2..64 with the
rollout budget fixed, ``B * G = 1024`` (B = 512 groups of 2 ... 16 groups of 64): every cell sees the same number
of rollouts per update, so the score isolates how the rollouts are grouped, not how many there are. ``dvao-ema``
(cross-batch pooled variance) is the candidate fix for small G.

Calibration (instance 0, 4 seeds, 100 steps; mowsim 0.2.0): every scheme loses at G=2, AC the most (true-reward AUC
0.60 against 0.66 at G=64), DVAO 0.65 against 0.68, RC 0.65 against 0.71; dvao-ema (0.64) does not recover the loss
in this setting.

Scale: every setting runs on 3 environment instances (``instance_seed`` 0, 1, 2, the setting column ``instance``)
with 16 training seeds each; the analysis pools the 48 runs, so its CIs cover instance-to-instance variation too.
QUICK: instance 0 with 4 seeds.
"""

from __future__ import annotations

from mowsim.schemes import available
from mowsim.sweep import make_cell

NAME = "group_size"
QUESTION = "How small can the group size G be (rollout budget B*G fixed) before variance-based schemes fail?"

BANDIT = {"n_arms": 16, "n_objectives": 2, "noise_sd": (0.0, 0.5)}
ROLLOUTS = 1024
GROUP_SIZES = (2, 4, 8, 16, 32, 64)
QUICK_GROUP_SIZES = (2, 4, 8, 16, 64)
STEPS = 100
SEEDS = 16
INSTANCES = (0, 1, 2)
QUICK_INSTANCES = (0,)
QUICK_SEEDS = 4


def _settings() -> tuple:
    cells = []
    for instance in INSTANCES:
        for g in GROUP_SIZES:
            for scheme in available():
                cells.append(make_cell(NAME, len(cells), "bandit", {**BANDIT, "instance_seed": instance}, scheme,
                                       setting={"G": g, "instance": instance}, seeds=SEEDS, steps=STEPS,
                                       group_size=g, n_groups=ROLLOUTS // g))
    return tuple(cells)


SETTINGS = _settings()
QUICK = tuple(cell.scaled(seeds=QUICK_SEEDS) for cell in SETTINGS
              if dict(cell.setting)["G"] in QUICK_GROUP_SIZES and dict(cell.setting)["instance"] in QUICK_INSTANCES)
TESTING = tuple(cell.id for cell in QUICK if cell.scheme in ("dvao", "dvao-ema") and dict(cell.setting)["G"] in (2, 16))
