"""Scores and plot of the correlation study.

Headline metric ``normalized_final``: ``(final - initial) / (best - initial)`` of the mean expected reward over both
objectives, the share of the achievable gain a run realized (1 = the instance's optimum, 0 = no progress), per
(correlation, scheme) with a bootstrap 95 % CI over runs (instances x seeds); ``normalized_auc`` is the same for the
AUC. The robust aggregate is taken over the correlations: a scheme broken by conflict shows a low mean-minus-std.
"""

from __future__ import annotations

import pandas as pd
from matplotlib.axes import Axes

from mowsim import analysis, plotting
from mowsim.analysis import format_number as num

KNOB = "correlation"
METRICS = {"normalized_final": "normalized_final", "normalized_auc": "normalized_auc"}
FIGURE = "correlation"


def per_run(df: pd.DataFrame) -> pd.DataFrame:
    runs = analysis.run_summary(df, keep=("scheme", "seed", "instance", KNOB, "best_value"))
    return analysis.add_normalized(runs, ("final", "auc"))


def score(df: pd.DataFrame) -> pd.DataFrame:
    """Per (correlation, scheme): ``normalized_final`` and ``normalized_auc`` with CIs and robust aggregates."""
    return analysis.score_metrics(per_run(df), METRICS, knobs=[KNOB])


def answer(scores: pd.DataFrame) -> str:
    """The study's answer, every number read from ``scores``."""
    levels = analysis.score_levels(scores, "normalized_final", KNOB)
    conflict = analysis.ranked(scores, "normalized_final", correlation=levels[0])
    aligned = analysis.ranked(scores, "normalized_final", correlation=levels[-1])
    return (f"At correlation {levels[0]:g} (every arm good at one objective is bad at the other) the share of the "
            f"achievable gain is highest for {', '.join(f'{s} {num(v)}' for s, v in conflict[:3])} and lowest for "
            f"{', '.join(f'{s} {num(v)}' for s, v in conflict[-3:])}; DVAO realizes "
            f"{num(dict(conflict)['dvao'])}, RC {num(dict(conflict)['rc'])}. At {levels[-1]:g} (aligned) the schemes "
            f"span {num(aligned[-1][1])}-{num(aligned[0][1])}.")


def headline(scores: pd.DataFrame) -> pd.DataFrame:
    """Share of the achievable gain per scheme at the most conflicting, uncorrelated and most aligned objectives."""
    levels = analysis.score_levels(scores, "normalized_final", KNOB)
    shown = list(dict.fromkeys([levels[0], min(levels, key=abs), levels[-1]]))
    return analysis.headline_table(scores, {f"gain share, rho={c:g}": {"metric": "normalized_final", KNOB: c}
                                            for c in shown})


def plot(df: pd.DataFrame, ax: Axes | None = None, *, metric: str = "normalized_final",
         scores: pd.DataFrame | None = None) -> Axes:
    table = analysis.select_scores(score(df) if scores is None else scores, metric)
    ax = plotting.plot_score(table, KNOB, ax, dodge=0.6, ylabel="share of achievable gain")
    ax.set_xlabel("correlation of the objectives across arms")
    return ax
