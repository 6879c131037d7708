"""Scores and regime map of the rubric-gates study.

Per run: ``true_auc`` and ``true_final`` (expected quality, objective 0, over and after training), ``accepted``
(the criterion's pass rate, objective 1, after training) and ``hacking_rate`` (accepted but failing on quality,
after training; see ``sweep.hacking_rate``). The regime map: at each ``correlation`` the **dense-minus-gate gap**
of a metric, ``mean over the dense schemes (rc, dvao, gdpo) - gated``, paired by (instance, seed), with a
percentile-bootstrap 95 % CI over the pairs. A negative gap on the true reward means the gate wins.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from mowsim import analysis

KNOB = "correlation"
DENSE = ("rc", "dvao", "gdpo")
GATE = "gated"
METRICS = ("true_auc", "true_final", "accepted", "hacking_rate")
N_BOOT = 2000
SEED = 0


def per_run(df: pd.DataFrame) -> pd.DataFrame:
    """One row per run: scheme, correlation, instance, seed and :data:`METRICS`."""
    keys = analysis.run_columns(df)
    quality = analysis.run_summary(df, objectives=[0], keep=("scheme", "seed", KNOB, "instance"))
    out = quality.rename(columns={"auc": "true_auc", "final": "true_final"})
    last = df[df["step"] == df["step"].max()]
    out = out.merge(last[last["objective"] == 1][keys + ["expected_reward"]].rename(
        columns={"expected_reward": "accepted"}), on=keys)
    out = out.merge(last[last["objective"] == 0][keys + ["hacking_rate"]], on=keys)
    out["scheme"] = out["scheme"].astype(str)
    if "instance" not in out:
        out["instance"] = 0
    return out


GAP = "dense - gate"
"""The ``scheme`` of the regime-map rows in :func:`score` (metric ``gap:<metric>``)."""


def score(df: pd.DataFrame) -> pd.DataFrame:
    """Per (correlation, scheme): every metric of :data:`METRICS` with bootstrap CIs (the common long format), then
    the regime map (dense-minus-gate gap per correlation) of every metric, as rows of ``scheme`` :data:`GAP`."""
    runs = per_run(df)
    tables = [analysis.score_table(runs, metric, knobs=[KNOB]) for metric in METRICS]
    if set(DENSE) & set(runs["scheme"]) and GATE in set(runs["scheme"]):  # else a subset: no regime map
        tables += [_regime(runs, metric).assign(scheme=GAP, metric=f"gap:{metric}") for metric in METRICS]
    return pd.concat(tables, ignore_index=True)


def answer(scores: pd.DataFrame) -> str:
    """The study's answer, every number read from ``scores``."""
    parts = []
    for metric, gate_better in (("true_auc", "below"), ("accepted", "below"), ("hacking_rate", "above")):
        gaps = scores[scores["metric"] == f"gap:{metric}"].sort_values(KNOB, ascending=False)
        favours = gaps[gaps["ci_high"] < 0] if gate_better == "below" else gaps[gaps["ci_low"] > 0]
        levels = ", ".join(f"{r[KNOB]:g} ({r['mean']:+.3f} [{r['ci_low']:+.3f}, {r['ci_high']:+.3f}])"
                           for _, r in favours.iterrows())
        parts.append(f"the gate is better on {metric} at correlation {levels}" if levels
                     else f"the gate is never better on {metric}")
    return "Dense minus gate, 95 % CIs: " + "; ".join(parts) + "."


def headline(scores: pd.DataFrame) -> pd.DataFrame:
    """The regime map: dense-minus-gate gap per correlation for every metric."""
    gaps = scores[scores["metric"].str.startswith("gap:")]
    return gaps[[KNOB, "metric", "mean", "ci_low", "ci_high", "n"]].reset_index(drop=True)


def regime(df: pd.DataFrame, metric: str = "true_auc") -> pd.DataFrame:
    """Per correlation: the dense-minus-gate gap of ``metric`` (``mean``, ``ci_low``, ``ci_high``, ``n``)."""
    return _regime(per_run(df), metric)


def _regime(runs: pd.DataFrame, metric: str) -> pd.DataFrame:
    table = runs.pivot_table(index=["instance", "seed", KNOB], columns="scheme", values=metric, observed=True)
    dense = [s for s in DENSE if s in table]
    if not dense or GATE not in table:
        raise ValueError(f"the regime map needs {DENSE} and {GATE!r}; the results have {sorted(table.columns)}.")
    gaps = (table[dense].mean(axis=1) - table[GATE]).unstack(KNOB).sort_index(axis=1).dropna()
    values = gaps.to_numpy()
    picks = np.random.default_rng(SEED).integers(0, len(values), size=(N_BOOT, len(values)))
    boot = values[picks].mean(axis=1)
    return pd.DataFrame({KNOB: gaps.columns.to_numpy(), "metric": metric, "mean": values.mean(axis=0),
                         "ci_low": np.percentile(boot, 2.5, axis=0), "ci_high": np.percentile(boot, 97.5, axis=0),
                         "n": len(values)})


def plot(df: pd.DataFrame, ax: Axes | None = None, *, metric: str = "true_auc",
         scores: pd.DataFrame | None = None) -> Axes:
    """The regime map: dense-minus-gate gap of ``metric`` against the criterion's correlation with quality."""
    if ax is None:
        from mowsim.plotting import new_figure

        _, axes = new_figure()
        ax = axes[0, 0]
    table = scores[scores["metric"] == f"gap:{metric}"].sort_values(KNOB) if scores is not None else regime(df, metric)
    x = table[KNOB].to_numpy()
    ax.fill_between(x, table["ci_low"], table["ci_high"], color="#117733", alpha=0.25, linewidth=0)
    ax.plot(x, table["mean"], color="#117733", marker="H")
    ax.axhline(0.0, color="0.3", linewidth=0.8)
    ax.set_xlabel("correlation of the criterion with quality (lower: more gameable)")
    ax.set_ylabel(f"dense - gate, {metric}")
    ax.invert_xaxis()
    return ax

