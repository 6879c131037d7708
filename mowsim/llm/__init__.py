"""Real-LLM integrations: mowsim's schemes inside TRL's GRPOTrainer and verl's advantage registry, and a harness
that trains a small local policy with each scheme (``mowsim llm``).

Needs the ``llm`` extra (``pip install -e ".[llm]"``: torch, transformers, tokenizers, accelerate, datasets, TRL).
``import mowsim.llm`` itself is light; the public names load on first use and raise an :class:`ImportError` that
names the missing package and the install command when the extra is absent. See docs/LLM.md.

>>> from mowsim.llm import MultiObjectiveGRPOTrainer  # doctest: +SKIP
"""

from __future__ import annotations

import importlib

__all__ = ["MultiObjectiveGRPOTrainer", "register_verl_estimators", "AdditionTask", "require"]

EXTRA = {
    "torch": "torch==2.13.0",
    "transformers": "transformers",
    "tokenizers": "tokenizers",
    "accelerate": "accelerate",
    "datasets": "datasets",
    "trl": "trl",
}
"""Import name -> distribution of each package the ``llm`` extra installs."""

_LAZY = {
    "MultiObjectiveGRPOTrainer": "mowsim.llm.trl",
    "register_verl_estimators": "mowsim.llm.verl",
    "AdditionTask": "mowsim.llm.tasks",
}


def require(*names: str) -> None:
    """Import each package in ``names`` (all of the extra when empty); raise a helpful ImportError if one is missing."""
    missing = []
    for name in names or tuple(EXTRA):
        try:
            importlib.import_module(name)
        except ImportError as err:
            missing.append((name, err))
    if missing:
        listed = ", ".join(name for name, _ in missing)
        raise ImportError(
            f"mowsim.llm needs the [llm] extra; missing: {listed} ({missing[0][1]}). Install it with "
            "`pip install -e \".[llm]\"` (it pins the CPU build torch==2.13.0 and the TRL range mowsim is tested "
            "with)."
        ) from missing[0][1]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'mowsim.llm' has no attribute {name!r}")
