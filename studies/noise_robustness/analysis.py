"""Scores and plot of the noise_robustness study: accuracy (objective 0) progress against auxiliary noise.

Headline metric ``accuracy_auc``: the mean exact expected accuracy over training (the normalized area under its
curve), per (noise, level, scheme), with a bootstrap 95 % CI over runs (instances x seeds); ``accuracy_final`` is
the accuracy after the last update. The robust aggregate is taken over the levels of each noise sub-sweep.
"""

from __future__ import annotations

import pandas as pd
from matplotlib.axes import Axes

from mowsim import analysis, plotting
from mowsim.analysis import format_number as num

KNOBS = ("noise", "level")
METRICS = {"accuracy_auc": "auc", "accuracy_final": "final"}
FIGURE = "noise_curves"
XLABEL = {"gaussian": "noise sd on the auxiliary", "flip": "label-flip probability of the auxiliary",
          "sequence": "noise sd on the length reward"}


def per_run(df: pd.DataFrame) -> pd.DataFrame:
    """One row per run with the accuracy ``auc`` and ``final`` (objective 0 alone)."""
    return analysis.run_summary(df, objectives=[0], keep=("scheme", "seed", "instance") + KNOBS)


def score(df: pd.DataFrame) -> pd.DataFrame:
    """Per (noise, level, scheme): ``accuracy_auc`` and ``accuracy_final`` with CIs and the robust aggregate."""
    return analysis.score_metrics(per_run(df), METRICS, knobs=["level"], within=["noise"])


def _extremes(scores: pd.DataFrame, noise: str) -> tuple[float, float]:
    levels = analysis.select_scores(scores, "accuracy_auc", noise=noise)["level"]
    return float(levels.min()), float(levels.max())


def answer(scores: pd.DataFrame) -> str:
    """The study's answer, every number read from ``scores``."""
    low, high = _extremes(scores, "gaussian")
    clean = analysis.ranked(scores, "accuracy_auc", noise="gaussian", level=low)
    noisy = analysis.ranked(scores, "accuracy_auc", noise="gaussian", level=high)

    def change(scheme):
        return (f"{scheme} {num(analysis.score_value(scores, 'accuracy_auc', scheme, noise='gaussian', level=low))}"
                f" -> {num(analysis.score_value(scores, 'accuracy_auc', scheme, noise='gaussian', level=high))}")

    text = (f"With a clean auxiliary (Gaussian sd {low:g}) the schemes' accuracy AUC spans {num(clean[-1][1])}-"
            f"{num(clean[0][1])}. At sd {high:g} the best keep {', '.join(f'{s} {num(v)}' for s, v in noisy[:3])}; "
            f"the worst are {', '.join(f'{s} {num(v)}' for s, v in noisy[-3:])}. From sd {low:g} to {high:g}: "
            f"{change('rc')}, {change('dvao')}, {change('gdpo')}, {change('dvao-reliable')}.")
    for noise, what in (("flip", "label-flip probability"), ("sequence", "toy-LM length-reward noise sd")):
        if noise in set(scores["noise"]):
            top = _extremes(scores, noise)[1]
            order = analysis.ranked(scores, "accuracy_auc", noise=noise, level=top)
            text += (f" At {what} {top:g}: best {order[0][0]} ({num(order[0][1])}), worst {order[-1][0]} "
                     f"({num(order[-1][1])}).")
    return text


def headline(scores: pd.DataFrame) -> pd.DataFrame:
    """Accuracy AUC per scheme at the clean and the noisiest level of each sub-sweep."""
    columns = {}
    for noise in [n for n in XLABEL if n in set(scores["noise"])]:
        low, high = _extremes(scores, noise)
        levels = (low, high) if noise == "gaussian" else (high,)
        for level in levels:
            columns[f"{noise} {level:g}"] = {"metric": "accuracy_auc", "noise": noise, "level": level}
    return analysis.headline_table(scores, columns, sort_by=f"gaussian {_extremes(scores, 'gaussian')[1]:g}")


def plot(df: pd.DataFrame, ax: Axes | None = None, *, noise: str = "gaussian", metric: str = "accuracy_auc",
         scores: pd.DataFrame | None = None) -> Axes:
    """``metric`` against the noise level of sub-sweep ``noise``, one line per scheme with 95 % CIs; ``scores``
    (:func:`score` of ``df``) saves scoring again when several panels plot the same results."""
    table = analysis.select_scores(score(df[df["noise"] == noise]) if scores is None else scores, metric, noise=noise)
    ax = plotting.plot_score(table, "level", ax, symlog_x=noise != "flip", dodge=0.6,
                             ylabel=metric.replace("_", " "))
    ax.set_xlabel(XLABEL.get(noise, "level"))
    return ax
