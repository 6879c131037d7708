"""Scores and plot of the noise_robustness study: accuracy (objective 0) progress against auxiliary noise.

Headline metric ``accuracy_auc``: the mean exact expected accuracy over training (the normalized area under its
curve), per (noise, level, scheme), with a bootstrap 95 % CI over runs (instances x seeds); ``accuracy_final`` is
the accuracy after the last update. The robust aggregate is taken over the levels of each noise sub-sweep.
"""

from __future__ import annotations

import pandas as pd
from matplotlib.axes import Axes

from mowsim import analysis, plotting

KNOBS = ("noise", "level")
XLABEL = {"gaussian": "noise sd on the auxiliary", "flip": "label-flip probability of the auxiliary",
          "sequence": "noise sd on the length reward"}


def per_run(df: pd.DataFrame) -> pd.DataFrame:
    """One row per run with the accuracy ``auc`` and ``final`` (objective 0 alone)."""
    return analysis.run_summary(df, objectives=[0], keep=("scheme", "seed") + KNOBS)


def score(df: pd.DataFrame) -> pd.DataFrame:
    """Per (noise, level, scheme): ``accuracy_auc`` and ``accuracy_final`` with CIs and the robust aggregate."""
    runs = per_run(df)
    return pd.concat([
        analysis.score_table(runs, "auc", metric="accuracy_auc", knobs=["level"], within=["noise"]),
        analysis.score_table(runs, "final", metric="accuracy_final", knobs=["level"], within=["noise"]),
    ], ignore_index=True)


def plot(df: pd.DataFrame, ax: Axes | None = None, *, noise: str = "gaussian",
         metric: str = "accuracy_auc") -> Axes:
    """``metric`` against the noise level of sub-sweep ``noise``, one line per scheme with 95 % CIs."""
    table = score(df[df["noise"] == noise])
    table = table[table["metric"] == metric]
    ax = plotting.plot_score(table, "level", ax, symlog_x=noise != "flip", dodge=0.6,
                             ylabel=metric.replace("_", " "))
    ax.set_xlabel(XLABEL.get(noise, "level"))
    return ax
