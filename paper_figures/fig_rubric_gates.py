"""Figure: a gameable criterion as a dense reward or as a rubric gate (rubric_gates).

The dense-minus-gate gap (mean of rc, dvao and gdpo with the criterion as a second reward, minus ``gated`` with the
criterion as a pass/fail gate; paired by instance and seed) against the criterion's correlation with the true
objective, more gameable to the right: the true reward over training, the share of accepted rollouts and the
hacking rate after training. Bands: bootstrap 95 % CIs.
"""

from __future__ import annotations

from pathlib import Path

from mowsim import analysis, plotting

STUDIES = ("rubric_gates",)
PANELS = (("true_auc", "true reward (AUC)"), ("accepted", "accepted share"), ("hacking_rate", "hacking rate"))


def main(results_dir, out_dir) -> list[Path]:
    df = analysis.read_results(results_dir, "rubric_gates")
    study = analysis.study_analysis("rubric_gates")
    scores = study.score(df)  # once for every panel
    with plotting.paper_style():
        fig, axes = plotting.new_figure(1, 3, panel_size=(2.4, 2.4))
        for ax, (metric, title) in zip(axes[0], PANELS):
            study.plot(df, ax, metric=metric, scores=scores)
            ax.set_title(title)
            ax.set_ylabel("dense - gate")
            ax.set_xlabel("correlation with quality")
        return plotting.save_figure(fig, Path(out_dir) / "rubric_gates")


if __name__ == "__main__":
    plotting.figure_cli(main, __doc__)
