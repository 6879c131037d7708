"""The TRL plug-in: the advantages the GRPO loss reads are mowsim's, and RC / GDPO reproduce TRL's own aggregations.

The rewards are fixed arrays served by stub reward functions (they ignore the generated text), so TRL's trainer and
mowsim's see identical ``rewards_per_func`` whatever a tiny untrained model generates. TRL keeps rewards and its
statistics in float32 (its ``nanstd`` even takes the Bessel factor in float32, see test_trl_equivalence.py), so the
comparisons with TRL are at float32 precision; the comparison with :func:`mowsim.advantages` is exact.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # before transformers reads it; nothing here may download
pytest.importorskip("trl", reason="the TRL plug-in needs the llm extra: pip install -e .[llm]")

import torch  # noqa: E402
from datasets import Dataset  # noqa: E402
from trl import GRPOConfig, GRPOTrainer  # noqa: E402

import mowsim  # noqa: E402
from mowsim.llm import model as llm_model  # noqa: E402
from mowsim.llm.trl import MultiObjectiveGRPOTrainer, multi_objective_advantages  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:.*gradient_checkpointing.*:FutureWarning")

N_PROMPTS, G, K = 4, 4, 3
WEIGHTS = [0.5, 0.3, 0.2]


@pytest.fixture(scope="module")
def tiny():
    tokenizer = llm_model.build_char_tokenizer()
    return tokenizer, llm_model.build_char_model(tokenizer, n_layer=1, n_embd=32, n_head=2, n_positions=48, seed=0)


def fixed_rewards(seed: int = 0) -> np.ndarray:
    """(N_PROMPTS*G, K) float32-representable rewards with NaN entries and one all-NaN (unscorable) row."""
    rng = np.random.default_rng(seed)
    rewards = rng.integers(0, 2, size=(N_PROMPTS * G, K)).astype(np.float64)
    rewards[:, 2] = rng.normal(size=N_PROMPTS * G).astype(np.float32)
    rewards[3, 1] = np.nan
    rewards[6, :] = np.nan  # unscorable: every function returned None
    return rewards


def stub_functions(rewards: np.ndarray) -> list:
    """K reward functions that return column k of ``rewards`` (None for NaN), whatever the completions."""

    def make(k):
        def reward(prompts, completions, **kwargs):
            assert len(completions) == rewards.shape[0]
            return [None if np.isnan(v) else float(v) for v in rewards[:, k]]

        reward.__name__ = f"objective{k}"
        return reward

    return [make(k) for k in range(rewards.shape[1])]


def grpo_args(tmp_path, **overrides) -> GRPOConfig:
    settings = dict(output_dir=str(tmp_path), per_device_train_batch_size=N_PROMPTS * G, num_generations=G,
                    max_completion_length=6, max_steps=1, learning_rate=1e-3, beta=0.0, reward_weights=WEIGHTS,
                    logging_steps=1, save_strategy="no", report_to=[], use_cpu=True, bf16=False, seed=0,
                    disable_tqdm=True)
    settings.update(overrides)
    return GRPOConfig(**settings)


def dataset() -> Dataset:
    questions = [f"{10 + i}+{20 + i}=" for i in range(N_PROMPTS)]
    return Dataset.from_dict({"prompt": [[{"role": "user", "content": q}] for q in questions]})


def generation_inputs() -> list[dict]:
    """What TRL's sampler hands ``_generate_and_score_completions``: each prompt repeated G times, contiguously."""
    rows = dataset().to_list()
    return [row for row in rows for _ in range(G)]


def weights32() -> np.ndarray:
    return torch.tensor(WEIGHTS, dtype=torch.float32).double().numpy()


def expected(rewards, scheme, **kwargs) -> np.ndarray:
    out = mowsim.advantages(rewards.reshape(N_PROMPTS, G, K), scheme, weights32(), **kwargs).reshape(-1)
    out[np.all(np.isnan(rewards), axis=1)] = 0.0
    return out


@pytest.mark.parametrize("scheme", ["dvao", "rc", "gdpo", "saw-gdpo", "ac", "vpo", "random-weight",
                                    mowsim.schemes.get("gated", gates=(0,), thresholds=0.5)])
def test_output_advantages_are_mowsims(tiny, tmp_path, scheme):
    tokenizer, model = tiny
    rewards = fixed_rewards()
    trainer = MultiObjectiveGRPOTrainer(model=model, reward_funcs=stub_functions(rewards), args=grpo_args(tmp_path),
                                        train_dataset=dataset(), processing_class=tokenizer, scheme=scheme)
    trainer.model.train()
    output = trainer._generate_and_score_completions(generation_inputs())
    want = expected(rewards, scheme, ddof=1, eps=1e-4).astype(np.float32)
    np.testing.assert_array_equal(output["advantages"].numpy(), want)
    assert output["advantages"][6].item() == 0.0  # the unscorable row
    logged = trainer._metrics["train"]
    assert logged["mowsim/adv_max_abs"][-1] == pytest.approx(np.abs(want).max(), rel=1e-6)
    shares = [logged[f"mowsim/weight/objective{k}"][-1] for k in range(K)]
    assert sum(shares) == pytest.approx(1.0)


def test_loss_reads_mowsims_advantages(tiny, tmp_path):
    """A one-step training run: the advantages that reach the loss are mowsim.advantages of the gathered rewards."""
    tokenizer, model = tiny
    rewards = fixed_rewards(seed=1)
    seen = {}

    class Recording(MultiObjectiveGRPOTrainer):
        def _generate_and_score_completions(self, inputs):
            output = super()._generate_and_score_completions(inputs)
            output["row"] = torch.arange(len(inputs))  # TRL shuffles the rows before the loss; this tracks them
            return output

        def _compute_loss(self, model, inputs):
            seen["advantages"] = inputs["advantages"].detach().clone()
            seen["row"] = inputs["row"].clone()
            return super()._compute_loss(model, inputs)

    trainer = Recording(model=model, reward_funcs=stub_functions(rewards), args=grpo_args(tmp_path),
                        train_dataset=dataset(), processing_class=tokenizer, scheme="dvao", ddof=0, eps=0.0)
    trainer.train()
    want = expected(rewards, "dvao", ddof=0, eps=0.0).astype(np.float32)
    assert sorted(seen["row"].tolist()) == list(range(N_PROMPTS * G))
    np.testing.assert_array_equal(seen["advantages"].numpy(), want[seen["row"].numpy()])
    assert trainer.mowsim_seconds > 0


@pytest.mark.parametrize("aggregation, scheme, scale_rewards", [
    ("sum_then_normalize", "rc", "group"), ("sum_then_normalize", "rc", True), ("sum_then_normalize", "rc", "batch"),
    ("sum_then_normalize", "rc", "none"), ("sum_then_normalize", "rc", False), ("normalize_then_sum", "gdpo", "group"),
])
def test_rc_and_gdpo_match_trls_own_aggregations(tiny, tmp_path, aggregation, scheme, scale_rewards):
    """The same ``args.scale_rewards`` in both trainers: mowsim honours it (every group of these rewards has >= 2
    scorable completions, so TRL's batch std and mowsim's pool the same completions)."""
    tokenizer, model = tiny
    rewards = fixed_rewards(seed=2)
    funcs = stub_functions(rewards)
    reference = GRPOTrainer(model=model, reward_funcs=funcs, train_dataset=dataset(), processing_class=tokenizer,
                            args=grpo_args(tmp_path / "trl", multi_objective_aggregation=aggregation,
                                           scale_rewards=scale_rewards))
    ours = MultiObjectiveGRPOTrainer(model=model, reward_funcs=funcs,
                                     args=grpo_args(tmp_path / "mowsim", scale_rewards=scale_rewards),
                                     train_dataset=dataset(), processing_class=tokenizer, scheme=scheme, ddof=1,
                                     eps=1e-4)
    assert ours.normalization == {"group": "group", True: "group", "batch": "batch", "none": "none",
                                  False: "none"}[scale_rewards]
    reference.model.train()
    trl_advantages = reference._generate_and_score_completions(generation_inputs())["advantages"].numpy()
    mowsim_advantages = ours._generate_and_score_completions(generation_inputs())["advantages"].numpy()
    np.testing.assert_allclose(mowsim_advantages, trl_advantages, rtol=1e-5, atol=1e-5)
    assert np.abs(trl_advantages).max() > 0.3  # a real comparison, not of zeros (none: in reward units)
    want = expected(rewards, scheme, ddof=1, eps=1e-4, normalization=ours.normalization).astype(np.float32)
    np.testing.assert_array_equal(mowsim_advantages, want)


def test_scale_rewards_of_a_scheme_without_normalization_is_an_error(tiny, tmp_path):
    tokenizer, model = tiny
    with pytest.raises(ValueError, match="scale_rewards='group'"):
        MultiObjectiveGRPOTrainer(model=model, reward_funcs=stub_functions(fixed_rewards()), train_dataset=dataset(),
                                  args=grpo_args(tmp_path, scale_rewards="batch"), processing_class=tokenizer,
                                  scheme="vpo")


def test_flat_helper_groups_like_trl():
    rewards = fixed_rewards(seed=3)
    advantages, effective = multi_objective_advantages(rewards, G, "dvao", weights32(), ddof=1, eps=1e-4)
    np.testing.assert_array_equal(advantages, expected(rewards, "dvao", ddof=1, eps=1e-4))
    for normalization in ("batch", "none"):
        advantages, _ = multi_objective_advantages(rewards, G, "dvao", weights32(), ddof=1, eps=1e-4,
                                                   normalization=normalization)
        np.testing.assert_array_equal(advantages, expected(rewards, "dvao", ddof=1, eps=1e-4,
                                                           normalization=normalization))
    assert effective.shape == (N_PROMPTS, K)
    with pytest.raises(ValueError, match="multiple of num_generations"):
        multi_objective_advantages(rewards[:-1], G, "dvao")


def test_stateful_rewards_feedback_updates_state(tiny, tmp_path):
    tokenizer, model = tiny
    rewards = fixed_rewards(seed=4)
    trainer = MultiObjectiveGRPOTrainer(model=model, reward_funcs=stub_functions(rewards), args=grpo_args(tmp_path),
                                        train_dataset=dataset(), processing_class=tokenizer, scheme="dvao-ema")
    trainer.model.train()
    trainer._generate_and_score_completions(generation_inputs())
    assert trainer.scheme.state is not None
    assert np.any(trainer.scheme.pooled_variance() > 0)


def test_gram_feedback_uses_per_objective_gradients(tiny, tmp_path):
    tokenizer, model = tiny
    rewards = fixed_rewards(seed=5)
    trainer = MultiObjectiveGRPOTrainer(model=model, reward_funcs=stub_functions(rewards), args=grpo_args(tmp_path),
                                        train_dataset=dataset(), processing_class=tokenizer,
                                        scheme=mowsim.schemes.get("gradient", mu=1e-3),
                                        gram_parameters=["lm_head", "wte"])
    trainer.model.train()
    initial = trainer.scheme.reset(K, weights32()).current_weights()
    output = trainer._generate_and_score_completions(generation_inputs())
    assert trainer.mowsim_gram_seconds > 0
    assert not np.allclose(trainer.scheme.current_weights(), initial)  # the gradients moved the weights
    assert torch.isfinite(output["advantages"]).all()


def test_performance_feedback_is_required(tiny, tmp_path):
    tokenizer, model = tiny
    with pytest.raises(ValueError, match="performance_fn"):
        MultiObjectiveGRPOTrainer(model=model, reward_funcs=stub_functions(fixed_rewards()), args=grpo_args(tmp_path),
                                  train_dataset=dataset(), processing_class=tokenizer, scheme="hv-guided")


def test_unknown_scheme_and_negative_weights_are_errors(tiny, tmp_path):
    tokenizer, model = tiny
    funcs = stub_functions(fixed_rewards())
    with pytest.raises(ValueError, match="unknown scheme"):
        MultiObjectiveGRPOTrainer(model=model, reward_funcs=funcs, args=grpo_args(tmp_path), train_dataset=dataset(),
                                  processing_class=tokenizer, scheme="nope")
    with pytest.raises(ValueError, match="non-negative"):
        MultiObjectiveGRPOTrainer(model=model, reward_funcs=funcs, args=grpo_args(tmp_path, reward_weights=[1, -1, 1]),
                                  train_dataset=dataset(), processing_class=tokenizer, scheme="dvao")
