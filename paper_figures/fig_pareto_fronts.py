"""Figure: each scheme's Pareto front over the weights (w1, 1 - w1), and its hypervolume (pareto_front).

Left: on the study's first bandit instance, the mean final expected-reward vector per weight, joined in weight
order, with bootstrap 95 % CIs per coordinate, over the arms' own means (grey dots: what a deterministic policy can
reach). Right: the hypervolume of each run's front (reference (0, 0)), mean over instances and seeds with bootstrap
95 % CIs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mowsim import analysis, plotting, sweep
from mowsim.envs import Bandit

STUDIES = ("pareto_front",)
FRONT_SCHEMES = ("rc", "ac", "gdpo", "dvao", "saw-grpo", "saw-gdpo", "hv-guided", "mgda")
"""The fronts drawn (all twelve overlap into a blur); the hypervolume panel shows every scheme."""


def main(results_dir, out_dir) -> list[Path]:
    df = analysis.read_results(results_dir, "pareto_front")
    study = analysis.study_analysis("pareto_front")
    table = study.score(df)
    hv = table[table["metric"] == "hypervolume"].copy()
    hv["scheme"] = hv["scheme"].astype(str)
    hv = hv.set_index("scheme").loc[plotting.scheme_order(hv["scheme"])].reset_index()
    shown = [s for s in FRONT_SCHEMES if s in set(df["scheme"].astype(str))]
    with plotting.paper_style():
        fig, axes = plotting.new_figure(1, 2, panel_size=(plotting.SINGLE_COLUMN, 2.6))
        ax = axes[0, 0]
        arms = _arm_means()
        if arms is not None:
            ax.scatter(arms[:, 0], arms[:, 1], s=6, color="0.75", zorder=0, label="arms")
        study.plot(df, ax, schemes=shown)
        ax.set_title("fronts (w1 = 0.1 ... 0.9)")
        ax = axes[0, 1]
        y = np.arange(len(hv))
        for row, (_, item) in zip(y, hv.iterrows()):
            ax.errorbar(item["mean"], row, xerr=[[max(item["mean"] - item["ci_low"], 0)],
                                                 [max(item["ci_high"] - item["mean"], 0)]],
                        color=plotting.SCHEME_COLORS[item["scheme"]],
                        marker=plotting.SCHEME_MARKERS.get(item["scheme"], "o"), capsize=1.5, elinewidth=0.8)
        ax.set_yticks(y, hv["scheme"])
        ax.set_ylim(len(hv) - 0.5, -0.5)
        ax.set_xlabel("hypervolume (reference (0, 0))")
        ax.set_title("hypervolume of each run's front")
        plotting.scheme_legend(fig, shown, ncol=4)
        return plotting.save_figure(fig, Path(out_dir) / "pareto_fronts")


def _arm_means():
    """The bandit's arm means (the instance of the study), or None if the results do not come from it."""
    try:
        study = sweep.load_study("pareto_front")
    except Exception:  # noqa: BLE001 - the arms are decoration; the figure stands without them
        return None
    return Bandit(**study.BANDIT).arrays()[1][0]


if __name__ == "__main__":
    plotting.figure_cli(main, __doc__)
