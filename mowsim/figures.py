"""The paper figures: run every ``paper_figures/`` script on stored results (``mowsim figures``, :mod:`mowsim.cli.figures`).

Each script in ``paper_figures/`` exposes ``main(results_dir, out_dir) -> list[Path]`` and may declare
``STUDIES`` (the studies whose ``results.parquet`` it reads) and ``NEEDS_BOUNDS``. Missing study results are produced
first at ``--quick`` scale; a missing ``bounds.csv`` runs ``mowsim bounds --quick``.
"""

from __future__ import annotations

import importlib.util
import os
import pathlib
import traceback

__all__ = ["make_figures", "figure_scripts"]


def _figures_dir() -> pathlib.Path:
    override = os.environ.get("MOWSIM_FIGURES")
    if override:
        return pathlib.Path(override)
    import mowsim

    return pathlib.Path(mowsim.__file__).resolve().parent / "paper_figures"


def figure_scripts() -> list[pathlib.Path]:
    """The figure scripts, sorted by name."""
    folder = _figures_dir()
    if not folder.is_dir():
        raise ValueError(f"no paper_figures/ folder at {folder}; set MOWSIM_FIGURES to its location.")
    return sorted(p for p in folder.glob("*.py") if not p.name.startswith("_"))


def _load(path: pathlib.Path):
    spec = importlib.util.spec_from_file_location(f"mowsim_figure_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_figures(results_dir: pathlib.Path, out_dir: pathlib.Path, *, quick: bool = True) -> list[pathlib.Path]:
    """Run every figure script; produce missing inputs first (at quick scale unless ``quick=False``)."""
    from mowsim import bounds, sweep

    results_dir = pathlib.Path(results_dir)
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    modules = [(path, _load(path)) for path in figure_scripts()]
    needed = sorted({name for _, m in modules for name in getattr(m, "STUDIES", ())})
    for name in needed:
        if not (results_dir / name / "results.parquet").exists():
            print(f"results for study {name!r} are missing: running it at {'quick' if quick else 'full'} scale")
            sweep.run_study(name, results_dir, quick=quick)
    if any(getattr(m, "NEEDS_BOUNDS", False) for _, m in modules):
        if not (results_dir / "bounds" / "bounds.csv").exists():
            print("bounds.csv is missing: running `mowsim bounds --quick`")
            bounds.run_bounds(quick=True, out=results_dir / "bounds")
    written: list[pathlib.Path] = []
    failures = []
    for path, module in modules:
        try:
            paths = module.main(results_dir, out_dir)
        except Exception:  # one broken figure must not hide the others
            failures.append((path.name, traceback.format_exc()))
            continue
        written.extend(pathlib.Path(p) for p in paths)
        print(f"  {path.stem}: " + ", ".join(pathlib.Path(p).name for p in paths))
    for name, trace in failures:
        print(f"figure {name} failed:\n{trace}")
    if failures:
        raise RuntimeError(f"{len(failures)} figure script(s) failed: {', '.join(n for n, _ in failures)}")
    return written
