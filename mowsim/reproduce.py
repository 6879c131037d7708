"""The main job, ``mowsim reproduce`` (what ``make demo`` runs; front end :mod:`mowsim.cli.reproduce`).

In order: (1) the boundedness reproduction (``mowsim bounds``), (2) every study (``mowsim study``) with its full
score table in ``OUT/<study>/scores.csv``, (3) every paper figure (``mowsim figures``), (4) the claims' verdicts
(``claims.csv``, :mod:`mowsim.claims`), (5) ``REPORT.md`` (:mod:`mowsim.report`): the verdicts first, then a short
section per study. Every step reuses what is already stored under ``--out``: a re-run after an interruption resumes
where it stopped.
"""

from __future__ import annotations

import pathlib
import subprocess
import sys
import time

import pandas as pd

from mowsim.report import markdown_table

__all__ = ["reproduce", "conclude", "markdown_table"]


def _section(title: str) -> None:
    print(f"\n=== {title} " + "=" * max(0, 70 - len(title)), flush=True)


def reproduce(out: pathlib.Path, *, quick: bool = False, workers: int | None = None,
              studies: list[str] | None = None) -> pathlib.Path:
    """Run everything and return the path of ``REPORT.md``."""
    from mowsim import bounds, sweep

    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}

    _section("1/5 bounds: the DVAO propositions, numerically")
    start = time.perf_counter()
    warmup = _start_warmup()
    try:
        bounds_table = bounds.run_bounds(quick=quick, out=out / "bounds", progress=True)
        print(bounds.summarize(bounds_table).to_string(index=False))
        timings["bounds"] = time.perf_counter() - start
        _finish_warmup(warmup)
    finally:
        if warmup.poll() is None:
            warmup.kill()
            warmup.wait()

    names = studies or sweep.available_studies()
    results = {}
    for i, name in enumerate(names, 1):
        _section(f"2/5 study {i}/{len(names)}: {name}")
        start = time.perf_counter()
        run = sweep.run_study(name, out, quick=quick, max_workers=workers)
        if run.failures:
            print(f"  {len(run.failures)} cell(s) failed; see the tracebacks above. Re-run to retry them.")
        results[name] = run.results
        timings[f"study {name}"] = time.perf_counter() - start

    path = conclude(out, results, bounds_table, timings=timings, quick=quick)
    return path


def _start_warmup() -> subprocess.Popen:
    """Compile the training loops in a background process while the bounds step runs (:func:`sweep.warm_kernels`)."""
    return subprocess.Popen([sys.executable, "-c", "from mowsim import sweep; sweep.warm_kernels()"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _finish_warmup(warmup: subprocess.Popen) -> None:
    """Wait for the warm-up; a failed one only means the study workers compile the loops themselves."""
    _, errors = warmup.communicate()
    if warmup.returncode:
        tail = (errors or "").strip().splitlines()[-1:] or ["no message"]
        print(f"  (compiling the training loops ahead failed: {tail[0]}; the studies compile them instead)")


def conclude(out: pathlib.Path, results: dict, bounds_table, *, timings: dict | None = None,
             quick: bool = False) -> pathlib.Path:
    """Steps 2b-5 on results in hand: each study's ``scores.csv`` and report section, the figures, ``claims.csv``
    and ``REPORT.md``; ``results`` maps study names to their result tables. Returns the report's path."""
    from mowsim import bounds, claims, figures, report

    out = pathlib.Path(out)
    timings = dict(timings or {})
    start = time.perf_counter()
    sections = [_study_section(name, table, out) for name, table in results.items()]
    timings["scores"] = time.perf_counter() - start

    _section("3/5 figures")
    start = time.perf_counter()
    figure_paths = figures.make_figures(out, out / "figures", quick=quick)
    timings["figures"] = time.perf_counter() - start

    _section("4/5 claims")
    start = time.perf_counter()
    verdicts = claims.evaluate_all(out, frames=results)
    claims.write_ledger(verdicts, out / "claims.csv")
    for verdict in verdicts:
        print(f"  {verdict.claim}: {verdict.label}")
    timings["claims"] = time.perf_counter() - start

    _section("5/5 report")
    pngs = [str(p.relative_to(out)) if p.is_relative_to(out) else str(p) for p in figure_paths if p.suffix == ".png"]
    path = report.write_report(out / "REPORT.md", verdicts=verdicts, bounds_summary=bounds.summarize(bounds_table),
                               sections=sections, figures=pngs, timings=timings, quick=quick,
                               command=f"mowsim reproduce{' --quick' if quick else ''} --out {out}")
    print(f"wrote {path}")
    return path


def _study_section(name: str, results, out: pathlib.Path):
    """Score one study, write ``OUT/<name>/scores.csv`` and return its report section."""
    from mowsim import analysis, report, sweep

    module = analysis.study_analysis(name)
    scores = module.score(results)
    scores_path = out / name / "scores.csv"
    scores_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = scores_path.with_suffix(".csv.tmp")
    scores.to_csv(tmp, index=False)
    tmp.replace(scores_path)
    figure = getattr(module, "FIGURE", None)
    try:
        answer, headline = module.answer(scores), module.headline(scores)
    except Exception as err:  # noqa: BLE001 - e.g. a study run with failed cells lacks a scheme the answer names
        print(f"  {name}: no answer paragraph ({type(err).__name__}: {err})")
        answer = f"No answer: the scores lack what it reads ({type(err).__name__}: {err}); see the scores."
        headline = pd.DataFrame()
    return report.StudySection(name=name, question=getattr(sweep.load_study(name), "QUESTION", ""), answer=answer,
                               headline=headline, scores=f"{name}/scores.csv",
                               figure=f"figures/{figure}.png" if figure else None)
