"""The real-LLM check: GRPO with each scheme, through the TRL plug-in, from one warm start (``mowsim llm``).

One run per (seed, scheme): the policy starts from the same warm start (a tiny char-level GPT-2 fine-tuned on
:class:`~mowsim.llm.tasks.AdditionTask`, cached; or any local model given by path), trains ``steps`` GRPO steps
with :class:`~mowsim.llm.trl.MultiObjectiveGRPOTrainer`, and is evaluated by greedy decoding on held-out problems
before and after. Outputs in ``out``:

* ``summary.csv``: scheme, seed, accuracy / format / length / compliance before and after, wall-clock seconds, step
  seconds, seconds in :func:`mowsim.advantages`, and the scheme's overhead share (that time over the training time);
* ``curves.csv`` and ``curves.{png,pdf}``: per-step mean rewards and advantage diagnostics from TRL's logs;
* ``plane.{png,pdf}``: each scheme on the accuracy-compliance plane, an arrow from the warm start to the trained
  policy (mean over seeds).
"""

from __future__ import annotations

import dataclasses
import json
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from mowsim.llm import require

require()

import torch  # noqa: E402
import transformers  # noqa: E402
from datasets import Dataset  # noqa: E402
from transformers.trainer_callback import PrinterCallback  # noqa: E402
from trl import GRPOConfig  # noqa: E402

from mowsim import plotting  # noqa: E402
from mowsim.llm import model as llm_model  # noqa: E402
from mowsim.llm.tasks import OBJECTIVES, AdditionTask  # noqa: E402
from mowsim.llm.trl import MultiObjectiveGRPOTrainer  # noqa: E402
from mowsim.schemes import get as get_scheme  # noqa: E402

__all__ = ["HarnessConfig", "run", "QUICK", "FULL"]

DEFAULT_SCHEMES = ("rc", "ac", "gdpo", "dvao", "saw-gdpo")
METRICS = ("accuracy", "format", "length", "compliance")


@dataclasses.dataclass(frozen=True)
class HarnessConfig:
    """What ``mowsim llm`` runs. ``model=None`` builds (or reuses) the char-model warm start."""

    out: Path = Path("results/llm")
    schemes: tuple = DEFAULT_SCHEMES
    steps: int = 200
    seeds: int = 3
    device: str = "cpu"
    model: str | None = None
    cache_dir: Path | None = None
    prompts_per_step: int = 8
    num_generations: int = 8
    learning_rate: float = 2e-4
    max_completion_length: int = 24
    temperature: float = 0.7
    n_eval: int = 300
    ddof: int = 1
    eps: float = 1e-4
    threads: int = 1
    """Torch CPU threads. One is the default: on a shared two-core machine two threads oversubscribe the cores and
    were measured 10-20x slower per step."""
    task: AdditionTask = AdditionTask()
    warm_start: llm_model.WarmStartConfig = llm_model.WarmStartConfig()

    def __post_init__(self):
        for scheme in self.schemes:
            get_scheme(scheme)
        for name in ("steps", "seeds", "prompts_per_step", "num_generations", "n_eval", "max_completion_length",
                     "threads"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int; got {value!r}.")
        if self.num_generations < 2:
            raise ValueError(f"num_generations must be >= 2 (a group needs two rollouts); got {self.num_generations}.")
        if self.device not in ("cpu", "cuda"):
            raise ValueError(f"device must be 'cpu' or 'cuda'; got {self.device!r}.")
        if self.device == "cuda" and not torch.cuda.is_available():
            raise ValueError("device='cuda' but torch sees no CUDA device; use --device cpu.")


QUICK = dict(steps=100, seeds=1, n_eval=200)
"""``--quick``: one seed, 100 steps, 200 held-out problems (about 5 minutes on two shared CPU cores)."""
FULL = dict(steps=200, seeds=3, n_eval=300)


def run(config: HarnessConfig, *, log=print) -> pd.DataFrame:
    """Train and evaluate every (seed, scheme); write the outputs to ``config.out``; return the summary frame."""
    with warnings.catch_warnings():
        # transformers 5 deprecates the gradient_checkpointing names that TRL 1.16 still calls, once per run
        warnings.filterwarnings("ignore", message=".*gradient_checkpointing.*", category=FutureWarning)
        return _run(config, log)


def _run(config: HarnessConfig, log) -> pd.DataFrame:
    if config.device == "cpu":
        torch.set_num_threads(config.threads)
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    task = dataclasses.replace(config.task, instruction=config.model is not None)
    if config.model is None:
        model_path = llm_model.warm_start(dataclasses.replace(config.warm_start, task=task),
                                          config.cache_dir or out / "cache", device=config.device, log=log)
    else:
        model_path = Path(config.model)
    held_out = task.held_out(config.n_eval)
    model, tokenizer = llm_model.load_model(model_path, device=config.device)
    before = llm_model.evaluate(model, tokenizer, task, held_out, max_new_tokens=config.max_completion_length,
                                device=config.device)
    log(f"warm start on {len(held_out)} held-out problems: " + _describe(before))
    del model

    _compile_schemes(config)
    rows, curves = [], []
    for seed in range(config.seeds):
        dataset = _dataset(task, tokenizer, config, seed)
        for scheme in config.schemes:
            row, curve = _train_one(config, task, model_path, dataset, held_out, scheme, seed, out, log)
            rows.append({"scheme": scheme, "seed": seed, **{f"{m}_before": before[m] for m in METRICS}, **row})
            curves.append(curve)
    summary = pd.DataFrame(rows)
    summary.to_csv(out / "summary.csv", index=False)
    curve_frame = pd.concat(curves, ignore_index=True) if curves else pd.DataFrame()
    curve_frame.to_csv(out / "curves.csv", index=False)
    _plot_curves(curve_frame, out / "curves")
    _plot_plane(summary, out / "plane")
    total = time.perf_counter() - started
    (out / "run.json").write_text(json.dumps({"config": dataclasses.asdict(config), "model": str(model_path),
                                              "total_seconds": total}, indent=2, default=str))
    log(f"wrote {out / 'summary.csv'}, curves and figures in {total:.0f} s")
    return summary


def _compile_schemes(config: HarnessConfig) -> None:
    """Run each scheme once on a dummy batch of the training shape, so that Numba's one-time compilation (or cache
    load) is not charged to the first run's scheme overhead."""
    dummy = np.random.default_rng(0).random((config.prompts_per_step, config.num_generations, len(OBJECTIVES)))
    for scheme in config.schemes:
        get_scheme(scheme).compute(dummy, ddof=config.ddof, eps=config.eps)


def _describe(metrics: dict) -> str:
    return ", ".join(f"{m} {metrics[m]:.3f}" for m in METRICS)


def _dataset(task: AdditionTask, tokenizer, config: HarnessConfig, seed: int) -> Dataset:
    problems = task.sample(config.steps * config.prompts_per_step, "train", np.random.default_rng([seed, 1]))
    if tokenizer.chat_template:
        prompts = [[{"role": "user", "content": p["question"]}] for p in problems]
    else:
        prompts = [p["question"] for p in problems]
    return Dataset.from_dict({"prompt": prompts, "answer": [p["answer"] for p in problems]})


def _train_one(config, task, model_path, dataset, held_out, scheme, seed, out, log, *, reward_funcs=None,
               callbacks=()):
    """One GRPO run from the warm start; ``reward_funcs`` (default: the task's three) get equal weights."""
    reward_funcs = list(task.reward_functions() if reward_funcs is None else reward_funcs)
    model, tokenizer = llm_model.load_model(model_path, device=config.device)
    args = GRPOConfig(
        output_dir=str(out / "runs" / f"{scheme}-seed{seed}"),
        per_device_train_batch_size=config.prompts_per_step * config.num_generations,
        num_generations=config.num_generations,
        max_completion_length=config.max_completion_length,
        temperature=config.temperature,
        learning_rate=config.learning_rate,
        lr_scheduler_type="constant",
        max_steps=config.steps,
        beta=0.0,
        reward_weights=[1.0 / len(reward_funcs)] * len(reward_funcs),
        logging_steps=1,
        save_strategy="no",
        report_to=[],
        seed=seed,
        data_seed=seed,
        use_cpu=config.device == "cpu",
        bf16=False,
        fp16=False,
        disable_tqdm=True,
        dataloader_num_workers=0,
    )
    extra = {}
    scheme_obj = get_scheme(scheme)
    if "performance" in getattr(scheme_obj, "feedback", ()):
        validation = task.sample(64, "train", np.random.default_rng([seed, 2]))
        extra["performance_fn"] = lambda trainer: _performance(trainer.model, tokenizer, task, validation, config)
    trainer = MultiObjectiveGRPOTrainer(model=model, reward_funcs=reward_funcs, args=args,
                                        train_dataset=dataset, processing_class=tokenizer, scheme=scheme_obj,
                                        ddof=config.ddof, eps=config.eps, **extra)
    trainer.remove_callback(PrinterCallback)  # one line per run below instead of TRL's per-step dicts
    for callback in callbacks:
        trainer.add_callback(callback)
    start = time.perf_counter()
    trainer.train()
    train_seconds = time.perf_counter() - start
    after = llm_model.evaluate(trainer.model, tokenizer, task, held_out, max_new_tokens=config.max_completion_length,
                               device=config.device)
    wall = time.perf_counter() - start
    steps = max(trainer.state.global_step, 1)
    row = {f"{m}_after": after[m] for m in METRICS}
    row.update(wall_seconds=wall, train_seconds=train_seconds, step_seconds=train_seconds / steps,
               mowsim_seconds=trainer.mowsim_seconds, gram_seconds=trainer.mowsim_gram_seconds,
               overhead_share=trainer.mowsim_seconds / train_seconds, steps=steps)
    log(f"{scheme} seed {seed}: {steps} steps in {train_seconds:.0f} s; after: {_describe(after)}; "
        f"scheme overhead {100 * row['overhead_share']:.2f}% of training time")
    curve = pd.DataFrame([entry for entry in trainer.state.log_history if "step" in entry and "loss" in entry])
    curve.insert(0, "seed", seed)
    curve.insert(0, "scheme", scheme)
    del trainer, model
    return row, curve


def _performance(model, tokenizer, task, problems, config) -> np.ndarray:
    was_training = model.training
    metrics = llm_model.evaluate(model, tokenizer, task, problems, max_new_tokens=config.max_completion_length,
                                 device=config.device)
    model.train(was_training)
    return np.array([metrics[m] for m in OBJECTIVES])


def _color(scheme: str) -> str:
    return plotting.SCHEME_COLORS.get(scheme, "#444444")


def _plot_curves(curves: pd.DataFrame, path: Path) -> None:
    panels = [f"rewards/{name}/mean" for name in OBJECTIVES] + ["mowsim/adv_max_abs"]
    panels = [p for p in panels if p in curves.columns]
    if curves.empty or not panels:
        return
    fig, axes = plotting.new_figure(1, len(panels))
    for ax, column in zip(axes[0], panels):
        for scheme, frame in curves.groupby("scheme", sort=False):
            mean = frame.groupby("step")[column].mean()
            smooth = mean.rolling(5, min_periods=1).mean()
            ax.plot(smooth.index, smooth.values, color=_color(scheme), label=scheme)
        ax.set_xlabel("GRPO step")
        ax.set_title(column.replace("rewards/", "").replace("/mean", " (train mean)"), fontsize=9)
    axes[0][0].legend(fontsize=7)
    plotting.save_figure(fig, path)


def _plot_plane(summary: pd.DataFrame, path: Path) -> None:
    if summary.empty:
        return
    fig, axes = plotting.new_figure(1, 1, panel_size=(4.6, 3.8))
    ax = axes[0][0]
    means = summary.groupby("scheme", sort=False)[[f"{m}_{w}" for m in METRICS for w in ("before", "after")]].mean()
    first = means.iloc[0]
    ax.scatter([first["compliance_before"]], [first["accuracy_before"]], marker="s", color="#888888",
               label="warm start", zorder=3)
    for scheme, row in means.iterrows():
        ax.annotate("", xy=(row["compliance_after"], row["accuracy_after"]),
                    xytext=(row["compliance_before"], row["accuracy_before"]),
                    arrowprops={"arrowstyle": "->", "color": _color(scheme), "alpha": 0.5})
        ax.scatter([row["compliance_after"]], [row["accuracy_after"]], color=_color(scheme), label=scheme, zorder=3)
    ax.set_xlabel("held-out compliance (format and length)")
    ax.set_ylabel("held-out accuracy")
    ax.set_title("after GRPO, greedy decoding (mean over seeds)", fontsize=9)
    ax.legend(fontsize=7)
    plotting.save_figure(fig, path)
