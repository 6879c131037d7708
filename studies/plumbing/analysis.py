"""Scores and plot of the plumbing study: how much of the outcome each factor explains, per world.

``per_run``: one row per run with its ``final`` true reward and its ``auc`` (the mean true reward over training;
:func:`mowsim.analysis.run_summary`). The shares are invariant to any affine rescaling of a world's response, so the
normalized scores other studies report (0 at the initial policy, 1 at the best) would give the same shares.

``score`` (``scores.csv``): per world and response, :func:`mowsim.analysis.variance_shares` over the crossed factors
(scheme x normalization x aggregation in the toy-LM worlds, scheme x normalization in the bandit), seeds as the
replicates resampled (paired: the cells share each seed's random stream), plus three rows that read the question:
``plumbing`` (the effects without the scheme: normalization, aggregation and their interaction), ``scheme x
plumbing`` (the scheme's interactions with them) and the contrast ``plumbing - scheme`` (plumbing's share minus the
scheme's main effect, with its own bootstrap CI). The headline reads ``adjusted``, the df-corrected (omega squared)
share: plumbing has 8 df in the LM worlds against the scheme's 5, and an eta squared share grows with df even for a
factor that does nothing.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from mowsim import analysis, plotting
from mowsim.analysis import format_number as num

FIGURE = "plumbing"
FACTORS = ("scheme", "normalization", "aggregation")
WORLDS = ("length", "format", "bandit")
RESPONSES = {"final": "final true reward", "auc": "true-reward AUC"}
PLUMBING, INTERACTIONS, CONTRAST = "plumbing", "scheme x plumbing", "plumbing - scheme"
BARS = ("scheme", "normalization", "aggregation", "normalization:aggregation", INTERACTIONS, "residual")
BAR_COLORS = ("#4c72b0", "#dd8452", "#c44e52", "#937860", "#8172b3", "#b0b0b0")
UNIT = "replicate"


def per_run(df: pd.DataFrame) -> pd.DataFrame:
    """One row per run: world, the factors, instance, seed, ``initial``, ``final`` and ``auc`` of the true reward."""
    return analysis.run_summary(df, keep=("scheme", "seed", "instance", "world", "normalization", "aggregation"))


def world_factors(runs: pd.DataFrame) -> list[str]:
    """The crossed factors of one world's runs: the aggregation only where it varies (not in the bandit)."""
    return [f for f in FACTORS if f != "aggregation" or runs[f].nunique() > 1]


def shares(runs: pd.DataFrame, *, confidence: float = analysis.CONFIDENCE, n_boot: int = analysis.N_RESAMPLES,
           seed: int = analysis.BOOTSTRAP_SEED) -> pd.DataFrame:
    """:func:`mowsim.analysis.variance_shares` per world and response of ``per_run``'s table, with the ``plumbing``
    and ``scheme x plumbing`` groups and the ``plumbing - scheme`` contrast; columns ``world``, ``response``, then
    variance_shares'."""
    parts = []
    worlds = [w for w in WORLDS if w in set(runs["world"])] + sorted(set(runs["world"]) - set(WORLDS))
    for world in worlds:
        rows = runs[runs["world"] == world]
        rows = rows.assign(**{UNIT: rows["instance"].astype(str) + ":" + rows["seed"].astype(str)}
                           if "instance" in rows else {UNIT: rows["seed"]})
        factors = world_factors(rows)
        effects = [":".join(combo) for order in range(1, len(factors) + 1)
                   for combo in itertools.combinations(factors, order)]
        plumbing = [e for e in effects if "scheme" not in e.split(":")]
        crossed = [e for e in effects if "scheme" in e.split(":") and e != "scheme"]
        for response in RESPONSES:
            table = analysis.variance_shares(rows, factors, response, unit=UNIT,
                                             groups={PLUMBING: plumbing, INTERACTIONS: crossed},
                                             contrasts={CONTRAST: (PLUMBING, "scheme")}, n_boot=n_boot, seed=seed,
                                             confidence=confidence)
            table.insert(0, "response", response)
            table.insert(0, "world", world)
            table["n"] = len(rows)
            parts.append(table)
    return pd.concat(parts, ignore_index=True)


def score(df: pd.DataFrame) -> pd.DataFrame:
    """The variance shares of every world and response (:func:`shares` of :func:`per_run`)."""
    return shares(per_run(df))


def _row(scores: pd.DataFrame, world: str, response: str, effect: str) -> pd.Series:
    rows = scores[(scores["world"] == world) & (scores["response"] == response) & (scores["effect"] == effect)]
    if len(rows) != 1:
        raise ValueError(f"{len(rows)} score rows for world={world!r}, response={response!r}, effect={effect!r}.")
    return rows.iloc[0]


def _cell(row: pd.Series) -> str:
    return f"{num(row['adjusted'])} [{num(row['adjusted_low'])}, {num(row['adjusted_high'])}]"


def answer(scores: pd.DataFrame) -> str:
    """The study's answer, every number read from ``scores`` (df-adjusted shares of the final true reward)."""
    worlds = [w for w in WORLDS if w in set(scores["world"])]
    parts = []
    for world in worlds:
        plumbing, scheme = _row(scores, world, "final", PLUMBING), _row(scores, world, "final", "scheme")
        contrast = _row(scores, world, "final", CONTRAST)
        parts.append(f"in the {world} world plumbing explains {_cell(plumbing)} of the final true reward's variance "
                     f"and the scheme {_cell(scheme)} (difference {_cell(contrast)})")
    largest = {}
    for world in worlds:
        effects = scores[(scores["world"] == world) & (scores["response"] == "final") & (scores["kind"] == "effect")]
        largest[world] = str(effects.loc[effects["adjusted"].idxmax(), "effect"])
    return ("Df-adjusted shares (omega squared) with 95 % bootstrap CIs over seeds: " + "; ".join(parts) + ". "
            + "The largest single factor is " + ", ".join(f"{largest[w]} ({w})" for w in worlds) + ".")


def headline(scores: pd.DataFrame) -> pd.DataFrame:
    """One row per (world, response): the df-adjusted shares of the scheme, plumbing, their interactions and the
    residual, and plumbing minus scheme, each ``mean [ci_low, ci_high]``."""
    rows = []
    for (world, response), group in scores.groupby(["world", "response"], sort=False):
        row = {"world": world, "response": response}
        for effect in ("scheme", PLUMBING, INTERACTIONS, "residual", CONTRAST):
            row[effect] = _cell(_row(group, world, response, effect))
        rows.append(row)
    return pd.DataFrame(rows)


def plot(df: pd.DataFrame, ax: Axes | None = None, *, response: str = "final",
         scores: pd.DataFrame | None = None) -> Axes:
    """Grouped bars: per world, the df-adjusted share of each factor group (:data:`BARS`) with its 95 % CI."""
    table = score(df) if scores is None else scores
    table = table[table["response"] == response]
    if ax is None:
        _, axes = plotting.new_figure(1, 1, panel_size=(plotting.SINGLE_COLUMN * 2, 2.6))
        ax = axes[0, 0]
    worlds = [w for w in WORLDS if w in set(table["world"])]
    width = 0.8 / len(BARS)
    for i, (effect, color) in enumerate(zip(BARS, BAR_COLORS)):
        xs, heights, lows, highs = [], [], [], []
        for w, world in enumerate(worlds):
            rows = table[(table["world"] == world) & (table["effect"] == effect)]
            if rows.empty:  # the bandit has no aggregation
                continue
            row = rows.iloc[0]
            xs.append(w - 0.4 + width * (i + 0.5))
            heights.append(row["adjusted"])
            lows.append(row["adjusted"] - row["adjusted_low"])
            highs.append(row["adjusted_high"] - row["adjusted"])
        if xs:
            ax.bar(xs, heights, width=width * 0.95, color=color, label=effect.replace(":", " x "))
            ax.errorbar(xs, heights, yerr=np.clip([lows, highs], 0.0, None), fmt="none", ecolor="0.2",
                        elinewidth=0.7, capsize=1.5)
    ax.axhline(0.0, color="0.3", linewidth=0.6)
    ax.set_xticks(range(len(worlds)), worlds)
    ax.set_ylabel(f"share of variance ({RESPONSES.get(response, response)})")
    ax.set_ylim(min(-0.05, ax.get_ylim()[0]), max(1.0, ax.get_ylim()[1]))
    return ax
