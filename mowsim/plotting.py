"""Figure conventions shared by every mowsim figure: one colour per scheme, saving, and tidy-frame plots.

Plot functions take a tidy :class:`pandas.DataFrame` and an optional Axes, draw on it and return it; they never call
``plt.show()``. Figures are built with :func:`new_figure`, a :class:`matplotlib.figure.Figure` with an Agg canvas that
never touches pyplot, so batch jobs need no display and leak no open figures.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import matplotlib as mpl
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = [
    "SCHEME_COLORS",
    "SCHEME_MARKERS",
    "SINGLE_COLUMN",
    "scheme_palette",
    "scheme_order",
    "paper_style",
    "new_figure",
    "save_figure",
    "scheme_legend",
    "plot_tightness",
    "plot_score",
    "plot_curves",
    "plot_fronts",
    "figure_cli",
]

SCHEME_COLORS = {
    # Okabe & Ito (2008), the colour-blind-safe set, for the schemes every figure shows.
    "rc": "#000000",
    "ac": "#56B4E9",
    "gdpo": "#0072B2",
    "dvao": "#D55E00",
    "saw-grpo": "#009E73",
    "saw-gdpo": "#CC79A7",
    "hv-guided": "#E69F00",
    # Paul Tol's "muted" set (and a mid grey) for the rest; the DVAO variants take DVAO's red family.
    "gradient": "#999933",
    "mgda": "#332288",
    "pcgrad": "#777777",
    "dvao-ema": "#882255",
    "dvao-reliable": "#CC6677",
    # balance, gate or spread: VPO and its random-weight baseline in Tol's teal/cyan, the rubric gate in green
    "vpo": "#44AA99",
    "random-weight": "#88CCEE",
    "gated": "#117733",
}
"""Scheme name -> colour, fixed across all figures so a scheme looks the same everywhere. Add new schemes here."""


SCHEME_MARKERS = {
    "rc": "o",
    "ac": "s",
    "gdpo": "D",
    "dvao": "^",
    "saw-grpo": "v",
    "saw-gdpo": "<",
    "hv-guided": ">",
    "gradient": "p",
    "mgda": "X",
    "pcgrad": "P",
    "dvao-ema": "*",
    "dvao-reliable": "h",
    "vpo": "d",
    "random-weight": "8",
    "gated": "H",
}
"""Scheme name -> marker, so schemes whose colours are close (the DVAO family) stay apart in print."""

SINGLE_COLUMN = 3.4
"""Width in inches of one column of a two-column paper; the paper figures are drawn at this width or twice it."""

PAPER_RC = {
    "font.size": 7.5,
    "axes.titlesize": 8,
    "axes.labelsize": 7.5,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "legend.fontsize": 6.5,
    "legend.title_fontsize": 7,
    "lines.linewidth": 1.1,
    "lines.markersize": 3.5,
    "axes.linewidth": 0.6,
    "grid.linewidth": 0.4,
    "pdf.fonttype": 42,
    "ps.fonttype": 42,
}
"""Matplotlib settings of the paper figures: fonts legible at single-column width, TrueType fonts in the PDF."""


@contextlib.contextmanager
def paper_style():
    """Within the block, seaborn's ``ticks`` style with a light grid and :data:`PAPER_RC` (wrap figure creation
    *and* saving in it, so the PDF keeps the fonts)."""
    with mpl.rc_context({**sns.axes_style("ticks"), "axes.grid": True, "grid.color": "0.88", **PAPER_RC}):
        yield


def scheme_order(schemes) -> list[str]:
    """``schemes`` in the fixed order of :data:`SCHEME_COLORS` (the legend order of every figure)."""
    present = set(map(str, schemes))
    scheme_palette(present)
    return [name for name in SCHEME_COLORS if name in present]


def scheme_palette(schemes) -> dict[str, str]:
    """The :data:`SCHEME_COLORS` entries for ``schemes``, for seaborn's ``palette=``; unknown names raise."""
    missing = sorted(set(schemes) - set(SCHEME_COLORS))
    if missing:
        raise ValueError(f"no colour for schemes {missing}; add them to mowsim.plotting.SCHEME_COLORS.")
    return {name: SCHEME_COLORS[name] for name in schemes}


def new_figure(nrows: int = 1, ncols: int = 1, *, panel_size: tuple[float, float] = (4.0, 3.2)):
    """A pyplot-free figure with an Agg canvas and a grid of Axes; returns ``(fig, axes)`` like ``plt.subplots``."""
    fig = Figure(figsize=(panel_size[0] * ncols, panel_size[1] * nrows), layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.subplots(nrows, ncols, squeeze=False)


def save_figure(fig: Figure, path) -> list[Path]:
    """Write ``fig`` to ``path.pdf`` and ``path.png`` (300 dpi); ``path`` has no suffix. Returns both paths."""
    base = Path(path)
    if base.suffix in (".pdf", ".png"):
        raise ValueError(f"pass the path without a suffix (got {base}); save_figure writes both .pdf and .png.")
    base.parent.mkdir(parents=True, exist_ok=True)
    written = [base.with_suffix(".pdf"), base.with_suffix(".png")]
    fig.savefig(written[0])
    fig.savefig(written[1], dpi=300)
    return written


def scheme_legend(fig: Figure, schemes, *, ncol: int = 4, loc: str = "outside lower center", title=None,
                  **kwargs):
    """One figure-level legend of ``schemes`` (colour and marker) below the panels; returns the Legend.

    With the figure's constrained layout, ``"outside ..."`` locations reserve room so nothing overlaps the axes.
    """
    from matplotlib.lines import Line2D

    names = scheme_order(schemes)
    handles = [Line2D([], [], color=SCHEME_COLORS[n], marker=SCHEME_MARKERS.get(n, "o"), label=n) for n in names]
    return fig.legend(handles=handles, loc=loc, ncol=ncol, frameon=False, title=title, columnspacing=1.0,
                      handletextpad=0.4, handlelength=1.6, **kwargs)


def plot_score(score: pd.DataFrame, x: str, ax: Axes | None = None, *, y: str = "mean", log_x: bool = False,
               symlog_x: bool = False, dodge: float = 0.0, schemes=None, ylabel: str | None = None) -> Axes:
    """A study's score against a knob: one line per scheme, its bootstrap 95 % CI as error bars.

    ``score`` has columns ``scheme``, ``x``, ``y``, ``ci_low`` and ``ci_high`` (see
    :func:`mowsim.analysis.score_table`). The x axis is linear, log (``log_x``) or symmetric-log (``symlog_x``, for
    knobs that include 0). ``dodge`` spreads the schemes over that fraction of the smallest gap between knob values
    (measured on the drawn scale), so error bars at one knob value do not hide each other.
    """
    missing = {"scheme", x, y, "ci_low", "ci_high"} - set(score.columns)
    if missing:
        raise ValueError(f"score lacks columns {sorted(missing)}; expected scheme, {x!r}, {y!r}, ci_low, ci_high.")
    if ax is None:
        ax = new_figure()[1][0, 0]
    names = scheme_order(score["scheme"].unique()) if schemes is None else scheme_order(schemes)
    xs = np.sort(score[x].unique().astype(np.float64))
    if log_x:
        ax.set_xscale("log")
    elif symlog_x:
        positive = xs[xs > 0]
        ax.set_xscale("symlog", linthresh=float(positive.min()) if len(positive) else 1.0, linscale=0.5)
    scale = ax.xaxis.get_transform()
    drawn = scale.transform(xs.reshape(-1, 1)).ravel()
    spacing = float(np.min(np.diff(drawn))) if len(xs) > 1 else 1.0
    for i, name in enumerate(names):
        rows = score[score["scheme"].astype(str) == name].sort_values(x)
        if rows.empty:
            continue
        shift = (i - (len(names) - 1) / 2) * dodge * spacing / max(len(names), 1)
        xv = scale.inverted().transform(
            (scale.transform(rows[x].to_numpy(dtype=np.float64).reshape(-1, 1)) + shift)).ravel()
        yv = rows[y].to_numpy(dtype=np.float64)
        err = np.vstack([yv - rows["ci_low"].to_numpy(), rows["ci_high"].to_numpy() - yv])
        ax.errorbar(xv, yv, yerr=np.clip(err, 0, None), color=SCHEME_COLORS[name],
                    marker=SCHEME_MARKERS.get(name, "o"), capsize=1.5, elinewidth=0.7, label=name)
    if log_x or symlog_x:
        ax.set_xticks(xs, [f"{v:g}" for v in xs])
        ax.minorticks_off()
    ax.set_xlabel(x)
    ax.set_ylabel(ylabel or y)
    return ax


def plot_curves(curves: pd.DataFrame, ax: Axes | None = None, *, x: str = "step", y: str = "mean",
                schemes=None, band: bool = True, markers: int = 5) -> Axes:
    """Learning curves: per scheme the line ``y`` against ``x`` with a shaded 95 % CI (``ci_low``/``ci_high``).

    ``markers`` scheme markers are spread along each line (0: none), matching :func:`scheme_legend`.

    ``curves`` is tidy with one row per (scheme, x), e.g. from :func:`mowsim.analysis.curve_ci` per scheme.
    """
    missing = {"scheme", x, y} - set(curves.columns)
    if missing:
        raise ValueError(f"curves lack columns {sorted(missing)}; expected scheme, {x!r}, {y!r} (and ci_low, ci_high).")
    if ax is None:
        ax = new_figure()[1][0, 0]
    names = scheme_order(curves["scheme"].unique()) if schemes is None else scheme_order(schemes)
    for name in names:
        rows = curves[curves["scheme"].astype(str) == name].sort_values(x)
        if rows.empty:
            continue
        color = SCHEME_COLORS[name]
        ax.plot(rows[x], rows[y], color=color, label=name, marker=SCHEME_MARKERS.get(name, "o"),
                markevery=max(len(rows) // markers, 1) if markers else None, markersize=3)
        if band and {"ci_low", "ci_high"} <= set(rows.columns):
            ax.fill_between(rows[x], rows["ci_low"], rows["ci_high"], color=color, alpha=0.18, linewidth=0)
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    return ax


def plot_fronts(points: pd.DataFrame, ax: Axes | None = None, *, x: str = "objective_0", y: str = "objective_1",
                order: str = "w1", schemes=None, reference=None) -> Axes:
    """Each scheme's front: its mean final point per weight (``order``), joined in weight order, with 95 % CIs.

    ``points`` has one row per (scheme, ``order``) with ``x``, ``y`` and optionally ``x_low``/``x_high``/
    ``y_low``/``y_high``. ``reference`` (2,) marks the hypervolume reference point.
    """
    missing = {"scheme", x, y, order} - set(points.columns)
    if missing:
        raise ValueError(f"points lack columns {sorted(missing)}; expected scheme, {order!r}, {x!r}, {y!r}.")
    if ax is None:
        ax = new_figure()[1][0, 0]
    names = scheme_order(points["scheme"].unique()) if schemes is None else scheme_order(schemes)
    for name in names:
        rows = points[points["scheme"].astype(str) == name].sort_values(order)
        if rows.empty:
            continue
        xerr = yerr = None
        if {f"{x}_low", f"{x}_high"} <= set(rows.columns):
            xerr = np.clip(np.vstack([rows[x] - rows[f"{x}_low"], rows[f"{x}_high"] - rows[x]]), 0, None)
        if {f"{y}_low", f"{y}_high"} <= set(rows.columns):
            yerr = np.clip(np.vstack([rows[y] - rows[f"{y}_low"], rows[f"{y}_high"] - rows[y]]), 0, None)
        ax.errorbar(rows[x], rows[y], xerr=xerr, yerr=yerr, color=SCHEME_COLORS[name],
                    marker=SCHEME_MARKERS.get(name, "o"), capsize=1.2, elinewidth=0.6, label=name)
    if reference is not None:
        ax.plot(*reference, marker="+", color="0.4", markersize=6, linestyle="none")
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    return ax


def plot_tightness(frame: pd.DataFrame, x: str, ax: Axes | None = None, *, dodge: float = 0.04) -> Axes:
    """Tightness of a bound against ``x``: the worst ``worst_ratio`` per (scheme, x), one line per scheme.

    Parameters
    ----------
    frame : DataFrame
        Tidy rows with columns ``scheme``, ``worst_ratio`` and ``x``; rows that share (scheme, x) are reduced to
        their maximum. ``worst_ratio = 1`` means the bound is attained.
    x : str
        The column on the horizontal axis, e.g. ``"G"`` or ``"K"``; drawn on a log2 scale.
    ax : Axes, optional
        Drawn on a new figure from :func:`new_figure` when omitted.
    dodge : float
        Horizontal offset between consecutive schemes, in log2 units, so that lines lying on top of each other
        (several bounds attained exactly) stay visible.
    """
    missing = {"scheme", "worst_ratio", x} - set(frame.columns)
    if missing:
        raise ValueError(f"frame lacks columns {sorted(missing)}; expected scheme, worst_ratio and {x!r}.")
    if ax is None:
        ax = new_figure()[1][0, 0]
    worst = frame.groupby(["scheme", x], as_index=False)["worst_ratio"].max()
    schemes = [name for name in SCHEME_COLORS if name in set(worst["scheme"])]
    offset = {name: dodge * (i - (len(schemes) - 1) / 2) for i, name in enumerate(schemes)}
    worst["position"] = worst[x] * 2.0 ** worst["scheme"].map(offset)
    sns.lineplot(data=worst, x="position", y="worst_ratio", hue="scheme", hue_order=schemes,
                 palette=scheme_palette(schemes), style="scheme", style_order=schemes,
                 markers={name: SCHEME_MARKERS[name] for name in schemes}, dashes=False, ax=ax)
    ax.axhline(1.0, color="0.5", linewidth=0.8, linestyle=":")
    ax.set_xscale("log", base=2)
    ticks = np.sort(worst[x].unique())
    ax.set_xticks(ticks, [str(int(t)) for t in ticks])
    ax.minorticks_off()
    ax.set_xlabel(x)
    ax.set_ylabel("worst found / bound")
    return ax


def figure_cli(main, doc: str | None = None, argv=None) -> list[Path]:
    """Command line of a ``paper_figures/`` script: ``python fig_x.py [RESULTS_DIR] [OUT_DIR]`` calls
    ``main(results_dir, out_dir)`` (defaults ``results`` and ``results/figures``) and prints what it wrote."""
    import argparse

    parser = argparse.ArgumentParser(description=(doc or "").strip().splitlines()[0] if doc else None)
    parser.add_argument("results_dir", nargs="?", default="results", type=Path)
    parser.add_argument("out_dir", nargs="?", default=Path("results/figures"), type=Path)
    args = parser.parse_args(argv)
    written = [Path(p) for p in main(args.results_dir, args.out_dir)]
    for path in written:
        print(path)
    return written
