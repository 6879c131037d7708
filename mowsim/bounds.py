"""The DVAO paper's propositions checked on random and adversarial reward groups.

For every (distribution, G, K, ddof) cell, :func:`run_bounds` draws random groups, runs the schemes through
:func:`mowsim.advantages`, and checks each claim of :mod:`mowsim.theory` on them. Then, per (G, K), the worst-case
search of :func:`mowsim.theory.worst_case_search` looks for the groups that come closest to each bound. The result is
one tidy row per (claim, scheme, G, K, distribution, ddof) in ``bounds.csv``, a printed summary, and the figure
``bounds_tightness.{png,pdf}``.

Claims (DVAO paper, Liu et al., 2026; see :mod:`mowsim.theory` for the derivations):

* ``samuelson_max_abs``: ``max_j |A| <= sqrt(G-1)`` (``(G-1)/sqrt(G)`` at ``ddof=1``) for RC, AC, DVAO, SAW-GRPO;
  for the batch-whitened GDPO and SAW-GDPO the bound of one z-score over the batch, ``sqrt(N-1)`` with
  ``N = batch_groups * G``.
* ``rc_mean_square``, ``ac_mean_square_identity``, ``dvao_mean_square_identity``, ``gdpo_batch_mean_square``: the
  mean-square identities of Props. 1-2 (general forms, any ``ddof``, constant objectives included).
* ``ac_mean_square_paper_form``: Prop. 1's printed ``1 - 2 sum w_k w_l (1 - rho_kl)`` (not a theorem, see below).
* ``ac_mean_square_le_1``, ``dvao_mean_square_le_1``: mean square ``<= (G - ddof)/G``.
* ``dvao_le_rc_pointwise``: ``|A_DVAO[j]| <= |A_RC[j]|`` for every rollout (Prop. 2).
* ``gdpo_unwhitened_max_abs``: GDPO's sum of ``K`` z-scores before whitening, ``<= K sqrt(G-1)``.
* ``prop3_jacobian_fd``: the exact Jacobians of RC, AC and DVAO against central differences (Prop. 3, off-diagonal
  terms included); ``prop3_printed_fd``: Prop. 3's printed diagonal, ``/ G`` in the last term.

Columns of the table (:data:`COLUMNS`):

* ``claim``, ``scheme``, ``G``, ``K``, ``distribution`` ("adversarial" for the search), ``ddof``, ``source``
  ("random" or "search").
* ``n_groups``: groups checked (restarts for the search). ``violations``: failing groups (failing batches of
  ``batch_groups`` groups for the batch claims ``gdpo_batch_mean_square`` and the GDPO/SAW-GDPO
  ``samuelson_max_abs``; failing restarts for the search).
* ``worst_value``, ``bound``, ``worst_ratio = worst_value / bound``: the case nearest its bound. For an inequality
  ``worst_ratio <= 1`` means it holds and 1 means it is attained; for an identity it is observed / predicted, 1 when
  exact; for a finite-difference check it is the largest error over ``FD_TOLERANCE``.
* ``max_abs_error``: largest ``|observed - predicted|`` of an identity, or error of a derivative, measured as the
  change of the advantage per one std of the objective's reward.
* ``tolerance``: a group fails when ``value > bound + tol * max(1, |bound|)`` (``|observed - predicted|`` in
  place of the excess for an identity), with ``tol = max(TOLERANCE, ROUNDING * kappa)`` and ``kappa`` the group's
  :func:`mowsim.theory.conditioning`: nearly constant rewards (the saturated distribution) lose accuracy to
  cancellation, and that is rounding, not a counterexample. The column holds the largest ``tol`` applied.
* ``theorem``: whether the claim is a theorem under the row's conditions. False for the paper's printed forms that
  this library found to need conditions: the AC mean square with a constant objective or ``ddof=1``, and Prop. 3's
  ``/ G`` at ``ddof=1``. Their violations measure how often the printed form is off.
* ``min_correlation``: for search rows, the smallest correlation between objectives of the worst group found.
"""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from mowsim import theory
from mowsim.schemes import advantages, effective_weights, reference
from mowsim.schemes.base import PARALLEL_MIN_ENTRIES

__all__ = [
    "COLUMNS",
    "DISTRIBUTIONS",
    "BoundsConfig",
    "FULL",
    "QUICK",
    "sample_rewards",
    "check_random_groups",
    "check_worst_cases",
    "run_bounds",
    "summarize",
    "tightness_figure",
]

COLUMNS = (
    "claim", "scheme", "G", "K", "distribution", "ddof", "source", "n_groups", "violations", "worst_value", "bound",
    "worst_ratio", "max_abs_error", "tolerance", "theorem", "min_correlation",
)

DISTRIBUTIONS = ("bernoulli", "uniform", "mixed", "saturated", "anti-correlated", "correlated", "heavy-tailed")

TOLERANCE = 1e-9
"""Relative tolerance of the bound and identity checks on well-conditioned groups."""

ROUNDING = 16 * np.finfo(float).eps
"""Per unit of :func:`mowsim.theory.conditioning`: a group with condition number ``kappa`` is allowed
``max(TOLERANCE, ROUNDING * kappa)``, since its z-scores carry relative rounding errors of about ``eps * kappa``
(measured: at most ``8e-16 kappa`` over the distributions here)."""

FD_STEP = 1e-5
"""Relative step of the central differences (times each objective's std)."""

FD_TOLERANCE = 1e-6
"""Largest error of a central-difference derivative counted as agreement, in units of the advantage per one std of
the objective's reward (see ``_fd_row``); ill-conditioned groups are allowed ``ROUNDING * kappa / FD_STEP``."""

RATIO_FLOOR = 1e-6
"""Bounds below this are left out of ``worst_ratio`` (a ratio of two rounding errors says nothing)."""

# (claim, scheme reported, scheme searched, target, unit weights): the worst-case searches run for each (G, K).
SEARCHES = (
    ("samuelson_max_abs", "rc", "rc", "max_abs", False),
    ("samuelson_max_abs", "ac", "ac", "max_abs", False),
    ("samuelson_max_abs", "dvao", "dvao", "max_abs", False),
    ("gdpo_unwhitened_max_abs", "gdpo", "ac", "max_abs", True),
    ("ac_mean_square_le_1", "ac", "ac", "mean_square", False),
    ("dvao_mean_square_le_1", "dvao", "dvao", "mean_square", False),
)

FIGURE_CLAIMS = {
    "rc": "samuelson_max_abs",
    "ac": "samuelson_max_abs",
    "dvao": "samuelson_max_abs",
    "saw-grpo": "samuelson_max_abs",
    "gdpo": "gdpo_unwhitened_max_abs",
    "saw-gdpo": "samuelson_max_abs",
}
"""The max-|A| claim drawn for each scheme in the figure: GDPO before whitening (bound ``K sqrt(G-1)``), SAW-GDPO
after it (batch bound ``sqrt(N-1)``), the others against Samuelson's ``sqrt(G-1)``."""


@dataclasses.dataclass(frozen=True)
class BoundsConfig:
    """The grid and effort of :func:`run_bounds`; derive variants with ``dataclasses.replace``.

    Attributes
    ----------
    n_rollouts, n_objectives, distributions, ddofs : tuple
        The grid of random-group cells; the search runs over ``n_rollouts x n_objectives`` at ``ddof=0``.
    n_groups : int
        Random groups per (distribution, G, K, ddof) cell; a multiple of ``batch_groups``.
    batch_groups : int
        Groups per batch for the batch-level schemes (GDPO, SAW-GRPO, SAW-GDPO).
    fd_groups : int
        Groups per cell checked by finite differences, fewer where ``G K`` is large.
    fd_max_entries : int
        Cap on the rewards one finite-difference check pushes through a scheme, ``2 (G K)^2`` per group; cells
        where a single group exceeds it are not checked by finite differences.
    n_restarts, max_iter : int
        Restarts and L-BFGS-B iterations of each worst-case search.
    """

    n_rollouts: tuple[int, ...] = (2, 4, 8, 16, 32, 64)
    n_objectives: tuple[int, ...] = (2, 3, 4, 8, 16)
    distributions: tuple[str, ...] = DISTRIBUTIONS
    ddofs: tuple[int, ...] = (0, 1)
    n_groups: int = 1024
    batch_groups: int = 16
    fd_groups: int = 4
    fd_max_entries: int = 1 << 22
    n_restarts: int = 6
    max_iter: int = 300

    def __post_init__(self):
        if not self.n_rollouts or min(self.n_rollouts) < 2:
            raise ValueError(f"n_rollouts must list group sizes >= 2; got {self.n_rollouts}.")
        if not self.n_objectives or min(self.n_objectives) < 1:
            raise ValueError(f"n_objectives must list objective counts >= 1; got {self.n_objectives}.")
        unknown = sorted(set(self.distributions) - set(DISTRIBUTIONS))
        if unknown or not self.distributions:
            raise ValueError(f"distributions must be a non-empty subset of {DISTRIBUTIONS}; unknown: {unknown}.")
        if not self.ddofs or not set(self.ddofs) <= {0, 1}:
            raise ValueError(f"ddofs must be a non-empty subset of (0, 1); got {self.ddofs}.")
        for name in ("batch_groups", "fd_groups", "fd_max_entries", "n_restarts", "max_iter"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1; got {getattr(self, name)}.")
        if self.n_groups < self.batch_groups or self.n_groups % self.batch_groups:
            raise ValueError(
                f"n_groups={self.n_groups} must be a positive multiple of batch_groups={self.batch_groups}."
            )


FULL = BoundsConfig()
"""About 430,000 random groups (7 distributions x 30 (G, K) x 2 ddof x 1024) and 180 searches of 6 restarts; a
few minutes on 2 cores."""

QUICK = BoundsConfig(n_groups=64, fd_groups=1, fd_max_entries=PARALLEL_MIN_ENTRIES - 1, n_restarts=2, max_iter=60)
"""The same grid with fewer groups and restarts, and finite differences only where ``G K < 256``. Every batch then
stays below the parallel driver's threshold, so a fresh install compiles only the serial kernels: under a minute."""


def sample_rewards(distribution: str, rng: np.random.Generator, n_groups: int, n_rollouts: int,
                   n_objectives: int) -> np.ndarray:
    """Random reward groups, shape (n_groups, n_rollouts, n_objectives).

    * ``bernoulli``: binary rewards, success probability drawn per group and objective from U(0.05, 0.95).
    * ``uniform``: U(0, 1).
    * ``mixed``: even objectives binary (as above), odd ones continuous Beta(2, 5).
    * ``saturated``: each objective of each group is exactly constant, binary with success probability 0.97, or
      ``1 - 0.001 Exp(1)``, one third each: objectives that are learned already.
    * ``anti-correlated``: ``(-1)^k x + 0.1 noise`` with a shared standard normal ``x``: neighbours conflict.
    * ``correlated``: ``c_k x + 0.1 noise`` with ``c_k ~ U(0.5, 2)``: aligned objectives.
    * ``heavy-tailed``: Student-t with 2 degrees of freedom (infinite variance): outliers.
    """
    shape = (n_groups, n_rollouts, n_objectives)
    if distribution == "bernoulli":
        return _binary(rng, shape)
    if distribution == "uniform":
        return rng.random(shape)
    if distribution == "mixed":
        continuous = np.arange(n_objectives) % 2 == 1
        return np.where(continuous, rng.beta(2.0, 5.0, shape), _binary(rng, shape))
    if distribution == "saturated":
        kind = rng.integers(0, 3, (n_groups, 1, n_objectives))
        binary = (rng.random(shape) < 0.97).astype(float)
        near_one = 1.0 - 1e-3 * rng.exponential(1.0, shape)
        return np.where(kind == 0, 1.0, np.where(kind == 1, binary, near_one))
    if distribution in ("anti-correlated", "correlated"):
        shared = rng.standard_normal((n_groups, n_rollouts, 1))
        if distribution == "anti-correlated":
            loading = (-1.0) ** np.arange(n_objectives)
        else:
            loading = rng.uniform(0.5, 2.0, n_objectives)
        return loading * shared + 0.1 * rng.standard_normal(shape)
    if distribution == "heavy-tailed":
        return rng.standard_t(2.0, shape)
    raise ValueError(f"unknown distribution {distribution!r}; expected one of {DISTRIBUTIONS}.")


def _binary(rng, shape):
    success = rng.uniform(0.05, 0.95, (shape[0], 1, shape[2]))
    return (rng.random(shape) < success).astype(float)


def _inequality(claim, scheme, value, bound, tol, theorem=True, *, group_size=1, ratio_floor=RATIO_FLOOR):
    """Row of ``value <= bound``; ``value`` has one row per checked unit, a group or a batch of ``group_size``."""
    value = np.asarray(value, dtype=float)
    bound = np.broadcast_to(np.asarray(bound, dtype=float), value.shape)
    excess = value - bound > _per_entry(tol, value) * np.maximum(1.0, np.abs(bound))
    failing = excess.any(axis=tuple(range(1, value.ndim)))
    return _row(claim, scheme, value, bound, failing, np.nan, tol, theorem, group_size, ratio_floor)


def _per_entry(tol, value):
    """A scalar or per-unit tolerance, shaped to broadcast against ``value`` (one row per unit)."""
    tol = np.asarray(tol, dtype=float)
    return tol.reshape(tol.shape + (1,) * (value.ndim - tol.ndim))


def _identity(claim, scheme, comparison, tol, theorem=True, *, group_size=1):
    """Row of ``observed == predicted``."""
    predicted = np.asarray(comparison.predicted, dtype=float)
    observed = np.asarray(comparison.observed, dtype=float)
    error = np.abs(observed - predicted)
    failing = error > _per_entry(tol, error) * np.maximum(1.0, np.abs(predicted))
    return _row(claim, scheme, observed, predicted, failing, float(error.max(initial=0.0)), tol, theorem, group_size,
                RATIO_FLOOR)


def _row(claim, scheme, value, bound, failing, max_abs_error, tol, theorem, group_size, ratio_floor):
    usable = bound > ratio_floor
    worst_value = worst_bound = worst_ratio = np.nan
    if usable.any():
        ratio = np.where(usable, value / np.where(usable, bound, 1.0), -np.inf)
        worst = np.unravel_index(np.argmax(ratio), ratio.shape)
        worst_value, worst_bound, worst_ratio = float(value[worst]), float(bound[worst]), float(ratio[worst])
    return {"claim": claim, "scheme": scheme, "n_groups": len(value) * group_size, "violations": int(failing.sum()),
            "worst_value": worst_value, "bound": worst_bound, "worst_ratio": worst_ratio,
            "max_abs_error": max_abs_error, "tolerance": float(np.max(tol, initial=0.0)), "theorem": theorem}


def _fd_row(claim, scheme, rewards, weights, ddof, printed, theorem):
    """Row of Prop. 3's derivatives against central differences.

    The error of a group is ``max |numeric - analytic| * sigma_k`` over its entries: the change of the advantage
    per one std of objective ``k``'s reward, a scale-free unit in which the derivatives themselves are at most
    about ``w_k`` (RC's and AC's are exactly 0 at ``G = 2``, where every z-score is +-1). A difference quotient
    divides the rounding error of the advantage by the step, hence the tolerance ``ROUNDING * kappa / FD_STEP``.
    """
    numeric = theory.finite_difference_jacobian(rewards, scheme, weights, ddof, step=FD_STEP)
    if printed:
        analytic = theory.sensitivity(rewards, scheme, weights, ddof, as_printed=True)
        numeric = np.einsum("bjjk->bjk", numeric)
    else:
        analytic = theory.advantage_jacobian(rewards, scheme, weights, ddof)
    _, std, _, _ = reference.objective_stats(rewards, 0, 0.0)
    std = std.reshape(std.shape[0], *([1] * (analytic.ndim - 2)), std.shape[1])
    valid = np.isfinite(analytic) & np.isfinite(numeric)
    axes = tuple(range(1, analytic.ndim))
    checked = valid.any(axis=axes)
    error = np.where(valid, np.abs(numeric - analytic) * std, 0.0).max(axis=axes)[checked]
    tol = np.maximum(FD_TOLERANCE, ROUNDING * theory.conditioning(rewards, weights)[checked] / FD_STEP)
    # The bound is the tolerance itself, so a failing group is one with error > tol (the check's own slack is 0).
    row = _inequality(claim, scheme, error, tol, 0.0, theorem, ratio_floor=0.0)
    row["max_abs_error"] = float(error.max(initial=0.0))
    row["tolerance"] = float(tol.max(initial=0.0))
    return row


def check_random_groups(distribution: str, n_rollouts: int, n_objectives: int, ddof: int, config: BoundsConfig,
                        rng: np.random.Generator) -> list[dict]:
    """Every claim on ``config.n_groups`` random groups of one cell, with random Dirichlet(1) weights; rows as dicts."""
    rewards = sample_rewards(distribution, rng, config.n_groups, n_rollouts, n_objectives)
    weights = rng.dirichlet(np.ones(n_objectives))
    tol = np.maximum(TOLERANCE, ROUNDING * theory.conditioning(rewards, weights))
    adv = {scheme: advantages(rewards, scheme, weights, ddof=ddof) for scheme in ("rc", "ac", "dvao")}
    batches = rewards.reshape(-1, config.batch_groups, n_rollouts, n_objectives)
    batch_tol = tol.reshape(len(batches), -1).max(axis=1)
    batched = {scheme: np.stack([advantages(batch, scheme, weights, ddof=ddof) for batch in batches])
               for scheme in ("saw-grpo", "gdpo", "saw-gdpo")}
    # SAW-GRPO z-scores its own weighted sum, with the batch's CV weights: condition it on that sum.
    saw_tol = np.maximum(TOLERANCE, ROUNDING * np.concatenate(
        [theory.conditioning(batch, effective_weights(batch, "saw-grpo", weights, ddof=ddof)[0]) for batch in batches]))
    group_bound = theory.samuelson_bound(n_rollouts, ddof)
    batch_bound = theory.samuelson_bound(config.batch_groups * n_rollouts, ddof)
    mean_square_bound = (n_rollouts - ddof) / n_rollouts

    rows = [_inequality("samuelson_max_abs", scheme, np.abs(adv[scheme]).max(axis=1), group_bound, tol)
            for scheme in ("rc", "ac", "dvao")]
    rows.append(_inequality("samuelson_max_abs", "saw-grpo", np.abs(batched["saw-grpo"]).max(axis=2).ravel(),
                            group_bound, saw_tol))
    rows += [_inequality("samuelson_max_abs", scheme, np.abs(batched[scheme]).max(axis=(1, 2)), batch_bound,
                         batch_tol, group_size=config.batch_groups)
             for scheme in ("gdpo", "saw-gdpo")]

    rows.append(_identity("rc_mean_square", "rc", theory.rc_mean_square(rewards, weights, ddof), tol))
    ac = theory.ac_mean_square(rewards, weights, ddof)
    rows.append(_identity("ac_mean_square_identity", "ac", ac, tol))
    paper = theory.Comparison(theory.ac_mean_square_paper(rewards, weights), ac.observed)
    rows.append(_identity("ac_mean_square_paper_form", "ac", paper, tol, theorem=False))
    rows.append(_inequality("ac_mean_square_le_1", "ac", ac.observed, mean_square_bound, tol))
    dvao = theory.dvao_mean_square(rewards, weights, ddof)
    rows.append(_identity("dvao_mean_square_identity", "dvao", dvao, tol))
    rows.append(_inequality("dvao_mean_square_le_1", "dvao", dvao.observed, mean_square_bound, tol))
    rows.append(_inequality("dvao_le_rc_pointwise", "dvao", np.abs(adv["dvao"]), np.abs(adv["rc"]), tol))

    rows.append(_inequality("gdpo_unwhitened_max_abs", "gdpo",
                            np.abs(theory.gdpo_unwhitened(rewards, ddof)).max(axis=1),
                            theory.gdpo_unwhitened_bound(n_rollouts, n_objectives, ddof), tol))
    for scheme in ("gdpo", "saw-gdpo"):
        per_batch = [theory.batch_mean_square(batch, scheme, weights, ddof) for batch in batches]
        comparison = theory.Comparison(*(np.array(values) for values in zip(*per_batch)))
        rows.append(_identity("gdpo_batch_mean_square", scheme, comparison, batch_tol, group_size=config.batch_groups))

    _, std, _, _ = reference.objective_stats(rewards, 0, 0.0)
    budget = config.fd_max_entries // (2 * (n_rollouts * n_objectives) ** 2)
    chosen = rewards[np.flatnonzero((std > 0).any(axis=1))[: min(config.fd_groups, budget)]]
    if len(chosen):
        rows += [_fd_row("prop3_jacobian_fd", scheme, chosen, weights, ddof, False, True)
                 for scheme in theory.JACOBIAN_SCHEMES]
        rows += [_fd_row("prop3_printed_fd", scheme, chosen, weights, ddof, True, ddof == 0)
                 for scheme in ("ac", "dvao")]
    context = {"G": n_rollouts, "K": n_objectives, "distribution": distribution, "ddof": ddof, "source": "random",
               "min_correlation": np.nan}
    return [{**context, **row} for row in rows]


def check_worst_cases(n_rollouts: int, n_objectives: int, config: BoundsConfig,
                      seeds: list[np.random.SeedSequence]) -> list[dict]:
    """The :data:`SEARCHES` for one (G, K) at ``ddof=0`` with equal weights; one seed per search; rows as dicts."""
    rows = []
    for (claim, label, scheme, target, unit_weights), seed in zip(SEARCHES, seeds, strict=True):
        weights = np.ones(n_objectives) if unit_weights else None
        found = theory.worst_case_search(scheme, n_rollouts, n_objectives, target=target, weights=weights,
                                         n_restarts=config.n_restarts, max_iter=config.max_iter, seed=seed)
        row = _inequality(claim, label, found.values, found.bound, TOLERANCE)
        rows.append({**row, "G": n_rollouts, "K": n_objectives, "distribution": "adversarial", "ddof": 0,
                     "source": "search", "min_correlation": found.min_correlation})
    return rows


def run_bounds(quick: bool = False, seed: int = 0, out=None, *, config: BoundsConfig | None = None,
               progress: bool = False) -> pd.DataFrame:
    """Check every claim on random and adversarial groups; return the table and, with ``out``, write it.

    Parameters
    ----------
    quick : bool
        Use :data:`QUICK` instead of :data:`FULL`. Ignored when ``config`` is given.
    seed : int
        Root of a ``numpy.random.SeedSequence``; every cell and search gets its own spawned child, so the same seed
        gives the same table.
    out : str or Path, optional
        Directory for ``bounds.csv`` and ``bounds_tightness.{png,pdf}``.
    config : BoundsConfig, optional
    progress : bool
        Show tqdm progress bars (on a terminal).

    Returns
    -------
    DataFrame with columns :data:`COLUMNS`
    """
    config = config or (QUICK if quick else FULL)
    random_root, search_root = np.random.SeedSequence(seed).spawn(2)
    cells = list(itertools.product(config.distributions, config.n_rollouts, config.n_objectives, config.ddofs))
    sizes = list(itertools.product(config.n_rollouts, config.n_objectives))
    disable = None if progress else True
    rows = []
    for cell, cell_seed in tqdm(list(zip(cells, random_root.spawn(len(cells)))), desc="random groups",
                                disable=disable):
        rows += check_random_groups(*cell, config, np.random.default_rng(cell_seed))
    search_seeds = search_root.spawn(len(sizes) * len(SEARCHES))
    for index, (n_rollouts, n_objectives) in enumerate(tqdm(sizes, desc="worst-case search", disable=disable)):
        seeds = search_seeds[index * len(SEARCHES): (index + 1) * len(SEARCHES)]
        rows += check_worst_cases(n_rollouts, n_objectives, config, seeds)
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        tmp = out / "bounds.csv.tmp"
        frame.to_csv(tmp, index=False)
        tmp.replace(out / "bounds.csv")  # atomic: a reader never sees a half-written table
        from mowsim.plotting import save_figure  # matplotlib and seaborn load only when a figure is written

        save_figure(tightness_figure(frame), out / "bounds_tightness")
    return frame


def summarize(frame: pd.DataFrame) -> pd.DataFrame:
    """Per claim: groups checked, violations, worst ratio, and whether it is a theorem; the CLI prints this."""
    summary = frame.groupby(["claim", "theorem"], sort=False).agg(
        groups=("n_groups", "sum"), violations=("violations", "sum"), worst_ratio=("worst_ratio", "max"),
        schemes=("scheme", lambda names: ",".join(dict.fromkeys(names))),
    )
    return summary.reset_index()


def tightness_figure(frame: pd.DataFrame):
    """Figure: worst max|A| found / its bound against G (left) and K (right), one line per scheme.

    Top row: the worst-case search; bottom row: the worst random group over all distributions. Each scheme is
    drawn against the claim in :data:`FIGURE_CLAIMS`.
    """
    from mowsim.plotting import new_figure, plot_tightness, scheme_legend  # matplotlib and seaborn load only here

    drawn = frame[frame["claim"] == frame["scheme"].map(FIGURE_CLAIMS)]
    fig, axes = new_figure(2, 2, panel_size=(4.6, 3.2))
    for row, (source, title) in enumerate((("search", "worst-case search"), ("random", "random groups"))):
        for column, x in enumerate(("G", "K")):
            ax = plot_tightness(drawn[drawn["source"] == source], x, ax=axes[row, column])
            ax.set_ylim(0.0, 1.08)
            ax.set_title(f"{title}, against {x}", fontsize="medium")
            ax.get_legend().remove()
    scheme_legend(fig, drawn["scheme"].unique(), ncol=6)
    fig.suptitle("max |A| / bound: sqrt(G-1); gdpo before whitening: K sqrt(G-1); saw-gdpo: batch sqrt(N-1)",
                 fontsize="medium")
    return fig
