"""Figure: accuracy learning curves per scheme as Gaussian noise on the auxiliary reward grows (noise_robustness).

One panel per noise level (the lowest, a middle and the highest level of the ``gaussian`` sub-sweep): the exact
expected accuracy (objective 0) over training, mean over runs with a shaded bootstrap 95 % CI.
"""

from __future__ import annotations

from pathlib import Path

from mowsim import analysis, plotting

STUDIES = ("noise_robustness",)


def main(results_dir, out_dir) -> list[Path]:
    df = analysis.read_results(results_dir, "noise_robustness")
    df = df[df["noise"] == "gaussian"]
    levels = sorted(df["level"].unique())
    shown = [levels[0], levels[len(levels) // 2], levels[-1]] if len(levels) >= 3 else levels
    curves = analysis.curve_summary(df[df["level"].isin(shown)], objectives=[0], by=("level", "scheme"))
    schemes = plotting.scheme_order(curves["scheme"].unique())
    with plotting.paper_style():
        fig, axes = plotting.new_figure(1, len(shown), panel_size=(2 * plotting.SINGLE_COLUMN / len(shown), 2.1))
        for ax, level in zip(axes[0], shown):
            plotting.plot_curves(curves[curves["level"] == level], ax, schemes=schemes)
            ax.set_title(f"auxiliary noise sd = {level:g}")
            ax.set_xlabel("update")
            ax.set_ylabel("")
        axes[0, 0].set_ylabel("expected accuracy")
        for ax in axes[0, 1:]:
            ax.sharey(axes[0, 0])
            ax.tick_params(labelleft=False)
        plotting.scheme_legend(fig, schemes, ncol=6)
        return plotting.save_figure(fig, Path(out_dir) / "noise_curves")


if __name__ == "__main__":
    plotting.figure_cli(main, __doc__)
