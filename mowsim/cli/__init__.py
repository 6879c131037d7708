"""The ``mowsim`` command line: one subcommand per workflow.

Each subcommand's argparse front end is a module of this package, ``mowsim.cli.<name>``, exposing
``add_arguments(parser)`` and ``run(args) -> int``; the engines they drive live elsewhere (``mowsim.bounds``,
``mowsim.sweep``, ``mowsim.figures``, ...). This file only wires them together, importing only the module of the
subcommand being run.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# subcommand -> (module, one-line help)
SUBCOMMANDS = {
    "bounds": ("mowsim.cli.bounds", "reproduce the DVAO propositions numerically: bounds.csv, a summary, a figure"),
    "simulate": ("mowsim.cli.simulate", "train schemes on a simulation environment; history.parquet and a summary"),
    "study": ("mowsim.cli.study", "run studies (studies/<name>/sweep.py) into a resumable store, locally or on Dask"),
    "bench": ("mowsim.cli.bench", "time the schemes: Numba kernels vs the NumPy reference vs PyTorch"),
    "figures": ("mowsim.cli.figures", "regenerate every paper figure from stored results"),
    "reproduce": ("mowsim.cli.reproduce", "the main job: bounds, every study, every figure, the claims, REPORT.md"),
    "claims": ("mowsim.cli.claims", "the claims ledger: which of the papers' claims hold, from stored results"),
    "llm": ("mowsim.cli.llm", "GRPO on a small local language model with each scheme, via the TRL plug-in"),
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; only ``command``'s module is imported (all of them when None, e.g. for documentation)."""
    parser = argparse.ArgumentParser(prog="mowsim", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"mowsim {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        sub_parser = sub.add_parser(name, help=help_text, description=help_text)
        if command is None or command == name:
            module = importlib.import_module(module_name)
            module.add_arguments(sub_parser)
            sub_parser.set_defaults(_module=module)
    return parser


def _version() -> str:
    from mowsim import __version__

    return __version__


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    command = next((arg for arg in argv if arg in SUBCOMMANDS), None)
    parser = build_parser(command if command is not None else "")
    args = parser.parse_args(argv)
    try:
        return int(args._module.run(args) or 0)
    except ValueError as err:
        print(f"mowsim {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
