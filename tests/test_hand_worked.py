"""Hand-worked values: small groups whose advantages and effective weights were computed on paper.

Every expected number below is written as the exact fraction or surd the arithmetic gives, with the working in the
comments; nothing is computed by another implementation. The section at the end checks the documented edge cases
(NaN, unscorable rollouts, tiny groups, constant objectives, overflow) for every registered scheme.

The workhorse is group X, one group of G = 4 rollouts on K = 2 objectives::

    rollout   r0   r1
       0       1    2
       1       0    0
       2       1    0
       3       0    2

ddof = 0:  mu0 = 1/2, sigma0 = 1/2,  A0 = (r0 - 1/2) / (1/2) = [ 1, -1,  1, -1]
           mu1 = 1,   sigma1 = 1,    A1 = (r1 - 1)   / 1     = [ 1, -1, -1,  1]
ddof = 1:  sigma0 = sqrt((4 * 1/4) / 3) = 1/sqrt(3),  sigma1 = sqrt(4/3) = 2/sqrt(3),
           so A0 and A1 are the ddof = 0 patterns times sqrt(3)/2.
"""

from __future__ import annotations

from math import sqrt

import numpy as np
import pytest
from conftest import SCHEMES

import mowsim
from mowsim.schemes import BACKENDS, SAWGDPO, SAWGRPO, get

EXACT = {"rtol": 1e-14, "atol": 1e-15}

GROUP_X = np.array([[1.0, 2.0], [0.0, 0.0], [1.0, 0.0], [0.0, 2.0]])
A0_PATTERN = np.array([1.0, -1.0, 1.0, -1.0])
A1_PATTERN = np.array([1.0, -1.0, -1.0, 1.0])

# Group Y, the second group of the B = 2 examples: r0 = [0, 0, 1, 1] (mu 1/2, sigma 1/2, A0 = [-1, -1, 1, 1]) and a
# constant r1 = 5, whose z-score is exactly 0.
GROUP_Y = np.array([[0.0, 5.0], [0.0, 5.0], [1.0, 5.0], [1.0, 5.0]])


def check(rewards, scheme, expected_advantages, expected_weights=None, *, backend, weights=None, **kwargs):
    """Run ``scheme`` (a name or an instance) and compare advantages and, if given, the effective weights."""
    out = get(scheme).compute(rewards, weights, backend=backend, **kwargs)
    np.testing.assert_allclose(out.advantages, expected_advantages, **EXACT)
    if expected_weights is not None:
        np.testing.assert_allclose(out.weights, np.broadcast_to(expected_weights, out.weights.shape), **EXACT)


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


# ---------------------------------------------------------------- group X, equal weights (1/2, 1/2), ddof = 0


def test_rc_group_x(backend):
    # s = (r0 + r1) / 2 = [3/2, 0, 1/2, 1], mean 3/4, deviations [3/4, -3/4, -1/4, 1/4]
    # var = (9 + 9 + 1 + 1) / 16 / 4 = 5/16, std = sqrt(5)/4  ->  A = [3, -3, -1, 1] / sqrt(5)
    expected = np.array([3.0, -3.0, -1.0, 1.0]) / sqrt(5)
    check(GROUP_X, "rc", expected, [1 / 2, 1 / 2], backend=backend)


def test_ac_group_x(backend):
    # (A0 + A1) / 2 = [1, -1, 0, 0]
    check(GROUP_X, "ac", [1.0, -1.0, 0.0, 0.0], [1 / 2, 1 / 2], backend=backend)


def test_dvao_group_x(backend):
    # wt_k = w_k sigma_k / sum_l w_l sigma_l = (1/4, 1/2) / (3/4) = (1/3, 2/3)
    # A = A0 / 3 + 2 A1 / 3 = [1, -1, -1/3, 1/3]; equivalently (s - mean s) / (3/4) = [3/4, -3/4, -1/4, 1/4] * 4/3
    check(GROUP_X, "dvao", [1.0, -1.0, -1 / 3, 1 / 3], [1 / 3, 2 / 3], backend=backend)


def test_gdpo_group_x_single_group(backend):
    # AC = [1, -1, 0, 0]; batch mean 0, batch var (1 + 1) / 4 = 1/2  ->  A = [sqrt(2), -sqrt(2), 0, 0]
    check(GROUP_X, "gdpo", [sqrt(2), -sqrt(2), 0.0, 0.0], [1 / 2, 1 / 2], backend=backend)


def _rc_two_objectives_on_x(a, b):
    """RC on group X with weights (a, b), worked symbolically.

    s = a r0 + b r1 = [a + 2b, 0, a, 2b], mean (a + 2b)/2, deviations [(a+2b), -(a+2b), (a-2b), (2b-a)] / 2,
    var = ((a+2b)^2 + (a-2b)^2) / 8 = (a^2 + 4 b^2) / 4  ->  A = [(a+2b), -(a+2b), (a-2b), (2b-a)] / sqrt(a^2 + 4b^2)
    """
    return np.array([a + 2 * b, -(a + 2 * b), a - 2 * b, 2 * b - a]) / sqrt(a * a + 4 * b * b)


def test_saw_grpo_group_x_delta_half(backend):
    # delta = 1/2, reward_min = batch minimum (0, 0):
    # CV0 = (1/2) / (|1/2 - 0 + 1/2| + 1/2) = 1/3,  CV1 = 1 / (|1 - 0 + 1/2| + 1/2) = 1/2
    # w' = (1/3, 1/2) / (5/6) = (2/5, 3/5); s = sum_k w'_k w_k r_k is RC with weights (1/5, 3/10) ~ (2/5, 3/5):
    # a + 2b = 8/5, a - 2b = -4/5, sqrt(a^2 + 4b^2) = sqrt(40)/5  ->  A = [4, -4, -2, 2] / sqrt(10)
    expected = np.array([4.0, -4.0, -2.0, 2.0]) / sqrt(10)
    np.testing.assert_allclose(_rc_two_objectives_on_x(2 / 5, 3 / 5), expected, **EXACT)
    check(GROUP_X, SAWGRPO(delta=0.5), expected, [2 / 5, 3 / 5], backend=backend)


def test_saw_grpo_group_x_default_delta(backend):
    # delta = 1e-8: CV0 = (1/2) / (1/2 + 2 delta) = 1 / (1 + 4 delta), CV1 = 1 / (1 + 2 delta), so
    # w' = (1 + 2 delta, 1 + 4 delta) / (2 + 6 delta): not exactly equal weights.
    delta = 1e-8
    a, b = (1 + 2 * delta) / (2 + 6 * delta), (1 + 4 * delta) / (2 + 6 * delta)
    check(GROUP_X, "saw-grpo", _rc_two_objectives_on_x(a, b), [a, b], backend=backend)


def test_saw_grpo_group_x_reward_min(backend):
    # reward_min = (-1, 0), delta = 1/2: CV0 = (1/2) / (|1/2 + 1 + 1/2| + 1/2) = 1/5, CV1 = 1/2 as before
    # w' = (1/5, 1/2) / (7/10) = (2/7, 5/7): a + 2b = 12/7, a - 2b = -8/7, sqrt(a^2 + 4b^2) = sqrt(104)/7
    # -> A = [12, -12, -8, 8] / sqrt(104) = [6, -6, -4, 4] / sqrt(26)
    expected = np.array([6.0, -6.0, -4.0, 4.0]) / sqrt(26)
    check(GROUP_X, SAWGRPO(delta=0.5), expected, [2 / 7, 5 / 7], reward_min=[-1.0, 0.0], backend=backend)


def test_saw_gdpo_group_x_delta_half(backend):
    # w' = (2/5, 3/5) as above; a = sum_k K w'_k w_k A_k = 2 (A0/5 + 3 A1/10) = 2/5 A0 + 3/5 A1 = [1, -1, -1/5, 1/5]
    # batch var = (1 + 1 + 1/25 + 1/25) / 4 = 13/25  ->  A = [5, -5, -1, 1] / sqrt(13)
    expected = np.array([5.0, -5.0, -1.0, 1.0]) / sqrt(13)
    check(GROUP_X, SAWGDPO(delta=0.5), expected, [2 / 5, 3 / 5], backend=backend)


def test_saw_gdpo_group_x_default_delta(backend):
    # a = w'0 A0 + w'1 A1 = [1, -1, a - b, b - a] (w'0 + w'1 = 1); var = (2 + 2 (a - b)^2) / 4
    delta = 1e-8
    a, b = (1 + 2 * delta) / (2 + 6 * delta), (1 + 4 * delta) / (2 + 6 * delta)
    combined = np.array([1.0, -1.0, a - b, b - a])
    check(GROUP_X, "saw-gdpo", combined / sqrt((2 + 2 * (a - b) ** 2) / 4), [a, b], backend=backend)


# ---------------------------------------------------------------- group X, fixed weights w = (1, 3), not normalized


def test_fixed_weights_rc(backend):
    # s = r0 + 3 r1 = [7, 0, 1, 6], mean 7/2, deviations [7/2, -7/2, -5/2, 5/2], var = 148/16 = 37/4
    check(GROUP_X, "rc", np.array([7.0, -7.0, -5.0, 5.0]) / sqrt(37), [1 / 4, 3 / 4], weights=[1.0, 3.0],
          backend=backend)


def test_fixed_weights_ac_scales_with_weight_sum(backend):
    # A0 + 3 A1 = [4, -4, -2, 2]: AC's advantages scale with sum(w) = 4; the reported weights are w / sum(w)
    check(GROUP_X, "ac", [4.0, -4.0, -2.0, 2.0], [1 / 4, 3 / 4], weights=[1.0, 3.0], backend=backend)


def test_fixed_weights_dvao(backend):
    # w sigma = (1/2, 3), total 7/2  ->  wt = (1/7, 6/7); A = A0/7 + 6 A1/7 = [1, -1, -5/7, 5/7]
    check(GROUP_X, "dvao", [1.0, -1.0, -5 / 7, 5 / 7], [1 / 7, 6 / 7], weights=[1.0, 3.0], backend=backend)


def test_fixed_weights_gdpo(backend):
    # a = [4, -4, -2, 2], batch var (16 + 16 + 4 + 4) / 4 = 10
    check(GROUP_X, "gdpo", np.array([4.0, -4.0, -2.0, 2.0]) / sqrt(10), [1 / 4, 3 / 4], weights=[1.0, 3.0],
          backend=backend)


# ---------------------------------------------------------------- group X, ddof = 1


def test_ddof1_rc(backend):
    # deviations of s as for ddof 0, sum of squares 5/4, var = (5/4) / 3 = 5/12
    # A = [3/4, -3/4, -1/4, 1/4] / sqrt(5/12) = [3, -3, -1, 1] * sqrt(3/20)
    check(GROUP_X, "rc", np.array([3.0, -3.0, -1.0, 1.0]) * sqrt(3 / 20), ddof=1, backend=backend)


def test_ddof1_ac(backend):
    # (A0 + A1) / 2 with A_k = pattern * sqrt(3)/2
    check(GROUP_X, "ac", np.array([1.0, -1.0, 0.0, 0.0]) * sqrt(3) / 2, ddof=1, backend=backend)


def test_ddof1_dvao(backend):
    # both sigmas grow by sqrt(4/3), so wt stays (1/3, 2/3): A = [1, -1, -1/3, 1/3] * sqrt(3)/2
    check(GROUP_X, "dvao", np.array([1.0, -1.0, -1 / 3, 1 / 3]) * sqrt(3) / 2, [1 / 3, 2 / 3], ddof=1,
          backend=backend)


def test_ddof1_gdpo_single_group(backend):
    # a = sqrt(3)/2 [1, -1, 0, 0]; batch var (3/4 + 3/4) / 3 = 1/2  ->  A = sqrt(3/2) [1, -1, 0, 0]
    check(GROUP_X, "gdpo", np.array([1.0, -1.0, 0.0, 0.0]) * sqrt(3 / 2), ddof=1, backend=backend)


def test_ddof1_saw_grpo(backend):
    # batch stds with ddof 1: 1/sqrt(3) and 2/sqrt(3). delta = 1/2:
    # CV0 = (1/sqrt(3)) / (3/2) = 2/(3 sqrt(3)), CV1 = (2/sqrt(3)) / 2 = 1/sqrt(3)  ->  w' = (2/5, 3/5) again
    # s deviations [4/5, -4/5, -2/5, 2/5] / 2 (weights (1/5, 3/10)): with (2/5, 3/5) they are [4, -4, -2, 2] / 5,
    # sum of squares 40/25 = 8/5, var = (8/5) / 3 = 8/15  ->  A = [4, -4, -2, 2] / 5 * sqrt(15/8)
    check(GROUP_X, SAWGRPO(delta=0.5), np.array([4.0, -4.0, -2.0, 2.0]) / 5 * sqrt(15 / 8), [2 / 5, 3 / 5],
          ddof=1, backend=backend)


# ---------------------------------------------------------------- group X, eps = 1/4 (large, so its effect is exact)


def test_eps_ac(backend):
    # A0 = (r0 - 1/2) / (1/2 + 1/4) = +-2/3, A1 = (r1 - 1) / (1 + 1/4) = +-4/5
    # AC = (2/3 A0pat + 4/5 A1pat) / 2: rows 0, 1: +-(2/3 + 4/5)/2 = +-11/15; rows 2, 3: +-(2/3 - 4/5)/2 = -+1/15
    check(GROUP_X, "ac", [11 / 15, -11 / 15, -1 / 15, 1 / 15], eps=0.25, backend=backend)


def test_eps_dvao(backend):
    # wt = (1/3, 2/3) (from the sigmas, eps-free); A = 1/3 (+-2/3) + 2/3 (+-4/5):
    # row 0: 2/9 + 8/15 = 34/45, row 2: 2/9 - 8/15 = -14/45
    check(GROUP_X, "dvao", [34 / 45, -34 / 45, -14 / 45, 14 / 45], [1 / 3, 2 / 3], eps=0.25, backend=backend)


def test_eps_rc(backend):
    # deviations [3/4, -3/4, -1/4, 1/4] / (sqrt(5)/4 + 1/4) = [3, -3, -1, 1] / (sqrt(5) + 1)
    check(GROUP_X, "rc", np.array([3.0, -3.0, -1.0, 1.0]) / (sqrt(5) + 1), eps=0.25, backend=backend)


def test_eps_gdpo(backend):
    # a = [11, -11, -1, 1] / 15, batch std sqrt((121 + 121 + 1 + 1) / 225 / 4) = sqrt(61)/15
    # A = a / (sqrt(61)/15 + 1/4) = [11, -11, -1, 1] / (sqrt(61) + 15/4)
    check(GROUP_X, "gdpo", np.array([11.0, -11.0, -1.0, 1.0]) / (sqrt(61) + 15 / 4), eps=0.25, backend=backend)


def test_eps_saw_grpo(backend):
    # delta = 1/2: weights w' w = (1/5, 3/10) (eps is not scale-free, so these exact weights matter)
    # s = [4/5, 0, 1/5, 3/5], mean 2/5, deviations [2/5, -2/5, -1/5, 1/5], std sqrt(10/25/4) = 1/sqrt(10)
    check(GROUP_X, SAWGRPO(delta=0.5), np.array([2.0, -2.0, -1.0, 1.0]) / 5 / (1 / sqrt(10) + 1 / 4), eps=0.25,
          backend=backend)


def test_eps_saw_gdpo(backend):
    # delta = 1/2: weights K w' w = (2/5, 3/5); A0 = +-2/3, A1 = +-4/5 (eps 1/4)
    # a: rows 0, 1: +-(4/15 + 12/25) = +-56/75; rows 2, 3: +-(4/15 - 12/25) = -+16/75
    # batch std sqrt((2 * 56^2 + 2 * 16^2) / 75^2 / 4) = sqrt(6784)/150 = 4 sqrt(106)/75
    # A = a / (4 sqrt(106)/75 + 1/4) = [56, -56, -16, 16] / (4 sqrt(106) + 75/4)
    expected = np.array([56.0, -56.0, -16.0, 16.0]) / (4 * sqrt(106) + 75 / 4)
    check(GROUP_X, SAWGDPO(delta=0.5), expected, eps=0.25, backend=backend)


# ---------------------------------------------------------------- B = 2: GDPO's batch whitening


def test_gdpo_two_groups(backend):
    # X: a = [1, -1, 0, 0];  Y: a = (A0 + 0) / 2 = [-1/2, -1/2, 1/2, 1/2]
    # batch of 8: mean 0, sum of squares 2 + 4/4 = 3, var 3/8  ->  A = a * sqrt(8/3)
    rewards = np.stack([GROUP_X, GROUP_Y])
    expected = np.array([[1.0, -1.0, 0.0, 0.0], [-0.5, -0.5, 0.5, 0.5]]) * sqrt(8 / 3)
    check(rewards, "gdpo", expected, [1 / 2, 1 / 2], backend=backend)


def test_gdpo_two_groups_ddof1(backend):
    # X: a = sqrt(3)/2 [1, -1, 0, 0];  Y: sigma0 = 1/sqrt(3), a = sqrt(3)/4 [-1, -1, 1, 1]
    # sum of squares 2 * 3/4 + 4 * 3/16 = 9/4, var (9/4) / 7 = 9/28, std 3 / (2 sqrt(7))
    # X: sqrt(3)/2 * 2 sqrt(7)/3 = sqrt(21)/3;  Y: sqrt(21)/6
    rewards = np.stack([GROUP_X, GROUP_Y])
    expected = np.array([[1.0, -1.0, 0.0, 0.0], [-0.5, -0.5, 0.5, 0.5]]) * sqrt(21) / 3
    check(rewards, "gdpo", expected, ddof=1, backend=backend)


def test_saw_gdpo_two_groups(backend):
    # X and Y' = Y with r1 = 1 instead of 5; delta = 1/2, reward_min = batch minimum (0, 0), ddof 0.
    # r0 over the batch: [1,0,1,0, 0,0,1,1], mean 1/2, std 1/2        ->  CV0 = (1/2) / (1 + 1/2) = 1/3
    # r1 over the batch: [2,0,0,2, 1,1,1,1], mean 1, var 4/8, std 1/sqrt(2) ->  CV1 = (1/sqrt(2)) / 2
    # w' = (1/3, 1/(2 sqrt 2)) / sum = (2 sqrt 2, 3) / (2 sqrt 2 + 3) =: (p, q); K w'_k w_k = w'_k
    # X: a = p A0 + q A1 = [1, -1, p - q, q - p];  Y': a = p [-1, -1, 1, 1] (r1 constant, A1 = 0)
    # batch mean 0, var = (2 + 2 (p - q)^2 + 4 p^2) / 8
    group_y1 = GROUP_Y.copy()
    group_y1[:, 1] = 1.0
    p, q = 2 * sqrt(2) / (2 * sqrt(2) + 3), 3 / (2 * sqrt(2) + 3)
    combined = np.array([[1.0, -1.0, p - q, q - p], [-p, -p, p, p]])
    expected = combined / sqrt((2 + 2 * (p - q) ** 2 + 4 * p**2) / 8)
    check(np.stack([GROUP_X, group_y1]), SAWGDPO(delta=0.5), expected, [p, q], backend=backend)


def test_dvao_weights_per_group(backend):
    # DVAO's weights are per group: X gives (1/3, 2/3); Y gives (1, 0) (sigma1 = 0 in Y)
    out = get("dvao").compute(np.stack([GROUP_X, GROUP_Y]), backend=backend)
    np.testing.assert_allclose(out.weights, [[1 / 3, 2 / 3], [1.0, 0.0]], **EXACT)
    # Y: A = A0 exactly (wt = (1, 0)) = [-1, -1, 1, 1]
    np.testing.assert_allclose(out.advantages, [[1.0, -1.0, -1 / 3, 1 / 3], [-1.0, -1.0, 1.0, 1.0]], **EXACT)


# ---------------------------------------------------------------- NaN entries are left out of the statistics
#   rollout   r0    r1
#      0       1   NaN          r0 over {1, 0}: mu 1/2, sigma 1/2 -> A0 = [1, -1, 0]
#      1       0     2          r1 over {2, 0}: mu 1,   sigma 1   -> A1 = [0, 1, -1]
#      2     NaN     0          (a NaN entry has z-score 0 and is in no mean or std)
GROUP_NAN = np.array([[1.0, np.nan], [0.0, 2.0], [np.nan, 0.0]])


@pytest.mark.parametrize(
    "scheme, expected, weights",
    [
        # (A0 + A1) / 2
        ("ac", [1 / 2, 0.0, -1 / 2], [1 / 2, 1 / 2]),
        # wt = (1/4, 1/2) / (3/4) = (1/3, 2/3): [1/3, -1/3 + 2/3, -2/3]
        ("dvao", [1 / 3, 1 / 3, -2 / 3], [1 / 3, 2 / 3]),
        # s = nansum(r / 2) = [1/2, 1, 0], mean 1/2, deviations [0, 1/2, -1/2], var 1/6
        ("rc", [0.0, sqrt(6) / 2, -sqrt(6) / 2], [1 / 2, 1 / 2]),
        # a = [1/2, 0, -1/2], var (1/4 + 1/4) / 3 = 1/6
        ("gdpo", [sqrt(6) / 2, 0.0, -sqrt(6) / 2], [1 / 2, 1 / 2]),
    ],
)
def test_nan_entries_hand_worked(scheme, expected, weights, backend):
    check(GROUP_NAN, scheme, expected, weights, backend=backend)


def test_nan_entries_saw(backend):
    # delta = 1/2, batch minimum (0, 0): CV0 = (1/2) / (1 + 1/2) = 1/3, CV1 = 1 / (3/2 + 1/2) = 1/2 -> w' = (2/5, 3/5)
    # SAW-GRPO: s = nansum(r0/5, 3 r1/10) = [1/5, 3/5, 0], mean 4/15, deviations [-1, 5, -4] / 15,
    #           var (1 + 25 + 16) / 225 / 3 = 14/225  ->  A = [-1, 5, -4] / sqrt(14)
    check(GROUP_NAN, SAWGRPO(delta=0.5), np.array([-1.0, 5.0, -4.0]) / sqrt(14), [2 / 5, 3 / 5], backend=backend)
    # SAW-GDPO: a = 2/5 A0 + 3/5 A1 = [2/5, 1/5, -3/5], var (4 + 1 + 9) / 25 / 3 = 14/75 -> A = [2, 1, -3] sqrt(3/14)
    check(GROUP_NAN, SAWGDPO(delta=0.5), np.array([2.0, 1.0, -3.0]) * sqrt(3 / 14), [2 / 5, 3 / 5],
          backend=backend)


def test_docstring_example_of_advantages():
    # mowsim.advantages' own example: r0 = [1, 0, 1, 0], r1 = [0, 0, 1, 1], equal sigmas 1/2, so DVAO = r0 + r1 - 1
    r = np.array([[1.0, 0.0], [0.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    np.testing.assert_allclose(mowsim.advantages(r, "dvao"), [0.0, -1.0, 1.0, 0.0], **EXACT)


# ================================================================ documented edge cases, every registered scheme


@pytest.mark.parametrize("name", SCHEMES)
def test_unscorable_rollout_gets_zero_and_is_left_out(name, rng):
    rewards = rng.normal(size=(3, 5, 3))
    rewards[rng.random(rewards.shape) < 0.1] = np.nan
    rewards[:, 2, :] = np.nan  # rollout 2 is unscorable in every group
    for ddof in (0, 1):
        full = mowsim.advantages(rewards, name, ddof=ddof, eps=1e-4)
        without = mowsim.advantages(np.delete(rewards, 2, axis=1), name, ddof=ddof, eps=1e-4)
        assert np.all(full[:, 2] == 0.0)
        np.testing.assert_allclose(np.delete(full, 2, axis=1), without, rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("name", SCHEMES)
@pytest.mark.parametrize("ddof", [0, 1])
@pytest.mark.parametrize("eps", [0.0, 1e-4])
def test_fewer_than_two_scorable_rollouts_give_zero(name, ddof, eps, rng):
    rewards = rng.normal(size=(4, 5, 2))
    rewards[1, 1:] = np.nan  # one scorable rollout
    rewards[1, 0, 1] = np.nan  # ... even partly scored
    rewards[2] = np.nan  # none
    out = mowsim.advantages(rewards, name, ddof=ddof, eps=eps)
    assert np.all(out[1] == 0.0) and np.all(out[2] == 0.0)
    assert np.all(np.isfinite(out))
    assert np.any(out[0] != 0.0) and np.any(out[3] != 0.0)
    if not name.startswith("saw") and not getattr(get(name), "random", False):
        # The degenerate groups do not reach the other groups' numbers (GDPO's batch statistics skip them too).
        # SAW is left out on purpose: its batch CV uses every scored reward, the lone rollout's included. So are
        # the schemes that draw weights per group (vpo, random-weight): deleting groups hands the others new draws.
        others = mowsim.advantages(rewards[[0, 3]], name, ddof=ddof, eps=eps)
        np.testing.assert_allclose(out[[0, 3]], others, rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("name", SCHEMES)
def test_one_rollout_per_group_gives_zeros(name, rng):
    for ddof in (0, 1):
        for eps in (0.0, 1e-4):
            out = mowsim.advantages(rng.normal(size=(5, 1, 3)), name, ddof=ddof, eps=eps)
            assert out.shape == (5, 1)
            assert np.all(out == 0.0)
    assert mowsim.advantages(np.array([[0.3, 0.9]]), name).shape == (1,)


@pytest.mark.parametrize("name", SCHEMES)
@pytest.mark.parametrize("eps", [0.0, 1e-12, 1e-4, 1.0])
def test_constant_group_gives_exact_zeros(name, eps):
    # sum([0.1] * 3) / 3 = 0.10000000000000002 != 0.1: without the zero-spread rule the deviations would be -1.4e-17
    # and the advantages -1.4e-17 / (rounding-sized std + eps), i.e. NaN, O(1) or O(1e-5) noise depending on eps.
    assert sum([0.1] * 3) / 3 != 0.1
    for rewards in (np.full((3, 1), 0.1), np.full((3, 2), 0.1), np.array([[0.1, 0.7]] * 3)):
        for ddof in (0, 1):
            out = mowsim.advantages(rewards, name, ddof=ddof, eps=eps)
            assert np.array_equal(out, np.zeros(3)), (rewards, ddof)


@pytest.mark.parametrize("name", SCHEMES)
@pytest.mark.parametrize("eps", [0.0, 1e-12, 1e-4, 0.5])
def test_constant_objective_contributes_exactly_zero(name, eps):
    """A zero-variance objective adds exactly nothing: the result is that of the same objective left unscored."""
    varied = np.array([[1.0, 0.0, 1.0, 0.0, 0.3], [0.2, 0.9, 0.4, 0.4, 0.8]]).T[None]  # (1, 5, 2)
    constant = np.concatenate([varied, np.full((1, 5, 1), 0.1)], axis=2)
    unscored = np.concatenate([varied, np.full((1, 5, 1), np.nan)], axis=2)
    for ddof in (0, 1):
        with_constant = mowsim.advantages(constant, name, [0.2, 0.3, 0.5], ddof=ddof, eps=eps)
        with_nan = mowsim.advantages(unscored, name, [0.2, 0.3, 0.5], ddof=ddof, eps=eps)
        if name in ("rc", "vpo", "random-weight"):
            # RC adds 0.05 to every s: a shift of the sum, equal up to rounding rather than bit for bit (VPO and
            # random-weight add lambda_k 0.1 K w_k, the same shift for every rollout of the group).
            np.testing.assert_allclose(with_constant, with_nan, rtol=1e-13, atol=1e-14)
        else:
            np.testing.assert_array_equal(with_constant, with_nan)


@pytest.mark.parametrize("eps", [0.0, 1e-12, 0.25])
def test_constant_objective_hand_worked(eps):
    # r0 = [1, 0, 1, 0] (mu 1/2, sigma 1/2), r1 = 0.1 everywhere: A0 = +-(1/2) / (1/2 + eps), A1 = 0 exactly
    rewards = np.array([[1.0, 0.1], [0.0, 0.1], [1.0, 0.1], [0.0, 0.1]])
    a0 = A0_PATTERN * 0.5 / (0.5 + eps)
    np.testing.assert_allclose(mowsim.advantages(rewards, "ac", [0.25, 0.75], eps=eps), 0.25 * a0, **EXACT)
    # DVAO: wt = (1/4 * 1/2, 0) / (1/8) = (1, 0)
    out = get("dvao").compute(rewards, [0.25, 0.75], eps=eps)
    np.testing.assert_allclose(out.advantages, a0, **EXACT)
    np.testing.assert_array_equal(out.weights, [1.0, 0.0])
    # SAW: CV1 = 0 over the batch, so w' = (1, 0).
    # SAW-GRPO: s = 1 * 1/4 * r0 + 0 -> A = (1/4)(r0 - 1/2) / ((1/4)(1/2) + eps) = +-(1/8) / (1/8 + eps)
    saw = get("saw-grpo").compute(rewards, [0.25, 0.75], eps=eps)
    np.testing.assert_array_equal(saw.weights, [1.0, 0.0])
    np.testing.assert_allclose(saw.advantages, A0_PATTERN * 0.125 / (0.125 + eps), **EXACT)
    # SAW-GDPO: weights K w' w = (1/2, 0), a = A0 / 2 = +-c with c = (1/4) / (1/2 + eps); every |a| = c, so the
    # batch std is c and A = +-c / (c + eps)
    c = 0.25 / (0.5 + eps)
    saw = get("saw-gdpo").compute(rewards, [0.25, 0.75], eps=eps)
    np.testing.assert_array_equal(saw.weights, [1.0, 0.0])
    np.testing.assert_allclose(saw.advantages, A0_PATTERN * c / (c + eps), **EXACT)


def test_cancelling_objectives_are_not_whitened_into_noise():
    """r1 = 1 - r0: with equal weights the z-scores cancel, AC is rounding residue (about 1e-16), and GDPO's batch
    z-score must not blow that residue up to O(1) advantages of arbitrary sign: the batch counts as constant."""
    r0 = np.array([1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0])
    rewards = np.stack([r0, 1.0 - r0], axis=1)
    assert np.max(np.abs(mowsim.advantages(rewards, "ac"))) < 1e-15
    for eps in (0.0, 1e-4):
        for backend in BACKENDS:
            assert np.array_equal(mowsim.advantages(rewards, "gdpo", eps=eps, backend=backend), np.zeros(7))


@pytest.mark.parametrize("name", SCHEMES)
@pytest.mark.parametrize(
    "rewards, weights",
    [
        ([[1e308, 0.0], [-1e308, 0.0]], None),
        ([[1e200], [0.0], [1.0]], None),
        ([[1e160, 1.0], [0.0, 0.0], [1.0, 2.0]], None),
        ([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]], [1e160, 1.0]),
    ],
    ids=["1e308", "1e200", "1e160", "huge-weight"],
)
def test_once_overflowing_input_gives_the_rescaled_answer(name, rewards, weights):
    """Values whose squares overflow used to be refused; the schemes now rescale by powers of two, so they give the
    advantages of the exactly rescaled input, bit for bit (SAW: finite, as its ``delta`` is absolute). The stateful
    schemes pool variances in the rewards' own units and still refuse such input."""
    rewards = np.asarray(rewards, dtype=np.float64)
    if mowsim.schemes.get(name).stateful:
        for backend in BACKENDS:
            with pytest.raises(ValueError, match=r"too large for float64 .*Rescale the rewards or the weights"):
                mowsim.advantages(rewards, name, weights, backend=backend)
        return
    shift = np.frexp(np.max(np.abs(rewards)))[1]
    weight_shift = 0 if weights is None else np.frexp(np.max(weights))[1]
    small_weights = None if weights is None else np.ldexp(np.asarray(weights), -weight_shift)
    for backend in BACKENDS:
        got = mowsim.advantages(rewards, name, weights, backend=backend)
        assert np.all(np.isfinite(got)), backend
        if name.startswith("saw"):
            continue
        expected = mowsim.advantages(np.ldexp(rewards, -shift), name, small_weights, backend=backend)
        if name == "ac":  # AC's advantages scale with the weights
            expected = np.ldexp(expected, weight_shift)
        assert np.array_equal(got, expected), backend


@pytest.mark.parametrize("name", SCHEMES)
def test_large_but_safe_rewards_are_scale_free(name):
    """1e100 is far from overflow: the scale-free schemes give the same advantages as for the rewards / 1e100."""
    rewards = np.array([[1.0, 0.0], [0.0, 2.0], [3.0, 1.0], [2.0, 2.0]])
    big = mowsim.advantages(rewards * 1e100, name)
    assert np.all(np.isfinite(big))
    if name in ("rc", "ac", "gdpo", "dvao"):
        np.testing.assert_allclose(big, mowsim.advantages(rewards, name), rtol=1e-12, atol=1e-12)
