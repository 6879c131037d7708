"""Scores and plot of the saturation study.

Headline metric ``hard_auc``: the mean exact expected reward of the hard objective (objective 0) over training, per
(saturation, scheme), with a bootstrap 95 % CI over runs (instances x seeds); ``hard_final`` after the last update;
``easy_weight``: the mean effective weight on the easy (saturating) objective over training. :func:`weight_curves`
gives the effective weight trajectories for the figure.
"""

from __future__ import annotations

import pandas as pd
from matplotlib.axes import Axes

from mowsim import analysis, plotting

KNOB = "saturation"
HARD, EASY = 0, 1


def per_run(df: pd.DataFrame) -> pd.DataFrame:
    runs = analysis.run_summary(df, objectives=[HARD], keep=("scheme", "seed", KNOB))
    keys = analysis.run_columns(df)
    easy = df[(df["objective"] == EASY) & df["effective_weight"].notna()]
    weight = easy.groupby(keys, observed=True)["effective_weight"].mean().rename("easy_weight")
    return runs.merge(weight.reset_index(), on=keys, how="left")


def score(df: pd.DataFrame) -> pd.DataFrame:
    """Per (saturation, scheme): ``hard_auc``, ``hard_final``, ``easy_weight`` with CIs and robust aggregates."""
    runs = per_run(df)
    return pd.concat([
        analysis.score_table(runs, "auc", metric="hard_auc", knobs=[KNOB]),
        analysis.score_table(runs, "final", metric="hard_final", knobs=[KNOB]),
        analysis.score_table(runs, "easy_weight", metric="easy_weight", knobs=[KNOB]),
    ], ignore_index=True)


def weight_curves(df: pd.DataFrame, objective: int = EASY) -> pd.DataFrame:
    """Per (saturation, scheme, step): mean effective weight on ``objective`` over seeds with a 95 % CI."""
    rows = df[(df["objective"] == objective) & df["effective_weight"].notna()]
    keys = analysis.run_columns(df)
    out = []
    for (level, scheme), group in rows.groupby([KNOB, "scheme"], observed=True, sort=True):
        wide = group.pivot_table(index="step", columns=keys, values="effective_weight", observed=True)
        mean, low, high = analysis.curve_ci(wide.to_numpy())
        out.append(pd.DataFrame({KNOB: level, "scheme": scheme, "step": wide.index.to_numpy(), "mean": mean,
                                 "ci_low": low, "ci_high": high}))
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame(
        columns=[KNOB, "scheme", "step", "mean", "ci_low", "ci_high"])


def plot(df: pd.DataFrame, ax: Axes | None = None, *, metric: str = "hard_auc") -> Axes:
    table = score(df)
    table = table[table["metric"] == metric]
    ylabel = {"hard_auc": "hard-objective AUC", "hard_final": "final hard-objective reward",
              "easy_weight": "easy-objective weight"}.get(metric, metric)
    ax = plotting.plot_score(table, KNOB, ax, symlog_x=True, dodge=0.6, ylabel=ylabel)
    ax.set_xlabel("saturation of the easy objective")
    return ax

