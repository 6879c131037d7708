"""Figure: effective objective-weight trajectories (saturation and spurious_reward).

Top: the weight each scheme puts on the easy objective over training when it saturates (the saturation study's
highest saturation): variance-based schemes (DVAO, SAW) move weight to the hard objective as the easy one's variance
collapses. Bottom: the weight on a pure-noise reward (the spurious_reward study's largest scale): DVAO trusts it,
DVAO-reliable discounts it. Means over runs (instances x seeds) with shaded bootstrap 95 % CIs; fixed-weight schemes
(RC, AC, GDPO, hv-guided) stay at their user weight and are left out.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mowsim import analysis, plotting

STUDIES = ("saturation", "spurious_reward")
SHOWN = ("dvao", "saw-grpo", "saw-gdpo", "gradient", "mgda", "pcgrad", "dvao-ema", "dvao-reliable")


def _weight_curves(df: pd.DataFrame, knob: str, objective_rows) -> pd.DataFrame:
    level = df[knob].max()
    rows = df[(df[knob] == level) & objective_rows(df) & df["effective_weight"].notna()]
    rows = rows[rows["scheme"].astype(str).isin(SHOWN)]
    keys = analysis.run_columns(df)
    parts = []
    for scheme, group in rows.groupby("scheme", observed=True, sort=True):
        wide = group.pivot_table(index="step", columns=keys, values="effective_weight", observed=True)
        mean, low, high = analysis.curve_ci(wide.to_numpy())
        parts.append(pd.DataFrame({"scheme": scheme, "step": wide.index, "mean": mean, "ci_low": low,
                                   "ci_high": high}))
    return pd.concat(parts, ignore_index=True), level


def main(results_dir, out_dir) -> list[Path]:
    saturation = analysis.read_results(results_dir, "saturation")
    spurious = analysis.read_results(results_dir, "spurious_reward")
    easy, s_level = _weight_curves(saturation, "saturation", lambda d: d["objective"] == 1)
    noise, n_level = _weight_curves(spurious, "spurious_sd",
                                    lambda d: d["objective_name"].astype(str).str.startswith("spurious"))
    schemes = plotting.scheme_order(set(easy["scheme"].astype(str)) | set(noise["scheme"].astype(str)))
    with plotting.paper_style():
        fig, axes = plotting.new_figure(2, 1, panel_size=(plotting.SINGLE_COLUMN, 2.3))
        plotting.plot_curves(easy, axes[0, 0], schemes=schemes)
        axes[0, 0].axhline(0.5, color="0.5", linewidth=0.7, linestyle=":")
        axes[0, 0].set_title(f"easy objective, saturation {s_level:g}")
        axes[0, 0].set_ylabel("effective weight")
        plotting.plot_curves(noise, axes[1, 0], schemes=schemes)
        axes[1, 0].axhline(1 / 3, color="0.5", linewidth=0.7, linestyle=":")
        axes[1, 0].set_title(f"pure-noise reward, sd {n_level:g}")
        axes[1, 0].set_ylabel("effective weight")
        for ax in axes[:, 0]:
            ax.set_xlabel("update")
            ax.set_ylim(-0.02, 1.02)
        plotting.scheme_legend(fig, schemes, ncol=4)
        return plotting.save_figure(fig, Path(out_dir) / "effective_weights")


if __name__ == "__main__":
    plotting.figure_cli(main, __doc__)
