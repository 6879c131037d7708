"""Stateful schemes: weights that adapt over training from feedback the host loop provides.

The protocol (the same object serves the toy loops, TRL and verl):

* ``scheme.feedback`` names what it needs: ``"gram"`` (the K x K Gram matrix of per-objective policy gradients
  ``g_k``, each from objective k's own group z-score), ``"rewards"`` (the batch itself), ``"rescored"`` (a second,
  independent scoring of the same rollouts), ``"performance"`` (held-out performance of the policy after an update).
* ``scheme.reset(n_objectives, weights)`` starts a fresh state; ``scheme.state`` shows it.
* ``scheme.update(...)`` feeds it. A host calls ``update(rewards=..., gram=..., rescored=..., lr=...)`` *before*
  computing a batch's advantages, and ``update(performance=...)`` *after* the policy update.
* ``scheme.compute(rewards, weights)`` (or :func:`mowsim.advantages`) uses the current state.

All the math lives in :mod:`mowsim.schemes._stateful` (Numba), which the compiled training loops call directly;
each advantage rule also has a NumPy reference here, and the tests hold the two equal.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import numpy as np

from mowsim import validation
from mowsim.schemes import _stateful, reference
from mowsim.schemes.base import Scheme, register

__all__ = ["StatefulScheme", "HypervolumeGuided", "GradientWeights", "MGDA", "PCGrad", "DVAOEMA", "DVAOReliable",
           "hypervolume"]

FEEDBACK = ("gram", "rewards", "rescored", "performance")


def hypervolume(points, reference_point) -> float:
    """Hypervolume of ``points`` (n, d) dominating ``reference_point`` (d,) under maximization, via moocore."""
    import moocore

    points = np.asarray(points, dtype=np.float64)
    ref = np.asarray(reference_point, dtype=np.float64)
    dominating = points[np.all(points > ref, axis=1)]
    if len(dominating) == 0:
        return 0.0
    return float(moocore.hypervolume(dominating, ref=ref, maximise=True))


@dataclasses.dataclass(frozen=True)
class StatefulScheme(Scheme):
    """Base class: a scheme configuration (frozen fields) plus a mutable state vector."""

    stateful: ClassVar[bool] = True
    _fused_checks: ClassVar[bool] = False
    _magnitude_guard: ClassVar[bool] = True
    feedback: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self):
        object.__setattr__(self, "_state", None)
        object.__setattr__(self, "_weights", None)

    # -- configuration handed to the kernels -------------------------------------------------------------------
    def kernel_params(self, n_objectives: int) -> np.ndarray:
        """The scheme's parameters as the float vector :mod:`mowsim.schemes._stateful` reads."""
        return np.zeros(1)

    def state_size(self, n_objectives: int) -> int:
        return _stateful.state_size(self.kernel_id, n_objectives)

    # -- state -------------------------------------------------------------------------------------------------
    @property
    def state(self) -> np.ndarray | None:
        """A copy of the current state vector (None before :meth:`reset` or the first :meth:`compute`)."""
        return None if self._state is None else self._state.copy()

    @property
    def r_pareto(self) -> float:
        return float(self._state[_stateful.R_PARETO]) if self._state is not None else 1.0

    def reset(self, n_objectives: int, weights=None) -> "StatefulScheme":
        """Start from a fresh state for K objectives and the user weights (None: equal)."""
        w = validation.check_weights(weights, n_objectives)
        state = np.empty(self.state_size(self._state_dims(n_objectives)))
        _stateful.init_state(self.kernel_id, w, state)
        object.__setattr__(self, "_state", state)
        object.__setattr__(self, "_weights", w)
        return self

    def _state_dims(self, n_objectives: int) -> int:
        return n_objectives

    def _ensure_state(self, n_objectives: int, weights) -> None:
        if self._state is None or self._weights.shape[0] != n_objectives:
            self.reset(n_objectives, weights)

    def current_weights(self) -> np.ndarray:
        """The objective weights the scheme currently applies (sum 1)."""
        out = np.empty(self._weights.shape[0])
        _stateful.current_weights(self.kernel_id, self._state, self._weights, out)
        return out

    def update(self, *, gram=None, objective_gradients=None, rewards=None, rescored=None, performance=None,
               lr: float = 1.0, ddof: int = 0) -> "StatefulScheme":
        """Feed the scheme. See the module docstring for when a host passes what.

        Parameters
        ----------
        gram : ndarray of shape (K, K), optional
            Gram matrix of the per-objective policy gradients; or pass ``objective_gradients`` (K, P).
        rewards, rescored : ndarray of shape (B, G, K), optional
            The batch, and a second independent scoring of the same rollouts.
        performance : ndarray of shape (K,), optional
            Held-out performance of the updated policy (objectives to maximize; negate those to minimize).
        lr : float
            The policy learning rate (the step size ``eta`` of the exponentiated-gradient update).
        """
        given = {"gram": gram is not None or objective_gradients is not None, "rewards": rewards is not None,
                 "rescored": rescored is not None, "performance": performance is not None}
        if not any(given.values()):
            raise ValueError(f"update() got no feedback; scheme {self.name!r} declares feedback={self.feedback}. "
                             "Pass it as keywords, e.g. update(gram=...) or update(performance=...).")
        if performance is None:
            missing = [name for name in self._required_feedback() if not given[name]]
            if missing:
                raise ValueError(f"scheme {self.name!r} needs feedback {missing} in the update() before the "
                                 f"advantages (it declares feedback={self.feedback}).")
        if given["rescored"] and not given["rewards"]:
            raise ValueError("rescored is a second scoring of the batch; pass the batch too: "
                             "update(rewards=..., rescored=...).")
        if performance is not None:
            perf = np.asarray(performance, dtype=np.float64)
            if perf.ndim != 1 or perf.shape[0] < 1 or not np.all(np.isfinite(perf)):
                raise ValueError(f"performance must be a finite vector of shape (K,); got {performance!r}.")
            self._observe(np.ascontiguousarray(perf))
        if not (given["gram"] or given["rewards"]):
            return self
        lr = validation.check_scalar(lr, "lr", low=0.0)
        ddof = validation.check_ddof(ddof)
        if objective_gradients is not None:
            if gram is not None:
                raise ValueError("pass either gram or objective_gradients, not both.")
            g = np.asarray(objective_gradients, dtype=np.float64)
            if g.ndim != 2:
                raise ValueError(f"objective_gradients must have shape (K, n_params); got {g.shape}.")
            gram = g @ g.T
        n_objectives = None
        if rewards is not None:
            rewards, _ = validation.check_rewards(rewards)
            n_objectives = rewards.shape[2]
        if gram is not None:
            gram = np.ascontiguousarray(gram, dtype=np.float64)
            if gram.ndim != 2 or gram.shape[0] != gram.shape[1] or not np.all(np.isfinite(gram)):
                raise ValueError(f"gram must be a finite square matrix (K, K); got shape {gram.shape}.")
            if n_objectives is not None and gram.shape[0] != n_objectives:
                raise ValueError(f"gram is {gram.shape[0]} x {gram.shape[0]} but the rewards have {n_objectives} "
                                 "objectives.")
            n_objectives = gram.shape[0]
        same_k = self._weights is not None and self._weights.shape[0] == n_objectives
        self._ensure_state(n_objectives, self._weights if same_k else None)
        k = self._weights.shape[0]
        if rewards is None:
            rewards = np.zeros((1, 1, k))
        rescored_arr = validation.check_rewards(rescored)[0] if given["rescored"] else rewards
        if rescored_arr.shape != rewards.shape:
            raise ValueError(f"rescored has shape {rescored_arr.shape}; expected the rewards' shape {rewards.shape}.")
        gram_arr = gram if gram is not None else np.zeros((k, k))
        _stateful.pre_update(self.kernel_id, self._state, self.kernel_params(k), self._weights, rewards,
                             rescored_arr, given["rescored"], gram_arr, lr, ddof)
        return self

    def _required_feedback(self) -> tuple[str, ...]:
        """The feedback an update() before the advantages (one without ``performance``) must carry."""
        return tuple(name for name in self.feedback if name != "performance")

    def _observe(self, performance: np.ndarray) -> None:
        """Take the updated policy's held-out performance (only hv-guided uses it)."""

    # -- advantages --------------------------------------------------------------------------------------------
    def _run(self, rewards, weights, ddof, eps, reward_min, backend):
        self._ensure_state(rewards.shape[2], weights)
        if not np.array_equal(weights, self._weights):
            object.__setattr__(self, "_weights", weights)
        if backend == "numpy":
            return (*self._reference(rewards, weights, ddof, eps), None)
        out = np.empty(rewards.shape[:2])
        eff = np.empty((rewards.shape[0], rewards.shape[2]))
        kernel = _stateful.advantages.py_func if backend == "python" else _stateful.advantages
        kernel(self.kernel_id, self._state, self.kernel_params(rewards.shape[2]), rewards, weights, ddof, eps, out,
               eff)
        return out, eff, None

    def _reference(self, rewards, weights, ddof, eps):
        raise TypeError(f"{type(self).__name__} defines no NumPy reference; every concrete stateful scheme must.")


def _check_positive(value, name):
    validation.check_scalar(value, name, low=0.0, low_inclusive=False)


@register
@dataclasses.dataclass(frozen=True)
class HypervolumeGuided(StatefulScheme):
    r"""Hypervolume-guided meta-reward (Lu et al., 2025, arXiv 2509.11452, Sec. 3.1).

    The user weights stay fixed; the scalarized reward is scaled by ``r_pareto = 0.5 + 1.5 tanh(dHV)``, where
    ``dHV = max(HV(buffer + {p}) - HV(buffer), 0)`` for the updated policy's held-out performance ``p`` against a
    Pareto buffer that starts at (and uses as reference point) the initial policy's performance; ``r_pareto``
    computed after update t scales the rewards of step t + 1.

    Paper vs code: the official code multiplies the *scalarized reward* by ``r_pareto`` before GRPO's group
    normalization, where a positive constant cancels (up to eps), so on GRPO the method reduces to RC. mowsim's
    default ``apply_to="advantage"`` scales the RC advantage instead, ``A = r_pareto * A_RC`` (a step-size
    modulation in [0.5, 2), which is what the meta-reward does under RLOO/REINFORCE); ``apply_to="reward"``
    reproduces the code. Their hypervolume is a hand-written slicing whose 1-D base case is not clipped at the
    reference; mowsim uses an exact hypervolume: a Numba slicing for up to 3 objectives (the compiled loops, and
    this object; tested against moocore) and moocore beyond. The buffer keeps at most ``HV_CAPACITY`` (64) points;
    a full buffer drops its least hypervolume contributor. Feedback: ``performance`` after each update.
    """

    name = "hv-guided"
    kernel_id = _stateful.HV_GUIDED
    feedback = ("performance",)
    apply_to: str = "advantage"
    gain_scale: float = 1.0
    """Multiplies dHV inside the tanh. dHV is in the objectives' units (their runs mixed accuracy fractions with
    token counts, so dHV was large); with objectives in [0, 1] a per-step dHV is ~1e-3 and r_pareto stays near
    0.5 unless ``gain_scale`` is raised."""

    def __post_init__(self):
        super().__post_init__()
        if self.apply_to not in ("advantage", "reward"):
            raise ValueError(f"apply_to must be 'advantage' or 'reward'; got {self.apply_to!r}.")
        _check_positive(self.gain_scale, "gain_scale")

    def kernel_params(self, n_objectives: int) -> np.ndarray:
        return np.array([1.0 if self.apply_to == "reward" else 0.0, self.gain_scale])

    def _state_dims(self, n_objectives: int) -> int:
        return n_objectives

    def _observe(self, performance: np.ndarray) -> None:
        d = performance.shape[0]
        if self._state is None or self._hv_dims() != d:
            # the buffer lives in the space of the measured objectives, which may be fewer than the rewarded ones
            object.__setattr__(self, "_state", np.empty(self.state_size(d)))
            _stateful.init_state(self.kernel_id, np.ones(d), self._state)
            if self._weights is None:
                object.__setattr__(self, "_weights", np.full(d, 1.0 / d))
        if d <= 3:
            _stateful.post_update(self.kernel_id, self._state, self.kernel_params(d), performance)
            return
        if _stateful.hv_start(self._state, performance, d):
            return
        buffer, ref = self.pareto_buffer(), self.reference_point()
        candidates = np.vstack([buffer, performance])
        gain = hypervolume(candidates, ref) - hypervolume(buffer, ref)
        if not _stateful.hv_record(self._state, performance, d, self.gain_scale, gain):
            import moocore

            contributions = np.zeros(len(candidates))
            dominating = np.all(candidates > ref, axis=1)
            contributions[dominating] = moocore.hv_contributions(candidates[dominating], ref=ref, maximise=True)
            _stateful.hv_replace(self._state, performance, d, int(np.argmin(contributions)))

    def _hv_dims(self) -> int:
        size = self._state.shape[0] - _stateful.HEADER - 1
        return size // (_stateful.HV_CAPACITY + 1)

    def _ensure_state(self, n_objectives: int, weights) -> None:
        if self._state is None:
            self.reset(n_objectives, weights)
        elif self._weights is None or self._weights.shape[0] != n_objectives:
            object.__setattr__(self, "_weights", validation.check_weights(weights, n_objectives))

    def pareto_buffer(self) -> np.ndarray:
        """The current Pareto buffer, shape (n_points, d)."""
        d = self._hv_dims()
        count = int(self._state[_stateful.HEADER])
        start = _stateful.HEADER + 1 + d
        return self._state[start:start + _stateful.HV_CAPACITY * d].reshape(-1, d)[:count].copy()

    def reference_point(self) -> np.ndarray:
        d = self._hv_dims()
        return self._state[_stateful.HEADER + 1:_stateful.HEADER + 1 + d].copy()

    def _reference(self, rewards, weights, ddof, eps):
        if self.apply_to == "reward":
            return reference.rc(rewards, self.r_pareto * weights, ddof, eps)
        advantages, eff = reference.rc(rewards, weights, ddof, eps)
        return self.r_pareto * advantages, eff


@register
@dataclasses.dataclass(frozen=True)
class GradientWeights(StatefulScheme):
    r"""Gradient-based weight optimization (Lu et al., 2025, arXiv 2509.11452, Sec. 3.2).

    Influence ``I_k = <g_k, sum_l g_l>`` (row sums of the per-objective gradient Gram matrix), exponentiated-gradient
    step on the simplex ``w <- softmax(log w + eta I / mu)`` with ``eta`` the policy learning rate, then RC on the
    updated weights. As in the official code, each ``g_k`` is first clipped to norm ``clip_norm`` (their
    ``grad_clip=1.0``; 0 disables), the diagonal of the Gram matrix is included in ``I``, and the weights update
    every step before that step's policy update. Their runs used ``mu = 1e-5`` at LR 1e-6 (``eta / mu = 0.1``);
    the toy loops' LR is ~1, so mowsim's default ``mu`` is 10 (the same ratio). Feedback: ``gram``.
    """

    name = "gradient"
    kernel_id = _stateful.GRADIENT
    feedback = ("gram",)
    mu: float = 10.0
    clip_norm: float = 1.0

    def __post_init__(self):
        super().__post_init__()
        _check_positive(self.mu, "mu")
        validation.check_scalar(self.clip_norm, "clip_norm", low=0.0)

    def kernel_params(self, n_objectives: int) -> np.ndarray:
        return np.array([self.mu, self.clip_norm])

    def _reference(self, rewards, weights, ddof, eps):
        return reference.rc(rewards, np.exp(self._state[_stateful.HEADER:_stateful.HEADER + len(weights)]), ddof,
                            eps)


@dataclasses.dataclass(frozen=True)
class _GramCombination(StatefulScheme):
    feedback = ("gram",)

    def _reference(self, rewards, weights, ddof, eps):
        coefficients = self._state[_stateful.HEADER:_stateful.HEADER + len(weights)]
        return reference.ac(rewards, coefficients, ddof, eps)


@register
@dataclasses.dataclass(frozen=True)
class MGDA(_GramCombination):
    r"""MGDA: the min-norm point of the convex hull of the per-objective gradients (Désidéri, 2012; Sener & Koltun,
    NeurIPS 2018, "Multi-Task Learning as Multi-Objective Optimization").

    ``alpha = argmin_{alpha in simplex} |sum_k alpha_k w_k g_k|^2``, solved exactly from the Gram matrix by Wolfe's
    min-norm-point algorithm (see :func:`mowsim.schemes._stateful.min_norm_weights`). Because the
    policy gradient is linear in the advantages, the MGDA direction is the gradient of the surrogate with
    advantages ``A = sum_k alpha_k w_k A_k``, which is what this scheme returns. Feedback: ``gram``.
    """

    name = "mgda"
    kernel_id = _stateful.MGDA


@register
@dataclasses.dataclass(frozen=True)
class PCGrad(_GramCombination):
    r"""PCGrad: project each objective's gradient off the others it conflicts with, then sum (Yu et al., NeurIPS
    2020, "Gradient Surgery for Multi-Task Learning").

    Every projection adds a non-negative multiple of another ``g_j``, so the result is ``sum_k beta_k w_k g_k`` with
    ``beta`` computed from the Gram matrix alone; the scheme returns ``A = sum_k beta_k w_k A_k``. The projection
    order is a random permutation per step, drawn from the step counter (deterministic). Feedback: ``gram``.
    """

    name = "pcgrad"
    kernel_id = _stateful.PCGRAD


@register
@dataclasses.dataclass(frozen=True)
class DVAOEMA(StatefulScheme):
    r"""mowsim's own variant: DVAO with cross-batch pooled variance (answers "would historical variance help when G
    must be small?").

    Keeps an EMA ``v_k`` (``decay``) of each objective's mean within-group variance over batches (started at the
    first batch in which the objective varies; until then ``s_bk = sigma_bk``), and shrinks each group's variance
    toward it: ``s_bk^2 = lambda v_k + (1 - lambda) sigma_bk^2`` (``lambda = shrinkage``; 0 if
    the objective is constant in the group, so saturated objectives still drop out). Then
    ``A = sum_k w_k (r_k - mu_k) / (sum_l w_l s_bl + eps)``: DVAO's form with a steadier denominator. ``shrinkage=0``
    is DVAO exactly (at eps=0). Not in any paper. Feedback: ``rewards``.
    """

    name = "dvao-ema"
    kernel_id = _stateful.DVAO_EMA
    feedback = ("rewards",)
    decay: float = 0.9
    shrinkage: float = 0.5

    def __post_init__(self):
        super().__post_init__()
        validation.check_scalar(self.decay, "decay", low=0.0, high=1.0, high_inclusive=False)
        validation.check_scalar(self.shrinkage, "shrinkage", low=0.0, high=1.0)

    def kernel_params(self, n_objectives: int) -> np.ndarray:
        return np.array([self.decay, self.shrinkage])

    def pooled_variance(self) -> np.ndarray:
        """The EMA of each objective's mean within-group variance; NaN until the objective has varied in a group."""
        k = self._weights.shape[0]
        return self._state[_stateful.HEADER:_stateful.HEADER + k].copy()

    def _reference(self, rewards, weights, ddof, eps):
        mask = reference._scorable_mask(rewards)
        _, std, centered, _ = reference.objective_stats(rewards, ddof, eps)
        var = std**2
        pooled = np.where(np.isnan(self.pooled_variance()), var, self.pooled_variance())
        shrunk_var = self.shrinkage * pooled + (1.0 - self.shrinkage) * var
        spread = np.where(std > 0, np.sqrt(shrunk_var), 0.0)
        total = (weights * spread).sum(axis=1)
        fixed = reference._fixed_weights(weights, rewards.shape[0])
        safe = np.where(total > 0, total, 1.0)
        effective = np.where(total[:, None] > 0, weights * spread / safe[:, None], fixed)
        combined = reference._weighted_sum(centered, np.broadcast_to(weights, centered.shape)) / (safe + eps)[:, None]
        return np.where(mask & (total[:, None] > 0), combined, 0.0), effective


@register
@dataclasses.dataclass(frozen=True)
class DVAOReliable(StatefulScheme):
    r"""mowsim's own variant: reliability-corrected DVAO (answers "what stops a high-variance spurious reward from
    being trusted?").

    Each objective's within-group variance is discounted by its estimated noise share before weighting:
    ``s_k^2 = max(sigma_k^2 - c sigma_noise,k^2, 0)`` (``c = (n-1)/(n-ddof)`` makes the subtraction unbiased),
    ``wt_k = w_k s_k / sum_l w_l s_l``, ``A = sum_k wt_k (r_k - mu_k) / (sigma_k + eps)``. A pure-noise objective has
    ``s_k ~ 0`` and drops out, where DVAO would let it inflate the shared denominator. The noise variance is
    ``noise_variance[k]`` when given, otherwise an EMA (``decay``) of ``(r - r')^2 / 2`` over a second independent
    scoring ``r'`` of the same rollouts. With zero noise it is DVAO. ``|A| <= max_k |A_k|`` and mean-square <= 1
    (a convex combination of z-scores). Not in any paper. Feedback: ``rewards`` with ``rescored`` (unless every
    noise variance is known).
    """

    name = "dvao-reliable"
    kernel_id = _stateful.DVAO_RELIABLE
    feedback = ("rewards", "rescored")
    decay: float = 0.9
    noise_variance: tuple | None = None
    """Known noise variance per objective; None (or NaN entries) means estimate it from rescoring."""

    def __post_init__(self):
        super().__post_init__()
        validation.check_scalar(self.decay, "decay", low=0.0, high=1.0, high_inclusive=False)
        if self.noise_variance is not None:
            values = np.asarray(self.noise_variance, dtype=np.float64)
            if values.ndim != 1 or np.any(values[~np.isnan(values)] < 0) or np.any(np.isinf(values)):
                raise ValueError(f"noise_variance must be a sequence of non-negative variances (NaN = estimate); "
                                 f"got {self.noise_variance!r}.")

    def kernel_params(self, n_objectives: int) -> np.ndarray:
        known = np.full(n_objectives, np.nan)
        if self.noise_variance is not None:
            values = np.asarray(self.noise_variance, dtype=np.float64)
            if values.shape[0] != n_objectives:
                raise ValueError(f"noise_variance has {values.shape[0]} entries; the rewards have {n_objectives} "
                                 "objectives.")
            known = values
        return np.concatenate([[self.decay], known])

    def _required_feedback(self) -> tuple[str, ...]:
        known = self.noise_variance is not None and not np.any(np.isnan(np.asarray(self.noise_variance, float)))
        return () if known else ("rewards", "rescored")

    def noise_estimate(self) -> np.ndarray:
        """The noise variance each objective's spread is corrected by: the known one, else the rescoring EMA (0
        before any rescoring)."""
        k = self._weights.shape[0]
        params = self.kernel_params(k)
        return np.array([_stateful._noise_variance.py_func(self._state, params, i) for i in range(k)])

    def _reference(self, rewards, weights, ddof, eps):
        mask = reference._scorable_mask(rewards)
        _, std, _, zscores = reference.objective_stats(rewards, ddof, eps)
        n_scored = mask.sum(axis=1).astype(np.float64)
        correction = (n_scored - 1.0) / np.maximum(n_scored - ddof, 1.0)
        signal = np.maximum(std**2 - correction[:, None] * self.noise_estimate(), 0.0)
        spread = np.where(std > 0, np.sqrt(signal), 0.0)
        total = (weights * spread).sum(axis=1)
        fixed = reference._fixed_weights(weights, rewards.shape[0])
        safe = np.where(total > 0, total, 1.0)
        effective = np.where(total[:, None] > 0, weights * spread / safe[:, None], fixed)
        combined = reference._weighted_sum(zscores, effective[:, None, :])
        return np.where(mask & (total[:, None] > 0), combined, 0.0), effective

