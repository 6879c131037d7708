"""The machinery of :mod:`mowsim.claims`: verdicts, the :class:`Claim` base and registry, and the statistics every
decision rule shares (bootstrap CIs over runs paired by (instance, seed), verdicts per level of a sub-sweep and their
combination). The rules themselves are in :mod:`mowsim.claims.papers`.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Callable, ClassVar, Mapping, Sequence

import numpy as np
import pandas as pd

from mowsim import analysis

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
        """The studies this claim reads (``bounds``, ``llm`` and ``llm_transfer`` are not studies)."""
        return list(dict.fromkeys(name.split(".")[0] for name in self.reads
                                  if name not in ("bounds", "llm", "llm_transfer")))


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
