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

KNOB = "correlation"


def per_run(df: pd.DataFrame) -> pd.DataFrame:
    runs = analysis.run_summary(df, keep=("scheme", "seed", KNOB, "best_value"))
    runs["normalized_final"] = analysis.normalized_score(runs["final"], runs["initial"], runs["best_value"])
    runs["normalized_auc"] = analysis.normalized_score(runs["auc"], runs["initial"], runs["best_value"])
    return runs


def score(df: pd.DataFrame) -> pd.DataFrame:
    """Per (correlation, scheme): ``normalized_final`` and ``normalized_auc`` with CIs and robust aggregates."""
    runs = per_run(df)
    return pd.concat([
        analysis.score_table(runs, "normalized_final", knobs=[KNOB]),
        analysis.score_table(runs, "normalized_auc", knobs=[KNOB]),
    ], ignore_index=True)


def plot(df: pd.DataFrame, ax: Axes | None = None, *, metric: str = "normalized_final") -> Axes:
    table = score(df)
    table = table[table["metric"] == metric]
    ax = plotting.plot_score(table, KNOB, ax, dodge=0.6, ylabel="share of achievable gain")
    ax.set_xlabel("correlation of the objectives across arms")
    return ax
