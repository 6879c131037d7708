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
from mowsim.analysis import format_number as num

KNOB = "K"
METRICS = {"max_abs_advantage": "max_abs_advantage", "normalized_final": "normalized_final",
           "grad_norm_var": "grad_norm_var"}
FIGURE = "stability"
YLABEL = {"max_abs_advantage": "max |A| over training", "normalized_final": "share of achievable gain",
          "grad_norm_var": "variance of the update norm"}


def per_run(df: pd.DataFrame) -> pd.DataFrame:
    runs = analysis.run_summary(df, keep=("scheme", "seed", "instance", KNOB, "best_value"))
    return analysis.add_normalized(runs, ("final",))


def score(df: pd.DataFrame) -> pd.DataFrame:
    """Per (K, scheme): ``max_abs_advantage``, ``normalized_final`` and ``grad_norm_var`` with CIs."""
    return analysis.score_metrics(per_run(df), METRICS, knobs=[KNOB])


def answer(scores: pd.DataFrame) -> str:
    """The study's answer, every number read from ``scores``."""
    ks = analysis.score_levels(scores, "max_abs_advantage", KNOB)
    low, high = ks[0], ks[-1]

    def change(scheme):
        return (f"{scheme} {num(analysis.score_value(scores, 'max_abs_advantage', scheme, K=low))} -> "
                f"{num(analysis.score_value(scores, 'max_abs_advantage', scheme, K=high))}")

    progress = analysis.ranked(scores, "normalized_final", K=high)
    return (f"From K={low} to K={high} the largest |A| of a run goes {change('dvao')}, {change('rc')}, "
            f"{change('ac')}, {change('gdpo')} (batch-whitened). At K={high} the share of the achievable gain is "
            f"highest for {', '.join(f'{s} {num(v)}' for s, v in progress[:3])} and lowest for "
            f"{', '.join(f'{s} {num(v)}' for s, v in progress[-2:])}.")


def headline(scores: pd.DataFrame) -> pd.DataFrame:
    """max |A| at the fewest and most objectives, and progress at the most."""
    ks = analysis.score_levels(scores, "max_abs_advantage", KNOB)
    return analysis.headline_table(scores, {
        f"gain share, K={ks[-1]}": {"metric": "normalized_final", KNOB: ks[-1]},
        f"max |A|, K={ks[0]}": {"metric": "max_abs_advantage", KNOB: ks[0]},
        f"max |A|, K={ks[-1]}": {"metric": "max_abs_advantage", KNOB: ks[-1]},
    })


def plot(df: pd.DataFrame, ax: Axes | None = None, *, metric: str = "max_abs_advantage",
         scores: pd.DataFrame | None = None) -> Axes:
    table = analysis.select_scores(score(df) if scores is None else scores, metric)
    ax = plotting.plot_score(table, KNOB, ax, log_x=True, dodge=0.6, ylabel=YLABEL.get(metric, metric))
    ax.set_xlabel("number of objectives K")
    return ax
