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


def make_figures(results_dir: pathlib.Path, out_dir: pathlib.Path, *, quick: bool = True,
                 workers: int | None = None) -> list[pathlib.Path]:
    """Run every figure script; produce missing inputs first (at quick scale unless ``quick=False``).

    The scripts run in ``workers`` processes (default: up to 2; 1 runs them in this process); each prints its files
    in the scripts' order, and one that fails is reported after the others ran.
    """
    from mowsim import bounds, sweep

    results_dir = pathlib.Path(results_dir)
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    scripts = figure_scripts()
    modules = [(path, _load(path)) for path in scripts]
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
    for path, (paths, trace) in zip(scripts, _run_scripts(scripts, results_dir, out_dir, workers)):
        if trace is not None:  # one broken figure must not hide the others
            failures.append((path.name, trace))
            continue
        written.extend(pathlib.Path(p) for p in paths)
        print(f"  {path.stem}: " + ", ".join(pathlib.Path(p).name for p in paths))
    for name, trace in failures:
        print(f"figure {name} failed:\n{trace}")
    if failures:
        raise RuntimeError(f"{len(failures)} figure script(s) failed: {', '.join(n for n, _ in failures)}")
    return written


def _run_script(path: pathlib.Path, results_dir: pathlib.Path, out_dir: pathlib.Path):
    """``(paths written, None)`` or ``([], traceback)``: one script's ``main``."""
    try:
        return [str(p) for p in _load(path).main(results_dir, out_dir)], None
    except Exception:  # noqa: BLE001 - reported with the others
        return [], traceback.format_exc()


def _run_scripts(scripts, results_dir, out_dir, workers: int | None) -> list:
    """Each script's result, in order; on ``workers`` processes (default: up to 2) when there are several."""
    workers = min(len(scripts), workers or min(2, os.cpu_count() or 1))
    if workers <= 1:
        return [_run_script(path, results_dir, out_dir) for path in scripts]
    from mowsim import sweep

    with sweep.process_pool(workers) as pool:
        futures = [pool.submit(_run_script, path, results_dir, out_dir) for path in scripts]
        try:
            return [future.result() for future in futures]
        except BaseException:
            for future in futures:
                future.cancel()
            raise
