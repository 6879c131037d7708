"""Non-convex Pareto fronts: do dynamic weightings put mass on Pareto arms off the convex hull?

Lu et al. (arXiv 2509.11452) motivate dynamic reward weighting by the failure of fixed linear scalarization on
non-convex fronts. In a bandit a stochastic policy's expected rewards are convex combinations of its arms' points,
so a Pareto-optimal arm below the convex hull of the others is the optimum of no fixed weighting: RC, AC, GDPO and
DVAO with fixed weights should leave it. Does ``hv-guided`` or ``gradient`` (or ``mgda``, ``pcgrad``, ``vpo``)
move mass onto such arms? (A mixture of hull arms dominates an off-hull arm *in expectation*, so a scheme that
maximizes expected rewards has no reason to.)

:class:`~mowsim.envs.Bandit`, 16 arms, K = 2 binary objectives placed by the ``front`` knob on
``x^p + y^p = 1`` (12 front arms; ``front_dominated = 0.25``: 4 arms strictly inside), means mapped into
[0.05, 0.95]. Curvature ``p`` in {0.5, 2}: at 0.5 only the two extreme front arms are on the hull and the ten
interior ones are off-hull Pareto arms (the uniform start has 10/16 = 0.625 of its mass there); at 2 every front arm
is on the hull (the control). Each weight vector ``(w1, 1 - w1)``, w1 in
{0.2, 0.5, 0.8}, trains every balancing scheme (the fixed-weight ones, the dynamic ``hv-guided`` and
``gradient``, ``mgda``, ``pcgrad``) and ``vpo`` (single answers). The history's ``mass_off_hull`` is the policy's
exact mass on off-hull Pareto arms (:mod:`mowsim.envs.geometry`).

Prediction (recorded before the full run; a 100-step look at one instance and w1 = 0.5 showed RC leaving the
off-hull arms, hv-guided leaving them more slowly and MGDA hardly moving): at p = 0.5 no scheme *gains* mass on
off-hull arms; the fixed-weight schemes and ``gradient`` (an RC update under exponentiated weights) drive it to
near 0 within ~50 steps, hv-guided more slowly (its meta-reward rescales the RC advantage, it does not change its
direction), MGDA and PCGrad keep more only because they move the policy less; VPO with one answer is GRPO on
a Monte-Carlo weighted reward and goes where RC goes. The hypervolume of the fronts is ordered p = 2 > 1 > 0.5 for
every scheme, and at p = 0.5 no scheme's front exceeds the hull chord's.

Measured (full scale, 24 (instance, seed) pairs, 44 s wall on 2 shared cores): at p = 0.5 every scheme but MGDA
*loses* off-hull mass (final - initial; 95 % CIs over runs): gradient -0.481 [-0.522, -0.418], rc -0.477
[-0.517, -0.42], vpo -0.476, gdpo -0.46, dvao -0.417, ac -0.406, hv-guided -0.297 [-0.352, -0.24], pcgrad -0.297.
MGDA gains 0.0094 [0.0066, 0.0121] only because it hardly learns: it keeps 0.189 of its mass on dominated arms
(uniform: 0.25; rc 0.020) and never halves its off-hull mass (rc does so at step 58 on average, hv-guided at 84).
hv-guided keeps more off-hull mass at step 100 (0.328 vs rc's 0.148) because it moves more slowly, not toward those
arms. The claim ``lu-nonconvex`` fails: the dynamic schemes' pooled gain is -0.389 [-0.431, -0.336]. Hypervolume
of the fronts over the weights: p = 0.5 rc 0.127, hv-guided 0.137, gradient 0.124, saw-gdpo 0.161 (highest), mgda
0.089; p = 2 rc 0.568, hv-guided 0.539, gradient 0.567. The prediction held, except that MGDA's tiny positive gain
comes from leaving dominated arms evenly rather than from staying put.

Scale: 3 environment instances x 8 seeds of 100 updates, 2 curvatures x 3 weights x 13 schemes = 234 cells. The
common scale (16 seeds, p in {0.5, 1, 2}: 351 cells) took 94 s on 2 shared cores, over the ~40 s a study may take in
``mowsim reproduce``; p = 1 went (its front arms are all hull arms, as ties, so it asks nothing p = 2 does not) and
the seeds were halved: the effects are paired over 24 (instance, seed) pairs per level, and at 16 seeds their CIs
were already ~0.03 wide against effects of ~0.4. QUICK: instance 0 with 4 seeds. TESTING: rc and hv-guided at
p = 0.5, w1 in {0.2, 0.5}.
"""

from __future__ import annotations

from mowsim.grid import INSTANCES, QUICK_INSTANCES, QUICK_SEEDS, STEPS, Point, grid, ids, subset
from mowsim.schemes import available

NAME = "nonconvex_front"
QUESTION = ("On a non-convex Pareto front, do dynamic weightings move mass onto Pareto arms off the convex hull, "
            "where fixed linear weights cannot?")

BANDIT = {"n_arms": 16, "n_objectives": 2, "front_dominated": 0.25}
CURVATURES = (0.5, 2.0)
SEEDS = 8
W1 = (0.2, 0.5, 0.8)
SCHEMES = tuple(available(role="balance")) + ("vpo",)


def _points(instance: int):
    for curvature in CURVATURES:
        env_kwargs = {**BANDIT, "front": curvature, "instance_seed": instance}
        for w1 in W1:
            weights = (w1, round(1.0 - w1, 12))
            yield Point("bandit", env_kwargs, {"p": curvature, "w1": w1}, train={"weights": weights})


SETTINGS = grid(NAME, _points, instances=INSTANCES, schemes=SCHEMES, seeds=SEEDS, steps=STEPS)
QUICK = subset(SETTINGS, seeds=QUICK_SEEDS, instance=QUICK_INSTANCES)
TESTING = ids(QUICK, schemes=("rc", "hv-guided"), p=(0.5,), w1=(0.2, 0.5))
