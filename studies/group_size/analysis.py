"""Scores and plot of the group_size study.

Headline metric ``true_auc``: the mean exact expected reward of both objectives over training, per (G, scheme), with
a bootstrap 95 % CI over runs (instances x seeds); ``true_final`` after the last update; ``max_abs_advantage`` the
largest |A| of the run (bounded by sqrt(G-1) for the group-normalized schemes).
"""

from __future__ import annotations

import pandas as pd
from matplotlib.axes import Axes

from mowsim import analysis, plotting

KNOB = "G"


def per_run(df: pd.DataFrame) -> pd.DataFrame:
    return analysis.run_summary(df, keep=("scheme", "seed", KNOB))


def score(df: pd.DataFrame) -> pd.DataFrame:
    """Per (G, scheme): ``true_auc``, ``true_final`` and ``max_abs_advantage`` with CIs and robust aggregates."""
    runs = per_run(df)
    return pd.concat([
        analysis.score_table(runs, "auc", metric="true_auc", knobs=[KNOB]),
        analysis.score_table(runs, "final", metric="true_final", knobs=[KNOB]),
        analysis.score_table(runs, "max_abs_advantage", knobs=[KNOB]),
    ], ignore_index=True)


def plot(df: pd.DataFrame, ax: Axes | None = None, *, metric: str = "true_auc") -> Axes:
    table = score(df)
    table = table[table["metric"] == metric]
    ylabel = {"true_auc": "true reward AUC", "true_final": "final true reward",
              "max_abs_advantage": "max |A|"}.get(metric, metric)
    ax = plotting.plot_score(table, KNOB, ax, log_x=True, dodge=0.6, ylabel=ylabel)
    ax.set_xlabel("group size G (B*G = 1024)")
    return ax
