"""Noise on the auxiliary objective: which scheme keeps accuracy (objective 0) progress as the auxiliary gets noisier?

Three sub-sweeps (setting ``noise``), every registered scheme at every ``level``:

* ``gaussian``: :class:`~mowsim.envs.Bandit`, 16 arms, K=2, the auxiliary correlated with accuracy across arms at
  0.7 (a helpful auxiliary such as format), additive Gaussian noise of sd ``level`` on the auxiliary alone.
* ``flip``: the same bandit, the auxiliary's 0/1 label flipped with probability ``level`` (0.5 = pure noise).
* ``sequence``: :class:`~mowsim.envs.SequenceTask` with the DVAO paper's math rewards, accuracy and a binary length
  reward (responses start long, ``eos_bias=-1``), Gaussian noise of sd ``level`` on the length reward; lr 10 so
  the bigram LM moves within 100 updates.

Calibration (instance 0, 4 seeds, 100 steps; mowsim 0.2.0): with a clean auxiliary every scheme reaches accuracy
~0.86 on the bandit; at noise sd 4 RC and DVAO stall near 0.65 (the noise inflates their shared denominator and
damps accuracy's signal) while AC, GDPO, SAW-GDPO and DVAO-reliable reach ~0.92. The effect is one of speed (at 200
steps DVAO is back at 0.81), so the horizon stays at 100 updates and the headline is the AUC of accuracy.

Scale: every setting runs on 3 environment instances (``instance_seed`` 0, 1, 2, the setting column ``instance``)
with 16 training seeds each; the analysis pools the 48 runs, so its CIs cover instance-to-instance variation too.
QUICK: instance 0 with 4 seeds.
"""

from __future__ import annotations

from mowsim.schemes import available
from mowsim.sweep import make_cell

NAME = "noise_robustness"
QUESTION = ("Which scheme keeps accuracy (objective 0) progress as the auxiliary reward gets noisier, with "
            "Gaussian noise or label flips?")

BANDIT = {"n_arms": 16, "n_objectives": 2, "correlation": 0.7}
SEQUENCE = {"objectives": ("accuracy", "length"), "eos_bias": -1.0}
LEVELS = {
    "gaussian": (0.0, 0.25, 0.5, 1.0, 2.0, 4.0),
    "flip": (0.0, 0.1, 0.2, 0.3, 0.4, 0.5),
    "sequence": (0.0, 0.5, 1.0, 2.0),
}
QUICK_LEVELS = {
    "gaussian": (0.0, 0.5, 1.0, 2.0, 4.0),
    "flip": (0.0, 0.2, 0.4, 0.5),
    "sequence": (0.0, 1.0, 2.0),
}
STEPS = 100
SEEDS = 16
INSTANCES = (0, 1, 2)
QUICK_INSTANCES = (0,)
QUICK_SEEDS = 4


def _env(noise: str, level: float, instance: int) -> tuple[str, dict, float]:
    """(env name, env kwargs, lr) of one sub-sweep point."""
    if noise == "gaussian":
        return "bandit", {**BANDIT, "noise_sd": (0.0, level), "instance_seed": instance}, 1.0
    if noise == "flip":
        return "bandit", {**BANDIT, "flip_prob": (0.0, level), "instance_seed": instance}, 1.0
    return "sequence", {**SEQUENCE, "noise_sd": (0.0, level), "instance_seed": instance}, 10.0


def _settings() -> tuple:
    cells = []
    for instance in INSTANCES:
        for noise, levels in LEVELS.items():
            for level in levels:
                env, env_kwargs, lr = _env(noise, level, instance)
                for scheme in available():
                    cells.append(make_cell(NAME, len(cells), env, env_kwargs, scheme,
                                           setting={"noise": noise, "level": level, "instance": instance},
                                           seeds=SEEDS, steps=STEPS, lr=lr))
    return tuple(cells)


def _quick(cell) -> bool:
    setting = dict(cell.setting)
    return setting["instance"] in QUICK_INSTANCES and setting["level"] in QUICK_LEVELS[setting["noise"]]


SETTINGS = _settings()
QUICK = tuple(cell.scaled(seeds=QUICK_SEEDS) for cell in SETTINGS if _quick(cell))
TESTING = tuple(cell.id for cell in QUICK
                if cell.scheme in ("dvao", "gdpo") and dict(cell.setting)["level"] in (0.0, 2.0)
                and dict(cell.setting)["noise"] != "flip")
