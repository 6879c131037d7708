"""The scheme protocol, the registry, and :func:`advantages`, the one public entry point of the scheme core."""

from __future__ import annotations

import dataclasses
from typing import Callable, ClassVar, NamedTuple

import numba
import numpy as np

from mowsim import validation
from mowsim.schemes import _kernels, _normalization_kernels, normalization as _normalization

__all__ = [
    "Scheme",
    "SchemeOutput",
    "register",
    "available",
    "get",
    "advantages",
    "effective_weights",
    "BACKENDS",
]

BACKENDS = ("numba", "numpy", "python")
"""``numba``: the compiled kernels (default). ``numpy``: the reference in :mod:`mowsim.schemes.reference`.
``python``: the kernels' un-jitted ``py_func`` (slow; for tests and debugging)."""

PARALLEL_MIN_ENTRIES = 1 << 17
"""Batches with at least this many reward entries (B*G*K) use the ``prange``-over-groups driver. Below it the
thread start-up costs more than it saves; both drivers give bit-identical results."""

PARALLEL_MIN_THREADS = 4
"""The parallel driver is used only with at least this many Numba threads. On 2 threads it saved ~0.5 ms at 65,536
rollouts x K=4 but stalled 10-100x longer under contention (OpenMP spin-waits; see benchmarks/README.md)."""

_REGISTRY: dict[str, type["Scheme"]] = {}


class SchemeOutput(NamedTuple):
    """What a scheme computes for one batch.

    Attributes
    ----------
    advantages : ndarray of shape (n_groups, n_rollouts), or (n_rollouts,) for one group
    weights : ndarray of shape (n_groups, n_objectives), or (n_objectives,) for one group
        The effective share of each objective in the combination, summing to 1 per group: the fixed weights
        ``w / sum(w)`` for RC, AC and GDPO, DVAO's ``w_k sigma_k / sum_l w_l sigma_l``, SAW's normalized
        ``w'_k w_k``.
    """

    advantages: np.ndarray
    weights: np.ndarray


@dataclasses.dataclass(frozen=True)
class Scheme:
    """A stateless multi-objective advantage scheme: rewards (B, G, K) -> advantages (B, G).

    Subclasses set ``name`` (the registry key), ``kernel_id`` (the Numba dispatch id) and ``reference`` (the NumPy
    oracle), and may add parameters as dataclass fields. Instances are immutable and hashable, so a study can key
    its cells on them.
    """

    name: ClassVar[str] = ""
    kernel_id: ClassVar[int] = -1
    reference: ClassVar[Callable]
    stateful: ClassVar[bool] = False
    role: ClassVar[str] = "balance"
    """How the scheme treats several rewards (the sources' three positions, see :data:`ROLES`)."""
    _fused_checks: ClassVar[bool] = True
    """True when ``_run`` with ``backend="numba"`` returns the drivers' ``(lower, upper, in_range, finite)`` as its
    third value (see :func:`mowsim.schemes._kernels.compute_serial`), so :meth:`compute` checks for inf, overflow
    and non-finite advantages on that; a subclass whose ``_run`` returns ``None`` there sets it to False and gets
    the up-front scans."""
    _magnitude_guard: ClassVar[bool] = False
    """True for schemes whose arithmetic runs in the rewards' own units (the stateful ones pool variances across
    steps): they refuse rewards whose squares would overflow (:func:`mowsim.validation.check_magnitude`). The
    stateless schemes compute scale-free (see :mod:`mowsim.schemes.reference`) and accept any finite reward."""

    def check_objectives(self, n_objectives: int) -> None:
        """Raise ValueError if this configuration cannot run on ``n_objectives`` objectives (default: any can)."""

    def _saw_params(self) -> np.ndarray:
        """The kernels' SAW parameter vector ``(delta, min_weight)`` (zeros for every other scheme)."""
        return np.zeros(_kernels.N_SAW_PARAMS)

    def _reference_kwargs(self, reward_min) -> dict:
        return {}

    def compute(self, rewards, weights=None, *, ddof: int = 0, eps: float = 0.0, reward_min=None,
                backend: str = "numba", normalization: str = "group") -> SchemeOutput:
        """Validate the input, run the scheme, and return :class:`SchemeOutput`.

        Parameters
        ----------
        rewards : array_like of shape (n_groups, n_rollouts, n_objectives) or (n_rollouts, n_objectives)
            NaN marks an unscorable entry; inf is an error.
        weights : array_like of shape (n_objectives,), optional
            Non-negative user weights; ``None`` means ``1/K`` each. Used as given, not renormalized.
        ddof : {0, 1}
            0: population std (the papers' propositions). 1: unbiased std (TRL, verl, SAW's code).
        eps : float
            Added to every std, ``(x - mean) / (std + eps)``, as TRL adds ``1e-4``.
        reward_min : float or array_like of shape (n_objectives,), optional
            Known lower bound of each reward, used by SAW's shift; ``None`` uses the batch minimum.
        backend : {"numba", "numpy", "python"}
        normalization : {"group", "batch", "none"}
            Which std the scheme divides by: its group's (``"group"``, the scheme as published), the whole batch's
            (``"batch"``, Lite PPO, arXiv 2508.08221) or none (``"none"``, Dr. GRPO, arXiv 2503.20783). Only RC,
            AC, GDPO, DVAO, SAW-GRPO and SAW-GDPO take the last two; see :mod:`mowsim.schemes.normalization`.
        """
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}; got {backend!r}.")
        scope = validation.check_normalization(normalization, self.name)
        # The compiled kernels report the batch's reward range from their first pass, so for them the inf
        # check runs on that instead of on an extra scan of the batch (the result is discarded then).
        fused = backend == "numba" and self._fused_checks
        rewards, squeezed = validation.check_rewards(rewards, check_finite=not fused)
        weights = validation.check_weights(weights, rewards.shape[2])
        self.check_objectives(rewards.shape[2])
        if self._magnitude_guard:
            validation.check_magnitude(rewards, weights)
        ddof = validation.check_ddof(ddof)
        eps = validation.check_eps(eps)
        reward_min = validation.check_reward_min(reward_min, rewards)
        if scope == _normalization.GROUP:
            advantages, eff, checks = self._run(rewards, weights, ddof, eps, reward_min, backend)
        else:
            advantages, eff, checks = self._run_scoped(rewards, weights, ddof, eps, reward_min, backend, scope)
        if fused:
            lower, upper, in_range, finite = checks
            if not in_range:  # raises the inf error
                validation.check_reward_range(rewards, squeezed, lower, upper)
        else:
            finite = _kernels.all_finite(np.ascontiguousarray(advantages, dtype=np.float64))
        if not finite:
            raise ValueError(
                f"scheme {self.name!r} produced non-finite advantages: they exceed the float64 range "
                f"(largest |reward| = {np.nanmax(np.abs(rewards)):.3g}, largest weight = {weights.max():.3g}). "
                "AC's advantages scale with the weights: rescale the weights."
            )
        if squeezed:
            return SchemeOutput(advantages[0], eff[0])
        return SchemeOutput(advantages, eff)

    def _run(self, rewards, weights, ddof, eps, reward_min, backend):
        if backend == "numpy":
            return (*type(self).reference(rewards, weights, ddof, eps, **self._reference_kwargs(reward_min)), None)
        n_groups, n_rollouts, n_objectives = rewards.shape
        out = np.empty((n_groups, n_rollouts))
        eff = np.empty((n_groups, n_objectives))
        has_min = reward_min is not None
        rmin = reward_min if has_min else np.zeros(n_objectives)
        if backend == "python":
            driver = _kernels.compute_serial.py_func
        elif rewards.size >= PARALLEL_MIN_ENTRIES and numba.get_num_threads() >= PARALLEL_MIN_THREADS:
            driver = _kernels.compute_parallel
        else:
            driver = _kernels.compute_serial
        checks = driver(self.kernel_id, rewards, weights, ddof, eps, rmin, has_min, self._saw_params(), out, eff)
        return out, eff, checks


    def _run_scoped(self, rewards, weights, ddof, eps, reward_min, backend, scope):
        """``_run`` with ``normalization`` "batch" or "none" (``scope`` its id): the reference of
        :mod:`mowsim.schemes.normalization` or its serial kernel."""
        if backend == "numpy":
            return (*_normalization.REFERENCES[self.name](rewards, weights, ddof, eps,
                                                          normalization=_normalization.NORMALIZATIONS[scope],
                                                          **self._reference_kwargs(reward_min)), None)
        n_groups, n_rollouts, n_objectives = rewards.shape
        out = np.empty((n_groups, n_rollouts))
        eff = np.empty((n_groups, n_objectives))
        has_min = reward_min is not None
        rmin = reward_min if has_min else np.zeros(n_objectives)
        driver = _normalization_kernels.compute_scoped
        if backend == "python":
            driver = driver.py_func
        checks = driver(self.kernel_id, scope, rewards, weights, ddof, eps, rmin, has_min, self._saw_params(), out,
                        eff)
        return out, eff, checks


def register(cls: type[Scheme]) -> type[Scheme]:
    """Class decorator: add a scheme to the registry under ``cls.name``."""
    if not cls.name:
        raise ValueError(f"{cls.__name__} has no name; set the class attribute `name` before registering it.")
    if cls.name in _REGISTRY and _REGISTRY[cls.name] is not cls:
        raise ValueError(f"a scheme named {cls.name!r} is already registered ({_REGISTRY[cls.name].__name__}).")
    _REGISTRY[cls.name] = cls
    return cls


ROLES = ("balance", "spread", "gate")
"""``balance``: weight several rewards into one advantage (RC, AC, GDPO, DVAO, SAW, Lu et al., MGDA, PCGrad);
``spread``: keep them apart, as a set of diverse answers (VPO, and its random-weight baseline); ``gate``: use some as
hard pass/fail criteria and score the rest (DRO's rubric gates)."""


def available(role: str | None = None) -> list[str]:
    """The registered scheme names, sorted; with ``role``, only those of that role (one of :data:`ROLES`).

    >>> "vpo" in available(role="spread") and "rc" in available(role="balance")
    True
    """
    if role is None:
        return sorted(_REGISTRY)
    if role not in ROLES:
        raise ValueError(f"unknown scheme role {role!r}; expected one of {ROLES}.")
    return sorted(name for name, cls in _REGISTRY.items() if cls.role == role)


def get(scheme, **params) -> Scheme:
    """Return a scheme instance from a registered name (with optional parameters) or pass an instance through.

    >>> get("saw-grpo", delta=1e-6)
    SAWGRPO(delta=1e-06, min_weight=0.0)
    """
    if isinstance(scheme, Scheme):
        if params:
            return dataclasses.replace(scheme, **params)
        return scheme
    if not isinstance(scheme, str) or scheme.lower() not in _REGISTRY:
        raise ValueError(
            f"unknown scheme {scheme!r}; expected one of: {', '.join(available())}. "
            "Register a new one with @mowsim.schemes.register."
        )
    cls = _REGISTRY[scheme.lower()]
    try:
        return cls(**params)
    except TypeError as err:
        fields = [f.name for f in dataclasses.fields(cls)]
        raise ValueError(f"scheme {cls.name!r} takes parameters {fields}; got {sorted(params)} ({err}).") from None


def advantages(rewards, scheme, weights=None, *, ddof: int = 0, eps: float = 0.0, reward_min=None,
               backend: str = "numba", normalization: str = "group") -> np.ndarray:
    """Multi-objective advantages of ``rewards`` under ``scheme``.

    Parameters
    ----------
    rewards : array_like of shape (n_groups, n_rollouts, n_objectives) or (n_rollouts, n_objectives)
    scheme : str or Scheme
        A name from :func:`available` (``"rc"``, ``"ac"``, ``"gdpo"``, ``"dvao"``, ``"saw-grpo"``,
        ``"saw-gdpo"``, ...) or a scheme instance.
    weights, ddof, eps, reward_min, backend, normalization
        See :meth:`Scheme.compute`. ``normalization="batch"`` is Lite PPO's group mean over the batch std,
        ``"none"`` Dr. GRPO's group mean without a std (:mod:`mowsim.schemes.normalization`).

    Returns
    -------
    ndarray of shape (n_groups, n_rollouts), or (n_rollouts,) for one group

    Examples
    --------
    >>> import numpy as np, mowsim
    >>> r = np.array([[1.0, 0.0], [0.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    >>> mowsim.advantages(r, "dvao").round(3)
    array([ 0., -1.,  1.,  0.])
    """
    return get(scheme).compute(rewards, weights, ddof=ddof, eps=eps, reward_min=reward_min, backend=backend,
                               normalization=normalization).advantages


def effective_weights(rewards, scheme, weights=None, *, ddof: int = 0, eps: float = 0.0, reward_min=None,
                      backend: str = "numba", normalization: str = "group") -> np.ndarray:
    """Each group's effective objective weights, shape (n_groups, n_objectives) (or (n_objectives,) for one group).

    See :class:`SchemeOutput` for what each scheme reports; with ``normalization="batch"`` DVAO reports the
    batch's shares ``w_k sigma_k / sum_l w_l sigma_l`` (batch stds) for every group, with ``"none"`` the fixed
    weights.
    """
    return get(scheme).compute(rewards, weights, ddof=ddof, eps=eps, reward_min=reward_min, backend=backend,
                               normalization=normalization).weights
