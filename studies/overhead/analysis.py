"""Scores and plot of the overhead study (a timing table, see ``sweep.COLUMNS``).

Headline metric ``ms_per_call``: milliseconds per step (update + advantages) per (B, K, scheme), mean over repeats
with a bootstrap 95 % CI; ``relative_to_rc``: that time over RC's at the same (B, K) (1 = as cheap as plain GRPO),
from the repeat means; ``peak_mib``: peak Python/NumPy allocation of one step in MiB.
"""

from __future__ import annotations

import pandas as pd
from matplotlib.axes import Axes

from mowsim import analysis, plotting

KNOBS = ("B", "K")


def per_run(df: pd.DataFrame) -> pd.DataFrame:
    runs = df.copy()
    runs["scheme"] = runs["scheme"].astype(str)
    runs["ms_per_call"] = runs["seconds_per_call"] * 1e3
    runs["peak_mib"] = runs["peak_bytes"] / 2**20
    runs["rollouts"] = runs["B"] * runs["G"]
    baseline = runs[runs["scheme"] == "rc"].groupby(list(KNOBS))["ms_per_call"].mean().rename("rc_ms")
    runs = runs.merge(baseline.reset_index(), on=list(KNOBS), how="left")
    runs["relative_to_rc"] = runs["ms_per_call"] / runs["rc_ms"]
    return runs


def score(df: pd.DataFrame) -> pd.DataFrame:
    """Per (B, K, scheme): ``ms_per_call``, ``relative_to_rc`` and ``peak_mib`` with CIs; robust aggregates over
    (B, K) within each B."""
    runs = per_run(df)
    return pd.concat([
        analysis.score_table(runs, "ms_per_call", knobs=["K"], within=["B"]),
        analysis.score_table(runs, "relative_to_rc", knobs=["K"], within=["B"]),
        analysis.score_table(runs, "peak_mib", knobs=["K"], within=["B"]),
    ], ignore_index=True)


def plot(df: pd.DataFrame, ax: Axes | None = None, *, k: int | None = None, metric: str = "ms_per_call") -> Axes:
    """``metric`` against the number of rollouts B*G at ``K = k`` (default: the largest K), log-log."""
    runs = per_run(df)
    k = int(runs["K"].max()) if k is None else k
    runs = runs[runs["K"] == k]
    table = analysis.score_table(runs, metric, knobs=["rollouts"])
    ax = plotting.plot_score(table, "rollouts", ax, log_x=True, dodge=0.3,
                             ylabel={"ms_per_call": "ms per step", "relative_to_rc": "time / RC's time",
                                     "peak_mib": "peak MiB"}.get(metric, metric))
    if metric == "ms_per_call":
        ax.set_yscale("log")
    ax.set_xlabel(f"rollouts per batch B*G (K={k})")
    return ax
