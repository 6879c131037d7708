"""``mowsim figures``: regenerate every paper figure from stored results (:func:`mowsim.figures.make_figures`)."""

from __future__ import annotations

import argparse
import pathlib

from mowsim.figures import make_figures

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--results", type=pathlib.Path, default=pathlib.Path("results"))
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("results/figures"))
    parser.add_argument("--full", action="store_true", help="run missing studies at full scale, not --quick")


def run(args: argparse.Namespace) -> int:
    paths = make_figures(args.results, args.out, quick=not args.full)
    print(f"wrote {len(paths)} files under {args.out}")
    return 0
