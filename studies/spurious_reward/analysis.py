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
from mowsim.analysis import format_number as num

KNOB = "spurious_sd"
METRICS = {"true_final": "final", "true_auc": "auc", "spurious_weight": "spurious_weight"}
FIGURE = "spurious"
YLABEL = {"true_final": "final true reward", "true_auc": "true reward AUC",
          "spurious_weight": "effective weight on the noise"}


def per_run(df: pd.DataFrame) -> pd.DataFrame:
    """One row per run: the true objectives' ``final`` and ``auc`` and the mean ``spurious_weight``."""
    runs = analysis.run_summary(df, keep=("scheme", "seed", "instance", KNOB))
    noise_rows = df["objective_name"].astype(str).str.startswith("spurious")
    return analysis.add_mean_weight(runs, df, noise_rows, "spurious_weight")


def score(df: pd.DataFrame) -> pd.DataFrame:
    """Per (spurious_sd, scheme): ``true_final``, ``true_auc`` and ``spurious_weight`` with CIs."""
    return analysis.score_metrics(per_run(df), METRICS, knobs=[KNOB])


def answer(scores: pd.DataFrame) -> str:
    """The study's answer, every number read from ``scores``."""
    levels = analysis.score_levels(scores, "true_final", KNOB)
    low, high = levels[0], levels[-1]

    def value(metric, scheme, level):
        return num(analysis.score_value(scores, metric, scheme, **{KNOB: level}))

    top = analysis.ranked(scores, "true_final", **{KNOB: high})
    return (f"As the pure-noise reward's sd grows from {low:g} to {high:g}, DVAO's effective weight on it goes "
            f"{value('spurious_weight', 'dvao', levels[1])} (sd {levels[1]:g}) -> {value('spurious_weight', 'dvao', high)}"
            f" (the user's weight is 1/3) and its final true reward {value('true_final', 'dvao', low)} -> "
            f"{value('true_final', 'dvao', high)}; RC's true reward {value('true_final', 'rc', low)} -> "
            f"{value('true_final', 'rc', high)}. dvao-reliable ends at {value('true_final', 'dvao-reliable', high)} "
            f"with weight {value('spurious_weight', 'dvao-reliable', high)} on the noise; AC "
            f"{value('true_final', 'ac', high)}, GDPO {value('true_final', 'gdpo', high)}. At sd {high:g} the best is "
            f"{top[0][0]} ({num(top[0][1])}), the worst {top[-1][0]} ({num(top[-1][1])}).")


def headline(scores: pd.DataFrame) -> pd.DataFrame:
    """Final true reward without and with the largest noise, and the weight on the noise there."""
    levels = analysis.score_levels(scores, "true_final", KNOB)
    return analysis.headline_table(scores, {
        f"true reward, sd {levels[0]:g}": {"metric": "true_final", KNOB: levels[0]},
        f"true reward, sd {levels[-1]:g}": {"metric": "true_final", KNOB: levels[-1]},
        f"weight on noise, sd {levels[-1]:g}": {"metric": "spurious_weight", KNOB: levels[-1]},
    }, sort_by=f"true reward, sd {levels[-1]:g}")


def plot(df: pd.DataFrame, ax: Axes | None = None, *, metric: str = "true_final",
         scores: pd.DataFrame | None = None) -> Axes:
    """``metric`` against the spurious reward's scale, one line per scheme with 95 % CIs."""
    table = analysis.select_scores(score(df) if scores is None else scores, metric)
    ax = plotting.plot_score(table, KNOB, ax, symlog_x=True, dodge=0.6, ylabel=YLABEL.get(metric, metric))
    ax.set_xlabel("spurious reward sd")
    return ax
