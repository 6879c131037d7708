"""Figure: plumbing against the scheme's name (plumbing).

The share of the variance of the final true reward (top) and of its AUC over training (bottom) that each factor
explains, per world: the scheme's main effect, normalization, loss aggregation (toy-LM worlds only), their
interaction, the scheme's interactions with them, and the within-cell (seed) residual. Df-adjusted (omega squared)
shares of a balanced ANOVA with percentile-bootstrap 95 % CIs over seeds (mowsim.analysis.variance_shares).
"""

from __future__ import annotations

from pathlib import Path

from mowsim import analysis, plotting

STUDIES = ("plumbing",)


def main(results_dir, out_dir) -> list[Path]:
    df = analysis.read_results(results_dir, "plumbing")
    study = analysis.study_analysis("plumbing")
    scores = study.score(df)  # once for both panels
    with plotting.paper_style():
        fig, axes = plotting.new_figure(2, 1, panel_size=(plotting.SINGLE_COLUMN * 2, 2.2))
        for ax, response in zip(axes[:, 0], study.RESPONSES):
            study.plot(df, ax, response=response, scores=scores)
            ax.set_title(study.RESPONSES[response])
            ax.set_ylabel("share of variance")
        handles, labels = axes[0, 0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncol=len(labels), frameon=False)
        return plotting.save_figure(fig, Path(out_dir) / "plumbing")


if __name__ == "__main__":
    plotting.figure_cli(main, __doc__)
