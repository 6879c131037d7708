"""The main job, ``mowsim reproduce`` (what ``make demo`` runs; front end :mod:`mowsim.cli.reproduce`).

In order: (1) the boundedness reproduction (``mowsim bounds``), (2) every study (``mowsim study``), (3) every paper
figure (``mowsim figures``), (4) ``REPORT.md`` in the out dir with a table per study and the figures linked.
Every step reuses what is already stored under ``--out``: a re-run after an interruption resumes where it stopped.
"""

from __future__ import annotations

import pathlib
import time

import pandas as pd

__all__ = ["reproduce", "markdown_table"]


def _section(title: str) -> None:
    print(f"\n=== {title} " + "=" * max(0, 70 - len(title)), flush=True)


def reproduce(out: pathlib.Path, *, quick: bool = False, workers: int | None = None,
              studies: list[str] | None = None) -> pathlib.Path:
    """Run everything and return the path of ``REPORT.md``."""
    from mowsim import analysis, bounds, figures, sweep

    out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}

    _section("1/4 bounds: the DVAO propositions, numerically")
    start = time.perf_counter()
    bounds_dir = out / "bounds"
    bounds_table = bounds.run_bounds(quick=quick, out=bounds_dir, progress=True)
    print(bounds.summarize(bounds_table).to_string(index=False))
    timings["bounds"] = time.perf_counter() - start

    names = studies or sweep.available_studies()
    scores: dict[str, pd.DataFrame] = {}
    for i, name in enumerate(names, 1):
        _section(f"2/4 study {i}/{len(names)}: {name}")
        start = time.perf_counter()
        report = sweep.run_study(name, out, quick=quick, max_workers=workers)
        timings[f"study {name}"] = time.perf_counter() - start
        if report.failures:
            print(f"  {len(report.failures)} cell(s) failed; see the tracebacks above. Re-run to retry them.")
        scores[name] = (sweep.load_study(name), analysis.study_analysis(name).score(report.results))

    _section("3/4 figures")
    start = time.perf_counter()
    figure_paths = figures.make_figures(out, out / "figures", quick=quick)
    timings["figures"] = time.perf_counter() - start

    _section("4/4 report")
    path = out / "REPORT.md"
    _write_report(path, out, bounds_table, scores, figure_paths, timings, quick)
    print(f"wrote {path}")
    return path


def markdown_table(frame: pd.DataFrame) -> str:
    """A GitHub-flavoured Markdown table (floats to 4 significant digits)."""
    def cell(value) -> str:
        if isinstance(value, float):
            return f"{value:.4g}"
        return str(value)

    header = "| " + " | ".join(str(c) for c in frame.columns) + " |"
    rule = "|" + "---|" * len(frame.columns)
    rows = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *rows])


def _write_report(path, out, bounds_table, scores, figure_paths, timings, quick) -> None:
    lines = ["# mowsim reproduction report", "",
             f"Scale: {'quick (--quick)' if quick else 'full'}. Re-create with `mowsim reproduce"
             f"{' --quick' if quick else ''} --out {out}`.", ""]
    lines += ["## Boundedness propositions (DVAO paper)", ""]
    from mowsim import bounds

    lines += ["Rows with `theorem = False` are the paper's printed forms where they are not identities (see "
              "`mowsim.theory`); their violations are findings, not bugs.", ""]
    lines += [markdown_table(bounds.summarize(bounds_table)), ""]
    for name, (module, table) in scores.items():
        lines += [f"## Study `{name}`", "", f"*{getattr(module, 'QUESTION', '')}*", ""]
        lines += [markdown_table(table), ""]
    lines += ["## Figures", ""]
    for figure in figure_paths:
        if figure.suffix == ".png":
            rel = figure.relative_to(out) if figure.is_relative_to(out) else figure
            lines += [f"![{figure.stem}]({rel})", ""]
    lines += ["## Wall-clock", "", "| step | seconds |", "|---|---|"]
    lines += [f"| {step} | {seconds:.1f} |" for step, seconds in timings.items()]
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text("\n".join(lines) + "\n")
    tmp.replace(path)
