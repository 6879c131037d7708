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
from mowsim.analysis import format_number as num

KNOB = "saturation"
HARD, EASY = 0, 1
METRICS = {"hard_auc": "auc", "hard_final": "final", "easy_weight": "easy_weight"}
FIGURE = "saturation"
YLABEL = {"hard_auc": "hard-objective AUC", "hard_final": "final hard-objective reward",
          "easy_weight": "easy-objective weight"}


def per_run(df: pd.DataFrame) -> pd.DataFrame:
    runs = analysis.run_summary(df, objectives=[HARD], keep=("scheme", "seed", "instance", KNOB))
    return analysis.add_mean_weight(runs, df, df["objective"] == EASY, "easy_weight")


def score(df: pd.DataFrame) -> pd.DataFrame:
    """Per (saturation, scheme): ``hard_auc``, ``hard_final``, ``easy_weight`` with CIs and robust aggregates."""
    return analysis.score_metrics(per_run(df), METRICS, knobs=[KNOB])


def answer(scores: pd.DataFrame) -> str:
    """The study's answer, every number read from ``scores``."""
    levels = analysis.score_levels(scores, "hard_auc", KNOB)
    low, high = levels[0], levels[-1]

    def value(metric, scheme, level):
        return num(analysis.score_value(scores, metric, scheme, **{KNOB: level}))

    pairs = ", ".join(f"{s} {value('hard_auc', s, low)} -> {value('hard_auc', s, high)}"
                      for s in ("saw-grpo", "rc", "saw-gdpo", "gdpo", "dvao"))
    top = analysis.ranked(scores, "hard_auc", **{KNOB: high})
    return (f"From saturation {low:g} to {high:g} the hard objective's AUC goes {pairs}. At saturation {high:g} the "
            f"weight on the easy objective is {value('easy_weight', 'saw-grpo', high)} under SAW-GRPO, "
            f"{value('easy_weight', 'saw-gdpo', high)} under SAW-GDPO and {value('easy_weight', 'dvao', high)} under "
            f"DVAO (0.5 is the user's), and the best hard-objective AUC is {top[0][0]}'s ({num(top[0][1])}).")


def headline(scores: pd.DataFrame) -> pd.DataFrame:
    """Hard-objective AUC without and with the strongest saturation, and the easy objective's weight there."""
    levels = analysis.score_levels(scores, "hard_auc", KNOB)
    return analysis.headline_table(scores, {
        f"hard AUC, s={levels[0]:g}": {"metric": "hard_auc", KNOB: levels[0]},
        f"hard AUC, s={levels[-1]:g}": {"metric": "hard_auc", KNOB: levels[-1]},
        f"easy weight, s={levels[-1]:g}": {"metric": "easy_weight", KNOB: levels[-1]},
    }, sort_by=f"hard AUC, s={levels[-1]:g}")


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


def plot(df: pd.DataFrame, ax: Axes | None = None, *, metric: str = "hard_auc",
         scores: pd.DataFrame | None = None) -> Axes:
    table = analysis.select_scores(score(df) if scores is None else scores, metric)
    ax = plotting.plot_score(table, KNOB, ax, symlog_x=True, dodge=0.6, ylabel=YLABEL.get(metric, metric))
    ax.set_xlabel("saturation of the easy objective")
    return ax
