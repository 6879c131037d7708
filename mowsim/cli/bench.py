"""``mowsim bench``: time the schemes (:mod:`mowsim.bench.schemes`) and the training loop (:mod:`mowsim.bench.train`)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from mowsim.bench import schemes

__all__ = ["add_arguments", "run"]


def _add_schemes_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true",
                        help=f"sizes {list(schemes.QUICK_SIZES)}, K {list(schemes.QUICK_OBJECTIVES)}, 3 repeats, no memory pass "
                             "(about 20 s)")
    parser.add_argument("--sizes", type=int, nargs="+", metavar="N",
                        help=f"rollouts per batch, B*G (default {list(schemes.DEFAULT_SIZES)})")
    parser.add_argument("--objectives", type=int, nargs="+", metavar="K",
                        help=f"numbers of objectives (default {list(schemes.DEFAULT_OBJECTIVES)})")
    parser.add_argument("--group-size", type=int, default=16, metavar="G", help="rollouts per group (default 16)")
    parser.add_argument("--repeats", type=int, metavar="N",
                        help="timed calls per implementation and cell (default: as many as fit in 0.5 s, 3 to 21)")
    parser.add_argument("--schemes", nargs="+", metavar="NAME", help="default: every registered scheme")
    parser.add_argument("--impls", nargs="+", choices=schemes.IMPLS, default=list(schemes.IMPLS), metavar="IMPL",
                        help=f"implementations to time, from {list(schemes.IMPLS)} (default: all)")
    parser.add_argument("--ddof", type=int, default=0, choices=(0, 1))
    parser.add_argument("--eps", type=float, default=1e-4, help="added to every std (default 1e-4, TRL's)")
    parser.add_argument("--nan-fraction", type=float, default=0.0, help="share of reward entries set to NaN")
    parser.add_argument("--gap", type=float, default=0.0, metavar="SECONDS",
                        help="idle time before every timed call, as between training steps (default 0)")
    parser.add_argument("--threads", type=int, help="threads for Numba and PyTorch (default: the machine's cores)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--memory", action=argparse.BooleanOptionalAction, default=None,
                        help="measure peak extra memory in separate processes (default: on, off with --quick)")
    parser.add_argument("--memory-size", type=int, metavar="N",
                        help="rollouts of the memory pass (default: the largest of --sizes)")
    parser.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    parser.add_argument("--out", type=Path, default=Path("results/bench"), metavar="DIR",
                        help="where bench_schemes.csv goes (default results/bench)")


def _run_schemes(args: argparse.Namespace) -> int:
    sizes = args.sizes or (schemes.QUICK_SIZES if args.quick else schemes.DEFAULT_SIZES)
    objectives = args.objectives or (schemes.QUICK_OBJECTIVES if args.quick else schemes.DEFAULT_OBJECTIVES)
    repeats = args.repeats or (schemes.MIN_REPEATS if args.quick else None)
    if repeats is not None and repeats < 1:
        raise ValueError(f"--repeats must be >= 1; got {repeats}.")
    frame = schemes.run_scheme_bench(sizes, objectives, group_size=args.group_size, repeats=repeats, schemes=args.schemes,
                             impls=args.impls, ddof=args.ddof, eps=args.eps, nan_fraction=args.nan_fraction,
                             seed=args.seed, threads=args.threads, gap_s=args.gap,
                             progress=args.progress)
    memory = None
    if args.memory if args.memory is not None else not args.quick:
        memory_size = args.memory_size or max(sizes)
        memory = schemes.measure_memory([(memory_size, k) for k in objectives], group_size=args.group_size,
                                schemes=sorted(frame.scheme.unique()), impls=sorted(frame.impl.unique()),
                                ddof=args.ddof, eps=args.eps, nan_fraction=args.nan_fraction, seed=args.seed,
                                threads=args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    frame.to_csv(args.out / "bench_schemes.csv", index=False)
    meta = dict(frame.attrs["meta"], command=" ".join(["mowsim", *sys.argv[1:]]))
    (args.out / "bench_schemes_meta.json").write_text(json.dumps(meta, indent=1))
    if memory is not None:
        memory.to_csv(args.out / "bench_schemes_memory.csv", index=False)
    schemes.print_reports(frame, memory, print)
    print(f"\nwrote {args.out / 'bench_schemes.csv'}")
    return 0


def _add_train_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``mowsim bench train``."""
    parser.add_argument("--quick", action="store_true", help="a few seconds, for a smoke run")
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("results/bench"))


def _run_train(args: argparse.Namespace) -> int:
    train = _bench_train()
    frame = train.run_train_bench(steps=args.steps, repeats=args.repeats, quick=args.quick)
    print(train.report(frame))
    args.out.mkdir(parents=True, exist_ok=True)
    tmp = args.out / "bench_train.csv.tmp"
    frame.to_csv(tmp, index=False)
    tmp.replace(args.out / "bench_train.csv")
    print(f"wrote {args.out / 'bench_train.csv'}")
    return 0


TARGETS = {
    "schemes": ("time every scheme: Numba vs the NumPy reference vs PyTorch (TRL style)", _add_schemes_arguments,
                _run_schemes),
    "train": ("time the compiled training loop against a vectorized NumPy loop, and its scaling over seeds",
              _add_train_arguments, _run_train),
}
"""Bench target -> (help, add_arguments, run). A new target (``train``, ...) is one more entry."""


def _bench_train():
    from mowsim.bench import train  # imports the environments only when this target runs

    return train


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``mowsim bench TARGET ...``: one sub-command per entry of :data:`TARGETS`."""
    targets = parser.add_subparsers(dest="target", metavar="TARGET", required=True)
    for name, (help_text, add_target_arguments, run_target) in TARGETS.items():
        target_parser = targets.add_parser(name, help=help_text, description=help_text)
        add_target_arguments(target_parser)
        target_parser.set_defaults(_bench_target=run_target)


def run(args: argparse.Namespace) -> int:
    return args._bench_target(args)
