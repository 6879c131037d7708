"""``REPORT.md``: the answers first. A view of the claims' verdicts and the studies' scores, never a second place
where findings are written.

Layout: the verdict table (:func:`mowsim.claims.verdict_table`) and each verdict's reason; the bounds summary; then
one section per study: its question, its answer paragraph (``studies/<name>/analysis.py``'s ``answer(scores)``,
every number read from the scores), its figure inline, a compact headline table (``headline(scores)``, one row
per scheme) and a link to the full ``<study>/scores.csv``; last the other figures and the wall-clock.
"""

from __future__ import annotations

import dataclasses
import os
import platform
from pathlib import Path
from typing import Sequence

import pandas as pd

__all__ = ["StudySection", "markdown_table", "machine", "write_report"]


@dataclasses.dataclass(frozen=True)
class StudySection:
    """What the report shows of one study (paths relative to the report's folder)."""

    name: str
    question: str
    answer: str
    headline: pd.DataFrame
    scores: str
    figure: str | None = None


def markdown_table(frame: pd.DataFrame) -> str:
    """A GitHub-flavoured Markdown table (floats to 4 significant digits)."""
    def cell(value) -> str:
        if isinstance(value, float):
            return f"{value:.4g}"
        return str(value).replace("|", "\\|")

    header = "| " + " | ".join(cell(str(c)) for c in frame.columns) + " |"
    rule = "|" + "---|" * len(frame.columns)
    rows = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *rows])


def machine() -> str:
    """One line naming the version and the machine: mowsim, Python, OS, CPU model and count."""
    from mowsim import __version__

    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            model = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), model)
    except OSError:
        pass
    return (f"mowsim {__version__}, Python {platform.python_version()}, {platform.system()} {platform.machine()}, "
            f"{os.cpu_count()} CPUs ({model})")


def write_report(path, *, verdicts: Sequence, bounds_summary: pd.DataFrame | None, sections: Sequence[StudySection],
                 figures: Sequence[str], timings: dict, quick: bool, command: str) -> Path:
    """Write ``REPORT.md`` atomically and return its path."""
    from mowsim import claims

    path = Path(path)
    lines = ["# mowsim reproduction report", "",
             f"Scale: {'quick (`--quick`)' if quick else 'full'}. {machine()}. Re-create with `{command}`; "
             "`mowsim claims --results DIR` prints the ledger again from stored results.", "",
             "## Verdicts", "",
             "Each claim's decision rule (metric, comparison, threshold) is fixed in `mowsim/claims/papers.py`; effects carry "
             "bootstrap 95 % CIs over runs (instance x seed). Also in [claims.csv](claims.csv).", "",
             claims.verdict_table(verdicts), ""]
    lines += [f"- `{v.claim}`: {v.reason}" for v in verdicts]
    lines.append("")
    if bounds_summary is not None:
        lines += ["## Boundedness propositions (DVAO paper)", "",
                  "`theorem = False` rows are printed forms that are not identities under the row's conditions "
                  "(`mowsim.theory`); their violations are findings. Full table: [bounds/bounds.csv](bounds/bounds.csv).",
                  "", markdown_table(bounds_summary), ""]
    shown = set()
    for section in sections:
        lines += [f"## Study `{section.name}`", "", f"*{section.question}*", "", section.answer, ""]
        if section.figure:
            shown.add(section.figure)
            lines += [f"![{Path(section.figure).stem}]({section.figure})", ""]
        lines += [markdown_table(section.headline), "",
                  f"Mean [95 % CI] over runs. Every metric at every setting: [{section.scores}]({section.scores}).", ""]
    others = [f for f in figures if f not in shown]
    if others:
        lines += ["## Other figures", ""] + [f"- [{Path(f).stem}]({f})" for f in others] + [""]
    lines += ["## Wall-clock", "", "| step | seconds |", "|---|---|"]
    lines += [f"| {step} | {seconds:.1f} |" for step, seconds in timings.items()]
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text("\n".join(lines) + "\n")
    tmp.replace(path)
    return path
