"""Scores and plot of the nonconvex_front study.

Per run, from the history's exact ``mass_off_hull`` (the policy's mass on Pareto arms off the convex hull,
:mod:`mowsim.envs.geometry`): ``off_hull_final`` at the last step, ``off_hull_gain`` = final minus initial (the
uniform start already holds 10/16 of its mass there at p = 0.5, so a scheme that *moves* mass onto those arms is one
whose gain is positive; one that does not learn keeps a gain near 0), ``dominated_final`` (mass left on dominated
arms: a scheme that keeps off-hull mass only by not learning keeps this one too) and ``steps_to_half``: the first
step at which the off-hull mass is at most half its initial value (one past the end when it never is). The mass
metrics are scored at the curvatures with off-hull arms (p < 1); at p >= 1 the class is empty.

Per (scheme, p, instance, seed): ``hypervolume``, the hypervolume of the final expected-reward vectors over the
weights (one front per seed), reference (0, 0), as in pareto_front; ``hull_hypervolume`` is the arms' own value
(what mixtures of hull arms reach), the same for every scheme.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from mowsim import analysis, plotting
from mowsim.analysis import format_number as num

KNOB = "w1"
CURVATURE = "p"
OBJECTIVES = ("objective_0", "objective_1")
REFERENCE = (0.0, 0.0)
FIXED = ("rc", "ac", "gdpo", "dvao")
DYNAMIC = ("hv-guided", "gradient")


def _keys(frame: pd.DataFrame) -> list[str]:
    return [k for k in ("scheme", "instance", "seed", CURVATURE, KNOB) if k in frame]


def per_run(df: pd.DataFrame) -> pd.DataFrame:
    """One row per run: the keys, the final expected rewards and the mass metrics (module docstring)."""
    keys = analysis.run_columns(df)
    rows = df[df["objective"] == 0].sort_values(keys + ["step"])
    grouped = rows.groupby(keys, observed=True, sort=True)
    out = grouped[_keys(rows)].first()
    mass = grouped["mass_off_hull"]
    out["off_hull_initial"] = mass.first()
    out["off_hull_final"] = mass.last()
    out["off_hull_gain"] = out["off_hull_final"] - out["off_hull_initial"]
    out["dominated_final"] = grouped["mass_dominated"].last()
    last = rows["step"].max()
    half = rows["mass_off_hull"] <= 0.5 * rows.groupby(keys, observed=True)["mass_off_hull"].transform("first")
    out["steps_to_half"] = rows[half].groupby(keys, observed=True)["step"].min().reindex(out.index).fillna(last + 1)
    out.loc[~(out["off_hull_initial"] > 0), ["off_hull_final", "off_hull_gain", "steps_to_half"]] = np.nan
    final = analysis.final_objectives(df, keep=())
    return out.reset_index().merge(final, on=keys, how="left")


def seed_hypervolumes(df: pd.DataFrame) -> pd.DataFrame:
    """Per (scheme, p, instance, seed): the hypervolume of the final points over all weights."""
    points = per_run(df)
    keys = [k for k in ("scheme", CURVATURE, "instance", "seed") if k in points]
    rows = []
    for key, group in points.groupby(keys, observed=True, sort=True):
        row = dict(zip(keys, key))
        row["hypervolume"] = analysis.hypervolume(group[list(OBJECTIVES)].to_numpy(), REFERENCE)
        rows.append(row)
    return pd.DataFrame(rows)


def score(df: pd.DataFrame) -> pd.DataFrame:
    """Per (p, scheme): ``hypervolume``; at p < 1 also ``off_hull_final``, ``off_hull_gain``, ``dominated_final``
    and ``steps_to_half``, each with its bootstrap 95 % CI over runs."""
    runs = per_run(df)
    nonconvex = runs[runs[CURVATURE] < 1]
    parts = [analysis.score_table(seed_hypervolumes(df), "hypervolume", within=[CURVATURE])]
    if len(nonconvex):
        parts.append(analysis.score_metrics(nonconvex, {m: m for m in ("off_hull_final", "off_hull_gain",
                                                                         "dominated_final", "steps_to_half")},
                                            within=[CURVATURE]))
    return pd.concat(parts, ignore_index=True)


def answer(scores: pd.DataFrame) -> str:
    """The study's answer, every number read from ``scores``."""
    levels = analysis.score_levels(scores, "off_hull_gain", CURVATURE)
    if not levels:
        return "No curvature with off-hull Pareto arms was run."
    p = levels[0]
    gain = analysis.ranked(scores, "off_hull_gain", **{CURVATURE: p})
    final = dict(analysis.ranked(scores, "off_hull_final", **{CURVATURE: p}))
    rows = analysis.select_scores(scores, "off_hull_gain", **{CURVATURE: p}).set_index("scheme")
    dominated = dict(analysis.ranked(scores, "dominated_final", **{CURVATURE: p}))
    gainers = [s for s in rows.index.astype(str) if rows.loc[s, "ci_low"] > 0]
    moved = ("no scheme moves mass onto the off-hull Pareto arms" if not gainers else
             "; ".join(f"{s} gains {num(rows.loc[s, 'mean'])} [{num(rows.loc[s, 'ci_low'])}, "
                       f"{num(rows.loc[s, 'ci_high'])}] off-hull mass while keeping {num(dominated[s])} on dominated "
                       "arms" for s in gainers))
    hv = {c: dict(analysis.ranked(scores, "hypervolume", **{CURVATURE: c}))
          for c in analysis.score_levels(scores, "hypervolume", CURVATURE)}
    hv_text = "; ".join(f"p = {c:g}: rc {num(v.get('rc', np.nan))}, hv-guided {num(v.get('hv-guided', np.nan))}, "
                        f"gradient {num(v.get('gradient', np.nan))}" for c, v in hv.items())
    return (f"At p = {p:g}, {moved}. Gain of off-hull mass (final - initial), highest: "
            f"{', '.join(f'{s} {num(v)}' for s, v in gain[:3])}; lowest {gain[-1][0]} {num(gain[-1][1])}. Final "
            f"off-hull mass: rc {num(final.get('rc', np.nan))}, hv-guided {num(final.get('hv-guided', np.nan))}, "
            f"gradient {num(final.get('gradient', np.nan))}. Hypervolume of the fronts: {hv_text}.")


def headline(scores: pd.DataFrame) -> pd.DataFrame:
    """Off-hull mass gain and final mass at the most non-convex curvature; hypervolume at every curvature."""
    columns = {}
    levels = analysis.score_levels(scores, "off_hull_gain", CURVATURE)
    if levels:
        columns[f"off-hull gain, p={levels[0]:g}"] = {"metric": "off_hull_gain", CURVATURE: levels[0]}
        columns[f"off-hull final, p={levels[0]:g}"] = {"metric": "off_hull_final", CURVATURE: levels[0]}
    for c in analysis.score_levels(scores, "hypervolume", CURVATURE):
        columns[f"hypervolume, p={c:g}"] = {"metric": "hypervolume", CURVATURE: c}
    return analysis.headline_table(scores, columns)


def front_summary(df: pd.DataFrame, curvature: float, instance: int | None = None) -> pd.DataFrame:
    """Per (scheme, w1) at one curvature and instance (default the smallest): the mean final point with bootstrap
    95 % CIs per coordinate, for :func:`mowsim.plotting.plot_fronts`."""
    points = per_run(df)
    return analysis.mean_points(points[points[CURVATURE] == curvature], ["scheme", KNOB], OBJECTIVES, instance)


def plot(df: pd.DataFrame, ax: Axes | None = None, *, curvature: float | None = None, schemes=None,
         instance: int | None = None) -> Axes:
    """Each scheme's mean front at one curvature (default the smallest) on one ``instance``, with 95 % CIs."""
    curvature = min(df[CURVATURE].unique()) if curvature is None else curvature
    fronts = front_summary(df, curvature, instance)
    if schemes is not None:
        fronts = fronts[fronts["scheme"].astype(str).isin(schemes)]
    ax = plotting.plot_fronts(fronts, ax)
    ax.set_xlabel("objective 0 (expected reward)")
    ax.set_ylabel("objective 1 (expected reward)")
    ax.set_title(f"p = {curvature:g}")
    return ax
