"""The tiny local policy: a character-level tokenizer, a small GPT-2, its supervised warm start, and loading.

Nothing here touches a hub: the tokenizer is built with ``tokenizers``, the model from a ``GPT2Config``, and a model
given by path loads with ``local_files_only=True``. The warm start is cached on disk under a key of its whole
configuration, so repeated runs reuse it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from pathlib import Path

import numpy as np

from mowsim.llm import require

require("torch", "transformers", "tokenizers")

import torch  # noqa: E402
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers  # noqa: E402
from transformers import (  # noqa: E402
    AutoModelForCausalLM,
    AutoTokenizer,
    GPT2Config,
    GPT2LMHeadModel,
    PreTrainedTokenizerFast,
)

from mowsim.llm.tasks import AdditionTask  # noqa: E402

__all__ = ["CHARS", "CHAT_TEMPLATE", "WarmStartConfig", "build_char_tokenizer", "build_char_model", "warm_start",
           "load_model", "prompt_ids", "generate", "evaluate"]

CHARS = "0123456789+-=*/<>.,:;?!()'\" \nabcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
SPECIAL = ("<pad>", "<eos>", "<unk>")
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] == 'assistant' %}{{ message['content'] + eos_token }}"
    "{% else %}{{ message['content'] }}{% endif %}"
    "{% endfor %}"
)
"""Messages concatenated; an assistant turn ends with ``<eos>``. The generation prompt is empty: the question
already ends with ``=``."""


def build_char_tokenizer() -> PreTrainedTokenizerFast:
    """One token per character of :data:`CHARS`, plus ``<pad>``, ``<eos>``, ``<unk>``; decodes without spaces."""
    vocab = {token: i for i, token in enumerate(SPECIAL + tuple(CHARS))}
    backend = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")
    backend.decoder = decoders.Fuse()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, pad_token="<pad>", eos_token="<eos>",
                                        unk_token="<unk>")
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def build_char_model(tokenizer, *, n_layer: int = 3, n_embd: int = 96, n_head: int = 4, n_positions: int = 64,
                     seed: int = 0) -> GPT2LMHeadModel:
    """A small GPT-2 over ``tokenizer``'s vocabulary, initialized from ``seed``."""
    torch.manual_seed(seed)
    config = GPT2Config(vocab_size=len(tokenizer), n_positions=n_positions, n_embd=n_embd, n_layer=n_layer,
                        n_head=n_head, bos_token_id=tokenizer.eos_token_id, eos_token_id=tokenizer.eos_token_id,
                        pad_token_id=tokenizer.pad_token_id, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)
    return GPT2LMHeadModel(config)


@dataclasses.dataclass(frozen=True)
class WarmStartConfig:
    """Supervised fine-tuning of the char model until held-out greedy accuracy reaches ``target_accuracy``.

    Stopping early on purpose leaves RL something to improve: accuracy is partial, and the style mixture of
    :class:`~mowsim.llm.tasks.AdditionTask` leaves format and length compliance partial.
    """

    task: AdditionTask = AdditionTask()
    n_layer: int = 3
    n_embd: int = 96
    n_head: int = 4
    n_positions: int = 64
    learning_rate: float = 3e-3
    batch_size: int = 128
    max_steps: int = 3000
    eval_every: int = 50
    n_eval: int = 200
    target_accuracy: float = 0.3
    seed: int = 0

    def key(self) -> str:
        """A short hash of the whole configuration: the cache key."""
        blob = json.dumps(dataclasses.asdict(self), sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]


def warm_start(config: WarmStartConfig, cache_dir, *, device: str = "cpu", log=print) -> Path:
    """Train (or reuse) the warm-start char model and return the directory it is saved in.

    The directory ``cache_dir/warmstart-<key>`` holds a ``save_pretrained`` model and tokenizer and
    ``warmstart.json`` (written last, so a half-written directory is retrained).
    """
    path = Path(cache_dir) / f"warmstart-{config.key()}"
    meta_path = path / "warmstart.json"
    if meta_path.exists():
        log(f"warm start: reusing {path}")
        return path
    tokenizer = build_char_tokenizer()
    model = build_char_model(tokenizer, n_layer=config.n_layer, n_embd=config.n_embd, n_head=config.n_head,
                             n_positions=config.n_positions, seed=config.seed).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=0.0)
    rng = np.random.default_rng(config.seed)
    held_out = config.task.held_out(config.n_eval)
    start = time.perf_counter()
    metrics = {}
    step = 0
    for step in range(1, config.max_steps + 1):
        batch = config.task.sample(config.batch_size, "train", rng)
        input_ids, labels, attention = _sft_batch(tokenizer, config.task, batch, device)
        model.train()
        loss = model(input_ids=input_ids, attention_mask=attention, labels=labels).loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if step % config.eval_every == 0 or step == config.max_steps:
            metrics = evaluate(model, tokenizer, config.task, held_out, device=device)
            log(f"warm start: step {step} loss {loss.item():.3f} held-out accuracy {metrics['accuracy']:.3f} "
                f"format {metrics['format']:.3f} length {metrics['length']:.3f}")
            if metrics["accuracy"] >= config.target_accuracy:
                break
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    meta = {"config": dataclasses.asdict(config), "steps": step, "seconds": time.perf_counter() - start,
            "held_out": metrics}
    meta_path.write_text(json.dumps(meta, indent=2, default=str))
    log(f"warm start: saved {path} after {step} steps ({meta['seconds']:.0f} s)")
    return path


def _sft_batch(tokenizer, task: AdditionTask, batch: list[dict], device: str):
    """Right-padded prompt + target + eos; the loss covers the target and eos only."""
    rows, label_rows = [], []
    for problem in batch:
        prompt = prompt_ids(tokenizer, problem["question"])
        target = tokenizer.encode(task.target(problem), add_special_tokens=False) + [tokenizer.eos_token_id]
        rows.append(prompt + target)
        label_rows.append([-100] * len(prompt) + target)
    width = max(len(r) for r in rows)
    pad = tokenizer.pad_token_id
    input_ids = torch.tensor([r + [pad] * (width - len(r)) for r in rows], device=device)
    labels = torch.tensor([r + [-100] * (width - len(r)) for r in label_rows], device=device)
    attention = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows], device=device)
    return input_ids, labels, attention


def load_model(path, *, device: str = "cpu"):
    """Load a local causal LM and its tokenizer (``local_files_only=True``); returns ``(model, tokenizer)``.

    A tokenizer without a pad token gets its eos token as pad (as TRL does); generation pads on the left.
    """
    path = Path(path)
    if not path.is_dir():
        raise ValueError(f"--model {str(path)!r} is not a local directory. mowsim never downloads models: pass a "
                         "directory written by save_pretrained (config.json, weights, tokenizer files).")
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(path, local_files_only=True, dtype=torch.float32).to(device)
    return model, tokenizer


def prompt_ids(tokenizer, question: str) -> list[int]:
    """Token ids of ``question`` as a user turn with the generation prompt (plain encoding without a template)."""
    if tokenizer.chat_template:
        ids = tokenizer.apply_chat_template([{"role": "user", "content": question}], add_generation_prompt=True,
                                            tokenize=True, return_dict=True)["input_ids"]
        return list(ids)
    return tokenizer.encode(question, add_special_tokens=False)


@torch.no_grad()
def generate(model, tokenizer, questions: list[str], *, max_new_tokens: int, greedy: bool = True,
             batch_size: int = 256, device: str = "cpu") -> list[str]:
    """Completions of ``questions`` (left-padded batches), decoded without special tokens."""
    model.eval()
    texts = []
    for start in range(0, len(questions), batch_size):
        rows = [prompt_ids(tokenizer, q) for q in questions[start:start + batch_size]]
        width = max(len(r) for r in rows)
        pad = tokenizer.pad_token_id
        input_ids = torch.tensor([[pad] * (width - len(r)) + r for r in rows], device=device)
        attention = torch.tensor([[0] * (width - len(r)) + [1] * len(r) for r in rows], device=device)
        out = model.generate(input_ids=input_ids, attention_mask=attention, max_new_tokens=max_new_tokens,
                             do_sample=not greedy, pad_token_id=pad, eos_token_id=tokenizer.eos_token_id)
        texts.extend(tokenizer.batch_decode(out[:, width:], skip_special_tokens=True))
    return texts


def evaluate(model, tokenizer, task: AdditionTask, problems: list[dict], *, max_new_tokens: int = 24,
             device: str = "cpu") -> dict:
    """Greedy-decoding held-out metrics: accuracy, format, length, and compliance (format and length both met)."""
    completions = generate(model, tokenizer, [p["question"] for p in problems], max_new_tokens=max_new_tokens,
                           device=device)
    scores = np.array([task.score(c, p["answer"]) for c, p in zip(completions, problems)])
    return {
        "accuracy": float(scores[:, 0].mean()),
        "format": float(scores[:, 1].mean()),
        "length": float(scores[:, 2].mean()),
        "compliance": float((scores[:, 1] * scores[:, 2]).mean()),
    }
