"""Evaluating the registered claims against a results folder: :class:`Inputs` (the tables they read, loaded once),
:func:`evaluate`, the ledger (``claims.csv``) and its Markdown table."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from mowsim import analysis
from mowsim.claims.base import CSV_COLUMNS, Claim, Verdict, available, get

class Inputs(Mapping):
    """The tables claims read, loaded lazily from ``results_dir`` and cached; missing ones are None.

    ``frames`` may hand over study results already in memory ({study: results frame}), so a caller that loaded
    them (``mowsim reproduce``) does not read them again.
    """

    def __init__(self, results_dir, frames: Mapping[str, pd.DataFrame] | None = None):
        self.results_dir = Path(results_dir)
        self._raw = dict(frames or {})
        self._tables: dict[str, pd.DataFrame | None] = {}

    def raw(self, study: str) -> pd.DataFrame | None:
        if study not in self._raw:
            try:
                self._raw[study] = analysis.read_results(self.results_dir, study)
            except (FileNotFoundError, ValueError):
                self._raw[study] = None
        return self._raw[study]

    def __getitem__(self, name: str):
        if name not in self._tables:
            self._tables[name] = self._load(name)
        return self._tables[name]

    def _load(self, name: str):
        if name == "bounds":
            path = self.results_dir / "bounds" / "bounds.csv"
            return pd.read_csv(path) if path.is_file() else None
        if name == "llm":
            path = self.results_dir / "llm" / "summary.csv"
            return pd.read_csv(path) if path.is_file() else None
        if name == "llm_transfer":  # `mowsim llm --transfer --out DIR/llm_transfer`
            path = self.results_dir / "llm_transfer" / "transfer_pairs.csv"
            return pd.read_csv(path) if path.is_file() else None
        study, _, function = name.partition(".")
        frame = self.raw(study)
        if frame is None:
            return None
        return getattr(analysis.study_analysis(study), function or "per_run")(frame)

    def __iter__(self):
        return iter(self._tables)

    def __len__(self):
        return len(self._tables)

    def get(self, name, default=None):
        value = self[name]
        return default if value is None else value


def command(claim: Claim, results_dir) -> str:
    """The one command that reproduces ``claim``'s verdict (running what it reads if missing)."""
    return f"mowsim claims --results {results_dir} --claim {claim.id}"


def evaluate(claim: Claim | str, data: Mapping, results_dir="results") -> Verdict:
    """Apply ``claim``'s rule to ``data`` (a mapping of its ``reads``, e.g. :class:`Inputs`)."""
    claim = get(claim) if isinstance(claim, str) else claim
    outcome = claim.decide(data)
    # With none of its inputs there is nothing to show: no figure (e.g. llm-transfer before an LLM run).
    nothing_read = all(data.get(name) is None or len(data[name]) == 0 for name in claim.reads)
    return Verdict(claim=claim.id, statement=claim.statement, source=claim.source, metric=claim.metric,
                   verdict=outcome.verdict, condition=outcome.condition, effect=outcome.effect,
                   ci_low=outcome.ci_low, ci_high=outcome.ci_high, n=outcome.n,
                   figure="" if nothing_read else claim.figure,
                   command=command(claim, results_dir), reason=outcome.reason)


def evaluate_all(results_dir, *, claims: Iterable[str] | None = None,
                 frames: Mapping[str, pd.DataFrame] | None = None) -> list[Verdict]:
    """Every registered claim (or those named) against the results under ``results_dir``."""
    inputs = Inputs(results_dir, frames)
    return [evaluate(get(claim_id), inputs, results_dir) for claim_id in (claims or available())]


def ledger(verdicts: Sequence[Verdict]) -> pd.DataFrame:
    """The verdicts as a table with columns :data:`CSV_COLUMNS`."""
    return pd.DataFrame([v.row() for v in verdicts], columns=list(CSV_COLUMNS))


def write_ledger(verdicts: Sequence[Verdict], path) -> Path:
    """Write ``claims.csv`` atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".csv.tmp")
    ledger(verdicts).to_csv(tmp, index=False)
    tmp.replace(path)
    return path


def read_ledger(path) -> pd.DataFrame:
    return pd.read_csv(path, keep_default_na=False, na_values=[""])


def _number(value) -> str:
    return "" if value is None or not np.isfinite(value) else f"{value:.3g}"


def verdict_table(verdicts: Sequence[Verdict], *, link_figures: bool = True) -> str:
    """The ledger as a Markdown table: claim, statement, verdict, effect [95 % CI], n, figure."""
    lines = ["| claim | statement (source) | verdict | effect [95 % CI] | n | figure |", "|---|---|---|---|---|---|"]
    for v in verdicts:
        ci = f" [{_number(v.ci_low)}, {_number(v.ci_high)}]" if np.isfinite(v.ci_low) else ""
        effect = f"{_number(v.effect)}{ci}" if np.isfinite(v.effect) else "-"
        figure = ("none (no data)" if not v.figure else
                  f"[{Path(v.figure).stem}]({v.figure})" if link_figures else Path(v.figure).stem)
        cells = [f"`{v.claim}`", f"{v.statement} ({v.source})", f"**{v.label}**", f"{effect} ({v.metric})", str(v.n),
                 figure]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines)
