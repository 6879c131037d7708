"""A spurious reward: how much does variance weighting trust a reward that is pure noise?

:class:`~mowsim.envs.Bandit`, 16 arms, two true objectives (uncorrelated across arms) plus one spurious objective
(``n_spurious=1``) whose reward is ``spurious_sd * N(0, 1)`` whatever the action. Every scheme gets equal weights
over all three (the user believes the third reward matters), so the spurious objective holds 1/3 of the weight;
``spurious_sd`` sweeps its scale from 0 (a constant) to 10 (ten times a binary reward's largest std).

Calibration (instance 0, 4 seeds, 100 steps; mowsim 0.2.0): DVAO's effective weight on the noise climbs from 0.11
(sd 0.1) to 0.91 (sd 10) and its true reward falls from 0.80 to 0.51 (the uniform policy's); RC falls the same way;
AC, GDPO and SAW-GDPO are scale-free and unaffected (0.79-0.80); DVAO-reliable, which discounts variance its
rescoring shows to be noise, keeps 0.78.

Scale: every setting runs on 3 environment instances (``instance_seed`` 0, 1, 2, the setting column ``instance``)
with 16 training seeds each; the analysis pools the 48 runs, so its CIs cover instance-to-instance variation too.
QUICK: instance 0 with 4 seeds.
"""

from __future__ import annotations

from mowsim.schemes import available
from mowsim.sweep import make_cell

NAME = "spurious_reward"
QUESTION = "How much does variance weighting trust a reward that ignores the action, as its scale grows?"

BANDIT = {"n_arms": 16, "n_objectives": 2, "correlation": 0.0, "n_spurious": 1}
SPURIOUS_SD = (0.0, 0.1, 0.3, 1.0, 3.0, 10.0)
QUICK_SD = (0.0, 0.3, 1.0, 3.0, 10.0)
STEPS = 100
SEEDS = 16
INSTANCES = (0, 1, 2)
QUICK_INSTANCES = (0,)
QUICK_SEEDS = 4


def _settings() -> tuple:
    cells = []
    for instance in INSTANCES:
        for sd in SPURIOUS_SD:
            env_kwargs = {**BANDIT, "spurious_sd": sd, "instance_seed": instance}
            for scheme in available():
                cells.append(make_cell(NAME, len(cells), "bandit", env_kwargs, scheme,
                                       setting={"spurious_sd": sd, "instance": instance}, seeds=SEEDS, steps=STEPS))
    return tuple(cells)


SETTINGS = _settings()
QUICK = tuple(cell.scaled(seeds=QUICK_SEEDS) for cell in SETTINGS
              if dict(cell.setting)["spurious_sd"] in QUICK_SD and dict(cell.setting)["instance"] in QUICK_INSTANCES)
TESTING = tuple(cell.id for cell in QUICK
                if cell.scheme in ("dvao", "dvao-reliable", "ac") and dict(cell.setting)["spurious_sd"] in (0.0, 10.0))
