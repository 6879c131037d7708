"""Scores, regime map and crossover of the balance-vs-spread study.

Per run (cell x seed), on the exact history columns: ``hidden_auc`` (the mean hidden reward over training,
trapezoid), ``best_at_k_dirichlet`` and ``best_at_k`` after training (best of k answers under downstream Dirichlet
weightings / the user's equal weights), ``diversity`` and ``expected_hv_4`` after training. A run's ``method`` is
its scheme, with `` (m=3)`` for VPO trained on sets of 3 answers.

The regime map: at each ``structure`` the **balance-minus-spread gap**, ``mean over the balancing schemes (rc, ac,
gdpo, dvao, saw-gdpo) - vpo (m=3)``, paired by (instance, seed) (runs with the same seed share the world's random
stream), with a percentile-bootstrap 95 % CI over the (instance, seed) pairs. The **crossover** is the structure at
which the gap on ``best_at_4_dirichlet`` first goes from positive (balance ahead) to non-positive (spread ahead),
linearly interpolated between the two levels around the sign change; its CI is the bootstrap distribution of the
same computation (resampling the pairs), with the share of resamples that have no crossover reported beside it.
:func:`crossovers` gives it for k = 1, 4 and 16.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from mowsim import analysis

KNOB = "structure"
BALANCING = ("rc", "ac", "gdpo", "dvao", "saw-gdpo")
SPREAD = "vpo (m=3)"
CROSSOVER_METRIC = "best_at_4_dirichlet"
CROSSOVER_METRICS = ("best_at_1_dirichlet", "best_at_4_dirichlet", "best_at_16_dirichlet")
METRICS = ("hidden_auc", "best_at_1", "best_at_4", "best_at_1_dirichlet", "best_at_4_dirichlet",
           "best_at_16_dirichlet", "diversity", "expected_hv_4")
N_BOOT = 2000
SEED = 0


def per_run(df: pd.DataFrame) -> pd.DataFrame:
    """One row per run: method, structure, instance, seed and :data:`METRICS`."""
    keys = analysis.run_columns(df)
    rows = df[df["objective"] == 0].sort_values(keys + ["step"])
    grouped = rows.groupby(keys, observed=True, sort=True)
    last = grouped.tail(1).set_index(keys)
    out = last[["scheme", "seed", KNOB, "answers"] + (["instance"] if "instance" in last else [])].copy()
    out["scheme"] = np.where(out["answers"] > 1, out["scheme"].astype(str) + " (m=" + out["answers"].astype(str)
                             + ")", out["scheme"].astype(str))
    curves = rows[keys + ["step", "hidden_reward"]].rename(columns={"hidden_reward": "value"})
    out["hidden_auc"] = analysis._normalized_auc(curves.reset_index(drop=True), keys)
    for name in METRICS[1:]:
        out[name] = last[name]
    if "instance" not in out:
        out["instance"] = 0
    return out.reset_index()


GAP = "balance - spread"
"""The ``scheme`` of the regime-map rows in :func:`score` (metric ``gap:<metric>``) and of the crossover rows
(metric ``crossover:<metric>``, structure NaN, ``mean`` the crossover and ``n`` the pairs)."""


def score(df: pd.DataFrame) -> pd.DataFrame:
    """Per (structure, method): every metric of :data:`METRICS` with bootstrap CIs (the common long format), then
    the regime map (balance-minus-spread gap per structure) of the best@k and hidden-reward metrics and the best@k
    crossovers, as rows of ``scheme`` :data:`GAP`."""
    runs = per_run(df)
    tables = [analysis.score_table(runs, metric, knobs=[KNOB]) for metric in METRICS]
    if not (set(BALANCING) & set(runs["scheme"]) and SPREAD in set(runs["scheme"])):
        return pd.concat(tables, ignore_index=True)  # a subset of the schemes: no regime map
    for metric in CROSSOVER_METRICS + ("hidden_auc",):
        gaps = _regime(runs, metric).assign(scheme=GAP, metric=f"gap:{metric}")
        tables.append(gaps)
    for metric in CROSSOVER_METRICS:
        found = _crossover(runs, metric)
        tables.append(pd.DataFrame([{KNOB: np.nan, "scheme": GAP, "metric": f"crossover:{metric}",
                                     "mean": found["crossover"], "ci_low": found["ci_low"],
                                     "ci_high": found["ci_high"], "n": found["n"]}]))
    return pd.concat(tables, ignore_index=True)


def answer(scores: pd.DataFrame) -> str:
    """The study's answer, every number read from ``scores``."""
    def row(metric, **where):
        rows = scores[scores["metric"] == metric]
        for column, value in where.items():
            rows = rows[np.isclose(rows[column], value)]
        return rows.iloc[0]

    cross = row(f"crossover:{CROSSOVER_METRIC}")
    if np.isfinite(cross["mean"]):
        where = (f"Spreading (vpo on sets of 3) starts to beat balancing on best@4 under downstream weightings at "
                 f"structure {cross['mean']:.2f} [{cross['ci_low']:.2f}, {cross['ci_high']:.2f}] "
                 f"({int(cross['n'])} (instance, seed) pairs)")
    else:
        where = "The balance-minus-spread gap on best@4 never turns from positive to non-positive along the axis"
    gaps = scores[scores["metric"] == "gap:hidden_auc"].sort_values(KNOB)
    inside = gaps[(gaps[KNOB] > 1.0) & (gaps[KNOB] < gaps[KNOB].max())]
    hidden = "; ".join(f"at structure {r[KNOB]:g} balance minus spread on the hidden-reward AUC is {r['mean']:+.3f} "
                       f"[{r['ci_low']:+.3f}, {r['ci_high']:+.3f}]" for _, r in inside.iterrows())
    others = ", ".join(f"best@{m.split('_')[2]} "
                       + (f"{row(f'crossover:{m}')['mean']:.2f}" if np.isfinite(row(f"crossover:{m}")["mean"])
                          else "none") for m in CROSSOVER_METRICS if m != CROSSOVER_METRIC)
    hidden = f"{hidden[0].upper()}{hidden[1:]}." if hidden else "No conflicting level inside the axis."
    return f"{where}; crossovers of the other k: {others}. {hidden}"


def headline(scores: pd.DataFrame) -> pd.DataFrame:
    """The regime map: balance-minus-spread gap per structure for best@1/4/16 (downstream) and the hidden reward."""
    gaps = scores[scores["metric"].str.startswith("gap:")]
    return gaps[[KNOB, "metric", "mean", "ci_low", "ci_high", "n"]].reset_index(drop=True)


def _paired_gaps(runs: pd.DataFrame, metric: str) -> pd.DataFrame:
    """(instance, seed) x structure table of ``mean over balancing schemes - vpo (m=3)``."""
    table = runs.pivot_table(index=["instance", "seed", KNOB], columns="scheme", values=metric, observed=True)
    balancing = [s for s in BALANCING if s in table]
    if not balancing or SPREAD not in table:
        raise ValueError(f"the regime map needs the balancing schemes {BALANCING} and {SPREAD!r}; the results have "
                         f"{sorted(table.columns)}.")
    gap = table[balancing].mean(axis=1) - table[SPREAD]
    return gap.unstack(KNOB).sort_index(axis=1)


def _crossing(levels: np.ndarray, gap: np.ndarray) -> float:
    """First level where the gap goes from > 0 to <= 0, linearly interpolated; NaN when it never does."""
    for i in range(len(levels) - 1):
        if gap[i] > 0 >= gap[i + 1]:
            return float(levels[i] + (levels[i + 1] - levels[i]) * gap[i] / (gap[i] - gap[i + 1]))
    return float("nan")


def regime(df: pd.DataFrame, metric: str = CROSSOVER_METRIC) -> pd.DataFrame:
    """Per structure: the balance-minus-spread gap of ``metric`` (``mean``, ``ci_low``, ``ci_high``, ``n``)."""
    return _regime(per_run(df), metric)


def _regime(runs: pd.DataFrame, metric: str) -> pd.DataFrame:
    gaps = _paired_gaps(runs, metric).dropna()
    rng = np.random.default_rng(SEED)
    values = gaps.to_numpy()
    picks = rng.integers(0, len(values), size=(N_BOOT, len(values)))
    boot = values[picks].mean(axis=1)
    return pd.DataFrame({KNOB: gaps.columns.to_numpy(), "metric": metric, "mean": values.mean(axis=0),
                         "ci_low": np.percentile(boot, 2.5, axis=0), "ci_high": np.percentile(boot, 97.5, axis=0),
                         "n": len(values)})


def crossover(df: pd.DataFrame, metric: str = CROSSOVER_METRIC) -> dict:
    """The structure where spreading starts to beat balancing on ``metric``, with a bootstrap 95 % CI.

    Returns ``{"metric", "crossover", "ci_low", "ci_high", "no_crossing_share", "n"}``; ``crossover`` is NaN when
    the mean gap never changes sign from positive to non-positive along the axis.
    """
    return _crossover(per_run(df), metric)


def _crossover(runs: pd.DataFrame, metric: str) -> dict:
    gaps = _paired_gaps(runs, metric).dropna()
    levels = gaps.columns.to_numpy(dtype=np.float64)
    values = gaps.to_numpy()
    point = _crossing(levels, values.mean(axis=0))
    rng = np.random.default_rng(SEED)
    picks = rng.integers(0, len(values), size=(N_BOOT, len(values)))
    boot = np.array([_crossing(levels, values[p].mean(axis=0)) for p in picks])
    found = boot[np.isfinite(boot)]
    low, high = (np.percentile(found, [2.5, 97.5]) if found.size else (np.nan, np.nan))
    return {"metric": metric, "crossover": point, "ci_low": float(low), "ci_high": float(high),
            "no_crossing_share": float(1.0 - found.size / len(boot)), "n": len(values)}


def crossovers(df: pd.DataFrame) -> pd.DataFrame:
    """:func:`crossover` for best@1, best@4 and best@16 under the downstream weightings, one row each."""
    return pd.DataFrame([crossover(df, metric) for metric in CROSSOVER_METRICS])


GAP_COLORS = {"best_at_1_dirichlet": "#88CCEE", "best_at_4_dirichlet": "#44AA99", "best_at_16_dirichlet": "#117733",
              "hidden_auc": "#882255"}


def plot(df: pd.DataFrame, ax: Axes | None = None, *, metric: str | tuple = CROSSOVER_METRICS,
         scores: pd.DataFrame | None = None) -> Axes:
    """The regime map: balance-minus-spread gap of ``metric`` (one name or several) against the structure knob,
    with CI bands; for :data:`CROSSOVER_METRIC` also the crossover (dotted line, shaded CI) when there is one."""
    if ax is None:
        from mowsim.plotting import new_figure

        _, axes = new_figure()
        ax = axes[0, 0]
    metrics = (metric,) if isinstance(metric, str) else tuple(metric)
    scores = score(df) if scores is None else scores
    for name in metrics:
        table = scores[scores["metric"] == f"gap:{name}"].sort_values(KNOB)
        if table.empty:  # the results lack the balancing schemes or vpo (m=3)
            continue
        x = table[KNOB].to_numpy()
        color = GAP_COLORS.get(name, "0.3")
        ax.fill_between(x, table["ci_low"], table["ci_high"], color=color, alpha=0.2, linewidth=0)
        ax.plot(x, table["mean"], color=color, marker="o", label=name.replace("_dirichlet", "").replace("_at_", "@"))
    ax.axhline(0.0, color="0.3", linewidth=0.8)
    crossing = scores[scores["metric"] == f"crossover:{CROSSOVER_METRIC}"]
    if CROSSOVER_METRIC in metrics and len(crossing):
        found = crossing.iloc[0]
        if np.isfinite(found["mean"]):
            ax.axvline(found["mean"], color="0.2", linestyle=":")
            if np.isfinite(found["ci_low"]):
                ax.axvspan(found["ci_low"], found["ci_high"], color="0.5", alpha=0.15, linewidth=0)
    if len(metrics) > 1 and ax.lines:
        ax.legend(frameon=False)
    ax.set_xlabel("structure: one hidden reward (0) -> uncorrelated (1) -> conflicting (2)")
    ax.set_ylabel("balance - spread")
    return ax

