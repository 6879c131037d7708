"""Figure: trusting a pure-noise reward (spurious_reward).

Top: the final true reward (mean exact expected reward of the two true objectives) against the scale of a spurious
reward that ignores the action. Bottom: the mean effective weight each scheme puts on it. Means over runs (instances
x seeds) with bootstrap 95 % CIs; the dotted line is the user's weight, 1/3.
"""

from __future__ import annotations

from pathlib import Path

from mowsim import analysis, plotting

STUDIES = ("spurious_reward",)


def main(results_dir, out_dir) -> list[Path]:
    df = analysis.read_results(results_dir, "spurious_reward")
    study = analysis.study_analysis("spurious_reward")
    scores = study.score(df)  # once for every panel
    schemes = plotting.scheme_order(df["scheme"].unique())
    with plotting.paper_style():
        fig, axes = plotting.new_figure(2, 1, panel_size=(plotting.SINGLE_COLUMN, 2.4))
        study.plot(df, axes[0, 0], metric="true_final", scores=scores)
        axes[0, 0].set_title("true reward after training")
        study.plot(df, axes[1, 0], metric="spurious_weight", scores=scores)
        axes[1, 0].axhline(1 / 3, color="0.4", linewidth=0.8, linestyle=":")
        axes[1, 0].set_title("weight on the noise")
        plotting.scheme_legend(fig, schemes, ncol=4)
        return plotting.save_figure(fig, Path(out_dir) / "spurious")


if __name__ == "__main__":
    plotting.figure_cli(main, __doc__)
