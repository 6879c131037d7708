"""mowsim's RC and GDPO against TRL's own advantage code, transcribed verbatim from TRL 1.16.0.

Sources (TRL 1.16.0):

* ``trl/trainer/grpo_trainer.py``, ``GRPOTrainer._generate_and_score_completions``: the
  ``multi_objective_aggregation`` branches ``"sum_then_normalize"`` (with each ``scale_rewards``: ``"group"``,
  ``"batch"``, ``"none"``) and ``"normalize_then_sum"``, followed by ``torch.nan_to_num(advantages, nan=0.0)``;
* ``trl/trainer/utils.py``, ``nanstd``.

TRL keeps ``reward_weights`` as a float32 tensor and ``rewards_per_func`` as float32; it always uses the unbiased std
and adds ``1e-4``. So the mowsim counterparts are ``rc`` and ``gdpo`` with ``ddof=1, eps=1e-4`` on
``rewards_per_func.reshape(B, G, K)``, with the float32 weights' exact values; ``scale_rewards`` is mowsim's
``normalization`` ("group", "batch", "none": Lite PPO's batch std, Dr. GRPO's none).

A finding pinned here: ``nanstd``'s Bessel factor ``count / (count - 1)`` divides two int64 tensors, which PyTorch
does in its default dtype, float32. TRL's std is therefore off by up to ~1e-8 relative even on float64 input
(e.g. 4/3 rounds to 1.3333333730697632). The comparisons are (a) TRL verbatim at float32 precision and (b) the same
code with only that factor taken in float64, at 1e-12.

One deliberate difference is tested apart: with ``normalize_then_sum`` TRL lets a group with exactly one scorable
rollout into the batch statistics (its per-objective std is NaN and ``nansum`` makes the row 0; the batch mean stays
0, but the extra count shrinks the batch std and so scales every other advantage); mowsim gives that group 0 and
leaves it out, as every mowsim scheme does.

A second, precision-only difference: on float32 input TRL's RC can give a constant group advantages of order 1e-3,
not 0, because the float32 mean of identical values can be off by an ulp and ``1e-4`` does not damp a float32 ulp.
"""

from __future__ import annotations

import numpy as np
import pytest

import mowsim

torch = pytest.importorskip("torch", reason="TRL equivalence needs torch, the dev extra: pip install -e .[dev]")

EPS_TRL = 1e-4
SHAPES = [(4, 4, 2), (8, 6, 3), (3, 16, 4), (16, 8, 1), (2, 5, 5), (5, 3, 2), (5, 1, 2)]  # (B, G, K)
AGGREGATIONS = {"sum_then_normalize": "rc", "normalize_then_sum": "gdpo"}


# ---------------------------------------------------------------- TRL 1.16.0, transcribed


def trl_nanstd(tensor, dim=None, keepdim=False):
    """``trl.trainer.utils.nanstd`` (TRL 1.16.0), verbatim."""
    # Compute variance ignoring NaNs
    mean = torch.nanmean(tensor, dim=dim, keepdim=True)
    variance = torch.nanmean((tensor - mean) ** 2, dim=dim, keepdim=True)
    count = torch.sum(~torch.isnan(tensor), dim=dim, keepdim=True)  # count of non-NaN values
    correction = count / (count - 1)
    correction = torch.where(count > 1, correction, torch.full_like(correction, float("nan")))
    variance *= correction  # Bessel's correction
    std = torch.sqrt(variance)
    if keepdim:
        return std
    if dim is None:
        return std.squeeze()
    if isinstance(dim, int):
        return std.squeeze(dim)
    dims = [(d if d >= 0 else d + std.ndim) for d in dim]
    for d in sorted(dims, reverse=True):
        std = std.squeeze(d)
    return std


def nanstd_float64_correction(tensor, dim=None, keepdim=False):
    """:func:`trl_nanstd` with the one change: the Bessel factor computed in float64 instead of float32."""
    mean = torch.nanmean(tensor, dim=dim, keepdim=True)
    variance = torch.nanmean((tensor - mean) ** 2, dim=dim, keepdim=True)
    count = torch.sum(~torch.isnan(tensor), dim=dim, keepdim=True)
    correction = count.to(torch.float64) / (count - 1)  # the only change
    correction = torch.where(count > 1, correction, torch.full_like(correction, float("nan")))
    variance *= correction
    std = torch.sqrt(variance)
    if keepdim:
        return std
    if dim is None:
        return std.squeeze()
    return std.squeeze(dim)


def trl_advantages(rewards_per_func, reward_weights, num_generations, multi_objective_aggregation,
                   nanstd=trl_nanstd, scale_rewards="group"):
    """``GRPOTrainer._generate_and_score_completions``'s advantage block (TRL 1.16.0).

    ``rewards_per_func`` has shape (B*G, K); returns the advantages of shape (B*G,).
    """
    device = rewards_per_func.device
    reward_funcs = range(rewards_per_func.shape[1])

    unscorable_mask = torch.isnan(rewards_per_func).all(dim=1)

    if multi_objective_aggregation == "sum_then_normalize":
        # Apply weights to each reward function's output and sum
        rewards = (rewards_per_func * reward_weights.to(device).unsqueeze(0)).nansum(dim=1)
        rewards[unscorable_mask] = torch.nan
        mean_grouped_rewards = torch.nanmean(rewards.view(-1, num_generations), dim=1)
        mean_grouped_rewards = mean_grouped_rewards.repeat_interleave(num_generations, dim=0)
        if scale_rewards in ["group", "none"]:
            # If self.scale_rewards = "none", we'll only use std_rewards to check for zero std for logging
            if num_generations > 1:
                std_rewards = nanstd(rewards.view(-1, num_generations), dim=1)
                std_rewards = std_rewards.repeat_interleave(num_generations, dim=0)
            else:  # doesn't occur during training, but could occur in eval when num_generations_eval=1
                std_rewards = torch.zeros_like(rewards)
        elif scale_rewards == "batch":
            # Compute global std
            if rewards.numel() > 1:
                std_rewards = nanstd(rewards).expand_as(rewards)
            else:  # doesn't occur during training, but could occur in eval when num_generations_eval=batch_size=1
                std_rewards = torch.zeros_like(rewards)
        else:
            raise ValueError(
                f"Invalid value for scale_rewards: {scale_rewards}. Must be one of 'batch', 'group', or 'none'."
            )

        advantages = rewards - mean_grouped_rewards
        if scale_rewards != "none":
            advantages = advantages / (std_rewards + 1e-4)

    elif multi_objective_aggregation == "normalize_then_sum":
        grouped = rewards_per_func.view(-1, num_generations, len(reward_funcs))
        mean_k = torch.nanmean(grouped, dim=1, keepdim=True)
        std_k = nanstd(grouped, dim=1, keepdim=True) if num_generations > 1 else torch.zeros_like(mean_k)
        reward_k = (grouped - mean_k) / (std_k + 1e-4)
        reward_k = reward_k.view(-1, len(reward_funcs))
        rewards = (reward_k * reward_weights.to(device).unsqueeze(0)).nansum(dim=1)
        rewards[unscorable_mask] = torch.nan
        std_rewards = nanstd(rewards).expand_as(rewards) if rewards.numel() > 1 else torch.zeros_like(rewards)
        advantages = (rewards - torch.nanmean(rewards)) / (std_rewards + 1e-4)

    else:
        raise ValueError(f"Invalid multi_objective_aggregation: {multi_objective_aggregation}.")

    advantages = torch.nan_to_num(advantages, nan=0.0)
    return advantages


# ---------------------------------------------------------------- inputs


def trl_batch(shape, seed, *, single_scorable_groups):
    """(rewards (B, G, K) float64, float32 weight tensor, the same weights as float64) with NaN entries, unscorable
    rollouts, a group with no scorable rollout and, where B allows, exactly constant groups."""
    rng = np.random.default_rng(seed)
    n_groups, n_rollouts, n_objectives = shape
    rewards = rng.normal(size=shape)
    rewards[rng.random(shape) < 0.1] = np.nan
    rewards[rng.random(shape[:2]) < 0.1] = np.nan
    if n_groups >= 4:
        rewards[1] = np.nan  # no scorable rollout
        rewards[2] = 1.0  # exactly constant (its mean is exact, so TRL's deviations are exactly 0 too)
        rewards[3, :, :] = np.linspace(-1.0, 1.0, n_objectives) * 0.5  # identical rollouts
    scorable = ~np.all(np.isnan(rewards), axis=2)
    lone = scorable.sum(axis=1) == 1
    if not single_scorable_groups:
        rewards[lone] = np.nan  # the documented GDPO difference is tested on its own below
    weights32 = torch.tensor(rng.uniform(0.1, 1.0, size=n_objectives), dtype=torch.float32)
    return rewards, weights32, weights32.double().numpy()


def run_trl(rewards, weights32, aggregation, *, dtype=torch.float64, nanstd=trl_nanstd, scale_rewards="group"):
    n_groups, n_rollouts, n_objectives = rewards.shape
    rewards_per_func = torch.tensor(rewards.reshape(-1, n_objectives), dtype=dtype)
    out = trl_advantages(rewards_per_func, weights32, n_rollouts, aggregation, nanstd=nanstd,
                         scale_rewards=scale_rewards)
    return out.double().numpy().reshape(n_groups, n_rollouts)


def run_mowsim(rewards, weights, aggregation, normalization="group"):
    return mowsim.advantages(rewards, AGGREGATIONS[aggregation], weights, ddof=1, eps=EPS_TRL,
                             normalization=normalization)


# ---------------------------------------------------------------- the comparisons


def test_trl_bessel_factor_is_float32():
    count = torch.tensor([4])
    assert (count / (count - 1)).dtype == torch.float32
    assert (count / (count - 1)).item() == float(np.float32(4 / 3)) == 1.3333333730697632 != 4 / 3


@pytest.mark.parametrize("aggregation", sorted(AGGREGATIONS))
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("seed", [0, 1])
def test_matches_trl_with_float64_bessel_factor(aggregation, shape, seed):
    """(b): the TRL code with only its Bessel factor in float64 agrees with mowsim to rounding."""
    rewards, weights32, weights = trl_batch(shape, seed, single_scorable_groups=aggregation == "sum_then_normalize")
    expected = run_trl(rewards, weights32, aggregation, nanstd=nanstd_float64_correction)
    np.testing.assert_allclose(run_mowsim(rewards, weights, aggregation), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("aggregation", sorted(AGGREGATIONS))
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("seed", [0, 1])
def test_matches_trl_verbatim(aggregation, shape, seed):
    """(a): TRL verbatim, on float64 input (float32-rounded Bessel factor) and on float32 input (TRL's own dtype)."""
    rewards, weights32, weights = trl_batch(shape, seed, single_scorable_groups=aggregation == "sum_then_normalize")
    ours = run_mowsim(rewards, weights, aggregation)
    np.testing.assert_allclose(ours, run_trl(rewards, weights32, aggregation), rtol=1e-6, atol=1e-6)

    rewards32 = rewards.astype(np.float32).astype(np.float64)
    trl32 = run_trl(rewards32, weights32, aggregation, dtype=torch.float32)
    varying = ~np.array([np.nanmax(group) == np.nanmin(group) if not np.all(np.isnan(group)) else True
                         for group in rewards32])  # constant groups: see test_trl_float32_constant_group
    np.testing.assert_allclose(run_mowsim(rewards32, weights, aggregation)[varying], trl32[varying],
                               rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("aggregation", sorted(AGGREGATIONS))
def test_trl_verbatim_differs_from_exact_arithmetic_by_float32_rounding(aggregation):
    """The float32 Bessel factor is visible: more than 1e-10 but less than 1e-6 relative, for G = 4 (4/3 inexact)."""
    rewards, weights32, _ = trl_batch((8, 4, 3), 5, single_scorable_groups=False)
    verbatim = run_trl(rewards, weights32, aggregation)
    exact = run_trl(rewards, weights32, aggregation, nanstd=nanstd_float64_correction)
    relative = np.max(np.abs(verbatim - exact)) / np.max(np.abs(exact))
    assert 1e-10 < relative < 1e-6


@pytest.mark.parametrize("aggregation", sorted(AGGREGATIONS))
def test_exactly_constant_groups_give_zero_in_both(aggregation):
    """A constant group: TRL computes 0 / (0 + 1e-4) = 0 when the group mean is exact; mowsim gives exact 0s."""
    rewards = np.array([[[1.0, 0.0], [1.0, 0.0], [1.0, 0.0]], [[0.5, 2.0], [0.5, 2.0], [0.5, 2.0]]])
    weights32 = torch.tensor([0.25, 0.75], dtype=torch.float32)
    ours = run_mowsim(rewards, weights32.double().numpy(), aggregation)
    assert np.array_equal(ours, np.zeros((2, 3)))
    assert np.array_equal(run_trl(rewards, weights32, aggregation, nanstd=nanstd_float64_correction), ours)


def test_constant_group_with_inexact_mean():
    """r = 0.1 three times: the mean is 0.10000000000000002, so TRL's RC advantages are -1.4e-17 / (1e-17 + 1e-4),
    i.e. about 1e-13 rather than 0; mowsim's zero-spread rule makes them exactly 0. Both agree at atol 1e-12."""
    rewards = np.full((1, 3, 1), 0.1)
    trl = run_trl(rewards, torch.ones(1), "sum_then_normalize", nanstd=nanstd_float64_correction)
    assert 0 < np.max(np.abs(trl)) < 1e-12
    assert np.array_equal(run_mowsim(rewards, np.ones(1), "sum_then_normalize"), np.zeros((1, 3)))


def test_trl_float32_constant_group():
    """TRL on float32 input, RC, a group of 6 identical rollouts: s is the same float32 number six times, its float32
    mean can be an ulp (~6e-8 |s|) away, and that residue over (residue-sized std + 1e-4) is an advantage of order
    1e-4 to 1e-3 (here s = 0.3 + 0.3 in float32, and 6e-4). mowsim gives exact 0s."""
    rewards = np.array([[[1.0, 1.0]] * 6, [[0.2, 0.1], [0.5, 0.9], [0.4, 0.4], [0.0, 1.0], [1.0, 0.0], [0.3, 0.3]]])
    weights32 = torch.tensor([0.3, 0.3], dtype=torch.float32)
    rewards32 = rewards.astype(np.float32).astype(np.float64)
    trl32 = run_trl(rewards32, weights32, "sum_then_normalize", dtype=torch.float32)
    ours = run_mowsim(rewards32, weights32.double().numpy(), "sum_then_normalize")
    assert np.array_equal(ours[0], np.zeros(6))
    assert 1e-5 < np.max(np.abs(trl32[0])) < 1e-2
    np.testing.assert_allclose(ours[1], trl32[1], rtol=1e-4, atol=1e-4)


def test_gdpo_single_scorable_rollout_is_a_documented_difference():
    """normalize_then_sum with a group that has exactly one scorable rollout.

    TRL: the lone row's per-objective std is NaN (count 1), ``nansum`` turns its NaN z-scores into 0, and the row is
    not "unscorable", so a 0 enters the batch statistics. Every group's AC values sum to 0, so the batch mean stays 0
    and the lone row's advantage is 0 up to rounding, but the batch std is taken over one more value: every other
    advantage is scaled by (std_mowsim + 1e-4) / (std_TRL + 1e-4). mowsim gives the group 0 and leaves it out of the
    batch statistics, so the other groups match TRL run without that row.
    """
    rewards, weights32, weights = trl_batch((6, 4, 2), 11, single_scorable_groups=False)
    lone_group, lone_row = 4, 2
    rewards[lone_group] = np.nan
    rewards[lone_group, lone_row] = [0.3, -1.2]

    trl = run_trl(rewards, weights32, "normalize_then_sum", nanstd=nanstd_float64_correction)
    ours = run_mowsim(rewards, weights, "normalize_then_sum")
    assert abs(trl[lone_group, lone_row]) < 1e-12
    assert np.all(ours[lone_group] == 0.0)

    without = rewards.copy()
    without[lone_group, lone_row] = np.nan
    trl_without = run_trl(without, weights32, "normalize_then_sum", nanstd=nanstd_float64_correction)
    np.testing.assert_allclose(ours, trl_without, rtol=1e-12, atol=1e-12)
    moved = np.abs(ours) > 1e-6  # (constant groups hold rounding residue of the batch mean, ~1e-16)
    ratio = trl[moved] / ours[moved]
    np.testing.assert_allclose(ratio, ratio[0], rtol=1e-12)  # one common factor ...
    assert ratio[0] > 1.0 + 1e-6  # ... above 1: TRL's extra 0 shrank its batch std

    # RC (sum_then_normalize) has no such difference: the lone rollout's group std is NaN and nan_to_num gives 0.
    trl_rc = run_trl(rewards, weights32, "sum_then_normalize", nanstd=nanstd_float64_correction)
    np.testing.assert_allclose(run_mowsim(rewards, weights, "sum_then_normalize"), trl_rc, rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------- scale_rewards: "batch" (Lite PPO), "none" (Dr. GRPO)


@pytest.mark.parametrize("scale_rewards", ["batch", "none"])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("seed", [0, 1])
def test_scale_rewards_matches_normalization(scale_rewards, shape, seed):
    """RC with ``normalization=scale_rewards`` is TRL's ``sum_then_normalize`` with that ``scale_rewards``: to
    rounding with the float64 Bessel factor, and to float32 precision verbatim. The batches have no group with
    exactly one scorable rollout (see the next test for why that matters to "batch" only)."""
    rewards, weights32, weights = trl_batch(shape, seed, single_scorable_groups=False)
    ours = run_mowsim(rewards, weights, "sum_then_normalize", normalization=scale_rewards)
    exact = run_trl(rewards, weights32, "sum_then_normalize", nanstd=nanstd_float64_correction,
                    scale_rewards=scale_rewards)
    np.testing.assert_allclose(ours, exact, rtol=1e-12, atol=1e-12)
    verbatim = run_trl(rewards, weights32, "sum_then_normalize", scale_rewards=scale_rewards)
    np.testing.assert_allclose(ours, verbatim, rtol=1e-6, atol=1e-6)


def test_scale_rewards_with_single_scorable_groups():
    """A group with exactly one scorable rollout: its advantage is 0 in TRL and mowsim alike. With "none" nothing
    else depends on it (equal everywhere). With "batch" TRL's ``nanstd(rewards)`` counts that rollout's weighted sum
    in the batch std and mowsim does not (it pools the scorable rollouts of groups with >= 2 of them, as GDPO's
    batch statistics do), so every other advantage differs by one common factor; without that rollout they agree."""
    rewards, weights32, weights = trl_batch((6, 4, 2), 11, single_scorable_groups=False)
    lone_group, lone_row = 4, 2
    rewards[lone_group] = np.nan
    rewards[lone_group, lone_row] = [3.0, -1.2]

    none = run_trl(rewards, weights32, "sum_then_normalize", nanstd=nanstd_float64_correction, scale_rewards="none")
    np.testing.assert_allclose(run_mowsim(rewards, weights, "sum_then_normalize", normalization="none"), none,
                               rtol=1e-12, atol=1e-12)

    trl = run_trl(rewards, weights32, "sum_then_normalize", nanstd=nanstd_float64_correction, scale_rewards="batch")
    ours = run_mowsim(rewards, weights, "sum_then_normalize", normalization="batch")
    assert trl[lone_group, lone_row] == 0.0 and np.all(ours[lone_group] == 0.0)
    without = rewards.copy()
    without[lone_group, lone_row] = np.nan
    trl_without = run_trl(without, weights32, "sum_then_normalize", nanstd=nanstd_float64_correction,
                          scale_rewards="batch")
    np.testing.assert_allclose(ours, trl_without, rtol=1e-12, atol=1e-12)
    moved = np.abs(ours) > 1e-6
    ratio = trl[moved] / ours[moved]
    np.testing.assert_allclose(ratio, ratio[0], rtol=1e-12)
    assert abs(ratio[0] - 1.0) > 1e-6
