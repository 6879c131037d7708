"""Figure: learning the hard objective while the easy one saturates (saturation).

Top: the AUC of the hard objective (its mean exact expected reward over training) against the saturation of the easy
objective. Bottom: the mean effective weight on the easy objective. Means over runs (instances x seeds) with
bootstrap 95 % CIs.
"""

from __future__ import annotations

from pathlib import Path

from mowsim import analysis, plotting

STUDIES = ("saturation",)


def main(results_dir, out_dir) -> list[Path]:
    df = analysis.read_results(results_dir, "saturation")
    study = analysis.study_analysis("saturation")
    scores = study.score(df)  # once for every panel
    schemes = plotting.scheme_order(df["scheme"].unique())
    with plotting.paper_style():
        fig, axes = plotting.new_figure(2, 1, panel_size=(plotting.SINGLE_COLUMN, 2.4))
        study.plot(df, axes[0, 0], metric="hard_auc", scores=scores)
        axes[0, 0].set_title("hard objective, AUC")
        study.plot(df, axes[1, 0], metric="easy_weight", scores=scores)
        axes[1, 0].axhline(0.5, color="0.4", linewidth=0.8, linestyle=":")
        axes[1, 0].set_title("weight on the easy objective")
        plotting.scheme_legend(fig, schemes, ncol=4)
        return plotting.save_figure(fig, Path(out_dir) / "saturation")


if __name__ == "__main__":
    plotting.figure_cli(main, __doc__)
