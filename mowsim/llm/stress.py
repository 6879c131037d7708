"""Stress variants of the LLM harness: the simulations' reward-model knobs, applied as wrappers around TRL reward
functions on the real training path.

Each wrapper is a TRL reward function ``f(prompts, completions, **columns) -> list[float]`` with a ``__name__``
(TRL logs ``rewards/<name>/mean``). Randomness comes from a ``numpy`` Generator seeded explicitly, and every call
draws afresh: a noisy reward scored twice on the same completions gives two independent scorings, which is what
``dvao-reliable``'s rescoring needs to see the noise.

* :func:`noisy`: ``r + sd * N(0, 1)`` per completion (the worlds' ``noise_sd`` on one objective); it keeps the
  clean reward's mean of each call in ``clean_means``, the truth a study tracks.
* :func:`spurious`: ``scale * N(0, 1)``, independent of the completion (the worlds' ``n_spurious=1`` with
  ``spurious_sd=scale``).
* :func:`short`: 1 iff the stripped completion has at most ``limit`` characters: an empty completion satisfies it.
  Against accuracy it is the toy LM's collapse setting (a length reward that an empty response earns).
* :func:`has_number`: 1 iff the completion holds an integer: the warm start already satisfies it (a saturated
  objective beside the hard accuracy one, SAW's asynchronous learning).

:class:`Variant` names one stressed (or clean) reward set: its LLM reward functions (:meth:`Variant.reward_functions`)
and the environment of its matching simulation (:meth:`Variant.sim_env`). Imports nothing heavy: the wrappers work
without the ``llm`` extra.
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np

from mowsim import validation
from mowsim.llm.tasks import AdditionTask, completion_text

__all__ = ["noisy", "spurious", "short", "has_number", "Variant", "KINDS"]

KINDS = ("clean", "noise", "spurious", "conflict", "saturation")
"""The variants: the clean reward set (accuracy, format) and the four stresses of issue 12."""

_INTEGER = re.compile(r"\d+")


def _named(function, name: str):
    function.__name__ = name
    function.__qualname__ = name
    return function


def noisy(reward_fn, sd: float, seed, *, name: str | None = None):
    """``reward_fn`` plus Gaussian noise of standard deviation ``sd``, drawn afresh per completion and per call."""
    validation.check_scalar(sd, "sd", low=0.0)
    rng = validation.as_generator(seed)

    def wrapped(prompts, completions, **columns):
        clean = np.asarray(reward_fn(prompts, completions, **columns), dtype=np.float64)
        wrapped.clean_means.append(float(clean.mean()) if clean.size else np.nan)
        return (clean + sd * rng.standard_normal(clean.shape)).tolist()

    wrapped.clean_means = []  # the clean reward's mean at each call: the truth behind the noisy scores
    return _named(wrapped, name or f"{reward_fn.__name__}_noisy")


def spurious(scale: float, seed, *, name: str = "spurious"):
    """A reward that ignores the completion: ``scale * N(0, 1)`` per completion, drawn afresh per call."""
    validation.check_scalar(scale, "scale", low=0.0)
    rng = validation.as_generator(seed)

    def reward(prompts, completions, **columns):
        return (scale * rng.standard_normal(len(completions))).tolist()

    return _named(reward, name)


def short(limit: int, *, name: str = "short"):
    """1 iff the stripped completion has at most ``limit`` characters (the empty completion earns it)."""
    if not isinstance(limit, int) or limit < 0:
        raise ValueError(f"limit must be a non-negative int; got {limit!r}.")

    def reward(prompts, completions, **columns):
        return [float(len(completion_text(c).strip()) <= limit) for c in completions]

    return _named(reward, name)


def has_number(*, name: str = "has_number"):
    """1 iff the completion holds an integer (any integer: right or wrong)."""

    def reward(prompts, completions, **columns):
        return [float(_INTEGER.search(completion_text(c)) is not None) for c in completions]

    return _named(reward, name)


@dataclasses.dataclass(frozen=True)
class Variant:
    """One reward set of the transfer study and its simulated twin.

    Parameters
    ----------
    kind : {"clean", "noise", "spurious", "conflict", "saturation"}
        * ``clean``: accuracy and format (the harness's rewards, length left out);
        * ``noise``: accuracy and format, Gaussian noise of sd ``level`` on format;
        * ``spurious``: accuracy, format and a third reward of pure noise of scale ``level``;
        * ``conflict``: accuracy and :func:`short` with ``limit = level`` characters (the bare answer fits; an
          empty completion earns it too);
        * ``saturation``: accuracy and :func:`has_number`, which the warm start already satisfies.
    level : float
        The stress's scale (ignored by ``clean`` and ``saturation``).

    Every variant puts equal weights on its rewards, as the simulations do.
    """

    kind: str
    level: float = 0.0

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}; got {self.kind!r}.")
        validation.check_scalar(self.level, "level", low=0.0)
        if self.kind == "conflict" and (self.level != int(self.level) or self.level < 1):
            raise ValueError(f"a conflict variant's level is a character limit, an int >= 1; got {self.level!r}.")
        object.__setattr__(self, "level", float(self.level))

    @property
    def name(self) -> str:
        """``"clean"``, ``"noise-2"``, ``"spurious-3"``, ``"conflict-3"``, ``"saturation"``."""
        if self.kind in ("clean", "saturation"):
            return self.kind
        return f"{self.kind}-{self.level:g}"

    @property
    def objective_names(self) -> tuple[str, ...]:
        return {"clean": ("accuracy", "format"), "noise": ("accuracy", "format_noisy"),
                "spurious": ("accuracy", "format", "spurious"), "conflict": ("accuracy", "short"),
                "saturation": ("accuracy", "has_number")}[self.kind]

    @property
    def true_objectives(self) -> tuple[str, ...]:
        """The objectives with a truth: all but the spurious reward (the noisy format's truth is clean format)."""
        return tuple(name for name in self.objective_names if name != "spurious")

    def reward_functions(self, task: AdditionTask, seed) -> list:
        """The TRL reward functions of this variant for ``task``; noise draws come from ``seed``."""
        accuracy, format_, _ = task.reward_functions()
        if self.kind == "clean":
            return [accuracy, format_]
        if self.kind == "noise":
            return [accuracy, noisy(format_, self.level, seed, name="format_noisy")]
        if self.kind == "spurious":
            return [accuracy, format_, spurious(self.level, seed)]
        if self.kind == "conflict":
            return [accuracy, short(int(self.level))]
        return [accuracy, has_number()]

    def sim_env(self) -> tuple[str, dict]:
        """The matching simulation: :class:`~mowsim.envs.SequenceTask` under the same stress.

        The toy LM starts with long responses (``eos_bias=-1``), like the warm start, which writes verbose answers
        40% of the time. accuracy/format map to the toy's accuracy/format, the noise and the spurious reward to its
        ``noise_sd`` and ``n_spurious``/``spurious_sd`` knobs, the character limit to the toy's length reward (the
        answer token alone fits, the empty response too), and the saturated objective to format with the toy's
        ``saturation`` bonus.
        """
        base = {"objectives": ("accuracy", "format"), "eos_bias": -1.0}
        if self.kind == "noise":
            return "sequence", {**base, "noise_sd": (0.0, self.level)}
        if self.kind == "spurious":
            return "sequence", {**base, "n_spurious": 1, "spurious_sd": self.level}
        if self.kind == "conflict":
            return "sequence", {**base, "objectives": ("accuracy", "length")}
        if self.kind == "saturation":
            return "sequence", {**base, "saturation": 4.0}
        return "sequence", base
