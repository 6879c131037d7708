"""Overhead: what does each scheme cost per step at LLM batch sizes?

A timing study, not a training one: each cell times one scheme's per-step work on a reward batch of shape
(B, G, K) = (prompts, rollouts, objectives) at LLM scale (G = 16 and B = 128, 512, 2048 prompts, i.e. 2k to 32k
rollouts; K = 2, 4, 8). The step is what a trainer calls once per batch: for a stateful scheme
``scheme.update(<its feedback>)`` then ``scheme.compute(rewards)``; for a stateless one ``scheme.compute(rewards)``
(what :func:`mowsim.advantages` runs, input validation included). The feedback is synthetic and ready-made (a
random K x K Gram matrix, a rescored batch, a performance vector), so the time excludes producing it: for the
gradient-level schemes (gradient, mgda, pcgrad) that is K extra backward passes in a real trainer, which dwarfs
everything timed here.

The cells are :class:`~mowsim.sweep.Cell` objects (``env="bandit"`` is unused: these cells time ``mowsim.advantages`` instead of training) whose ``setting`` holds B, G, K;
``seeds`` is the number of repeats (each a fresh random batch) and ``steps`` the timed calls per repeat. This module
defines :func:`run_cell`, which a sweep engine must call in place of training for this study. hv-guided runs at
every K here: outside the compiled training loop it uses moocore's hypervolume.
"""

from __future__ import annotations

import time
import tracemalloc

import numpy as np
import pandas as pd

from mowsim import schemes
from mowsim.grid import Point, grid, ids, subset

NAME = "overhead"
QUESTION = "What does each scheme cost per step (time and memory) at LLM batch sizes, against RC, AC and GDPO?"

GROUP_SIZE = 16
PROMPTS = (128, 512, 2048)
N_OBJECTIVES = (2, 4, 8)
QUICK_PROMPTS = (128, 512)
QUICK_N_OBJECTIVES = (2, 8)
REPEATS = 5
CALLS = 20
QUICK_REPEATS = 3
QUICK_CALLS = 3

COLUMNS = ("study", "cell_id", "cell_key", "B", "G", "K", "scheme", "seed", "calls", "seconds_per_call",
           "peak_bytes")
"""The result table: one row per (cell, repeat). ``seconds_per_call`` is the mean over ``calls`` timed calls after
one untimed warm-up; ``peak_bytes`` the peak of Python/NumPy allocations during one call (tracemalloc; memory the
compiled kernels allocate internally is not counted)."""


def _points(_instance: None):
    for b in PROMPTS:
        for k in N_OBJECTIVES:
            yield Point("bandit", {}, {"B": b, "G": GROUP_SIZE, "K": k})


def _feedback(scheme, rewards: np.ndarray, rng: np.random.Generator) -> dict:
    """Ready-made feedback of the kind ``scheme`` declares (see :mod:`mowsim.schemes.dynamic`)."""
    k = rewards.shape[2]
    given = {}
    for name in getattr(scheme, "feedback", ()):
        if name == "gram":
            g = rng.standard_normal((k, 64))
            given["gram"] = g @ g.T
        elif name == "rewards":
            given["rewards"] = rewards
        elif name == "rescored":
            given["rescored"] = np.clip(rewards + rng.normal(0.0, 0.1, size=rewards.shape), -1.0, 2.0)
        elif name == "performance":
            given["performance"] = rng.uniform(0.0, 1.0, size=k)
    return given


def _step(scheme, rewards, feedback):
    if scheme.stateful:
        scheme.update(**feedback)
    return scheme.compute(rewards).advantages


def run_cell(cell) -> pd.DataFrame:
    """Time ``cell.scheme`` on (B, G, K) batches: ``cell.seeds`` repeats of ``cell.steps`` calls. See
    :data:`COLUMNS`."""
    setting = dict(cell.setting)
    shape = (setting["B"], setting["G"], setting["K"])
    rows = []
    for repeat in range(cell.seeds):
        rng = np.random.default_rng(np.random.SeedSequence([repeat, *shape]))
        rewards = rng.integers(0, 2, size=shape).astype(np.float64)
        scheme = schemes.get(cell.scheme, **dict(cell.scheme_kwargs))
        feedback = _feedback(scheme, rewards, rng)
        _step(scheme, rewards, feedback)  # warm-up: loads the compiled kernels, builds the state
        start = time.perf_counter()
        for _ in range(cell.steps):
            _step(scheme, rewards, feedback)
        seconds = (time.perf_counter() - start) / cell.steps
        tracemalloc.start()
        try:
            _step(scheme, rewards, feedback)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        rows.append({"B": shape[0], "G": shape[1], "K": shape[2], "scheme": cell.scheme, "seed": repeat,
                     "calls": cell.steps, "seconds_per_call": seconds, "peak_bytes": peak})
    frame = pd.DataFrame(rows)
    frame.insert(0, "study", cell.study)
    frame.insert(1, "cell_id", cell.id)
    frame.insert(2, "cell_key", cell.key())
    return frame[list(COLUMNS)]


# A cell's seeds are the timing repeats and its steps the timed calls (run_cell).
SETTINGS = grid(NAME, _points, instances=None, seeds=REPEATS, steps=CALLS)
QUICK = subset(SETTINGS, seeds=QUICK_REPEATS, steps=QUICK_CALLS, B=QUICK_PROMPTS, K=QUICK_N_OBJECTIVES)
TESTING = ids(QUICK, schemes=("rc", "dvao", "hv-guided"), B=(128,), K=(2,))
MAX_WORKERS = 1  # timings: one cell at a time
