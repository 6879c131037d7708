"""Figure: aligned and conflicting objectives (correlation).

The share of the achievable gain, ``(final - initial) / (best - initial)`` of the mean expected reward, against the
correlation of the two objectives across arms: after training (top) and averaged over training (bottom, the AUC).
Means over runs (instances x seeds) with bootstrap 95 % CIs.
"""

from __future__ import annotations

from pathlib import Path

from mowsim import analysis, plotting

STUDIES = ("correlation",)


def main(results_dir, out_dir) -> list[Path]:
    df = analysis.read_results(results_dir, "correlation")
    study = analysis.study_analysis("correlation")
    scores = study.score(df)  # once for every panel
    schemes = plotting.scheme_order(df["scheme"].unique())
    with plotting.paper_style():
        fig, axes = plotting.new_figure(2, 1, panel_size=(plotting.SINGLE_COLUMN, 2.4))
        study.plot(df, axes[0, 0], metric="normalized_final", scores=scores)
        axes[0, 0].set_title("after training")
        study.plot(df, axes[1, 0], metric="normalized_auc", scores=scores)
        axes[1, 0].set_title("over training (AUC)")
        plotting.scheme_legend(fig, schemes, ncol=4)
        return plotting.save_figure(fig, Path(out_dir) / "correlation")


if __name__ == "__main__":
    plotting.figure_cli(main, __doc__)
