"""Plumbing: how much of the outcome does the scheme's name explain, against advantage normalization and loss
aggregation?

"Tricks or Traps? A Deep Dive into RL for LLM Reasoning" (arXiv 2508.08221) finds that advantage normalization and a
few plumbing choices often matter more than the algorithm's name; its Lite PPO is the group mean with the batch std
and a token-level loss. This study crosses the scheme with that plumbing in a full factorial and decomposes the
variance of the outcome (:func:`mowsim.analysis.variance_shares`), per world:

* ``length``: :class:`~mowsim.envs.SequenceTask` with the DVAO paper's math rewards accuracy + a binary length reward
  (responses start long, ``eos_bias = -1``, as in ``noise_robustness``);
* ``format``: the same toy LM with accuracy + format (``saturation = 1``: OPEN first and EOS after CLOSE start a
  little likelier, so format is learnable within the horizon);
* ``bandit``: :class:`~mowsim.envs.Bandit`, 16 arms, K = 2 binary objectives, Gaussian noise of sd 0.5 on the second
  (``group_size``'s bandit). A bandit has no tokens, so its factors are scheme x normalization only (``aggregation``
  is ``"n/a"``).

Factors: scheme (rc, ac, gdpo, dvao, saw-grpo, saw-gdpo) x normalization ("group", "batch", "none"; the std that
divides the centred rewards, :func:`mowsim.advantages`) x loss aggregation ("seq-mean" GRPO, "token-mean" DAPO /
Lite PPO, "token-sum" Dr. GRPO; :class:`~mowsim.envs.SequenceTask`'s ``loss_aggregation``). Responses: the final
true reward (the equal-weight mean of the true objectives' exact expected rewards) and its AUC over training.

Scale and runtime: one environment instance per world (the factors, not instances, are the question; the seeds are
the replicates the bootstrap resamples) x 16 seeds. The toy LM runs 60 updates of B = 16 groups of G = 8 at lr 10
(the bigram LM moves within that horizon; about 7 ms a run), the bandit the common 100 updates (G = 16, B = 64,
lr 1). 6 x 3 x 3 x 2 + 6 x 3 = 126 cells, 2,016 runs. QUICK: every cell with 4 seeds.

Prediction, written before the full study was run (a calibration with the aggregation axis only, before the
normalization option existed, had aggregation at ~0.7 of the variance in both LM worlds and the scheme at 0.12-0.23):
in the toy LM the aggregation dominates, because it changes the effective step and the length incentive (seq-mean's
1/|o| favours short answers, which the length reward pays for; token-sum divides by the constant B G max_len, a step
about mean|o| / max_len times smaller). Normalization acts mostly on the step size too: "none" leaves the centred
binary rewards undivided (a group std of at most 0.5 per objective, so advantages about half as large) and "batch"
divides by the batch std, which includes the between-prompt spread, so both learn slower than "group" within the
horizon. The scheme's main effect comes second (AC trails in the format world). So plumbing's df-adjusted share
exceeds the scheme's in both LM worlds on the final true reward; in the bandit, with normalization alone against the
scheme, too, but by the smallest margin: the claim holds, the bandit the likeliest world to break it.

Measured (full scale, 16 seeds; ``mowsim study plumbing`` 14-26 s wall on the shared 2-vCPU VM with a warm
Numba cache, two runs, bit-identical results; QUICK 13 s; a cold cache adds the compile, 2 min 41 s in all).
Df-adjusted shares of the final true reward, 95 % CIs: length world, plumbing 0.638 [0.629, 0.648] (aggregation
alone 0.530) against the scheme's 0.158 [0.152, 0.164], scheme x plumbing 0.193, residual 0.011; format world,
plumbing 0.552 [0.546, 0.557] (aggregation 0.330, normalization 0.187) against 0.227 [0.221, 0.233]; bandit,
normalization 0.203 [0.194, 0.212] against the scheme's 0.333 [0.325, 0.341], with the scheme x normalization
interaction the largest piece (0.459). The prediction held in the LM worlds and broke in the bandit, for a reason it
did not foresee: without a std ("none") RC, AC and DVAO all reduce to the weighted sum of centred rewards (identical
runs), while GDPO and SAW-GDPO keep their own batch z-score after the sum and SAW-GRPO falls furthest (bandit final
0.600 against 0.763 with the group std), so normalization's effect is mostly an interaction with the scheme; and with
one prompt the batch std is the group std (batch and group end within 0.001). On the AUC the bandit's normalization
share (0.385) does exceed the scheme's (0.245). Seq-mean learned fastest in both LM worlds (its 1/|o| rewards short
answers; token-sum's constant normalizer is the smallest step).
"""

from __future__ import annotations

from mowsim.grid import QUICK_SEEDS, SEEDS, STEPS, Point, grid, ids, subset

NAME = "plumbing"
QUESTION = ("How much of the outcome does the scheme's name explain, against advantage normalization and loss "
            "aggregation (the plumbing)?")

SCHEMES = ("rc", "ac", "gdpo", "dvao", "saw-grpo", "saw-gdpo")
NORMALIZATIONS = ("group", "batch", "none")
AGGREGATIONS = ("seq-mean", "token-mean", "token-sum")
NO_AGGREGATION = "n/a"
SEQUENCE_WORLDS = {
    "length": {"objectives": ("accuracy", "length"), "eos_bias": -1.0},
    "format": {"objectives": ("accuracy", "format"), "saturation": 1.0},
}
SEQUENCE_TRAIN = {"steps": 60, "group_size": 8, "n_groups": 16, "lr": 10.0}
BANDIT = {"n_arms": 16, "n_objectives": 2, "noise_sd": (0.0, 0.5)}
INSTANCES = (0,)


def _points(instance: int):
    for world, env in SEQUENCE_WORLDS.items():
        for normalization in NORMALIZATIONS:
            for aggregation in AGGREGATIONS:
                yield Point("sequence", {**env, "loss_aggregation": aggregation, "instance_seed": instance},
                            {"world": world, "normalization": normalization, "aggregation": aggregation},
                            train={**SEQUENCE_TRAIN, "normalization": normalization})
    for normalization in NORMALIZATIONS:
        yield Point("bandit", {**BANDIT, "instance_seed": instance},
                    {"world": "bandit", "normalization": normalization, "aggregation": NO_AGGREGATION},
                    train={"normalization": normalization})


SETTINGS = grid(NAME, _points, instances=INSTANCES, schemes=SCHEMES, seeds=SEEDS, steps=STEPS)
QUICK = subset(SETTINGS, seeds=QUICK_SEEDS)
TESTING = ids(QUICK, schemes=("rc", "dvao"), world=("length", "bandit"), normalization=("group", "none"),
              aggregation=("seq-mean", "token-sum", NO_AGGREGATION))
