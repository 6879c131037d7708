"""Scores and plot of the overhead study (a timing table, see ``sweep.COLUMNS``).

Headline metric ``ms_per_call``: milliseconds per step (update + advantages) per (B, K, scheme), mean over repeats
with a bootstrap 95 % CI; ``relative_to_rc``: that time over RC's at the same (B, K) (1 = as cheap as plain GRPO),
from the repeat means; ``peak_mib``: peak Python/NumPy allocation of one step in MiB.
"""

from __future__ import annotations

import pandas as pd
from matplotlib.axes import Axes

from mowsim import analysis, plotting
from mowsim.analysis import format_number as num

KNOBS = ("B", "K")
METRICS = {"ms_per_call": "ms_per_call", "relative_to_rc": "relative_to_rc", "peak_mib": "peak_mib"}
FIGURE = "overhead"


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
    return analysis.score_metrics(per_run(df), METRICS, knobs=["K"], within=["B"])


def _largest(scores: pd.DataFrame) -> tuple[int, int]:
    rows = analysis.select_scores(scores, "ms_per_call")
    return int(rows["B"].max()), int(rows["K"].max())


def answer(scores: pd.DataFrame) -> str:
    """The study's answer, every number read from ``scores``."""
    b, k = _largest(scores)
    relative = analysis.ranked(scores, "relative_to_rc", B=b, K=k)

    def times(scheme):
        return num(analysis.score_value(scores, "relative_to_rc", scheme, B=b, K=k))

    return (f"At B={b} prompts x G=16 rollouts and K={k}, RC's step takes "
            f"{num(analysis.score_value(scores, 'ms_per_call', 'rc', B=b, K=k))} ms. Relative to RC: SAW-GRPO "
            f"{times('saw-grpo')}x, SAW-GDPO {times('saw-gdpo')}x, DVAO {times('dvao')}x, GDPO {times('gdpo')}x; the "
            f"most expensive step is {relative[0][0]}'s ({num(relative[0][1])}x, feedback excluded), the cheapest "
            f"{relative[-1][0]}'s ({num(relative[-1][1])}x).")


def headline(scores: pd.DataFrame) -> pd.DataFrame:
    """Milliseconds per step at the largest batch for the smallest and largest K, and the time relative to RC."""
    b, k = _largest(scores)
    ks = analysis.score_levels(scores, "ms_per_call", "K", B=b)
    columns = {f"ms, B={b}, K={kk}": {"metric": "ms_per_call", "B": b, "K": kk} for kk in (ks[0], k)}
    columns[f"x RC, B={b}, K={k}"] = {"metric": "relative_to_rc", "B": b, "K": k}
    table = analysis.headline_table(scores, columns)
    return table.iloc[::-1].reset_index(drop=True)  # cheapest first


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
