"""Scores and plot of the spurious_reward study.

Headline metric ``true_final``: the mean exact expected reward of the two true objectives after the last update, per
(spurious_sd, scheme), with a bootstrap 95 % CI over runs (instances x seeds). ``spurious_weight``: the scheme's
mean effective weight on the spurious objective over training (how much it trusts the noise). The robust aggregate
is taken over the spurious_sd values.
"""

from __future__ import annotations

import pandas as pd
from matplotlib.axes import Axes

from mowsim import analysis, plotting

KNOB = "spurious_sd"


def per_run(df: pd.DataFrame) -> pd.DataFrame:
    """One row per run: the true objectives' ``final`` and ``auc`` and the mean ``spurious_weight``."""
    runs = analysis.run_summary(df, keep=("scheme", "seed", KNOB))
    keys = analysis.run_columns(df)
    spurious = df[df["objective_name"].astype(str).str.startswith("spurious") & df["effective_weight"].notna()]
    weight = spurious.groupby(keys, observed=True)["effective_weight"].mean().rename("spurious_weight")
    return runs.merge(weight.reset_index(), on=keys, how="left")


def score(df: pd.DataFrame) -> pd.DataFrame:
    """Per (spurious_sd, scheme): ``true_final``, ``true_auc`` and ``spurious_weight`` with CIs."""
    runs = per_run(df)
    return pd.concat([
        analysis.score_table(runs, "final", metric="true_final", knobs=[KNOB]),
        analysis.score_table(runs, "auc", metric="true_auc", knobs=[KNOB]),
        analysis.score_table(runs, "spurious_weight", metric="spurious_weight", knobs=[KNOB]),
    ], ignore_index=True)


def plot(df: pd.DataFrame, ax: Axes | None = None, *, metric: str = "true_final") -> Axes:
    """``metric`` against the spurious reward's scale, one line per scheme with 95 % CIs."""
    table = score(df)
    table = table[table["metric"] == metric]
    ylabel = {"true_final": "final true reward", "true_auc": "true reward AUC",
              "spurious_weight": "effective weight on the noise"}.get(metric, metric)
    ax = plotting.plot_score(table, KNOB, ax, symlog_x=True, dodge=0.6, ylabel=ylabel)
    ax.set_xlabel("spurious reward sd")
    return ax
