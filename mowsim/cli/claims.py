"""``mowsim claims``: the claims ledger (:mod:`mowsim.claims`) from stored results.

Like ``mowsim figures``, it first produces what the chosen claims read and is missing: a study at ``--quick`` scale
(``--full`` for full scale), the bounds table with ``mowsim bounds --quick``, and says so. An LLM run is never
started here; the claims that need one say so in their reason.
"""

from __future__ import annotations

import argparse
import pathlib

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--results", type=pathlib.Path, default=pathlib.Path("results"),
                        help="the results folder of `mowsim reproduce` (default: results)")
    parser.add_argument("--claim", action="append", default=None, metavar="ID",
                        help="only this claim (repeatable; default: every registered claim)")
    parser.add_argument("--full", action="store_true", help="run missing studies at full scale, not --quick")
    parser.add_argument("--csv", type=pathlib.Path, default=None, help="also write the ledger to this CSV")
    parser.add_argument("--list", action="store_true", help="list the registered claims and exit")
    parser.add_argument("--markdown", action="store_true",
                        help="print the verdict table as Markdown (figure names, no links), e.g. for the README")


def _produce_missing(chosen, results: pathlib.Path, full: bool) -> None:
    from mowsim import bounds, sweep

    scale = "full" if full else "quick"
    if any("bounds" in claim.reads for claim in chosen) and not (results / "bounds" / "bounds.csv").is_file():
        print(f"bounds.csv is missing under {results}: running `mowsim bounds{'' if full else ' --quick'}`")
        bounds.run_bounds(quick=not full, out=results / "bounds")
    needed = list(dict.fromkeys(name for claim in chosen for name in claim.studies()))
    for name in needed:
        if not (results / name / "results.parquet").is_file() and not (results / name / "cells").is_dir():
            print(f"results for study {name!r} are missing: running it at {scale} scale")
            sweep.run_study(name, results, quick=not full)


def run(args: argparse.Namespace) -> int:
    from mowsim import claims

    if args.list:
        for claim_id in claims.available():
            claim = claims.get(claim_id)
            print(f"{claim_id:24s} {claim.statement} ({claim.source}); reads {', '.join(claim.reads)}")
        return 0
    chosen = [claims.get(claim_id) for claim_id in (args.claim or claims.available())]
    _produce_missing(chosen, args.results, args.full)
    verdicts = claims.evaluate_all(args.results, claims=[claim.id for claim in chosen])
    if args.markdown:
        print(claims.verdict_table(verdicts, link_figures=False))
        return 0
    width = max(len(v.claim) for v in verdicts)
    for v in verdicts:
        effect = "" if v.effect != v.effect else f"  effect {v.effect:.3g} [{v.ci_low:.3g}, {v.ci_high:.3g}], n={v.n}"
        print(f"{v.claim:{width}s}  {v.label}{effect}")
        print(f"{'':{width}s}  {v.metric}. {v.reason}")
    if args.csv is not None:
        print(f"wrote {claims.write_ledger(verdicts, args.csv)}")
    return 0
