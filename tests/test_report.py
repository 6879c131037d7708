"""The report a reader sees: reproduce's last steps on tiny results write claims.csv (every verdict from the allowed
set, every figure present) and a REPORT.md that opens with the verdicts and whose numbers are the scores'."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from mowsim import bounds, claims, reproduce, sweep


SCHEMES = ("rc", "ac", "gdpo", "dvao", "saw-grpo", "saw-gdpo", "hv-guided", "gradient", "dvao-ema", "dvao-reliable",
           "vpo", "gated")
"""Every scheme an answer paragraph or a claim names."""


def _tiny_study(name: str) -> pd.DataFrame:
    """:data:`SCHEMES` at every QUICK setting, 2 seeds, 3 updates (timings: 1 call at two batch sizes)."""
    module = sweep.load_study(name)
    if name == "overhead":
        smallest = min(dict(c.setting)["B"] for c in module.QUICK)
        cells = [c.scaled(seeds=2, steps=1) for c in module.QUICK
                 if dict(c.setting)["B"] == smallest and c.scheme in SCHEMES]
        frame = pd.concat([module.run_cell(c) for c in cells], ignore_index=True)
        return pd.concat([frame, frame.assign(B=2 * smallest)], ignore_index=True)
    return pd.concat([sweep.run_cell(c.scaled(seeds=2, steps=3)) for c in module.QUICK if c.scheme in SCHEMES],
                     ignore_index=True)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("results")
    results = {}
    for name in sweep.available_studies():
        results[name] = _tiny_study(name)
        (out / name).mkdir()
        results[name].to_parquet(out / name / "results.parquet", index=False)
    config = bounds.BoundsConfig(n_rollouts=(2, 4), n_objectives=(2, 3), distributions=("uniform", "bernoulli"),
                                 n_groups=16, fd_groups=1, n_restarts=1, max_iter=5)
    table = bounds.run_bounds(config=config, out=out / "bounds")
    path = reproduce.conclude(out, results, table, quick=True)
    return out, path.read_text()


def test_claims_csv_has_a_valid_verdict_and_an_existing_figure_for_every_claim(report):
    out, _ = report
    ledger = claims.read_ledger(out / "claims.csv")
    assert ledger["claim"].tolist() == claims.available()
    assert set(ledger["verdict"]) <= set(claims.VERDICTS)
    for row in ledger.itertuples():
        if isinstance(row.figure, str) and row.figure:
            assert (out / row.figure).is_file(), row.figure
        else:  # only a claim with none of its inputs has no figure, and it cannot be decided
            assert row.verdict == "inconclusive" and row.n == 0, row
    assert ledger["figure"].fillna("").astype(bool).sum() >= len(ledger) - 1  # only llm-transfer lacks its input
    assert (ledger.loc[ledger["verdict"] == "holds only when", "condition"].str.len() > 0).all()
    assert ledger["command"].str.startswith("mowsim claims --results").all()


def test_report_opens_with_the_verdicts_and_stays_short(report):
    _, text = report
    lines = text.splitlines()
    assert lines[0] == "# mowsim reproduction report"
    assert lines.index("## Verdicts") < 6
    for claim_id in claims.available():
        assert f"| `{claim_id}` |" in text
    assert len(lines) <= 400
    for name in sweep.available_studies():
        assert f"## Study `{name}`" in text and f"({name}/scores.csv)" in text


def _table_after(text: str, heading: str) -> list[list[str]]:
    """The first Markdown table after ``heading``, as rows of cells (escaped pipes kept inside cells)."""
    lines = text.split(heading, 1)[1].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    end = next((i for i in range(start, len(lines)) if not lines[i].startswith("|")), len(lines))
    return [[cell.strip() for cell in re.split(r"(?<!\\)\|", row.strip("|"))] for row in lines[start:end]]


def _close(printed: str, value: float) -> bool:
    return np.isclose(float(printed), value, rtol=5e-3, atol=1e-12)


def test_headline_numbers_are_the_scores_numbers(report):
    out, text = report
    checked = 0
    for name in ("noise_robustness", "spurious_reward", "pareto_front"):
        scores = pd.read_csv(out / name / "scores.csv")
        table = _table_after(text, f"## Study `{name}`")
        header, body = table[0], table[2:]
        for row in body[:3]:
            scheme, cell = row[0], row[1]
            mean, low, high = re.match(r"(\S+) \[(\S+), (\S+)\]", cell).groups()
            candidates = scores[scores["scheme"] == scheme]
            assert any(_close(mean, m) and _close(low, a) and _close(high, b)
                       for m, a, b in zip(candidates["mean"], candidates["ci_low"], candidates["ci_high"])), \
                (name, header[1], scheme, cell)
            checked += 1
    assert checked == 9


def test_answer_numbers_come_from_the_scores(report):
    out, text = report
    scores = pd.read_csv(out / "many_objectives" / "scores.csv")
    paragraph = text.split("## Study `many_objectives`", 1)[1].split("\n\n")[2]
    match = re.search(r"dvao (\S+) -> (\S+),", paragraph)
    rows = scores[(scores["metric"] == "max_abs_advantage") & (scores["scheme"] == "dvao")].sort_values("K")
    assert _close(match.group(1), rows["mean"].iloc[0]) and _close(match.group(2), rows["mean"].iloc[-1])


def test_verdict_effects_are_the_ledgers(report):
    out, text = report
    ledger = claims.read_ledger(out / "claims.csv").set_index("claim")
    for row in _table_after(text, "## Verdicts")[2:]:
        claim_id = row[0].strip("`")
        effect = row[3].split(" ")[0]
        if effect != "-":
            assert _close(effect, ledger.loc[claim_id, "effect"]), claim_id
