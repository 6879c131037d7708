"""Gate or score: is a gameable criterion safer as a rubric gate (DRO) than as a dense reward?

:class:`~mowsim.envs.Bandit`, 32 arms, K = 2 binary objectives: objective 0 is the true objective (quality),
objective 1 a rubric criterion (say, a format check) whose arm means correlate with quality at ``correlation``. The
lower the correlation, the more arms satisfy the criterion while scoring badly on quality: the criterion is
*gameable* and rewarding it densely invites reward hacking. The criterion is used either as a dense reward beside
quality (rc, dvao, gdpo with equal weights) or as a gate (``gated``: a rollout that fails the criterion is dropped,
the passing ones are scored on quality by RC, DRO's rubric gate). Measured: the true reward (expected quality),
the share of accepted rollouts (the criterion's pass rate), and the hacking rate after training: the share of
accepted rollouts that fail on quality, ``E_pi[c (1 - q)] / E_pi[c]`` (exact, from the final policy).

Measured (full scale, 48 (instance, seed) pairs): the gate beats the dense rewards on true-reward AUC only at
correlation -0.9 (dense - gate -0.039 [-0.049, -0.029]); it accepts fewer rollouts at every level and cuts the
hacking rate where the criterion is gameable (0.38 vs 0.41-0.51 at -0.9).

Scale: 3 environment instances x 16 seeds of 100 updates (G = 16, B = 64). QUICK: instance 0 with 8 seeds.
"""

from __future__ import annotations

import numpy as np

from mowsim.grid import INSTANCES, SEEDS, STEPS
from mowsim.sweep import make_cell

NAME = "rubric_gates"
QUESTION = "Is a gameable criterion safer as a rubric gate than as a dense reward (true reward, acceptance, hacking)?"

BANDIT = {"n_arms": 32, "n_objectives": 2, "binary": True}
CORRELATIONS = (0.6, 0.0, -0.3, -0.6, -0.9)
DENSE = ("rc", "dvao", "gdpo")
GATE = {"gates": (1,), "thresholds": (1.0,), "inner": "rc"}
QUICK_SEEDS = 8


def _settings() -> tuple:
    cells = []
    for instance in INSTANCES:
        for rho in CORRELATIONS:
            env = {**BANDIT, "correlation": rho, "instance_seed": instance}
            setting = {"correlation": rho, "instance": instance}
            for scheme in DENSE + ("gated",):
                cells.append(make_cell(NAME, len(cells), "bandit", env, scheme, setting=setting,
                                       scheme_kwargs=GATE if scheme == "gated" else None, seeds=SEEDS, steps=STEPS))
    return tuple(cells)


def hacking_rate(env, theta) -> float:
    """Share of the accepted answers (criterion = objective 1 passed) that fail on quality (objective 0), exactly:
    ``sum_a pi_a c_a (1 - q_a) / sum_a pi_a c_a`` averaged over prompts."""
    features, means = env.arrays()
    logits = features @ theta
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    accepted = (probs * means[..., 1]).sum(axis=1)
    hacked = (probs * means[..., 1] * (1.0 - means[..., 0])).sum(axis=1)
    return float(np.mean(hacked / np.maximum(accepted, 1e-300)))


def run_cell(cell):
    """Train, then add ``hacking_rate`` of each run's final policy (on its last step's rows; NaN before)."""
    from mowsim import schemes
    from mowsim.train import train_many

    env = cell.env_instance()
    result = train_many(env, schemes.get(cell.scheme, **dict(cell.scheme_kwargs)), seeds=cell.seeds,
                        steps=cell.steps, group_size=cell.group_size, n_groups=cell.n_groups, lr=cell.lr,
                        weights=None if cell.weights is None else list(cell.weights), ddof=cell.ddof, eps=cell.eps,
                        parallel=False)
    history = result.history
    rates = {run: hacking_rate(env, theta) for run, theta in enumerate(result.final_params)}
    last = history["step"] == history["step"].max()
    history["hacking_rate"] = np.where(last, history["run"].map(rates), np.nan)
    # the columns mowsim.sweep.train_cell puts in front
    front = [("study", cell.study), ("cell_id", cell.id), ("cell_key", cell.key())] + list(cell.setting)
    for position, (name, value) in enumerate(front):
        history.insert(position, name, value)
    return history


SETTINGS = _settings()
QUICK = tuple(cell.scaled(seeds=QUICK_SEEDS) for cell in SETTINGS if dict(cell.setting)["instance"] == 0)
TESTING = tuple(cell.id for cell in QUICK if cell.scheme in ("rc", "gated")
                and dict(cell.setting)["correlation"] in (0.6, -0.9))
