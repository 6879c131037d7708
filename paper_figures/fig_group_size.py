"""Figure: sensitivity to the group size G at a fixed rollout budget B*G = 1024 (group_size).

Top: the AUC of the true reward (mean exact expected reward of both objectives over training) against G. Bottom: the
largest |advantage| of a run, with Samuelson's bound sqrt(G-1) dotted. Means over runs (instances x seeds),
bootstrap 95 % CIs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mowsim import analysis, plotting

STUDIES = ("group_size",)


def main(results_dir, out_dir) -> list[Path]:
    df = analysis.read_results(results_dir, "group_size")
    study = analysis.study_analysis("group_size")
    scores = study.score(df)  # once for every panel
    schemes = plotting.scheme_order(df["scheme"].unique())
    sizes = np.sort(df["G"].unique()).astype(float)
    with plotting.paper_style():
        fig, axes = plotting.new_figure(2, 1, panel_size=(plotting.SINGLE_COLUMN, 2.4))
        study.plot(df, axes[0, 0], metric="true_auc", scores=scores)
        axes[0, 0].set_title("true reward, AUC")
        study.plot(df, axes[1, 0], metric="max_abs_advantage", scores=scores)
        axes[1, 0].plot(sizes, np.sqrt(sizes - 1), color="0.4", linewidth=0.8, linestyle=":", label="sqrt(G-1)")
        axes[1, 0].set_title("max |A| (dotted: sqrt(G-1))")
        plotting.scheme_legend(fig, schemes, ncol=4)
        return plotting.save_figure(fig, Path(out_dir) / "group_size")


if __name__ == "__main__":
    plotting.figure_cli(main, __doc__)
