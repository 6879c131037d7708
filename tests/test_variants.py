"""The claim behind dvao-reliable: a high-variance spurious reward hijacks DVAO, and the reliability correction
takes most of the lost progress back.

Setting: two true binary objectives plus one spurious objective ``2 N(0, 1)`` that ignores the action (its std, 2,
is four times the largest a binary reward can have, so DVAO hands it ~2/3 of the weight). Four training seeds, 100
updates, G = 8, B = 16, lr 1. The gain of a run is the final minus the initial exact expected reward, averaged
over the true objectives; the numbers below are the means over the seeds.

Measured when this test was written (instance_seed 0; instances 1 and 2 in parentheses):

============  =================  ==========================  =======================================
env           dvao, no spurious  dvao, spurious               dvao-reliable, spurious
============  =================  ==========================  =======================================
Bandit        0.350              0.239 = 68% (62%, 75%)       0.342 = 98% (99%, 96%)
Contextual    0.104              0.028 = 27% (25%, 24%)       0.079 = 76% (73%, 73%)
============  =================  ==========================  =======================================

The spurious objective's mean effective weight falls from 0.66 (DVAO) to 0.25 (dvao-reliable) on the bandit, and
from 0.74 to 0.28 on the contextual bandit: with G = 8 the corrected variance ``max(s^2 - c sigma_noise^2, 0)``
of a pure-noise objective is positive in about half the groups, so the correction halves its weight rather than
removing it. For reference, RC keeps 79% and AC 97% on the bandit (AC's fixed 1/3 weight cannot be hijacked).
The thresholds below sit between the observed ranges with room for the seed-to-seed spread (per-seed gains differ
by up to 0.05 on the bandit).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mowsim.envs import Bandit, ContextualBandit
from mowsim.train import train_many

SEEDS = [0, 1, 2, 3]
STEPS = 100
TRAINING = dict(steps=STEPS, group_size=8, n_groups=16, lr=1.0)
ENVS = {
    "bandit": lambda **knobs: Bandit(n_objectives=2, **knobs),
    "contextual": lambda **knobs: ContextualBandit(n_objectives=2, n_prompts=8, **knobs),
}
SPURIOUS = dict(n_spurious=1, spurious_sd=2.0)
# env -> (largest share of its clean gain DVAO may keep, smallest share dvao-reliable must keep)
THRESHOLDS = {"bandit": (0.8, 0.9), "contextual": (0.4, 0.6)}


def gains(history: pd.DataFrame) -> dict:
    """scheme -> per-seed gain (final - initial expected reward, averaged over the true objectives)."""
    true = history[history["objective_name"].str.startswith("objective")]
    mean = true.groupby(["scheme", "seed", "step"], observed=True)["expected_reward"].mean().unstack("step")
    return {scheme: (rows[STEPS] - rows[0]).to_numpy() for scheme, rows in mean.groupby(level="scheme")}


def spurious_weight(history: pd.DataFrame) -> dict:
    """scheme -> mean effective weight of the spurious objective over the batches."""
    rows = history[(history["objective_name"] == "spurious_0") & (history["step"] < STEPS)]
    return rows.groupby("scheme", observed=True)["effective_weight"].mean().to_dict()


@pytest.fixture(scope="module", params=sorted(ENVS))
def study(request):
    make = ENVS[request.param]
    clean = train_many(make(), ["dvao", "dvao-reliable"], seeds=SEEDS, parallel=False, **TRAINING).history
    spurious = train_many(make(**SPURIOUS), ["dvao", "dvao-reliable"], seeds=SEEDS, parallel=False,
                          **TRAINING).history
    return request.param, clean, spurious


def test_dvao_loses_progress_to_a_spurious_objective(study):
    env, clean, spurious = study
    clean_gain, spurious_gain = gains(clean)["dvao"], gains(spurious)["dvao"]
    assert clean_gain.mean() > 0.05  # there is progress to lose
    assert spurious_gain.mean() < THRESHOLDS[env][0] * clean_gain.mean()
    assert spurious_weight(spurious)["dvao"] > 0.6  # the mechanism: DVAO trusts the noise most


def test_dvao_reliable_keeps_most_of_the_progress(study):
    env, clean, spurious = study
    reference_gain = gains(clean)["dvao"].mean()
    reliable, dvao = gains(spurious)["dvao-reliable"], gains(spurious)["dvao"]
    assert reliable.mean() >= THRESHOLDS[env][1] * reference_gain
    assert np.all(reliable > dvao)  # on every seed
    weights = spurious_weight(spurious)
    assert weights["dvao-reliable"] < 0.35 < 0.6 < weights["dvao"]


def test_dvao_reliable_is_dvao_without_noise(study):
    """Binary rewards without noise rescore identically (and draw nothing), so the runs coincide."""
    _, clean, _ = study
    runs = {scheme: rows.drop(columns=["run", "scheme"]).reset_index(drop=True)
            for scheme, rows in clean.groupby("scheme", observed=True)}
    pd.testing.assert_frame_equal(runs["dvao-reliable"], runs["dvao"])
