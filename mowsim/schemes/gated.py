"""Gate instead of score: DRO's rubric gates in front of any stateless scheme."""

from __future__ import annotations

import dataclasses
import numbers
from typing import ClassVar

import numpy as np

from mowsim import validation
from mowsim.schemes import _set_kernels, reference
from mowsim.schemes.base import Scheme, get, register

__all__ = ["Gated", "gated_reference", "INNER_SCHEMES"]

INNER_SCHEMES = ("rc", "ac", "gdpo", "dvao", "saw-grpo", "saw-gdpo")
"""The stateless schemes a gate can wrap (their Numba kernels run on the passing rollouts)."""


def gated_reference(rewards: np.ndarray, weights: np.ndarray, ddof: int = 0, eps: float = 0.0, *, gates=(),
                    thresholds=(), inner: str = "rc", min_spread: float = 0.0):
    r"""NumPy reference of the rubric gate.

    ``pass_j = AND_{g in gates} [r_jg >= t_g]`` (NaN fails). A failing rollout is dropped: its non-gate rewards
    become NaN, so it gets advantage 0 and enters no statistic (the library's NaN contract). The passing rollouts
    are scored on the non-gate objectives, with the matching user weights, by ``inner``. With ``min_spread > 0`` a
    group whose passing rollouts' ``s = sum_k w_k r_k`` (non-gate objectives) has std (``ddof``) below
    ``min_spread`` is dropped whole (DRO's variance filter; fewer than ``1 + ddof`` passing rollouts count as spread
    0). Effective weights: the inner scheme's on the non-gate objectives, 0 on the gates.
    Source: Xu et al., "Direct Reasoning Optimization" (arXiv 2506.13351): rubrics as hard accept/reject checks
    enforced at the group level, dropped rollouts contribute no gradient, a variance filter on prompts.
    """
    n_objectives = rewards.shape[2]
    gates = list(gates)
    inner_columns = [k for k in range(n_objectives) if k not in gates]
    with np.errstate(invalid="ignore"):
        passed = np.all(rewards[:, :, gates] >= np.asarray(thresholds, dtype=np.float64).reshape(-1), axis=2)
    masked = np.where(passed[..., None], rewards[:, :, inner_columns], np.nan)
    inner_weights = weights[inner_columns]
    if min_spread > 0:
        scalar = reference._weighted_sum(masked, np.broadcast_to(inner_weights, masked.shape))
        for b in range(rewards.shape[0]):
            values = scalar[b, passed[b]]
            spread = np.sqrt(((values - values.mean()) ** 2).sum() / (len(values) - ddof)) \
                if len(values) - ddof > 0 and len(values) > 0 else 0.0
            if spread < min_spread:
                masked[b] = np.nan
    scheme = get(inner)
    advantages, inner_effective = type(scheme).reference(masked, inner_weights, ddof, eps,
                                                         **scheme._reference_kwargs(None))
    effective = np.zeros((rewards.shape[0], n_objectives))
    effective[:, inner_columns] = inner_effective
    return advantages, effective


def _as_tuple(value) -> tuple:
    if isinstance(value, (list, tuple, np.ndarray)):
        return tuple(value.tolist() if isinstance(value, np.ndarray) else value)
    return (value,)


@register
@dataclasses.dataclass(frozen=True)
class Gated(Scheme):
    r"""Rubric gate (DRO): named objectives are pass/fail gates; the passing rollouts are scored on the rest by an
    inner scheme.

    ``pass_j = AND_g [r_jg >= t_g]``; a failing rollout gets advantage 0 and is left out of every statistic (its
    rewards count as unscorable, NaN); the others get ``inner``'s advantage on the non-gate objectives. With
    ``min_spread > 0``, a group whose passing rollouts' weighted reward has std below it is dropped whole (DRO's
    variance filter). A group with fewer than 2 passing rollouts is all zeros. Xu et al., "Direct Reasoning
    Optimization" (arXiv 2506.13351). See :func:`gated_reference`. Example:
    ``mowsim.schemes.get("gated", gates=("format",), thresholds=(1.0,), inner="dvao",
    objective_names=("accuracy", "format"))``.
    """

    name = "gated"
    kernel_id = _set_kernels.GATED
    reference = staticmethod(gated_reference)
    role: ClassVar[str] = "gate"
    _fused_checks: ClassVar[bool] = False
    gates: tuple = ()
    """Gate objectives: indices, or names looked up in ``objective_names``. No gate (the default) leaves the inner
    scheme unchanged."""
    thresholds: tuple = ()
    """One pass threshold per gate (a scalar applies to every gate); a rollout passes with ``r >= threshold``."""
    inner: str = "rc"
    """The scheme that scores the passing rollouts: one of :data:`INNER_SCHEMES`."""
    min_spread: float = 0.0
    """DRO's variance filter: drop a group whose passing rollouts' reward std is below this (0: off). A SAW inner
    scheme shifts by the batch minimum (``reward_min`` is not passed through the gate)."""
    objective_names: tuple | None = None
    """Names of the K objectives, for gates given by name (the training loops fill it from the environment)."""

    def __post_init__(self):
        gates = _as_tuple(self.gates)
        thresholds = _as_tuple(self.thresholds)
        if len(thresholds) == 1:
            thresholds = thresholds * len(gates)
        if len(thresholds) != len(gates):
            raise ValueError(f"gated has {len(gates)} gates {gates} but {len(thresholds)} thresholds "
                             f"{thresholds}; pass one threshold per gate (or one for all).")
        for i, value in enumerate(thresholds):
            validation.check_scalar(value, f"thresholds[{i}]", hint="A gate passes when its reward >= threshold.")
        if not isinstance(self.inner, str) or self.inner.lower() not in INNER_SCHEMES:
            raise ValueError(f"inner must be one of {INNER_SCHEMES}; got {self.inner!r}.")
        validation.check_scalar(self.min_spread, "min_spread", low=0.0, hint="0 turns the variance filter off.")
        names = None if self.objective_names is None else tuple(str(n) for n in _as_tuple(self.objective_names))
        object.__setattr__(self, "gates", gates)
        object.__setattr__(self, "thresholds", tuple(float(t) for t in thresholds))
        object.__setattr__(self, "inner", self.inner.lower())
        object.__setattr__(self, "objective_names", names)
        for gate in gates:
            if isinstance(gate, str):
                if names is not None and gate not in names:
                    raise ValueError(f"unknown gate name {gate!r}; the objectives are {names}.")
            elif isinstance(gate, bool) or not isinstance(gate, numbers.Integral) or gate < 0:
                raise ValueError(f"gates must be objective indices (ints >= 0) or names; got {gate!r}.")

    def gate_indices(self, n_objectives: int) -> np.ndarray:
        """The gates as objective indices for K objectives (raises ValueError if one does not exist)."""
        indices = []
        for gate in self.gates:
            if isinstance(gate, str):
                if self.objective_names is None:
                    raise ValueError(f"gate {gate!r} is a name but gated has no objective_names; pass "
                                     "objective_names=(...) (one per objective) or give the gate as an index.")
                if len(self.objective_names) != n_objectives:
                    raise ValueError(f"objective_names has {len(self.objective_names)} names but the rewards have "
                                     f"{n_objectives} objectives.")
                indices.append(self.objective_names.index(gate))
            else:
                if gate >= n_objectives:
                    raise ValueError(f"gate index {gate} is out of range for {n_objectives} objectives; expected "
                                     f"0 to {n_objectives - 1}.")
                indices.append(int(gate))
        if len(set(indices)) != len(indices):
            raise ValueError(f"gates {self.gates} name an objective twice.")
        return np.array(indices, dtype=np.int64)

    def check_objectives(self, n_objectives: int) -> None:
        if len(self.gate_indices(n_objectives)) >= n_objectives:
            raise ValueError(f"gated: every one of the {n_objectives} objectives is a gate, so nothing is left to "
                             "score the passing rollouts; keep at least one objective out of gates.")
        get(self.inner).check_objectives(n_objectives - len(self.gates))

    def _saw_params(self) -> np.ndarray:
        return get(self.inner)._saw_params()

    def _inner_id(self) -> int:
        return get(self.inner).kernel_id

    def loop_params(self, n_objectives: int) -> np.ndarray:
        gates = self.gate_indices(n_objectives)
        return np.concatenate([[float(self._inner_id()), self.min_spread, float(len(gates))],
                               gates.astype(np.float64), np.array(self.thresholds)])

    def _run(self, rewards, weights, ddof, eps, reward_min, backend):
        gates = self.gate_indices(rewards.shape[2])
        if backend == "numpy":
            return (*gated_reference(rewards, weights, ddof, eps, gates=tuple(gates), thresholds=self.thresholds,
                                     inner=self.inner, min_spread=self.min_spread), None)
        out = np.empty(rewards.shape[:2])
        effective = np.empty((rewards.shape[0], rewards.shape[2]))
        kernel = _set_kernels.gated_advantages.py_func if backend == "python" else _set_kernels.gated_advantages
        kernel(rewards, gates, np.array(self.thresholds), self._inner_id(), self.min_spread, weights, ddof, eps,
               self._saw_params(), out, effective)
        return out, effective, None

