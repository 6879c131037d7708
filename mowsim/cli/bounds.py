"""``mowsim bounds``: the DVAO propositions checked numerically (:mod:`mowsim.bounds`): bounds.csv, a summary, a figure."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

from mowsim.bounds import run_bounds, summarize

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true", help="fewer groups and restarts (under a minute)")
    parser.add_argument("--out", default="results", help="directory for bounds.csv and the figure (default: results)")
    parser.add_argument("--seed", type=int, default=0, help="root seed (default: 0)")


def run(args: argparse.Namespace) -> int:
    """Run the checks, write the files, print the summary; exit status 1 if a theorem was violated."""
    start = time.perf_counter()
    frame = run_bounds(quick=args.quick, seed=args.seed, out=args.out, progress=True)
    summary = summarize(frame)
    with pd.option_context("display.width", 200, "display.max_columns", None):
        print(summary.to_string(index=False, float_format=lambda v: f"{v:.6g}"))
    failed = summary[summary["theorem"] & (summary["violations"] > 0)]
    out = Path(args.out)
    print(f"\n{int(frame['n_groups'].sum()):,} checks over {len(frame)} rows in {time.perf_counter() - start:.1f} s; "
          f"wrote {out / 'bounds.csv'} and {out / 'bounds_tightness'}.{{png,pdf}}")
    if len(failed):
        print(f"VIOLATED: {', '.join(failed['claim'])}")
        return 1
    return 0
