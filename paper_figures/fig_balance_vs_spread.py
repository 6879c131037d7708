"""Figure: the regime map of balance vs spread (balance_vs_spread).

The balance-minus-spread gap (mean of rc, ac, gdpo, dvao and saw-gdpo minus vpo on sets of 3 answers, paired by
instance and seed) against the world's structure, from one hidden reward (0) through independent (1) to perfectly
conflicting goods (2): best@1, best@4 and best@16 under downstream Dirichlet weightings after training (left; the
dotted line is the best@4 crossover, shaded its bootstrap 95 % CI) and the hidden reward over training (right).
Bands: bootstrap 95 % CIs.
"""

from __future__ import annotations

from pathlib import Path

from mowsim import analysis, plotting

STUDIES = ("balance_vs_spread",)


def main(results_dir, out_dir) -> list[Path]:
    df = analysis.read_results(results_dir, "balance_vs_spread")
    study = analysis.study_analysis("balance_vs_spread")
    scores = study.score(df)  # once for both panels
    with plotting.paper_style():
        fig, axes = plotting.new_figure(1, 2, panel_size=(plotting.SINGLE_COLUMN, 2.6))
        study.plot(df, axes[0, 0], scores=scores)
        axes[0, 0].set_title("best@k, downstream weightings")
        study.plot(df, axes[0, 1], metric="hidden_auc", scores=scores)
        axes[0, 1].set_title("hidden reward (AUC)")
        for ax in axes[0]:
            ax.set_ylabel("balance - spread")
            ax.set_xlabel("structure")
        return plotting.save_figure(fig, Path(out_dir) / "balance_vs_spread")


if __name__ == "__main__":
    plotting.figure_cli(main, __doc__)
