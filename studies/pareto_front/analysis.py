"""Scores and plot of the pareto_front study.

Headline metric ``hypervolume``: per scheme, instance and seed, the hypervolume of the final expected-reward vectors
over all weights (one front per run), reference point (0, 0) (the worst value of a [0, 1] reward, so every point
counts; the initial policy's performance would drop the extremes of a conflicting front), then its mean over
instances and seeds with a bootstrap 95 % CI. ``normalized_value``: per (w1, scheme),
``(w . E[r]_final - w . E[r]_initial) / (best - w . E[r]_initial)``, the share of the achievable gain for that
weight; its robust aggregate over w1 says whether a scheme serves every trade-off or only some.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from mowsim import analysis, plotting
from mowsim.analysis import format_number as num

KNOB = "w1"
FIGURE = "pareto_fronts"
OBJECTIVES = ("objective_0", "objective_1")
REFERENCE = (0.0, 0.0)


def final_points(df: pd.DataFrame) -> pd.DataFrame:
    """One row per run: scheme, seed, instance, w1, best_value, the final and initial expected reward of each
    objective."""
    keep = ("scheme", "seed", "instance", KNOB, "best_value")
    final = analysis.final_objectives(df, keep=keep)
    initial = analysis.final_objectives(df, keep=(), step=0).rename(columns={o: f"{o}_initial" for o in OBJECTIVES})
    return final.merge(initial, on=analysis.run_columns(df), how="left")


def per_run(df: pd.DataFrame) -> pd.DataFrame:
    points = final_points(df)
    w = points[KNOB].to_numpy(dtype=np.float64)
    value = w * points["objective_0"] + (1 - w) * points["objective_1"]
    initial = w * points["objective_0_initial"] + (1 - w) * points["objective_1_initial"]
    points["normalized_value"] = analysis.normalized_score(value, initial, points["best_value"])
    return points


def seed_hypervolumes(df: pd.DataFrame) -> pd.DataFrame:
    """Per (scheme, instance, seed): the hypervolume of the final points over all weights (one front per seed)."""
    points = final_points(df)
    keys = ["scheme", "instance", "seed"] if "instance" in points else ["scheme", "seed"]
    rows = []
    for key, group in points.groupby(keys, observed=True, sort=True):
        row = dict(zip(keys, key))
        row["hypervolume"] = analysis.hypervolume(group[list(OBJECTIVES)].to_numpy(), REFERENCE)
        rows.append(row)
    return pd.DataFrame(rows)


def hypervolume_curves(df: pd.DataFrame, schemes=("rc", "hv-guided", "gradient")) -> pd.DataFrame:
    """Per (scheme, instance, seed, step): the hypervolume of the run's front at that step, its expected-reward
    vectors over every weight (reference (0, 0)); for the steps-to-front comparison of Lu et al."""
    rows = df[df["scheme"].astype(str).isin(schemes) & df["objective"].isin([0, 1])]
    keys = ["scheme", "instance", "seed"] if "instance" in rows else ["scheme", "seed"]
    wide = rows.pivot_table(index=keys + ["step", KNOB], columns="objective", values="expected_reward",
                            observed=True).reset_index()
    out = []
    for key, group in wide.groupby(keys + ["step"], observed=True, sort=True):
        out.append((*key, analysis.hypervolume(group[[0, 1]].to_numpy(), REFERENCE)))
    return pd.DataFrame(out, columns=keys + ["step", "hypervolume"])


def score(df: pd.DataFrame) -> pd.DataFrame:
    """Per scheme: ``hypervolume`` with its CI; per (w1, scheme): ``normalized_value`` with CIs and robust
    aggregates over w1 (``w1`` is NaN on the hypervolume rows)."""
    return pd.concat([
        analysis.score_table(seed_hypervolumes(df), "hypervolume"),
        analysis.score_table(per_run(df), "normalized_value", knobs=[KNOB]),
    ], ignore_index=True)


def answer(scores: pd.DataFrame) -> str:
    """The study's answer, every number read from ``scores``."""
    order = analysis.ranked(scores, "hypervolume")
    value = dict(order)
    return (f"The hypervolume of a run's front over the weights (reference (0, 0)) is highest for "
            f"{', '.join(f'{s} {num(v)}' for s, v in order[:3])}; RC {num(value['rc'])}, AC {num(value['ac'])}, "
            f"GDPO {num(value['gdpo'])}, DVAO {num(value['dvao'])}, hv-guided {num(value['hv-guided'])}, gradient "
            f"{num(value['gradient'])}; lowest {order[-1][0]} ({num(order[-1][1])}).")


def headline(scores: pd.DataFrame) -> pd.DataFrame:
    """Hypervolume per scheme, and the share of the achievable gain at the two extreme weights."""
    weights = analysis.score_levels(scores, "normalized_value", KNOB)
    columns = {"hypervolume": {"metric": "hypervolume"}}
    columns.update({f"gain share, w1={w:g}": {"metric": "normalized_value", KNOB: w}
                    for w in (weights[0], weights[-1])})
    return analysis.headline_table(scores, columns)


def front_summary(df: pd.DataFrame, instance: int | None = None) -> pd.DataFrame:
    """Per (scheme, w1): the mean final point over seeds with bootstrap 95 % CIs per coordinate, for
    :func:`mowsim.plotting.plot_fronts`. Fronts of different instances differ, so one ``instance`` is summarized
    (default: the smallest present)."""
    return analysis.mean_points(final_points(df), ["scheme", KNOB], OBJECTIVES, instance)


def plot(df: pd.DataFrame, ax: Axes | None = None, *, schemes=None, instance: int | None = None) -> Axes:
    """Each scheme's mean front on one ``instance`` (final points joined in weight order) with 95 % CIs."""
    fronts = front_summary(df, instance)
    if schemes is not None:
        fronts = fronts[fronts["scheme"].astype(str).isin(schemes)]
    ax = plotting.plot_fronts(fronts, ax)
    ax.set_xlabel("objective 0 (expected reward)")
    ax.set_ylabel("objective 1 (expected reward)")
    return ax
