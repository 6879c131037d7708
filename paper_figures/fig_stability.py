"""Figure: stability with many objectives (many_objectives).

Top: the largest |advantage| a run produced against K (mean over runs, bootstrap 95 % CIs); the dotted line is
Samuelson's bound sqrt(G-1) that caps every group z-score at G = 16. Bottom: the share of the achievable gain
(``(final - initial) / (best - initial)``) against K.
"""

from __future__ import annotations

import math
from pathlib import Path

from mowsim import analysis, plotting

STUDIES = ("many_objectives",)


def main(results_dir, out_dir) -> list[Path]:
    df = analysis.read_results(results_dir, "many_objectives")
    study = analysis.study_analysis("many_objectives")
    scores = study.score(df)  # once for every panel
    group_size = 16
    schemes = plotting.scheme_order(df["scheme"].unique())
    with plotting.paper_style():
        fig, axes = plotting.new_figure(2, 1, panel_size=(plotting.SINGLE_COLUMN, 2.4))
        study.plot(df, axes[0, 0], metric="max_abs_advantage", scores=scores)
        axes[0, 0].axhline(math.sqrt(group_size - 1), color="0.4", linewidth=0.8, linestyle=":")
        axes[0, 0].annotate("sqrt(G-1)", (0.62, math.sqrt(group_size - 1)), xycoords=("axes fraction", "data"),
                            xytext=(0, 2), textcoords="offset points", ha="center", va="bottom", fontsize=6.5,
                            color="0.3")
        axes[0, 0].set_title("advantage magnitude")
        study.plot(df, axes[1, 0], metric="normalized_final", scores=scores)
        axes[1, 0].set_title("progress after training")
        plotting.scheme_legend(fig, schemes, ncol=4)
        return plotting.save_figure(fig, Path(out_dir) / "stability")


if __name__ == "__main__":
    plotting.figure_cli(main, __doc__)
