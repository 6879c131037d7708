"""Figure: how tight the DVAO paper's max-|A| bounds are (``mowsim bounds``).

Re-plots ``results_dir/bounds/bounds.csv`` with :func:`mowsim.bounds.tightness_figure`: the worst max |A| found over
its bound against G (left) and K (right), per scheme; solid lines the worst-case search, dashed the worst random
group.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mowsim import bounds, plotting

NEEDS_BOUNDS = True


def main(results_dir, out_dir) -> list[Path]:
    path = Path(results_dir) / "bounds" / "bounds.csv"
    if not path.is_file():
        raise FileNotFoundError(f"no {path}; run `mowsim bounds --out {Path(results_dir) / 'bounds'}` first.")
    frame = pd.read_csv(path)
    with plotting.paper_style():
        fig = bounds.tightness_figure(frame)
        fig.set_size_inches(2 * plotting.SINGLE_COLUMN, 4.4)
        return plotting.save_figure(fig, Path(out_dir) / "bounds_tightness")


if __name__ == "__main__":
    plotting.figure_cli(main, __doc__)
