"""The papers' claims as registered hypotheses, each with a decision rule fixed in code before any result is read.

A claim is data plus a rule, like a study: one small frozen dataclass per claim, registered with
:func:`register`, holding its ``id``, a one-line ``statement``, its ``source`` (paper, proposition or section), the
results it ``reads``, the ``figure`` that shows it, and ``decide(data) -> Outcome``: the metric, the comparison and
the threshold, written here. :func:`evaluate` turns an outcome into a :class:`Verdict`; :func:`ledger` tabulates
verdicts as ``claims.csv``. This module is the one place where how a verdict is decided can be read or changed.

Verdicts (:data:`VERDICTS`)

* ``holds``: the rule's 95 % CI lies on the claim's side of the threshold (for a check of a theorem on the bounds
  table: no group violates it), at every level of the sub-sweep the claim covers;
* ``holds only when``: it holds at some levels only; ``condition`` names them (found from the data);
* ``fails``: it holds at no level, and at some the CI lies on the wrong side (or groups violate the statement);
* ``inconclusive``: every CI straddles the threshold, or the results it reads are missing; ``reason`` says what
  evidence would decide it.

Inputs (``reads``): ``"bounds"`` is ``bounds/bounds.csv`` (:func:`mowsim.bounds.run_bounds`); a study name is that
study's per-run table (``studies/<name>/analysis.py``'s ``per_run``); ``"<study>.<function>"`` is another table of
that analysis module (e.g. ``pareto_front.hypervolume_curves``); ``"llm"`` is ``llm/summary.csv`` of ``mowsim llm``.
Every effect's CI is a bootstrap over runs (instance x seed), paired by ``(instance, seed)`` where two schemes or
settings are compared (cells with the same seed share their random stream).

Adding a claim (e.g. the small-LLM transfer, or balance versus spread, once a study measures them): subclass
:class:`Claim` with a frozen dataclass, set ``id``, ``statement``, ``source``, ``reads``, ``figure`` and ``metric``,
write ``decide`` with the helpers below (:func:`paired`, :func:`by_level`, :func:`combine`, ...) and decorate it with
:func:`register`. ``tests/test_claims.py`` must then show its verdict flip on synthetic frames (a test fails for a
registered claim it does not name).
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Callable, ClassVar, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from mowsim import analysis

__all__ = [
    "VERDICTS",
    "CSV_COLUMNS",
    "Outcome",
    "Verdict",
    "Claim",
    "register",
    "available",
    "get",
    "Inputs",
    "evaluate",
    "evaluate_all",
    "ledger",
    "write_ledger",
    "read_ledger",
    "verdict_table",
]

VERDICTS = ("holds", "holds only when", "fails", "inconclusive")
CSV_COLUMNS = ("claim", "source", "verdict", "condition", "effect", "ci_low", "ci_high", "n", "figure", "command",
               "statement", "metric", "reason")
N_RESAMPLES = 2000
MIN_RUNS = 2
"""A level with fewer runs (or pairs) than this is inconclusive."""


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What a rule found: the verdict, the levels where it holds, the effect with its 95 % CI and ``n`` runs (or
    checked groups), and a reason (what the effect measures; for ``inconclusive`` what would decide it)."""

    verdict: str
    effect: float = math.nan
    ci_low: float = math.nan
    ci_high: float = math.nan
    n: int = 0
    condition: str = ""
    reason: str = ""

    def __post_init__(self):
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}; got {self.verdict!r}.")


@dataclasses.dataclass(frozen=True)
class Verdict:
    """A claim's :class:`Outcome` with the claim's identity, figure and reproducing command (a ``claims.csv`` row)."""

    claim: str
    statement: str
    source: str
    metric: str
    verdict: str
    condition: str
    effect: float
    ci_low: float
    ci_high: float
    n: int
    figure: str
    command: str
    reason: str

    @property
    def label(self) -> str:
        """The verdict as read: ``holds only when G in {2, 4}`` names its condition."""
        return f"{self.verdict} {self.condition}" if self.verdict == "holds only when" else self.verdict

    def row(self) -> dict:
        return {name: getattr(self, name) for name in CSV_COLUMNS}


@dataclasses.dataclass(frozen=True)
class Claim:
    """Base of every registered claim. Subclasses set the class attributes and implement :meth:`decide`."""

    id: ClassVar[str]
    statement: ClassVar[str]
    source: ClassVar[str]
    reads: ClassVar[tuple[str, ...]]
    figure: ClassVar[str]
    metric: ClassVar[str]

    def decide(self, data: Mapping[str, pd.DataFrame | None]) -> Outcome:
        raise NotImplementedError

    def studies(self) -> list[str]:
        """The studies this claim reads (``bounds`` and ``llm`` are not studies)."""
        return list(dict.fromkeys(name.split(".")[0] for name in self.reads if name not in ("bounds", "llm")))


_REGISTRY: dict[str, Claim] = {}


def register(cls):
    """Class decorator: register one instance of a :class:`Claim` subclass under its ``id``."""
    claim = cls()
    if claim.id in _REGISTRY:
        raise ValueError(f"claim id {claim.id!r} is registered twice.")
    _REGISTRY[claim.id] = claim
    return cls


def available() -> list[str]:
    """The registered claim ids, in registration order."""
    return list(_REGISTRY)


def get(claim_id: str) -> Claim:
    if claim_id not in _REGISTRY:
        raise ValueError(f"unknown claim {claim_id!r}; registered: {', '.join(_REGISTRY)}.")
    return _REGISTRY[claim_id]


# ---- statistics the rules share --------------------------------------------------------------------------------


def mean_ci(values, levels: int = 1) -> tuple[float, float, float, int]:
    """``(mean, ci_low, ci_high, n)`` of the finite ``values`` (:func:`mowsim.analysis.bootstrap_ci`, BCa).

    The interval is 95 % for one comparison; a rule that tests ``levels`` levels of a sub-sweep to find where a
    claim holds widens each level's interval to ``1 - 0.05 / levels`` (Bonferroni), so that searching more levels
    does not make a chance "holds only when" more likely.
    """
    data = np.asarray(values, dtype=np.float64)
    data = data[np.isfinite(data)]
    if data.size == 0:
        return (math.nan, math.nan, math.nan, 0)
    low, high = analysis.bootstrap_ci(data, confidence=1 - (1 - analysis.CONFIDENCE) / max(levels, 1))
    return (float(data.mean()), low, high, int(data.size))


def two_sample_ci(a, b, statistic: Callable[[float, float], float]) -> tuple[float, float, float, int]:
    """``statistic(mean(a), mean(b))`` with a percentile 95 % CI, resampling ``a`` and ``b`` independently."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if a.size == 0 or b.size == 0:
        return (math.nan, math.nan, math.nan, int(a.size + b.size))
    rng = np.random.default_rng(analysis.BOOTSTRAP_SEED)
    mean_a = a[rng.integers(0, a.size, (N_RESAMPLES, a.size))].mean(axis=1)
    mean_b = b[rng.integers(0, b.size, (N_RESAMPLES, b.size))].mean(axis=1)
    with np.errstate(all="ignore"):
        resampled = np.array([statistic(x, y) for x, y in zip(mean_a, mean_b)])
        point = float(statistic(a.mean(), b.mean()))
    resampled = resampled[np.isfinite(resampled)]
    if resampled.size == 0:
        return (point, math.nan, math.nan, int(a.size + b.size))
    tail = (1 - analysis.CONFIDENCE) / 2
    low, high = np.quantile(resampled, [tail, 1 - tail])
    return (point, float(low), float(high), int(a.size + b.size))


def pooled_ci(frame: pd.DataFrame, column: str) -> tuple[float, float, float, int]:
    """:func:`mean_ci` of ``column`` averaged per (instance, seed) first: rows of one pair share its draws (and a
    reference they were measured against), so the pair is the unit resampled; ``n`` counts pairs."""
    keys = _pair_keys(frame)
    values = frame.groupby(keys, observed=True)[column].mean() if keys and len(frame) else frame[column]
    return mean_ci(values)


def side(low: float, high: float, threshold: float, above: bool = True) -> str:
    """``holds`` if the CI lies strictly on the claimed side of ``threshold``, ``fails`` if strictly on the other,
    else ``inconclusive`` (also for an undefined CI)."""
    if not (np.isfinite(low) and np.isfinite(high)):
        return "inconclusive"
    if above:
        return "holds" if low > threshold else "fails" if high < threshold else "inconclusive"
    return "holds" if high < threshold else "fails" if low > threshold else "inconclusive"


def level_verdict(effect: tuple, threshold: float = 0.0, above: bool = True) -> str:
    """:func:`side` of an effect ``(mean, low, high, n)``; ``inconclusive`` below :data:`MIN_RUNS` runs."""
    return side(effect[1], effect[2], threshold, above) if effect[3] >= MIN_RUNS else "inconclusive"


def all_of(verdicts: Sequence[str]) -> str:
    """A level of a claim with several parts: ``fails`` if a part fails, ``holds`` if every part holds."""
    return "fails" if "fails" in verdicts else "holds" if set(verdicts) == {"holds"} else "inconclusive"


def by_level(frame: pd.DataFrame, value: str, column: str, threshold: float = 0.0, *, above: bool = True,
             keep: Callable[[float], bool] = lambda v: True) -> list[tuple[dict, str]]:
    """Per value of ``column`` (those ``keep`` accepts): the verdict of ``value``'s mean against ``threshold``, its
    CI widened for the number of levels (:func:`mean_ci`)."""
    values = _levels(frame, column, keep)
    return [({column: v}, level_verdict(mean_ci(frame.loc[frame[column] == v, value], len(values)), threshold,
                                        above)) for v in values]


def _pair_keys(frame: pd.DataFrame) -> list[str]:
    return [k for k in ("instance", "seed") if k in frame]


def paired(frame: pd.DataFrame, value: str, treatment: Mapping, control: Mapping, *,
           on: Sequence[str] = ()) -> pd.DataFrame:
    """Per pair (``instance``, ``seed`` and ``on``): ``treatment`` rows' ``value`` minus ``control`` rows'; the
    selectors are {column: value} (e.g. ``{"scheme": "dvao"}``). Returns the keys and ``difference``."""
    keys = list(on) + _pair_keys(frame)

    def pick(selector):
        rows = frame
        for column, wanted in selector.items():
            rows = rows[(rows[column].astype(str) if isinstance(wanted, str) else rows[column]) == wanted]
        return rows.groupby(keys, observed=True)[value].mean()

    difference = (pick(treatment) - pick(control)).dropna()
    return difference.rename("difference").reset_index()


def _format_value(value) -> str:
    if isinstance(value, (float, np.floating)):
        return f"{value:g}"
    return str(value)


def format_levels(levels: Sequence[Mapping]) -> str:
    """``G in {2, 4}`` for one column; ``scheme=gradient, saturation=10; ...`` for several."""
    if not levels:
        return ""
    columns = list(levels[0])
    if len(columns) == 1:
        values = [_format_value(level[columns[0]]) for level in levels]
        return f"{columns[0]} = {values[0]}" if len(values) == 1 else f"{columns[0]} in {{{', '.join(values)}}}"
    return "; ".join(", ".join(f"{c}={_format_value(level[c])}" for c in columns) for level in levels)


def combine(levels: Sequence[tuple[Mapping, str]], pooled: tuple[float, float, float, int], reason: str,
            *, what_decides: str) -> Outcome:
    """The claim's verdict from its per-level verdicts (see the module docstring); ``pooled`` is the effect over
    every level, reported whatever the verdict."""
    effect, low, high, n = pooled
    holding = [level for level, verdict in levels if verdict == "holds"]
    failing = [level for level, verdict in levels if verdict == "fails"]
    detail = "; ".join(f"{format_levels([level]) or 'all'}: {verdict}" for level, verdict in levels)
    reason = f"{reason} Per level: {detail}." if len(levels) > 1 else reason
    if not levels:
        return Outcome("inconclusive", effect, low, high, n, reason=f"{reason} No level has data; {what_decides}")
    if len(holding) == len(levels):
        return Outcome("holds", effect, low, high, n, reason=reason)
    if holding:
        return Outcome("holds only when", effect, low, high, n, condition=format_levels(holding), reason=reason)
    if failing:
        return Outcome("fails", effect, low, high, n, reason=reason)
    return Outcome("inconclusive", effect, low, high, n, reason=f"{reason} {what_decides}")


def _missing(data, reads) -> Outcome | None:
    absent = [name for name in reads if data.get(name) is None or len(data[name]) == 0]
    if absent:
        return Outcome("inconclusive", reason=f"no results for {', '.join(absent)}; run `mowsim claims --results "
                                              "DIR` (it runs missing studies at --quick scale) or the study itself.")
    return None


def _levels(frame: pd.DataFrame, column: str, keep: Callable[[float], bool] = lambda v: True) -> list:
    return [v for v in sorted(frame[column].dropna().unique()) if keep(v)]


# ---- the bounds table: theorems and printed forms --------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class BoundsClaim(Claim):
    """A proposition checked on the groups of ``bounds.csv``: it holds at a level when no checked group of the
    named ``checks`` violates it there (a violation is an error beyond the tolerance of ``mowsim.bounds``).
    ``levels`` are the columns whose values the condition names. Effect: the share of checked groups that
    violate it, with its exact (Clopper-Pearson) 95 % CI."""

    reads: ClassVar[tuple[str, ...]] = ("bounds",)
    figure: ClassVar[str] = "figures/bounds_tightness.png"
    metric: ClassVar[str] = "share of checked groups violating it"
    checks: ClassVar[tuple[str, ...]] = ()
    schemes: ClassVar[tuple[str, ...] | None] = None
    levels: ClassVar[tuple[str, ...]] = ("ddof",)

    def decide(self, data) -> Outcome:
        missing = _missing(data, self.reads)
        if missing:
            return missing
        table = data["bounds"]
        rows = table[table["claim"].isin(self.checks)]
        if self.schemes is not None:
            rows = rows[rows["scheme"].isin(self.schemes)]
        what = "needs `mowsim bounds` rows of " + ", ".join(self.checks) + "."
        if rows.empty or rows["n_groups"].sum() == 0:
            return Outcome("inconclusive", reason=f"bounds.csv has no rows of {', '.join(self.checks)}; {what}")
        per_level = []
        for key, group in rows.groupby(list(self.levels), sort=True):
            key = key if isinstance(key, tuple) else (key,)
            level = dict(zip(self.levels, (k.item() if hasattr(k, "item") else k for k in key)))
            violations, checked = int(group["violations"].sum()), int(group["n_groups"].sum())
            per_level.append((level, "holds" if violations == 0 else "fails" if checked else "inconclusive"))
        violations, checked = int(rows["violations"].sum()), int(rows["n_groups"].sum())
        low, high = _clopper_pearson(violations, checked)
        error = rows["max_abs_error"].max()
        reason = (f"{violations:,} of {checked:,} checked groups violate it; worst ratio to the bound "
                  f"{rows['worst_ratio'].max():.6g}" + (f", largest error {error:.3g}." if np.isfinite(error) else "."))
        return combine(per_level if len(self.levels) else [({}, per_level[0][1])],
                       (violations / checked, low, high, checked), reason, what_decides=what)


def _clopper_pearson(successes: int, trials: int) -> tuple[float, float]:
    from scipy import stats

    if trials == 0:
        return (math.nan, math.nan)
    interval = stats.binomtest(successes, trials).proportion_ci(confidence_level=analysis.CONFIDENCE)
    return (float(interval.low), float(interval.high))


@register
@dataclasses.dataclass(frozen=True)
class DvaoProp1RC(BoundsClaim):
    """RC's mean-square advantage is exactly (G - ddof) / G: 1 at the papers' ddof = 0."""

    id = "dvao-prop1-rc"
    statement = "RC's mean-square advantage (1/G) sum_j A_RC^2 equals 1."
    source = "DVAO paper, Prop. 1"
    checks = ("rc_mean_square",)


@register
@dataclasses.dataclass(frozen=True)
class DvaoProp1AC(BoundsClaim):
    """AC's mean square is at most 1 and equals the general form sum w_k^2 m_k + 2 sum w_k w_l rho_kl sqrt(m_k m_l)."""

    id = "dvao-prop1-ac"
    statement = "AC's mean-square advantage is at most 1."
    source = "DVAO paper, Prop. 1"
    checks = ("ac_mean_square_le_1", "ac_mean_square_identity")


@register
@dataclasses.dataclass(frozen=True)
class DvaoProp1ACPrinted(BoundsClaim):
    """The printed identity; the condition names the (distribution, ddof) cells where no group breaks it."""

    id = "dvao-prop1-ac-printed"
    statement = "AC's mean square equals the printed 1 - 2 sum_{k<l} w_k w_l (1 - rho_kl)."
    source = "DVAO paper, Prop. 1 (printed form)"
    checks = ("ac_mean_square_paper_form",)
    levels = ("distribution", "ddof")


@register
@dataclasses.dataclass(frozen=True)
class DvaoProp2(BoundsClaim):
    """Pointwise |A_DVAO| <= |A_RC|, hence |A_DVAO| <= sqrt(G-1) and a mean square <= 1."""

    id = "dvao-prop2-pointwise"
    statement = "|A_DVAO[b,j]| <= |A_RC[b,j]| for every rollout (so |A_DVAO| <= sqrt(G-1), mean square <= 1)."
    source = "DVAO paper, Prop. 2"
    checks = ("dvao_le_rc_pointwise", "dvao_mean_square_le_1", "samuelson_max_abs")
    schemes = ("dvao",)


@register
@dataclasses.dataclass(frozen=True)
class DvaoProp3Exact(BoundsClaim):
    """The exact Jacobians of RC, AC and DVAO (off-diagonal terms included) against central differences."""

    id = "dvao-prop3-exact"
    statement = "The exact sensitivities dA/dr of RC, AC and DVAO match central differences at ddof 0 and 1."
    source = "DVAO paper, Prop. 3 (exact form)"
    checks = ("prop3_jacobian_fd",)


@register
@dataclasses.dataclass(frozen=True)
class DvaoProp3Printed(BoundsClaim):
    """Prop. 3's printed diagonal, with 1/G in the last term, against central differences at both ddof."""

    id = "dvao-prop3-printed"
    statement = "The printed sensitivity (w_k/sigma_k)(1 - 1/G - A A_k / G) is exact, at ddof 0 and 1."
    source = "DVAO paper, Prop. 3 (printed form)"
    checks = ("prop3_printed_fd",)


@register
@dataclasses.dataclass(frozen=True)
class GdpoKScale(Claim):
    """Two parts. (a) ``bounds.csv``'s worst-case search finds the unwhitened sum of K z-scores at its bound
    K sqrt(G-1) (worst ratio >= ``attained``) at every K: its scale grows linearly with K. (b) in the
    many_objectives study, the growth exponent of whitened GDPO's max |A|, ``log(mean(K_max) / mean(K_min)) /
    log(K_max / K_min)`` (1 for the unwhitened sum), has its 95 % CI below ``max_exponent``."""

    id = "gdpo-k-scale"
    statement = "The scale of GDPO's summed z-scores grows with K (up to K sqrt(G-1)); batch whitening removes it."
    source = "GDPO paper, Eq. 4-7; DVAO paper Sec. 3"
    reads = ("bounds", "many_objectives")
    figure = "figures/stability.png"
    metric = "growth exponent of whitened GDPO's max |A| in K (unwhitened: 1)"
    attained: float = 0.99
    max_exponent: float = 0.5

    def decide(self, data) -> Outcome:
        missing = _missing(data, self.reads)
        if missing:
            return missing
        search = data["bounds"]
        search = search[(search["claim"] == "gdpo_unwhitened_max_abs") & (search["source"] == "search")]
        runs = data["many_objectives"]
        runs = runs[runs["scheme"].astype(str) == "gdpo"]
        if search.empty or runs["K"].nunique() < 2:
            return Outcome("inconclusive", reason="needs the bounds search rows of gdpo_unwhitened_max_abs and "
                                                  "GDPO runs at two K or more (many_objectives).")
        reached = search.groupby("K")["worst_ratio"].max()
        grows = bool((reached >= self.attained).all())
        k_min, k_max = runs["K"].min(), runs["K"].max()
        exponent = two_sample_ci(runs.loc[runs["K"] == k_max, "max_abs_advantage"],
                                 runs.loc[runs["K"] == k_min, "max_abs_advantage"],
                                 lambda hi, lo: math.log(hi / lo) / math.log(k_max / k_min))
        removed = side(exponent[1], exponent[2], self.max_exponent, above=False)
        reason = (f"(a) the unwhitened sum reaches {reached.min():.4f}-{reached.max():.4f} of K sqrt(G-1) for K in "
                  f"{{{', '.join(str(k) for k in reached.index)}}}; (b) whitened GDPO's max |A| goes "
                  f"{runs.loc[runs['K'] == k_min, 'max_abs_advantage'].mean():.3g} -> "
                  f"{runs.loc[runs['K'] == k_max, 'max_abs_advantage'].mean():.3g} from K={k_min} to K={k_max}.")
        verdict = "fails" if not grows else removed
        if verdict == "inconclusive":
            reason += " More seeds or a wider K range would decide (b)."
        return Outcome(verdict, *exponent, reason=reason)


# ---- training studies -------------------------------------------------------------------------------------------


@register
@dataclasses.dataclass(frozen=True)
class DvaoRCExplodes(Claim):
    """Per K of many_objectives, paired by (instance, seed): RC's max |A| exceeds DVAO's (CI above 0) and DVAO's
    share of the achievable gain exceeds RC's (CI above 0). A level holds when both do, fails when either CI lies
    below 0. Effect: DVAO's minus RC's ``normalized_final``, pooled over K."""

    id = "dvao-rc-explodes"
    statement = "RC's advantage magnitudes explode and destabilize training; DVAO's stay bounded."
    source = "DVAO paper, Sec. 1 and 3 (motivation of Prop. 2)"
    reads = ("many_objectives",)
    figure = "figures/stability.png"
    metric = "normalized_final(DVAO) - normalized_final(RC)"

    def decide(self, data) -> Outcome:
        missing = _missing(data, self.reads)
        if missing:
            return missing
        runs = data["many_objectives"]
        magnitude = paired(runs, "max_abs_advantage", {"scheme": "rc"}, {"scheme": "dvao"}, on=["K"])
        progress = paired(runs, "normalized_final", {"scheme": "dvao"}, {"scheme": "rc"}, on=["K"])
        ks = _levels(progress, "K")
        levels = [({"K": k}, all_of([level_verdict(mean_ci(frame.loc[frame["K"] == k, "difference"], len(ks)))
                                     for frame in (magnitude, progress)])) for k in ks]
        pooled = pooled_ci(progress, "difference")
        reason = (f"RC's max |A| exceeds DVAO's by {magnitude['difference'].mean():.3g} on average (RC is itself "
                  f"capped at sqrt(G-1), see dvao-prop2-pointwise); DVAO's share of the achievable gain minus RC's: "
                  f"{pooled[0]:.3g}.")
        return combine(levels, pooled, reason, what_decides="More seeds per K would decide.")


@register
@dataclasses.dataclass(frozen=True)
class DvaoParetoDominance(Claim):
    """Per (instance, seed) of pareto_front: the hypervolume of DVAO's front (its final points over every weight)
    minus that of the best baseline among RC, AC and GDPO (the one with the highest mean hypervolume). Holds if
    the 95 % CI of the paired difference lies above 0, fails if below."""

    id = "dvao-pareto"
    statement = "On two objectives DVAO's Pareto front dominates RC's, AC's and GDPO's (higher hypervolume)."
    source = "DVAO paper, Sec. 4 (Tables 1-2, Fig. 1)"
    reads = ("pareto_front.seed_hypervolumes",)
    figure = "figures/pareto_fronts.png"
    metric = "HV(DVAO) - HV(best of RC, AC, GDPO)"
    baselines: tuple = ("rc", "ac", "gdpo")

    def decide(self, data) -> Outcome:
        missing = _missing(data, self.reads)
        if missing:
            return missing
        hv = data["pareto_front.seed_hypervolumes"].assign(scheme=lambda f: f["scheme"].astype(str))
        present = [s for s in self.baselines if s in set(hv["scheme"])]
        if "dvao" not in set(hv["scheme"]) or not present:
            return Outcome("inconclusive", reason="needs DVAO and at least one of RC, AC, GDPO in pareto_front.")
        best = max(present, key=lambda s: hv.loc[hv["scheme"] == s, "hypervolume"].mean())
        diff = paired(hv, "hypervolume", {"scheme": "dvao"}, {"scheme": best})["difference"]
        effect = mean_ci(diff)
        verdict = level_verdict(effect)
        reason = (f"best baseline: {best} (HV {hv.loc[hv['scheme'] == best, 'hypervolume'].mean():.4f}); DVAO "
                  f"{hv.loc[hv['scheme'] == 'dvao', 'hypervolume'].mean():.4f}.")
        if verdict == "inconclusive":
            reason += " More seeds or instances would decide."
        return Outcome(verdict, *effect, reason=reason)


@register
@dataclasses.dataclass(frozen=True)
class DvaoTrustsNoise(Claim):
    """Per spurious_sd > 0 of spurious_reward: DVAO's mean effective weight on the pure-noise reward lies above
    the user's weight (CI above ``user_weight``, 1/3: equal weights over the study's three objectives) and its
    final true reward lies below its own at spurious_sd = 0 (paired CI of the loss above 0). A level holds when
    both do. Effect: the weight on the noise minus the user's weight, pooled over the levels."""

    id = "dvao-trusts-noise"
    statement = "Variance weighting trusts a noisy or spurious reward: DVAO moves weight to it and loses true reward."
    source = "DVAO paper, Limitations"
    reads = ("spurious_reward",)
    figure = "figures/spurious.png"
    metric = "DVAO's weight on the spurious reward - user weight"
    user_weight: float = 1 / 3

    def decide(self, data) -> Outcome:
        missing = _missing(data, self.reads)
        if missing:
            return missing
        runs = data["spurious_reward"]
        dvao = runs[runs["scheme"].astype(str) == "dvao"]
        clean = dvao[dvao["spurious_sd"] == 0].groupby(_pair_keys(dvao))["final"].mean().rename("clean")
        dvao = dvao.join(clean, on=_pair_keys(dvao))
        dvao = dvao.assign(excess=dvao["spurious_weight"] - self.user_weight, loss=dvao["clean"] - dvao["final"])
        weight = by_level(dvao, "excess", "spurious_sd", keep=lambda v: v > 0)
        loss = by_level(dvao, "loss", "spurious_sd", keep=lambda v: v > 0)
        levels = [(level, all_of([a, b])) for (level, a), (_, b) in zip(weight, loss)]
        scope = dvao[dvao["spurious_sd"] > 0]
        pooled = pooled_ci(scope, "excess")
        top = scope[scope["spurious_sd"] == scope["spurious_sd"].max()] if len(scope) else scope
        reason = (f"at the largest sd DVAO puts {top['spurious_weight'].mean():.3g} on the noise and its true reward "
                  f"is {top['final'].mean():.3g} (clean: {dvao['clean'].mean():.3g}).") if len(top) else ""
        return combine(levels, pooled, reason, what_decides="More seeds per level would decide.")


@register
@dataclasses.dataclass(frozen=True)
class DvaoSmallG(Claim):
    """Per G <= ``small`` of group_size (fixed rollout budget B*G), paired by (instance, seed): DVAO's loss of
    true-reward AUC from G = ``reference`` (the papers' G) to G, minus RC's loss over the same step (RC has one
    variance, of the summed reward; DVAO one per objective). Holds at a level if the CI of that extra loss lies
    above 0."""

    id = "dvao-small-g"
    statement = "DVAO's per-objective variance estimates are unreliable at G <= 4: it loses more there than RC."
    source = "DVAO paper, Limitations"
    reads = ("group_size",)
    figure = "figures/group_size.png"
    metric = "extra AUC loss of DVAO over RC from G=16 to small G"
    small: int = 4
    reference: int = 16

    def decide(self, data) -> Outcome:
        missing = _missing(data, self.reads)
        if missing:
            return missing
        runs = data["group_size"]
        keys = _pair_keys(runs)
        wide = runs.pivot_table(index=keys + ["G"], columns="scheme", values="auc", observed=True)
        if not {"dvao", "rc"} <= set(wide.columns.astype(str)) or self.reference not in set(runs["G"]):
            return Outcome("inconclusive", reason=f"needs DVAO and RC at G={self.reference} and G<={self.small}.")
        wide.columns = wide.columns.astype(str)
        gap = (wide["rc"] - wide["dvao"]).rename("gap").reset_index()  # RC minus DVAO at each G
        at_reference = gap[gap["G"] == self.reference].set_index(keys)["gap"]
        gap = gap.join(at_reference.rename("ref"), on=keys)
        gap["extra_loss"] = gap["gap"] - gap["ref"]
        levels = by_level(gap, "extra_loss", "G", keep=lambda v: v <= self.small)
        scope = gap[gap["G"] <= self.small]
        pooled = pooled_ci(scope, "extra_loss")
        reason = f"DVAO's AUC loss from G={self.reference} to G<={self.small}, beyond RC's: {pooled[0]:.3g}."
        return combine(levels, pooled, reason, what_decides="More seeds per G would decide.")


@register
@dataclasses.dataclass(frozen=True)
class SawSaturation(Claim):
    """Per saturation > 0 of the saturation study, paired by (instance, seed): the hard objective's AUC under
    SAW-GRPO minus RC's, and under SAW-GDPO minus GDPO's. A (variant, saturation) level holds if the CI lies
    above 0. Effect: the difference pooled over both variants and every saturation > 0."""

    id = "saw-saturation"
    statement = "SAW's batch-CV weighting learns the hard objective faster under asynchronous saturation (GRPO and GDPO)."
    source = "SAW paper, Sec. 3 (asynchronous learning)"
    reads = ("saturation",)
    figure = "figures/saturation.png"
    metric = "hard-objective AUC: SAW minus its base (RC or GDPO)"
    pairs: tuple = (("saw-grpo", "rc"), ("saw-gdpo", "gdpo"))

    def decide(self, data) -> Outcome:
        missing = _missing(data, self.reads)
        if missing:
            return missing
        runs = data["saturation"]
        levels, pooled = [], []
        n_levels = len(self.pairs) * len(_levels(runs, "saturation", lambda v: v > 0))
        for variant, base in self.pairs:
            diff = paired(runs, "auc", {"scheme": variant}, {"scheme": base}, on=["saturation"])
            diff = diff[diff["saturation"] > 0]
            pooled.append(diff)
            levels += [({"scheme": variant, "saturation": s},
                        level_verdict(mean_ci(diff.loc[diff["saturation"] == s, "difference"], n_levels)))
                       for s in _levels(diff, "saturation")]
        pooled = pooled_ci(pd.concat(pooled), "difference") if pooled else (math.nan, math.nan, math.nan, 0)
        reason = f"SAW's hard-objective AUC minus its base's, pooled over saturation > 0: {pooled[0]:.3g}."
        return combine(levels, pooled, reason, what_decides="More seeds per saturation level would decide.")


@register
@dataclasses.dataclass(frozen=True)
class SawOverhead(Claim):
    """SAW's share of training-step time, from the LLM harness (``llm/summary.csv``, ``overhead_share`` of the SAW
    runs, bootstrap over seeds): holds if its CI lies below ``upper`` (2.7 %, the paper's upper figure), fails if
    above. The overhead study times the schemes alone, without a training step to divide by: without an LLM run
    the claim is inconclusive, and the reason gives the overhead study's SAW time relative to RC."""

    id = "saw-overhead"
    statement = "SAW's overhead is 0.9-2.7 % of step time."
    source = "SAW paper, Sec. 5 (efficiency)"
    reads = ("overhead", "llm")
    figure = "figures/overhead.png"
    metric = "SAW's share of training-step time (%)"
    upper: float = 2.7

    def decide(self, data) -> Outcome:
        timing = data.get("overhead")
        study = ""
        if timing is not None and len(timing):
            runs = timing[timing["B"] == timing["B"].max()]
            saw = runs[runs["scheme"].astype(str).str.startswith("saw")]["relative_to_rc"]
            study = (f" The overhead study: SAW takes {saw.mean():.3g}x RC's time at B*G = "
                     f"{int(runs['B'].max() * runs['G'].iloc[0])} rollouts "
                     f"({runs.loc[runs['scheme'].astype(str).str.startswith('saw'), 'ms_per_call'].mean():.3g} ms).")
        llm = data.get("llm")
        llm = None if llm is None else llm[llm["scheme"].astype(str).str.startswith("saw")]
        if llm is None or llm.empty:
            return Outcome("inconclusive", reason="no LLM run: the share of a training step needs one (`mowsim llm "
                                                  "--quick --out DIR/llm` measures it)." + study)
        effect = mean_ci(100 * llm["overhead_share"])
        verdict = side(effect[1], effect[2], self.upper, above=False)
        return Outcome(verdict, *effect, reason=f"LLM harness, {len(llm)} SAW run(s)." + study)


@register
@dataclasses.dataclass(frozen=True)
class LuFewerSteps(Claim):
    """From the pareto_front history, per (instance, seed): the target is ``share`` (90 %) of the fixed-weight (RC)
    front's hypervolume gain over training, ``HV_0 + share (HV_RC,final - HV_0)`` (RC's front still grows at its
    last step, so its own final value would be reached only there); each scheme's steps are the first step its
    front (its expected-reward vectors over every weight, at that step) reaches the target; one that never does
    counts as one step past the end (which favours it). Effect: RC's steps minus the dynamic scheme's, paired; a
    scheme holds if the CI lies above 0. Lu et al. report 6.1 steps fewer."""

    id = "lu-fewer-steps"
    statement = "Dynamic weighting (hv-guided, gradient) reaches Pareto-dominant fronts in fewer steps than fixed weights (6.1 on average)."
    source = "Lu et al. 2025 (arXiv 2509.11452), Sec. 5"
    reads = ("pareto_front.hypervolume_curves",)
    figure = "figures/pareto_fronts.png"
    metric = "steps(RC) - steps(dynamic) to 90 % of RC's hypervolume gain"
    dynamic: tuple = ("hv-guided", "gradient")
    fixed: str = "rc"
    share: float = 0.9

    def decide(self, data) -> Outcome:
        missing = _missing(data, self.reads)
        if missing:
            return missing
        curves = data["pareto_front.hypervolume_curves"].assign(scheme=lambda f: f["scheme"].astype(str))
        keys = _pair_keys(curves)
        last = curves["step"].max()
        fixed = curves[curves["scheme"] == self.fixed]
        if fixed.empty:
            return Outcome("inconclusive", reason=f"needs {self.fixed} in pareto_front.")
        start = fixed[fixed["step"] == fixed["step"].min()].set_index(keys)["hypervolume"]
        end = fixed[fixed["step"] == last].set_index(keys)["hypervolume"]
        target = (start + self.share * (end - start)).rename("target")

        def steps(rows):
            rows = rows.join(target, on=keys)
            hit = rows[rows["hypervolume"] >= rows["target"]].groupby(keys)["step"].min()
            return hit.reindex(target.index).fillna(last + 1)

        fixed_steps = steps(fixed)
        levels, pooled = [], []
        for scheme in self.dynamic:
            rows = curves[curves["scheme"] == scheme]
            if rows.empty:
                continue
            diff = (fixed_steps - steps(rows)).dropna()
            pooled.append(diff)
            levels.append(({"scheme": scheme}, level_verdict(mean_ci(diff, len(self.dynamic)))))
        pooled_effect = pooled_ci(pd.concat(pooled).rename("difference").reset_index(), "difference") if pooled else (math.nan, math.nan, math.nan, 0)
        reason = (f"RC reaches {self.share:.0%} of its hypervolume gain at step {fixed_steps.mean():.3g} on average "
                  f"(of {last}); "
                  f"dynamic minus fixed, pooled: {pooled_effect[0]:.3g} steps fewer.")
        return combine(levels, pooled_effect, reason, what_decides="More seeds would decide.")


@register
@dataclasses.dataclass(frozen=True)
class DvaoReliableSpurious(Claim):
    """Per spurious_sd > 0 of spurious_reward: dvao-reliable's gain of true reward (final - initial) as a share of
    DVAO's clean gain (spurious_sd = 0, same instance); holds at a level if the CI lies above ``keep`` (0.9)."""

    id = "dvao-reliable-spurious"
    statement = "mowsim's dvao-reliable keeps its progress under a spurious reward (>= 90 % of DVAO's clean gain)."
    source = "mowsim (this toolkit), schemes/dynamic.py"
    reads = ("spurious_reward",)
    figure = "figures/spurious.png"
    metric = "dvao-reliable's gain / DVAO's clean gain"
    keep: float = 0.9

    def decide(self, data) -> Outcome:
        missing = _missing(data, self.reads)
        if missing:
            return missing
        runs = data["spurious_reward"].assign(gain=lambda f: f["final"] - f["initial"])
        by = [k for k in ("instance",) if k in runs]
        clean = runs[(runs["scheme"].astype(str) == "dvao") & (runs["spurious_sd"] == 0)]
        if clean.empty:
            return Outcome("inconclusive", reason="needs DVAO at spurious_sd = 0 as the clean reference.")
        reference = clean.groupby(by)["gain"].mean() if by else pd.Series({0: clean["gain"].mean()})
        reliable = runs[runs["scheme"].astype(str) == "dvao-reliable"]
        share = reliable["gain"] / (reliable[by[0]].map(reference) if by else reference.iloc[0])
        reliable = reliable.assign(share=share)
        levels = by_level(reliable, "share", "spurious_sd", self.keep, keep=lambda v: v > 0)
        pooled = pooled_ci(reliable[reliable["spurious_sd"] > 0], "share")
        reason = f"dvao-reliable keeps {pooled[0]:.3g} of DVAO's clean gain on average over spurious_sd > 0."
        return combine(levels, pooled, reason, what_decides="More seeds per level would decide.")


@register
@dataclasses.dataclass(frozen=True)
class DvaoEmaSmallG(Claim):
    """Per G <= ``small`` of group_size, paired by (instance, seed): dvao-ema's true-reward AUC minus DVAO's;
    holds at a level if the CI lies above 0."""

    id = "dvao-ema-small-g"
    statement = "mowsim's dvao-ema (cross-batch pooled variance) helps DVAO at small G (G <= 4)."
    source = "mowsim (this toolkit), schemes/dynamic.py"
    reads = ("group_size",)
    figure = "figures/group_size.png"
    metric = "AUC(dvao-ema) - AUC(dvao)"
    small: int = 4

    def decide(self, data) -> Outcome:
        missing = _missing(data, self.reads)
        if missing:
            return missing
        diff = paired(data["group_size"], "auc", {"scheme": "dvao-ema"}, {"scheme": "dvao"}, on=["G"])
        diff = diff[diff["G"] <= self.small]
        levels = by_level(diff, "difference", "G")
        pooled = pooled_ci(diff, "difference")
        reason = f"dvao-ema minus DVAO, true-reward AUC at G <= {self.small}: {pooled[0]:.3g}."
        return combine(levels, pooled, reason, what_decides="More seeds per G would decide.")


# ---- evaluation -------------------------------------------------------------------------------------------------


class Inputs(Mapping):
    """The tables claims read, loaded lazily from ``results_dir`` and cached; missing ones are None.

    ``frames`` may hand over study results already in memory ({study: results frame}), so a caller that loaded
    them (``mowsim reproduce``) does not read them again.
    """

    def __init__(self, results_dir, frames: Mapping[str, pd.DataFrame] | None = None):
        self.results_dir = Path(results_dir)
        self._raw = dict(frames or {})
        self._tables: dict[str, pd.DataFrame | None] = {}

    def raw(self, study: str) -> pd.DataFrame | None:
        if study not in self._raw:
            try:
                self._raw[study] = analysis.read_results(self.results_dir, study)
            except (FileNotFoundError, ValueError):
                self._raw[study] = None
        return self._raw[study]

    def __getitem__(self, name: str):
        if name not in self._tables:
            self._tables[name] = self._load(name)
        return self._tables[name]

    def _load(self, name: str):
        if name == "bounds":
            path = self.results_dir / "bounds" / "bounds.csv"
            return pd.read_csv(path) if path.is_file() else None
        if name == "llm":
            path = self.results_dir / "llm" / "summary.csv"
            return pd.read_csv(path) if path.is_file() else None
        study, _, function = name.partition(".")
        frame = self.raw(study)
        if frame is None:
            return None
        return getattr(analysis.study_analysis(study), function or "per_run")(frame)

    def __iter__(self):
        return iter(self._tables)

    def __len__(self):
        return len(self._tables)

    def get(self, name, default=None):
        value = self[name]
        return default if value is None else value


def command(claim: Claim, results_dir) -> str:
    """The one command that reproduces ``claim``'s verdict (running what it reads if missing)."""
    return f"mowsim claims --results {results_dir} --claim {claim.id}"


def evaluate(claim: Claim | str, data: Mapping, results_dir="results") -> Verdict:
    """Apply ``claim``'s rule to ``data`` (a mapping of its ``reads``, e.g. :class:`Inputs`)."""
    claim = get(claim) if isinstance(claim, str) else claim
    outcome = claim.decide(data)
    return Verdict(claim=claim.id, statement=claim.statement, source=claim.source, metric=claim.metric,
                   verdict=outcome.verdict, condition=outcome.condition, effect=outcome.effect,
                   ci_low=outcome.ci_low, ci_high=outcome.ci_high, n=outcome.n, figure=claim.figure,
                   command=command(claim, results_dir), reason=outcome.reason)


def evaluate_all(results_dir, *, claims: Iterable[str] | None = None,
                 frames: Mapping[str, pd.DataFrame] | None = None) -> list[Verdict]:
    """Every registered claim (or those named) against the results under ``results_dir``."""
    inputs = Inputs(results_dir, frames)
    return [evaluate(get(claim_id), inputs, results_dir) for claim_id in (claims or available())]


def ledger(verdicts: Sequence[Verdict]) -> pd.DataFrame:
    """The verdicts as a table with columns :data:`CSV_COLUMNS`."""
    return pd.DataFrame([v.row() for v in verdicts], columns=list(CSV_COLUMNS))


def write_ledger(verdicts: Sequence[Verdict], path) -> Path:
    """Write ``claims.csv`` atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".csv.tmp")
    ledger(verdicts).to_csv(tmp, index=False)
    tmp.replace(path)
    return path


def read_ledger(path) -> pd.DataFrame:
    return pd.read_csv(path, keep_default_na=False, na_values=[""])


def _number(value) -> str:
    return "" if value is None or not np.isfinite(value) else f"{value:.3g}"


def verdict_table(verdicts: Sequence[Verdict], *, link_figures: bool = True) -> str:
    """The ledger as a Markdown table: claim, statement, verdict, effect [95 % CI], n, figure."""
    lines = ["| claim | statement (source) | verdict | effect [95 % CI] | n | figure |", "|---|---|---|---|---|---|"]
    for v in verdicts:
        ci = f" [{_number(v.ci_low)}, {_number(v.ci_high)}]" if np.isfinite(v.ci_low) else ""
        effect = f"{_number(v.effect)}{ci}" if np.isfinite(v.effect) else "-"
        figure = f"[{Path(v.figure).stem}]({v.figure})" if link_figures else Path(v.figure).stem
        cells = [f"`{v.claim}`", f"{v.statement} ({v.source})", f"**{v.label}**", f"{effect} ({v.metric})", str(v.n),
                 figure]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines)
