"""The papers' claims as registered hypotheses, each with a decision rule fixed in code before any result is read.

A claim is data plus a rule, like a study: one small frozen dataclass per claim, registered with
:func:`register`, holding its ``id``, a one-line ``statement``, its ``source`` (paper, proposition or section), the
results it ``reads``, the ``figure`` that shows it, and ``decide(data) -> Outcome``: the metric, the comparison and
the threshold, written here. :func:`evaluate` turns an outcome into a :class:`Verdict`; :func:`ledger` tabulates
verdicts as ``claims.csv``. The rules are all in :mod:`mowsim.claims.papers`, the one file where how a verdict is
decided can be read or changed; :mod:`mowsim.claims.base` holds the registry and the shared statistics,
:mod:`mowsim.claims.ledger` the evaluation against a results folder.

Verdicts (:data:`VERDICTS`)

* ``holds``: the rule's 95 % CI lies on the claim's side of the threshold (for a check of a theorem on the bounds
  table: no group violates it), at every level of the sub-sweep the claim covers;
* ``holds only when``: it holds at some levels only; ``condition`` names them (found from the data);
* ``fails``: it holds at no level, and at some the CI lies on the wrong side (or groups violate the statement);
* ``inconclusive``: every CI straddles the threshold, or the results it reads are missing; ``reason`` says what
  evidence would decide it.

Inputs (``reads``): ``"bounds"`` is ``bounds/bounds.csv`` (:func:`mowsim.bounds.run_bounds`); a study name is that
study's per-run table (``studies/<name>/analysis.py``'s ``per_run``); ``"<study>.<function>"`` is another table of
that analysis module (e.g. ``pareto_front.hypervolume_curves``); ``"llm"`` is ``llm/summary.csv`` of ``mowsim llm``;
``"llm_transfer"`` is ``llm_transfer/transfer_pairs.csv`` of ``mowsim llm --transfer``.
Every effect's CI is a bootstrap over runs (instance x seed), paired by ``(instance, seed)`` where two schemes or
settings are compared (cells with the same seed share their random stream).

Adding a claim (e.g. the small-LLM transfer, or balance versus spread, once a study measures them): subclass
:class:`Claim` with a frozen dataclass, set ``id``, ``statement``, ``source``, ``reads``, ``figure`` and ``metric``,
write ``decide`` with the helpers of :mod:`mowsim.claims.base` (:func:`paired`, :func:`by_level`, :func:`combine`, ...) and decorate it with
:func:`register`. ``tests/test_claims.py`` must then show its verdict flip on synthetic frames (a test fails for a
registered claim it does not name).
"""

from mowsim.claims import papers  # noqa: F401 - registers every claim
from mowsim.claims.base import (CSV_COLUMNS, MIN_RUNS, VERDICTS, Claim, Outcome, Verdict, available, by_level, combine,
                                get, mean_ci, paired, pooled_ci, register, side)
from mowsim.claims.ledger import (Inputs, command, evaluate, evaluate_all, ledger, read_ledger, verdict_table,
                                  write_ledger)

__all__ = [
    "VERDICTS",
    "CSV_COLUMNS",
    "MIN_RUNS",
    "Outcome",
    "Verdict",
    "Claim",
    "register",
    "available",
    "get",
    "mean_ci",
    "pooled_ci",
    "paired",
    "side",
    "by_level",
    "combine",
    "Inputs",
    "command",
    "evaluate",
    "evaluate_all",
    "ledger",
    "write_ledger",
    "read_ledger",
    "verdict_table",
]
