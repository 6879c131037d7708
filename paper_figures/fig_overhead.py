"""Figure: what each scheme costs per step (overhead).

Top: milliseconds per step (the scheme's update plus its advantages) against the rollouts per batch at the largest
K, log-log. Bottom: the time relative to RC's at the largest batch, per K. Means over repeats with bootstrap 95 %
CIs. The time excludes producing the feedback (per-objective gradients for gradient, MGDA and PCGrad).
"""

from __future__ import annotations

from pathlib import Path

from mowsim import analysis, plotting

STUDIES = ("overhead",)


def main(results_dir, out_dir) -> list[Path]:
    df = analysis.read_results(results_dir, "overhead")
    study = analysis.study_analysis("overhead")
    schemes = plotting.scheme_order(df["scheme"].unique())
    runs = study.per_run(df)
    largest = int(runs["B"].max())
    relative = analysis.score_table(runs[runs["B"] == largest], "relative_to_rc", knobs=["K"])
    with plotting.paper_style():
        fig, axes = plotting.new_figure(2, 1, panel_size=(plotting.SINGLE_COLUMN, 2.4))
        study.plot(df, axes[0, 0])
        axes[0, 0].set_title("time per step")
        plotting.plot_score(relative, "K", axes[1, 0], log_x=True, dodge=0.3, ylabel="time / RC's time")
        axes[1, 0].set_yscale("log")
        axes[1, 0].axhline(1.0, color="0.4", linewidth=0.8, linestyle=":")
        axes[1, 0].set_xlabel(f"objectives K (B*G = {largest * int(runs['G'].iloc[0])})")
        axes[1, 0].set_title("relative to RC")
        plotting.scheme_legend(fig, schemes, ncol=4)
        return plotting.save_figure(fig, Path(out_dir) / "overhead")


if __name__ == "__main__":
    plotting.figure_cli(main, __doc__)
