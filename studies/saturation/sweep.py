"""Saturation: does weighting by batch statistics (SAW) speed up the hard objective once the easy one saturates?

:class:`~mowsim.envs.ContextualBandit` (32 prompts, 8 arms, a tabular policy, a quarter of the (prompt, objective)
pairs solved), K=2: objective 0 is the hard one, objective 1 the easy one, pushed toward its ceiling by
``saturation`` (``mu <- 1 - (1 - mu)^(1 + s)``: at s=10 the uniform policy already scores 0.87 on it). As the easy
objective's variance collapses, SAW's batch coefficient of variation moves weight to the hard objective (SAW's
"asynchronous learning" claim). lr 16: the tabular policy spreads each step over 32 prompts, so it needs a larger
step than the one-context bandit.

Calibration (4 seeds, 100 steps): SAW-GRPO's AUC on the hard objective rises from 0.853 (s=0) to 0.882 (s=10), while
RC's goes from 0.867 to 0.879; SAW trails RC without saturation and matches or passes it with it.

Scale: every setting runs on 3 environment instances (``instance_seed`` 0, 1, 2, the setting column ``instance``)
with 16 training seeds each; the analysis pools the 48 runs, so its CIs cover instance-to-instance variation too.
QUICK: instance 0 with 4 seeds.
"""

from __future__ import annotations

from mowsim.schemes import available
from mowsim.sweep import make_cell

NAME = "saturation"
QUESTION = ("Does SAW's batch-CV weighting learn the hard objective faster once the easy objective saturates "
            "(asynchronous learning)?")

CONTEXTUAL = {"n_prompts": 32, "n_arms": 8, "n_objectives": 2}
SATURATION = (0.0, 1.0, 3.0, 10.0, 30.0)
QUICK_SATURATION = (0.0, 1.0, 3.0, 10.0, 30.0)
STEPS = 100
SEEDS = 16
INSTANCES = (0, 1, 2)
QUICK_INSTANCES = (0,)
QUICK_SEEDS = 4
LR = 16.0


def _settings() -> tuple:
    cells = []
    for instance in INSTANCES:
        for s in SATURATION:
            env_kwargs = {**CONTEXTUAL, "saturation": s, "instance_seed": instance}
            for scheme in available():
                cells.append(make_cell(NAME, len(cells), "contextual", env_kwargs, scheme,
                                       setting={"saturation": s, "instance": instance}, seeds=SEEDS, steps=STEPS,
                                       lr=LR))
    return tuple(cells)


SETTINGS = _settings()
QUICK = tuple(cell.scaled(seeds=QUICK_SEEDS) for cell in SETTINGS
              if dict(cell.setting)["saturation"] in QUICK_SATURATION
              and dict(cell.setting)["instance"] in QUICK_INSTANCES)
TESTING = tuple(cell.id for cell in QUICK
                if cell.scheme in ("saw-grpo", "rc") and dict(cell.setting)["saturation"] in (0.0, 10.0))
