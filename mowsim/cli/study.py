"""``mowsim study``: run studies (``studies/<name>/sweep.py``) into a resumable store, locally or on Dask.

Each study goes to ``OUT/<name>/``: ``cells/<key>.parquet`` (one file per finished cell) and ``results.parquet``
(the merged table). A rerun skips the stored cells, so an interrupted study resumes where it stopped.
"""

from __future__ import annotations

import argparse
import contextlib
import pathlib
import sys

from mowsim import sweep


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help="studies to run (see --list), or the path of a study folder (./my_studies/my_study)")
    parser.add_argument("--list", action="store_true", help="list the studies and their cell counts, then exit")
    parser.add_argument("--quick", action="store_true",
                        help=f"a scaled-down run (the study's QUICK, else at most {sweep.QUICK_STEPS} steps and "
                             f"{sweep.QUICK_SEEDS} seeds per cell)")
    parser.add_argument("--testing", action="store_true", help="only the study's TESTING cells (for CI)")
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("results/studies"),
                        help="results folder (default: results/studies)")
    parser.add_argument("--workers", type=int, default=None,
                        help="local worker processes (default: all cores); with --dask local, the Dask workers")
    parser.add_argument("--dask", metavar="ADDRESS", default=None,
                        help="run the cells on Dask: 'local' starts a LocalCluster, tcp://HOST:PORT connects to a "
                             "scheduler, a path to a .json scheduler file (dask scheduler --scheduler-file) reads "
                             "the address from it; needs `pip install 'mowsim[dask]'` (docs/CLUSTER.md)")
    parser.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    if args.list:
        _print_studies()
        return 0
    if not args.names:
        raise ValueError(f"name at least one study, or --list; available: {', '.join(sweep.available_studies())}.")
    if args.workers is not None and args.workers < 1:
        raise ValueError(f"--workers must be >= 1; got {args.workers}.")
    args.names = [sweep.use_study_path(name) for name in args.names]
    for name in args.names:  # fail on a typo before any work starts
        sweep.study_cells(name, quick=args.quick, testing=args.testing)
    failed = False
    name = args.names[0]
    try:
        with _executor(args.dask, args.workers) as executor:
            for name in args.names:
                report = sweep.run_study(name, args.out, quick=args.quick, testing=args.testing, executor=executor,
                                         max_workers=args.workers, progress=args.progress)
                print(f"{name}: {report.summary()}; results in {args.out / name / 'results.parquet'}")
                for cell_id, trace in report.failures.items():
                    print(f"  failed {cell_id}: {trace.strip().splitlines()[-1]}", file=sys.stderr)
                failed = failed or not report.ok
    except KeyboardInterrupt:
        print(f"{name}: interrupted; the finished cells are stored in {args.out / name / 'cells'}. "
              "Rerun the same command to resume.", file=sys.stderr)
        return 130
    return 1 if failed else 0


def _print_studies() -> None:
    names = sweep.available_studies()
    if not names:
        print(f"no studies in {sweep.studies_dir()}")
        return
    for name in names:
        module = sweep.load_study(name)
        doc = (module.__doc__ or "").strip().splitlines()
        testing = len(getattr(module, "TESTING", ()))
        print(f"{name:<28} {len(module.SETTINGS):>5} cells, {testing:>3} testing  {doc[0] if doc else ''}")


@contextlib.contextmanager
def _executor(address: str | None, workers: int | None):
    """One executor for every study of the command: a local process pool, or a Dask client's executor."""
    if address is None:
        with sweep.process_pool(workers) as pool:
            yield pool
        return
    try:
        from distributed import Client
    except ImportError:
        raise ValueError("--dask needs the distributed package: pip install 'mowsim[dask]'") from None
    if address == "local":
        # One thread per worker process: the compiled training loop holds the GIL.
        client = Client(n_workers=workers, threads_per_worker=1)
    elif address.endswith(".json"):
        if not pathlib.Path(address).is_file():
            raise ValueError(f"--dask {address}: no such scheduler file; start one with "
                             f"`dask scheduler --scheduler-file {address}`.")
        client = Client(scheduler_file=address)
    else:
        client = Client(address)
    with client:
        print(f"dask: {client.dashboard_link}", file=sys.stderr)
        yield client.get_executor()
