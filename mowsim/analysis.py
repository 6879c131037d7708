"""Study metrics: per-run summaries of a training history, hypervolume, bootstrap CIs and robust aggregates.

Everything takes the tidy history of :func:`mowsim.train.train_many` (or a study's ``results.parquet``, the same
table with ``study``, ``cell_id``, ``cell_key`` and setting columns in front) and returns tidy frames.

Vocabulary

* A **run** is one (cell, seed) training run: rows sharing :func:`run_columns` (``cell_id`` and ``run`` in a study's
  results, ``run`` alone in a bare ``train_many`` history).
* The **value** of a run at a step is its weighted exact expected reward over the chosen objectives,
  ``sum_k w_k E[r_k] / sum_k w_k``; by default the true objectives (the spurious ones have no truth) with equal
  weights.
* **final**: the value after the last update. **auc**: the trapezoid area under the value curve divided by the
  number of updates, i.e. the mean value over training, in reward units (so a scheme that gets there sooner scores
  higher even when every scheme ends at the optimum). **initial**: the value of the initial policy.
* Stability: ``max_abs_advantage`` is the largest ``|A|`` any batch of the run produced; ``grad_norm_var`` is the
  variance over steps of the update's gradient norm; ``steps_to_target`` the first step whose value reaches
  ``target`` (NaN if never; ``reached`` says whether it did).

Uncertainty: :func:`bootstrap_ci` wraps :func:`scipy.stats.bootstrap` (BCa, 95 %, resampling runs), and
:func:`summarize` reports each group's mean with that interval. :func:`robust_aggregate` is the bsuite-style
summary of a scheme over a study's settings: the mean of its per-setting scores and that mean minus their standard
deviation, which ranks a scheme that is good on average but breaks at some setting below a steadily good one.

How much of an outcome each factor of a full-factorial study explains: :func:`variance_shares`, the classical
ANOVA decomposition of a balanced design with bootstrap CIs over seeds.
"""

from __future__ import annotations

import itertools
import numbers
import warnings
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

__all__ = [
    "run_columns",
    "objective_mask",
    "value_curves",
    "run_summary",
    "final_objectives",
    "hypervolume",
    "bootstrap_ci",
    "mean_points",
    "curve_ci",
    "curve_summary",
    "summarize",
    "robust_aggregate",
    "normalized_score",
    "best_value",
    "score_table",
    "score_metrics",
    "add_mean_weight",
    "add_normalized",
    "select_scores",
    "score_value",
    "score_levels",
    "ranked",
    "format_number",
    "headline_table",
    "read_results",
    "study_analysis",
    "variance_shares",
]

CONFIDENCE = 0.95
N_RESAMPLES = 2000
BOOTSTRAP_SEED = 0


def run_columns(frame: pd.DataFrame) -> list[str]:
    """The columns that identify one training run: ``["cell_id", "run"]`` in study results, else ``["run"]``."""
    if "run" not in frame:
        raise ValueError(f"frame has no 'run' column; expected a train_many history or a study's results "
                         f"(columns: {list(frame.columns)[:8]}...).")
    return ["cell_id", "run"] if "cell_id" in frame else ["run"]


def _check_columns(frame: pd.DataFrame, needed: Sequence[str]) -> None:
    missing = [c for c in needed if c not in frame]
    if missing:
        raise ValueError(f"frame lacks columns {missing}; expected a train_many history (mowsim.train."
                         "HISTORY_COLUMNS), possibly with a study's id and setting columns.")


def objective_mask(frame: pd.DataFrame, objectives=None) -> pd.Series:
    """Rows of the chosen objectives: ``None`` selects the true ones (names not starting with ``spurious``)."""
    if objectives is None:
        return ~frame["objective_name"].astype(str).str.startswith("spurious")
    return frame["objective"].isin(list(objectives))


def value_curves(frame: pd.DataFrame, *, objectives=None, weights=None, keep: Sequence[str] = ()) -> pd.DataFrame:
    """One row per (run, step): the run's ``value``, the weighted expected reward over ``objectives``.

    Parameters
    ----------
    frame : DataFrame
        A training history.
    objectives : sequence of int, optional
        Objective indices; None means every true objective.
    weights : sequence of float, optional
        One weight per selected objective, in the order of ``objectives`` (or of the true objectives, which must
        then be the same for every run); normalized to sum 1. None means equal weights over each run's own
        selected objectives, so runs with different K can share the frame.
    keep : sequence of str
        Columns constant within a run to carry along (e.g. ``scheme``, ``seed``, a setting knob).
    """
    _check_columns(frame, ["step", "objective", "objective_name", "expected_reward"])
    keys = run_columns(frame)
    keep = [c for c in dict.fromkeys(keep) if c not in keys]
    rows = frame[objective_mask(frame, objectives)]
    if rows.empty:
        raise ValueError(f"no rows for objectives {objectives!r}; the frame has objectives "
                         f"{sorted(frame['objective'].unique())}.")
    if weights is None:
        # Equal weights over each run's own objectives (runs with different K may share the frame).
        rows = rows[keys + keep + ["step", "expected_reward"]].rename(columns={"expected_reward": "value"})
        return rows.groupby(keys + keep + ["step"], observed=True, sort=True, as_index=False)["value"].mean()
    chosen = sorted(rows["objective"].unique()) if objectives is None else list(objectives)
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (len(chosen),) or np.any(w < 0) or w.sum() <= 0:
        raise ValueError(f"weights must be {len(chosen)} non-negative numbers with a positive sum (one per "
                         f"objective {chosen}); got {weights!r}.")
    weight_of = dict(zip(chosen, w / w.sum()))
    weighted = rows["expected_reward"].to_numpy() * rows["objective"].map(weight_of).to_numpy()
    rows = rows[keys + keep + ["step"]].assign(value=weighted)
    return rows.groupby(keys + keep + ["step"], observed=True, sort=True, as_index=False)["value"].sum()


def run_summary(frame: pd.DataFrame, *, objectives=None, weights=None, target: float | None = None,
                keep: Sequence[str] = ("scheme", "seed")) -> pd.DataFrame:
    """One row per run: ``initial``, ``final``, ``auc``, ``max_abs_advantage``, ``grad_norm_var`` and, with
    ``target``, ``steps_to_target`` and ``reached``. See the module docstring for the definitions.

    ``keep`` names columns constant within a run (scheme, seed, setting knobs) to carry along; absent ones are
    skipped.
    """
    keys = run_columns(frame)
    keep = [c for c in keep if c in frame and c not in keys]
    curves = value_curves(frame, objectives=objectives, weights=weights, keep=keep)
    grouped = curves.groupby(keys, observed=True, sort=True)
    out = grouped[keep].first() if keep else pd.DataFrame(index=grouped.size().index)
    first_step = grouped["step"].transform("min")
    last_step = grouped["step"].transform("max")
    out["initial"] = curves[curves["step"] == first_step].set_index(keys)["value"]
    out["final"] = curves[curves["step"] == last_step].set_index(keys)["value"]
    out["auc"] = _normalized_auc(curves, keys)
    per_step = frame.drop_duplicates(keys + ["step"])
    diagnostics = per_step.groupby(keys, observed=True, sort=True)
    if "max_abs_advantage" in frame:
        out["max_abs_advantage"] = diagnostics["max_abs_advantage"].max()
    if "grad_norm" in frame:
        out["grad_norm_var"] = diagnostics["grad_norm"].var(ddof=0)
    if target is not None:
        hits = curves[curves["value"] >= target].groupby(keys, observed=True)["step"].min()
        out["steps_to_target"] = hits.reindex(out.index).astype(np.float64)
        out["reached"] = out["steps_to_target"].notna()
    return out.reset_index()


def _normalized_auc(curves: pd.DataFrame, keys: list[str]) -> pd.Series:
    """Trapezoid area under each run's value curve over its step span (curves sorted by run, then step)."""
    grouped = curves.groupby(keys, observed=True, sort=True)
    next_value = grouped["value"].shift(-1)
    width = grouped["step"].shift(-1) - curves["step"]
    area = ((curves["value"] + next_value) / 2 * width).groupby([curves[k] for k in keys], observed=True).sum()
    span = grouped["step"].max() - grouped["step"].min()
    single = grouped["value"].first()
    return (area / span.where(span > 0)).fillna(single)


def final_objectives(frame: pd.DataFrame, *, objectives=None, keep: Sequence[str] = ("scheme", "seed"),
                     step: int | None = None) -> pd.DataFrame:
    """One row per run with the expected reward of each objective at ``step`` (default: the last), wide.

    The objective columns are named by ``objective_name`` (e.g. ``objective_0``, ``accuracy``).
    """
    _check_columns(frame, ["step", "objective", "objective_name", "expected_reward"])
    keys = run_columns(frame)
    keep = [c for c in keep if c in frame and c not in keys]
    rows = frame[objective_mask(frame, objectives)]
    at = rows.groupby(keys, observed=True)["step"].transform("max") if step is None else step
    rows = rows[rows["step"] == at]
    wide = rows.pivot_table(index=keys + keep, columns="objective_name", values="expected_reward",
                            observed=True, sort=True)
    names = list(dict.fromkeys(rows.sort_values("objective")["objective_name"].astype(str)))
    wide.columns = wide.columns.astype(str)
    return wide[names].reset_index().rename_axis(columns=None)


def hypervolume(points, reference) -> float:
    """Hypervolume dominated by ``points`` (n, d) above ``reference`` (d,), every objective maximized (moocore).

    Points that do not strictly exceed the reference in every objective add nothing (they are dropped), so the
    result is 0 when none does.

    >>> hypervolume([[1.0, 2.0], [2.0, 1.0]], [0.0, 0.0])
    3.0
    """
    import moocore

    points = np.atleast_2d(np.asarray(points, dtype=np.float64))
    ref = np.asarray(reference, dtype=np.float64)
    if ref.ndim != 1 or points.shape[1] != ref.shape[0]:
        raise ValueError(f"points have shape {points.shape} and reference {ref.shape}; expected (n, d) and (d,).")
    if not (np.all(np.isfinite(points)) and np.all(np.isfinite(ref))):
        raise ValueError("points and reference must be finite.")
    above = points[np.all(points > ref, axis=1)]
    if len(above) == 0:
        return 0.0
    return float(moocore.hypervolume(above, ref=ref, maximise=True))


def bootstrap_ci(values, statistic: Callable = np.mean, *, confidence: float = CONFIDENCE,
                 n_resamples: int = N_RESAMPLES, seed: int = BOOTSTRAP_SEED) -> tuple[float, float]:
    """The bootstrap confidence interval of ``statistic`` over ``values`` (one per run), BCa by default.

    Degenerate inputs need no resampling: an empty sample gives ``(nan, nan)``, one value or identical values
    give ``(v, v)``. Where BCa is undefined (a very skewed small sample) the percentile interval is used.
    """
    data = np.asarray(values, dtype=np.float64)
    data = data[np.isfinite(data)]
    if data.size == 0:
        return (np.nan, np.nan)
    if data.size == 1 or np.all(data == data[0]):
        point = float(statistic(data))
        return (point, point)
    for method in ("BCa", "percentile"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = stats.bootstrap((data,), statistic, confidence_level=confidence, n_resamples=n_resamples,
                                     method=method, rng=np.random.default_rng(seed))
        low, high = result.confidence_interval
        if np.isfinite(low) and np.isfinite(high):
            return (float(low), float(high))
    return (np.nan, np.nan)


def mean_points(points: pd.DataFrame, by, columns, instance: int | None = None) -> pd.DataFrame:
    """Per group of ``by``: the mean of each of ``columns`` with bootstrap 95 % CIs (``<column>_low``/``_high``), the
    points of a front for :func:`mowsim.plotting.plot_fronts`. Fronts of different environment instances differ, so
    one ``instance`` is summarized (default: the smallest present)."""
    if "instance" in points:
        points = points[points["instance"] == (points["instance"].min() if instance is None else instance)]
    rows = []
    for key, group in points.groupby(list(by), observed=True, sort=True):
        row = dict(zip(by, key))
        for name in columns:
            values = group[name].to_numpy()
            row[name] = values.mean()
            row[f"{name}_low"], row[f"{name}_high"] = bootstrap_ci(values)
        rows.append(row)
    return pd.DataFrame(rows)


def curve_ci(values: np.ndarray, *, confidence: float = CONFIDENCE, n_resamples: int = 1000,
             seed: int = BOOTSTRAP_SEED) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and percentile-bootstrap CI of each row of ``values`` (n_points, n_runs), vectorized over rows.

    For learning curves: a row is one step, a column one run. Returns ``(mean, low, high)``, each (n_points,).
    """
    data = np.asarray(values, dtype=np.float64)
    if data.ndim != 2:
        raise ValueError(f"values must have shape (n_points, n_runs); got {data.shape}.")
    mean = data.mean(axis=1)
    if data.shape[1] < 2:
        return mean, mean.copy(), mean.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = stats.bootstrap((data,), np.mean, axis=1, vectorized=True, confidence_level=confidence,
                                 n_resamples=n_resamples, method="percentile", rng=np.random.default_rng(seed))
    low, high = result.confidence_interval
    constant = np.all(data == data[:, :1], axis=1)
    return mean, np.where(constant, mean, low), np.where(constant, mean, high)


def curve_summary(frame: pd.DataFrame, *, objectives=None, weights=None, by: Sequence[str] = ("scheme",),
                  **ci_kwargs) -> pd.DataFrame:
    """Learning curves: per (``by``, step) the mean ``value`` over runs with a 95 % bootstrap CI (:func:`curve_ci`).

    Returns columns ``by``, ``step``, ``mean``, ``ci_low``, ``ci_high``, ``n``.
    """
    by = list(by)
    curves = value_curves(frame, objectives=objectives, weights=weights, keep=by)
    keys = run_columns(frame)
    parts = []
    for key, group in curves.groupby(by, observed=True, sort=True):
        wide = group.pivot_table(index="step", columns=keys, values="value", observed=True)
        mean, low, high = curve_ci(wide.to_numpy(), **ci_kwargs)
        part = pd.DataFrame({"step": wide.index.to_numpy(), "mean": mean, "ci_low": low, "ci_high": high,
                             "n": wide.notna().sum(axis=1).to_numpy()})
        for name, value in zip(by, key if isinstance(key, tuple) else (key,)):
            part.insert(0, name, value)
        parts.append(part)
    return pd.concat(parts, ignore_index=True)[by + ["step", "mean", "ci_low", "ci_high", "n"]]


def summarize(per_run: pd.DataFrame, value: str, by: Sequence[str] = ("scheme",), **ci_kwargs) -> pd.DataFrame:
    """Per group of ``by``: ``mean``, ``ci_low``, ``ci_high`` (:func:`bootstrap_ci`) and ``n`` of ``value``."""
    by = list(by)
    _check_columns(per_run, by + [value])
    rows = []
    for key, group in per_run.groupby(by, observed=True, sort=True):
        data = group[value].to_numpy(dtype=np.float64)
        low, high = bootstrap_ci(data, **ci_kwargs)
        finite = data[np.isfinite(data)]
        rows.append(dict(zip(by, key if isinstance(key, tuple) else (key,)),
                         mean=float(finite.mean()) if finite.size else np.nan, ci_low=low, ci_high=high,
                         n=int(finite.size)))
    return pd.DataFrame(rows, columns=by + ["mean", "ci_low", "ci_high", "n"])


def robust_aggregate(summary: pd.DataFrame, *, value: str = "mean", by: str = "scheme") -> pd.DataFrame:
    """bsuite-style aggregate of per-setting scores: per ``by``, ``robust_mean`` (mean over the settings),
    ``robust_std`` (their population std) and ``robust_mean_minus_std``.

    ``summary`` holds one row per (``by``, setting), e.g. the output of :func:`summarize`. Scores should be on a
    common scale across settings (a normalized score, or one whose range does not depend on the setting).
    """
    _check_columns(summary, [by, value])
    grouped = summary.groupby(by, observed=True, sort=True)[value]
    out = pd.DataFrame({"robust_mean": grouped.mean(), "robust_std": grouped.std(ddof=0)})
    out["robust_mean_minus_std"] = out["robust_mean"] - out["robust_std"]
    return out.reset_index()


def normalized_score(value, initial, best):
    """``(value - initial) / (best - initial)``: 0 at the initial policy, 1 at the best achievable value."""
    value, initial, best = (np.asarray(x, dtype=np.float64) for x in (value, initial, best))
    gap = best - initial
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(gap > 0, (value - initial) / np.where(gap > 0, gap, 1.0), np.nan)


def best_value(env, weights=None) -> float:
    """The exact best weighted expected reward of a bandit instance: per prompt, the best arm's ``w . mu``.

    ``env`` is a :class:`mowsim.envs.Bandit` or :class:`mowsim.envs.ContextualBandit`; ``weights`` cover its true
    objectives (None: equal). A deterministic policy attains it, so it normalizes a run's value (see
    :func:`normalized_score`).
    """
    if not hasattr(env, "n_arms"):
        raise ValueError(f"best_value needs a Bandit or ContextualBandit; got {type(env).__name__}.")
    _, means = env.arrays()
    k = means.shape[2]
    w = np.full(k, 1.0 / k) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != (k,) or np.any(w < 0) or w.sum() <= 0:
        raise ValueError(f"weights must be {k} non-negative numbers with a positive sum; got {weights!r}.")
    return float((means @ (w / w.sum())).max(axis=1).mean())


def score_table(per_run: pd.DataFrame, value: str, *, metric: str | None = None, knobs: Sequence[str] = (),
                within: Sequence[str] = (), by: str = "scheme") -> pd.DataFrame:
    """A study's score in the common long format.

    One row per (``within``, ``knobs``, ``by``) with ``metric``, ``mean``, ``ci_low``, ``ci_high``, ``n``
    (:func:`summarize` over the runs) and the robust aggregate of the scheme over the ``knobs`` values inside each
    ``within`` group: ``robust_mean``, ``robust_std``, ``robust_mean_minus_std`` (:func:`robust_aggregate`;
    repeated on each row of the group). ``within`` separates sub-sweeps whose scores are not on one scale.
    Without ``knobs`` the robust columns equal the mean (std 0).
    """
    knobs, within = list(knobs), list(within)
    keys = within + knobs + [by]
    summary = summarize(per_run, value, keys)
    if within:
        parts = []
        for key, group in summary.groupby(within, observed=True, sort=True):
            agg = robust_aggregate(group, by=by)
            for name, v in zip(within, key if isinstance(key, tuple) else (key,)):
                agg[name] = v
            parts.append(agg)
        aggregate = pd.concat(parts, ignore_index=True)
    else:
        aggregate = robust_aggregate(summary, by=by)
    out = summary.merge(aggregate, on=within + [by], how="left")
    out.insert(len(keys), "metric", metric or value)
    return out


def score_metrics(per_run: pd.DataFrame, metrics, *, knobs: Sequence[str] = (),
                  within: Sequence[str] = ()) -> pd.DataFrame:
    """:func:`score_table` of several per-run columns, stacked: ``metrics`` maps each metric name to its column
    (``{"true_auc": "auc"}``); a study's ``score`` is usually this one call."""
    return pd.concat([score_table(per_run, column, metric=metric, knobs=knobs, within=within)
                      for metric, column in dict(metrics).items()], ignore_index=True)


def add_mean_weight(per_run: pd.DataFrame, frame: pd.DataFrame, rows: pd.Series, name: str) -> pd.DataFrame:
    """``per_run`` with column ``name``: each run's mean effective weight over training on the history ``rows``
    (a boolean mask of ``frame``, e.g. one objective's rows)."""
    keys = run_columns(frame)
    chosen = frame[rows & frame["effective_weight"].notna()]
    weight = chosen.groupby(keys, observed=True)["effective_weight"].mean().rename(name)
    return per_run.merge(weight.reset_index(), on=keys, how="left")


def add_normalized(per_run: pd.DataFrame, columns: Sequence[str] = ("final",)) -> pd.DataFrame:
    """``per_run`` with ``normalized_<column>`` (:func:`normalized_score` against the ``best_value`` column)."""
    for column in columns:
        per_run[f"normalized_{column}"] = normalized_score(per_run[column], per_run["initial"], per_run["best_value"])
    return per_run


def select_scores(scores: pd.DataFrame, metric: str, **levels) -> pd.DataFrame:
    """The rows of a score table with ``metric`` and the given knob values (``level=4.0``, ``noise="flip"``)."""
    rows = scores[scores["metric"] == metric]
    for column, value in levels.items():
        rows = rows[rows[column] == value]
    return rows


def score_value(scores: pd.DataFrame, metric: str, scheme: str, column: str = "mean", **levels) -> float:
    """One number of a score table: ``column`` (default the mean) of ``scheme`` at ``metric`` and ``levels``."""
    rows = select_scores(scores, metric, **levels)
    rows = rows[rows["scheme"].astype(str) == scheme]
    if len(rows) != 1:
        raise ValueError(f"{len(rows)} score rows for metric={metric!r}, scheme={scheme!r}, {levels}; expected one.")
    return float(rows[column].iloc[0])


def score_levels(scores: pd.DataFrame, metric: str, column: str, **levels) -> list:
    """The sorted values of knob ``column`` at which ``metric`` (with ``levels``) was scored."""
    return sorted(select_scores(scores, metric, **levels)[column].dropna().unique())


def ranked(scores: pd.DataFrame, metric: str, **levels) -> list[tuple[str, float]]:
    """``(scheme, mean)`` at ``metric`` and ``levels``, best (highest) first."""
    rows = select_scores(scores, metric, **levels).sort_values("mean", ascending=False, kind="stable")
    return [(str(s), float(m)) for s, m in zip(rows["scheme"], rows["mean"])]


def format_number(value: float) -> str:
    """How reports print a score: three significant digits."""
    return f"{value:.3g}"


def headline_table(scores: pd.DataFrame, columns, *, sort_by: str | None = None) -> pd.DataFrame:
    """A compact table, one row per scheme: each column ``label -> {"metric": ..., **levels}`` holds that score as
    ``mean [ci_low, ci_high]`` (:func:`format_number`). Rows are sorted by the mean of column ``sort_by`` (default
    the first), best first."""
    columns = dict(columns)
    means, cells = {}, {}
    for label, selector in columns.items():
        selector = dict(selector)
        rows = select_scores(scores, selector.pop("metric"), **selector)
        key = rows["scheme"].astype(str)
        means[label] = pd.Series(rows["mean"].to_numpy(), index=key)
        cells[label] = pd.Series([f"{format_number(m)} [{format_number(lo)}, {format_number(hi)}]"
                                  for m, lo, hi in zip(rows["mean"], rows["ci_low"], rows["ci_high"])], index=key)
    order = means[sort_by or next(iter(columns))].sort_values(ascending=False, kind="stable").index
    table = pd.DataFrame(cells).reindex([s for s in order] + [s for s in pd.DataFrame(cells).index if s not in order])
    return table.fillna("-").rename_axis("scheme").reset_index()


def read_results(results_dir, study: str) -> pd.DataFrame:
    """``results_dir/<study>/results.parquet`` (written by ``mowsim study``), with a clear error when it is missing."""
    from pathlib import Path

    path = Path(results_dir) / study / "results.parquet"
    if not path.is_file():
        raise FileNotFoundError(f"no results for study {study!r} at {path}; run `mowsim study {study} --out "
                                f"{results_dir}` (add --quick for a small run) first.")
    from mowsim.sweep import read_table

    frame = read_table(path)
    if frame.empty:
        raise ValueError(f"{path} holds no rows; rerun the study.")
    return frame


def study_analysis(name: str):
    """Import ``studies/<name>/analysis.py`` (from :func:`mowsim.sweep.studies_dir`) by path and return it."""
    import importlib.util
    import sys

    from mowsim.sweep import studies_dir

    path = studies_dir() / name / "analysis.py"
    if not path.is_file():
        raise ValueError(f"study {name!r} has no analysis.py at {path}.")
    module_name = f"_mowsim_studies.{name}.analysis"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    return module


def variance_shares(frame: pd.DataFrame, factors: Sequence[str], response: str, *, unit: str = "seed",
                    groups: Mapping[str, Sequence[str]] | None = None,
                    contrasts: Mapping[str, tuple[str, str]] | None = None, resample: str = "paired",
                    n_boot: int = N_RESAMPLES, seed: int = BOOTSTRAP_SEED,
                    confidence: float = CONFIDENCE) -> pd.DataFrame:
    """The share of ``response``'s total sum of squares that each main effect and interaction of ``factors``
    explains in a balanced full-factorial table of runs, with bootstrap CIs over the replicate ``unit`` (seeds).

    Method (classical ANOVA of a balanced design): with ``n`` runs in each of the cells (every combination of the
    factors' levels), cell means ``m``, and ``M_T`` the mean of ``m`` over the factors not in ``T`` (``M_{}`` the
    grand mean), the effect of a set ``S`` of factors is the contrast ``e_S = sum_{T subset of S} (-1)^{|S|-|T|}
    M_T`` (a main effect is a level's deviation from the grand mean, a two-way interaction ``m_ij - M_i - M_j +
    M``) and ``SS_S = n * sum over all cells of e_S**2``, with ``df_S = prod_{f in S} (L_f - 1)``. The residual is
    the within-cell sum of squares, ``df = cells (n - 1)``. In a balanced design these pieces are orthogonal, so
    ``SS_total = sum_S SS_S + SS_residual`` exactly and the ``share`` column (eta squared) sums to 1.

    A noise-only factor still takes about ``df_S / (N - 1)`` of the total, so factors with more levels look bigger.
    ``adjusted`` is the df-corrected (omega squared) share, ``(SS_S - df_S MS_residual) / (SS_total +
    MS_residual)``, an approximately unbiased estimate of the population share (0 for a factor with no effect; it
    can be negative in a sample); the residual's ``adjusted`` is 1 minus the effects', so it also sums to 1. Compare
    factors with different numbers of levels on ``adjusted``.

    Unbalanced or incomplete tables are refused (``ValueError``): the decomposition is then no longer unique
    (type I, II and III sums of squares differ). Drop runs or cells to balance the table first.

    Parameters
    ----------
    frame : DataFrame
        One row per run: the ``factors``, ``unit`` and ``response`` columns (e.g. :func:`run_summary` with the
        setting columns kept).
    factors : sequence of str
        The crossed factors; effects are named by their factors joined with ``":"`` in this order
        (``"scheme:normalization"``).
    response : str
        The column to decompose; must be finite.
    unit : str
        The replicate column: each cell holds each unit once.
    groups : mapping of str to sequence of str, optional
        Extra rows, each the sum of the named effects' shares (``{"plumbing": ["normalization", ...]}``).
    contrasts : mapping of str to (str, str), optional
        Extra rows ``share(a) - share(b)`` of two effects or groups, with their own bootstrap CI (the CI of a
        difference is not the difference of the CIs).
    resample : {"paired", "cell"}
        ``"paired"`` (default): every bootstrap replicate draws ``n`` units with replacement and each cell takes
        those units' runs, which keeps the common random numbers that cells with the same seed share (every cell
        must hold the same units); ``"cell"``: each cell draws its own ``n`` runs.
    n_boot, seed, confidence
        Bootstrap replicates, the seed of their draws (the same seed gives the same frame) and the level of the
        percentile intervals.

    Returns
    -------
    DataFrame
        One row per effect (main effects first, then interactions by order), ``residual``, then the groups and
        contrasts; columns ``effect``, ``kind`` (``effect``, ``residual``, ``group``, ``contrast``), ``order``
        (number of factors; 0 for the others), ``df``, ``ss``, ``share``, ``ci_low``, ``ci_high``, ``adjusted``,
        ``adjusted_low``, ``adjusted_high``.
    """
    factors = list(factors)
    if not factors or len(set(factors)) != len(factors):
        raise ValueError(f"factors must be one or more distinct column names; got {factors!r}.")
    if response in factors or unit in factors:
        raise ValueError(f"response {response!r} and unit {unit!r} must not be among the factors {factors}.")
    _check_columns(frame, factors + [unit, response])
    if resample not in ("paired", "cell"):
        raise ValueError(f"resample must be 'paired' or 'cell'; got {resample!r}.")
    if isinstance(n_boot, bool) or not isinstance(n_boot, numbers.Integral) or n_boot < 1:
        raise ValueError(f"n_boot must be a positive int; got {n_boot!r}.")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1); got {confidence!r}.")
    values = _factorial_array(frame, factors, response, unit, resample)
    n_runs = values.shape[-1]
    n_factors = len(factors)
    levels = values.shape[:-1]
    effects = [subset for order in range(1, n_factors + 1)
               for subset in itertools.combinations(range(n_factors), order)]
    names = [":".join(factors[i] for i in subset) for subset in effects]
    dfs = [int(np.prod([levels[i] - 1 for i in subset])) for subset in effects]
    df_residual = int(np.prod(levels)) * (n_runs - 1)

    rng = np.random.default_rng(seed)
    if resample == "paired":
        draws = rng.integers(0, n_runs, size=(n_boot, n_runs))
        boot = values[..., draws]  # (*levels, n_boot, n): one draw of units shared by every cell
        boot = np.moveaxis(boot, -2, 0)
    else:
        draws = rng.integers(0, n_runs, size=(n_boot,) + values.shape)
        boot = np.take_along_axis(np.broadcast_to(values, draws.shape), draws, axis=-1)
    samples = np.concatenate([values[None], boot])  # replicate 0 is the data itself
    ss, ss_residual = _anova_ss(samples, effects)
    total = ss.sum(axis=1) + ss_residual
    if total[0] <= 0.0:
        raise ValueError(f"{response!r} is the same in every run; there is no variation to decompose.")
    ms_residual = ss_residual / df_residual
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.column_stack([ss, ss_residual]) / total[:, None]
        adjusted_effects = (ss - np.asarray(dfs) * ms_residual[:, None]) / (total + ms_residual)[:, None]
    adjusted = np.column_stack([adjusted_effects, 1.0 - adjusted_effects.sum(axis=1)])

    rows = [(name, "effect", len(subset), df, s) for name, subset, df, s in zip(names, effects, dfs, ss[0])]
    rows.append(("residual", "residual", 0, df_residual, ss_residual[0]))
    columns = {name: i for i, (name, *_) in enumerate(rows)}
    extra_share, extra_adjusted = [], []
    for name, members in dict(groups or {}).items():
        members = [members] if isinstance(members, str) else list(members)
        unknown = [m for m in members if m not in columns or rows[columns[m]][1] != "effect"]
        if unknown or not members or name in columns:
            raise ValueError(f"group {name!r} must be a new name summing effects among {names}; got {members!r}.")
        index = [columns[m] for m in members]
        columns[name] = len(rows)
        rows.append((name, "group", 0, sum(dfs[i] for i in index), float(ss[0, index].sum())))
        extra_share.append(share[:, index].sum(axis=1))
        extra_adjusted.append(adjusted[:, index].sum(axis=1))
    share = np.column_stack([share] + extra_share)
    adjusted = np.column_stack([adjusted] + extra_adjusted)
    contrast_share, contrast_adjusted = [], []
    for name, pair in dict(contrasts or {}).items():
        if (isinstance(pair, str) or len(pair) != 2 or any(p not in columns or p == "residual" for p in pair)
                or name in columns):
            raise ValueError(f"contrast {name!r} must be a new name and a pair of effects or groups among "
                             f"{[n for n in columns if n != 'residual']}; got {pair!r}.")
        a, b = (columns[p] for p in pair)
        rows.append((name, "contrast", 0, np.nan, rows[a][4] - rows[b][4]))
        contrast_share.append(share[:, a] - share[:, b])
        contrast_adjusted.append(adjusted[:, a] - adjusted[:, b])
    share = np.column_stack([share] + contrast_share)
    adjusted = np.column_stack([adjusted] + contrast_adjusted)

    tail = (1.0 - confidence) / 2 * 100
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a replicate with no variation gives NaN shares
        share_ci = np.nanpercentile(share[1:], [tail, 100 - tail], axis=0)
        adjusted_ci = np.nanpercentile(adjusted[1:], [tail, 100 - tail], axis=0)
    out = pd.DataFrame(rows, columns=["effect", "kind", "order", "df", "ss"])
    out["share"] = share[0]
    out["ci_low"], out["ci_high"] = share_ci
    out["adjusted"] = adjusted[0]
    out["adjusted_low"], out["adjusted_high"] = adjusted_ci
    return out


def _factorial_array(frame, factors, response, unit, resample) -> np.ndarray:
    """The response as an array of shape (L_1, ..., L_f, n), refusing tables that are not balanced and complete.

    The last axis is ordered by ``unit``, so with ``resample="paired"`` index ``u`` is the same unit in every cell.
    """
    data = frame[factors + [unit, response]]
    y = data[response].to_numpy(dtype=np.float64)
    if not np.all(np.isfinite(y)):
        raise ValueError(f"{response!r} has {int((~np.isfinite(y)).sum())} non-finite values; drop or fill those "
                         "runs (and their cells' other runs, to stay balanced) first.")
    codes, levels = [], []
    for factor in factors:
        code, uniques = pd.factorize(data[factor], sort=True)
        if (code < 0).any():
            raise ValueError(f"factor {factor!r} has missing values.")
        codes.append(code)
        levels.append(uniques)
    cell = np.ravel_multi_index(codes, [len(u) for u in levels])
    n_cells = int(np.prod([len(u) for u in levels]))
    counts = np.bincount(cell, minlength=n_cells)
    if (counts == 0).any():
        missing = np.unravel_index(int(np.flatnonzero(counts == 0)[0]), [len(u) for u in levels])
        example = {f: levels[i][missing[i]] for i, f in enumerate(factors)}
        raise ValueError(f"the table is not full factorial: {int((counts == 0).sum())} of {n_cells} cells have no "
                         f"runs (e.g. {example}); variance_shares needs every combination of {factors}.")
    if counts.min() != counts.max():
        raise ValueError(f"the table is unbalanced: cells hold {counts.min()} to {counts.max()} runs; "
                         "variance_shares needs the same number of runs in every cell (drop runs to balance it).")
    n_runs = int(counts[0])
    if n_runs < 2:
        raise ValueError(f"each cell holds {n_runs} run; at least 2 replicates per cell are needed for a "
                         "residual and a bootstrap.")
    unit_code, units = pd.factorize(data[unit], sort=True)
    if (unit_code < 0).any():
        raise ValueError(f"unit column {unit!r} has missing values.")
    key = cell * len(units) + unit_code
    if np.unique(key).size != key.size:
        raise ValueError(f"some cell holds a {unit!r} more than once; each cell needs each unit once.")
    if resample == "paired" and len(units) != n_runs:
        raise ValueError(f"resample='paired' needs the same {unit!r} values in every cell; the cells hold "
                         f"{len(units)} distinct ones in all but {n_runs} each. Use resample='cell'.")
    order = np.lexsort((unit_code, cell))
    return y[order].reshape([len(u) for u in levels] + [n_runs])


def _anova_ss(samples: np.ndarray, effects) -> tuple[np.ndarray, np.ndarray]:
    """Per replicate (axis 0 of ``samples``, shape (R, L_1, ..., L_f, n)): the sums of squares of ``effects``
    (R, E) and the residual's (R,)."""
    n_runs = samples.shape[-1]
    cell_means = samples.mean(axis=-1)
    n_factors = cell_means.ndim - 1
    marginal: dict = {}

    def marginal_mean(kept):
        if kept not in marginal:
            dropped = tuple(1 + i for i in range(n_factors) if i not in kept)
            marginal[kept] = cell_means.mean(axis=dropped, keepdims=True) if dropped else cell_means
        return marginal[kept]

    ss = np.empty((samples.shape[0], len(effects)))
    for e, subset in enumerate(effects):
        effect = 0.0
        for order in range(len(subset) + 1):
            sign = (-1.0) ** (len(subset) - order)
            for kept in itertools.combinations(subset, order):
                effect = effect + sign * marginal_mean(kept)
        replicated = np.prod([cell_means.shape[1 + i] for i in range(n_factors) if i not in subset])
        ss[:, e] = n_runs * replicated * np.square(effect).sum(axis=tuple(range(1, n_factors + 1)))
    residual = np.square(samples - cell_means[..., None]).sum(axis=tuple(range(1, samples.ndim)))
    return ss, residual
