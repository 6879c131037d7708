"""Figure: final accuracy against the noise on the auxiliary reward, per scheme (noise_robustness).

Panels: Gaussian noise on the bandit's auxiliary, label flips of it, and Gaussian noise on the length reward of the
toy LM (SequenceTask, accuracy + length). Mean final exact expected accuracy over seeds, bootstrap 95 % CIs.
"""

from __future__ import annotations

from pathlib import Path

from mowsim import analysis, plotting

STUDIES = ("noise_robustness",)
TITLES = {"gaussian": "bandit: Gaussian noise", "flip": "bandit: label flips", "sequence": "toy LM: noisy length"}


def main(results_dir, out_dir) -> list[Path]:
    df = analysis.read_results(results_dir, "noise_robustness")
    study = analysis.study_analysis("noise_robustness")
    scores = study.score(df)  # once for every panel
    kinds = [k for k in TITLES if k in set(df["noise"])]
    schemes = plotting.scheme_order(df["scheme"].unique())
    with plotting.paper_style():
        fig, axes = plotting.new_figure(1, len(kinds), panel_size=(2 * plotting.SINGLE_COLUMN / len(kinds), 2.2))
        for ax, kind in zip(axes[0], kinds):
            study.plot(df, ax, noise=kind, metric="accuracy_final", scores=scores)
            ax.set_title(TITLES[kind])
            ax.set_ylabel("")
        axes[0, 0].set_ylabel("final expected accuracy")
        plotting.scheme_legend(fig, schemes, ncol=6)
        return plotting.save_figure(fig, Path(out_dir) / "noise_final")


if __name__ == "__main__":
    plotting.figure_cli(main, __doc__)
