"""The synthetic task of the real-LLM check: multi-digit addition scored on accuracy, format and length.

It mirrors the DVAO paper's settings at toy scale: an accuracy reward, a format reward (the tool-use setting's
"answer in the required structure") and a length reward (the math setting's "at most N tokens"). The prompt is
``"57+38="`` (or, for a general chat model, an instruction around it); the wanted completion is ``"<a>95</a>"``.

* ``accuracy``: 1 iff the answer is the sum. The answer is the number inside the first ``<a>...</a>`` pair, or the
  last integer of the completion when there is none (lenient parsing, as math-verify reads a boxed answer).
* ``format``: 1 iff the completion holds exactly one ``<a>digits</a>`` pair.
* ``length``: 1 iff the completion has at most ``length_limit`` characters.

The warm start is fine-tuned on three answer styles that pull the objectives apart: ``"<a>95</a>"`` (all three),
``"95"`` (short, unformatted) and ``"the sum is <a>95</a>"`` (formatted, too long). Which style a problem gets is a
hash of the problem, so a small model cannot learn it and keeps a mixture that RL must sharpen.

Reward functions follow TRL's signature ``f(prompts, completions, **columns) -> list[float]``; the dataset carries
the ``answer`` column.
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np

from mowsim import validation

__all__ = ["AdditionTask", "OBJECTIVES", "completion_text", "score", "reward_functions"]

OBJECTIVES = ("accuracy", "format", "length")

_TAG = re.compile(r"<a>(\d+)</a>")
_INTEGER = re.compile(r"\d+")
STYLES = ("tagged", "bare", "verbose")


@dataclasses.dataclass(frozen=True)
class AdditionTask:
    """Addition of two ``digits``-digit numbers.

    Parameters
    ----------
    digits : int
        Digits of each operand (2: 10..99).
    length_limit : int
        Longest completion, in characters, that earns the length reward; the tagged answer always fits.
    style_mix : tuple of float
        Shares of the ``tagged``, ``bare`` and ``verbose`` styles in the warm-start data.
    instruction : bool
        Prefix the prompt with an instruction, for a general chat model loaded with ``--model``.
    held_out_share : float
        Share of all operand pairs kept out of training, for evaluation.
    """

    digits: int = 2
    length_limit: int = 12
    style_mix: tuple = (0.2, 0.4, 0.4)
    instruction: bool = False
    held_out_share: float = 0.1

    def __post_init__(self):
        if not isinstance(self.digits, int) or not 1 <= self.digits <= 4:
            raise ValueError(f"digits must be an int in 1..4; got {self.digits!r}.")
        shortest = len(f"<a>{2 * (10 ** self.digits - 1)}</a>")
        if not isinstance(self.length_limit, int) or self.length_limit < shortest:
            raise ValueError(f"length_limit must be an int >= {shortest}, the length of the longest tagged answer; "
                             f"got {self.length_limit!r}.")
        mix = np.asarray(self.style_mix, dtype=np.float64)
        if mix.shape != (3,) or np.any(mix < 0) or not np.isclose(mix.sum(), 1.0):
            raise ValueError(f"style_mix must be three non-negative shares summing to 1 (tagged, bare, verbose); "
                             f"got {self.style_mix!r}.")
        validation.check_scalar(self.held_out_share, "held_out_share", low=0.0, high=1.0, low_inclusive=False,
                                high_inclusive=False)

    # -- problems ---------------------------------------------------------------------------------------------
    def operand_pairs(self, split: str) -> np.ndarray:
        """All (a, b) pairs of the ``"train"`` or ``"test"`` split, shape (n, 2); the split is fixed by the task."""
        low, high = 10 ** (self.digits - 1) if self.digits > 1 else 0, 10**self.digits
        grid = np.stack(np.meshgrid(np.arange(low, high), np.arange(low, high), indexing="ij"), -1).reshape(-1, 2)
        order = np.random.default_rng(20260605).permutation(len(grid))
        n_test = max(1, int(round(self.held_out_share * len(grid))))
        if split == "test":
            return grid[np.sort(order[:n_test])]
        if split == "train":
            return grid[np.sort(order[n_test:])]
        raise ValueError(f"split must be 'train' or 'test'; got {split!r}.")

    def sample(self, n: int, split: str, seed) -> list[dict]:
        """``n`` problems drawn with replacement from ``split``: dicts with ``question``, ``answer``, ``style``."""
        rng = validation.as_generator(seed)
        pairs = self.operand_pairs(split)
        picks = pairs[rng.integers(0, len(pairs), size=n)]
        return [self.problem(int(a), int(b)) for a, b in picks]

    def held_out(self, n: int) -> list[dict]:
        """The first ``n`` test problems in a fixed shuffled order: the evaluation set."""
        pairs = self.operand_pairs("test")
        order = np.random.default_rng(7).permutation(len(pairs))[:n]
        return [self.problem(int(a), int(b)) for a, b in pairs[order]]

    def problem(self, a: int, b: int) -> dict:
        question = f"{a}+{b}="
        if self.instruction:
            question = f"Add the numbers and reply with only the sum inside <a></a> tags, e.g. <a>12</a>. {question}"
        style = STYLES[min(int(np.searchsorted(np.cumsum(self.style_mix), _style_hash(a, b), side="right")), 2)]
        return {"question": question, "answer": str(a + b), "style": style}

    def target(self, problem: dict) -> str:
        """The warm-start completion of ``problem`` in its style."""
        answer = problem["answer"]
        return {"tagged": f"<a>{answer}</a>", "bare": answer, "verbose": f"the sum is <a>{answer}</a>"}[
            problem["style"]]

    # -- scoring ----------------------------------------------------------------------------------------------
    def score(self, completion: str, answer: str) -> tuple[float, float, float]:
        """(accuracy, format, length) of one completion."""
        return score(completion, answer, self.length_limit)

    def reward_functions(self) -> list:
        """TRL reward functions, one per objective in :data:`OBJECTIVES` order."""
        return reward_functions(self.length_limit)


def _style_hash(a: int, b: int) -> float:
    """A fixed pseudo-random number in [0, 1) per problem (a multiplicative hash, stable across platforms)."""
    return ((a * 2654435761 + b * 40503 + 12345) % 2**32) / 2**32


def completion_text(completion) -> str:
    """The text of a TRL completion: a string, or a conversational list of messages (the assistant's content)."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list):
        return "".join(m["content"] for m in completion if isinstance(m, dict) and isinstance(m.get("content"), str))
    if isinstance(completion, dict):
        return str(completion.get("content", ""))
    raise ValueError(f"a completion must be a string or a list of messages; got {type(completion).__name__}.")


def score(completion, answer: str, length_limit: int) -> tuple[float, float, float]:
    """(accuracy, format, length) of one completion against the expected ``answer``."""
    text = completion_text(completion).strip()
    tags = _TAG.findall(text)
    if tags:
        given = tags[0]
    else:
        numbers = _INTEGER.findall(text)
        given = numbers[-1] if numbers else None
    accuracy = float(given is not None and given.lstrip("0") == str(answer).lstrip("0"))
    formatted = float(len(tags) == 1 and text.count("<a>") == 1 and text.count("</a>") == 1)
    short = float(len(text) <= length_limit)
    return accuracy, formatted, short


def reward_functions(length_limit: int) -> list:
    """The three TRL reward functions (accuracy, format, length) for answers in the dataset's ``answer`` column."""

    def accuracy(prompts, completions, answer, **kwargs):
        return [score(c, a, length_limit)[0] for c, a in zip(completions, answer)]

    def format(prompts, completions, answer, **kwargs):  # noqa: A001 - the objective's name, shown in TRL's logs
        return [score(c, a, length_limit)[1] for c, a in zip(completions, answer)]

    def length(prompts, completions, answer, **kwargs):
        return [score(c, a, length_limit)[2] for c, a in zip(completions, answer)]

    return [accuracy, format, length]
