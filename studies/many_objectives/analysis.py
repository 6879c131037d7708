"""Scores and plot of the many_objectives study.

Headline metrics: ``max_abs_advantage``, the largest |A| a run produced (stability), and ``normalized_final``,
``(final - initial) / (best - initial)`` of the mean expected reward over the K objectives (progress), per (K,
scheme) with bootstrap 95 % CIs over runs (instances x seeds); ``grad_norm_var`` the variance of the update's norm
over steps.
"""

from __future__ import annotations

import pandas as pd
from matplotlib.axes import Axes

from mowsim import analysis, plotting

KNOB = "K"


def per_run(df: pd.DataFrame) -> pd.DataFrame:
    runs = analysis.run_summary(df, keep=("scheme", "seed", KNOB, "best_value"))
    runs["normalized_final"] = analysis.normalized_score(runs["final"], runs["initial"], runs["best_value"])
    return runs


def score(df: pd.DataFrame) -> pd.DataFrame:
    """Per (K, scheme): ``max_abs_advantage``, ``normalized_final`` and ``grad_norm_var`` with CIs."""
    runs = per_run(df)
    return pd.concat([
        analysis.score_table(runs, "max_abs_advantage", knobs=[KNOB]),
        analysis.score_table(runs, "normalized_final", knobs=[KNOB]),
        analysis.score_table(runs, "grad_norm_var", knobs=[KNOB]),
    ], ignore_index=True)


def plot(df: pd.DataFrame, ax: Axes | None = None, *, metric: str = "max_abs_advantage") -> Axes:
    table = score(df)
    table = table[table["metric"] == metric]
    ylabel = {"max_abs_advantage": "max |A| over training", "normalized_final": "share of achievable gain",
              "grad_norm_var": "variance of the update norm"}.get(metric, metric)
    ax = plotting.plot_score(table, KNOB, ax, log_x=True, dodge=0.6, ylabel=ylabel)
    ax.set_xlabel("number of objectives K")
    return ax
