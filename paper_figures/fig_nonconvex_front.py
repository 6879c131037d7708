"""Figure: the fronts reached on non-convex and bulging Pareto fronts, and the mass on off-hull arms
(nonconvex_front).

First panels, one per curvature p: on the study's first instance, the arms' means (grey squares: on the convex
hull, black rings: Pareto-optimal but off the hull, grey crosses: dominated), the hull dashed through its arms, and
each shown scheme's mean final expected-reward vector per weight, joined in weight order, with bootstrap 95 % CIs. Last panel: at the
most non-convex curvature, each scheme's gain of policy mass on off-hull Pareto arms (final minus initial; the
uniform start already holds 10/16 there), mean over runs with bootstrap 95 % CIs; 0 marks no change.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mowsim import analysis, plotting, sweep
from mowsim.envs import Bandit

STUDIES = ("nonconvex_front",)
FRONT_SCHEMES = ("rc", "gdpo", "dvao", "hv-guided", "gradient", "mgda", "vpo")
"""The fronts drawn (thirteen overlap into a blur); the mass panel shows every scheme."""


def main(results_dir, out_dir) -> list[Path]:
    df = analysis.read_results(results_dir, "nonconvex_front")
    study = analysis.study_analysis("nonconvex_front")
    table = study.score(df)
    curvatures = sorted(df["p"].unique())
    shown = [s for s in FRONT_SCHEMES if s in set(df["scheme"].astype(str))]
    with plotting.paper_style():
        fig, axes = plotting.new_figure(1, len(curvatures) + 1, panel_size=(plotting.SINGLE_COLUMN * 0.62, 2.5))
        for ax, curvature in zip(axes[0], curvatures):
            _draw_arms(ax, curvature, int(df["instance"].min()) if "instance" in df else 0)
            study.plot(df, ax, curvature=curvature, schemes=shown)
        ax = axes[0, -1]
        gain = table[table["metric"] == "off_hull_gain"].copy()
        if len(gain):
            p = gain["p"].min()
            gain = gain[gain["p"] == p]
            gain["scheme"] = gain["scheme"].astype(str)
            gain = gain.set_index("scheme").loc[plotting.scheme_order(gain["scheme"])].reset_index()
            y = np.arange(len(gain))
            for row, (_, item) in zip(y, gain.iterrows()):
                ax.errorbar(item["mean"], row, xerr=[[max(item["mean"] - item["ci_low"], 0)],
                                                     [max(item["ci_high"] - item["mean"], 0)]],
                            color=plotting.SCHEME_COLORS[item["scheme"]],
                            marker=plotting.SCHEME_MARKERS.get(item["scheme"], "o"), capsize=1.5, elinewidth=0.8)
            ax.axvline(0.0, color="0.5", linewidth=0.8, linestyle="--")
            ax.set_yticks(y, gain["scheme"])
            ax.set_ylim(len(gain) - 0.5, -0.5)
            ax.set_title(f"off-hull mass gain, p = {p:g}")
        ax.set_xlabel("change of off-hull mass")
        plotting.scheme_legend(fig, shown, ncol=7)
        return plotting.save_figure(fig, Path(out_dir) / "nonconvex_front")


def _draw_arms(ax, curvature: float, instance: int) -> None:
    """The instance's arms by class and its hull (decoration: skipped if the study cannot be loaded)."""
    try:
        study = sweep.load_study("nonconvex_front")
    except Exception:  # noqa: BLE001 - the arms are decoration; the figure stands without them
        return
    env = Bandit(**study.BANDIT, front=curvature, instance_seed=instance)
    means = env.arrays()[1][0]
    shape = env.arm_geometry()
    hull = means[shape.hull]
    hull = hull[np.argsort(hull[:, 0])]
    ax.plot(hull[:, 0], hull[:, 1], color="0.55", linewidth=0.8, linestyle="--", zorder=0)
    ax.scatter(*means[shape.dominated].T, s=10, marker="x", color="0.7", linewidths=0.7, zorder=0)
    ax.scatter(*hull.T, s=12, marker="s", color="0.55", zorder=0)
    ax.scatter(*means[shape.off_hull].T, s=18, facecolors="none", edgecolors="0.1", linewidths=0.7, zorder=0)


if __name__ == "__main__":
    plotting.figure_cli(main, __doc__)
