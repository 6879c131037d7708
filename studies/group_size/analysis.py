"""Scores and plot of the group_size study.

Headline metric ``true_auc``: the mean exact expected reward of both objectives over training, per (G, scheme), with
a bootstrap 95 % CI over runs (instances x seeds); ``true_final`` after the last update; ``max_abs_advantage`` the
largest |A| of the run (bounded by sqrt(G-1) for the group-normalized schemes).
"""

from __future__ import annotations

import pandas as pd
from matplotlib.axes import Axes

from mowsim import analysis, plotting
from mowsim.analysis import format_number as num

KNOB = "G"
METRICS = {"true_auc": "auc", "true_final": "final", "max_abs_advantage": "max_abs_advantage"}
FIGURE = "group_size"
YLABEL = {"true_auc": "true reward AUC", "true_final": "final true reward", "max_abs_advantage": "max |A|"}


def per_run(df: pd.DataFrame) -> pd.DataFrame:
    return analysis.run_summary(df, keep=("scheme", "seed", "instance", KNOB))


def score(df: pd.DataFrame) -> pd.DataFrame:
    """Per (G, scheme): ``true_auc``, ``true_final`` and ``max_abs_advantage`` with CIs and robust aggregates."""
    return analysis.score_metrics(per_run(df), METRICS, knobs=[KNOB])


def _losses(scores: pd.DataFrame) -> list[tuple[str, float]]:
    sizes = analysis.score_levels(scores, "true_auc", KNOB)
    small, large = analysis.ranked(scores, "true_auc", G=sizes[0]), dict(
        analysis.ranked(scores, "true_auc", G=sizes[-1]))
    return sorted(((s, large[s] - v) for s, v in small if s in large), key=lambda item: -item[1])


def answer(scores: pd.DataFrame) -> str:
    """The study's answer, every number read from ``scores``."""
    sizes = analysis.score_levels(scores, "true_auc", KNOB)
    small, large = sizes[0], sizes[-1]

    def value(scheme, g):
        return num(analysis.score_value(scores, "true_auc", scheme, G=g))

    losses = _losses(scores)
    return (f"With the rollout budget fixed, going from G={large} to G={small} costs every scheme true-reward AUC: "
            f"most {', '.join(f'{s} ({num(v)})' for s, v in losses[:3])}, least "
            f"{', '.join(f'{s} ({num(v)})' for s, v in losses[-3:])}. DVAO {value('dvao', large)} -> "
            f"{value('dvao', small)}, RC {value('rc', large)} -> {value('rc', small)}, AC {value('ac', large)} -> "
            f"{value('ac', small)}; dvao-ema reaches {value('dvao-ema', small)} at G={small}.")


def headline(scores: pd.DataFrame) -> pd.DataFrame:
    """True-reward AUC per scheme at the smallest, a middle and the largest G."""
    sizes = analysis.score_levels(scores, "true_auc", KNOB)
    shown = list(dict.fromkeys([sizes[0], sizes[min(1, len(sizes) - 1)], sizes[len(sizes) // 2], sizes[-1]]))
    return analysis.headline_table(scores, {f"AUC, G={g}": {"metric": "true_auc", KNOB: g} for g in shown},
                                   sort_by=f"AUC, G={sizes[0]}")


def plot(df: pd.DataFrame, ax: Axes | None = None, *, metric: str = "true_auc",
         scores: pd.DataFrame | None = None) -> Axes:
    table = analysis.select_scores(score(df) if scores is None else scores, metric)
    ax = plotting.plot_score(table, KNOB, ax, log_x=True, dodge=0.6, ylabel=YLABEL.get(metric, metric))
    ax.set_xlabel("group size G (B*G = 1024)")
    return ax
