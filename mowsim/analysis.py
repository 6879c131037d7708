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
"""

from __future__ import annotations

import warnings
from typing import Callable, Sequence

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
