"""``mowsim reproduce``: the main job (:func:`mowsim.reproduce.reproduce`): bounds, every study, every figure, REPORT.md."""

from __future__ import annotations

import argparse
import pathlib

from mowsim.reproduce import reproduce

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true", help="small scale: about 10 minutes on 2 cores")
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("results"))
    parser.add_argument("--workers", type=int, default=None, help="local worker processes (default: all cores)")
    parser.add_argument("--studies", type=str, default=None, help="comma-separated subset of studies")


def run(args: argparse.Namespace) -> int:
    studies = args.studies.split(",") if args.studies else None
    reproduce(args.out, quick=args.quick, workers=args.workers, studies=studies)
    return 0
