"""Speed of the compiled training loops, against a straightforward NumPy-vectorized loop doing the same work.

Workload (the issue's): the default bandit with N = 64 arms, K = 4 objectives, G = 16, B = 64 groups per step.
A step samples B*G arms and K binary rewards each, computes the scheme's advantages, the K per-objective z-scores
and gradients (for the conflict diagnostics), and applies the policy-gradient update. "Rollouts per second" counts
B*G per step. The NumPy loop uses :mod:`mowsim.schemes.reference` for the advantages.
"""

from __future__ import annotations

import os
import time

import numba
import numpy as np
import pandas as pd

from mowsim import envs
from mowsim.schemes import base as scheme_base
from mowsim.schemes import reference
from mowsim.train import train, train_many

__all__ = ["numpy_bandit_loop", "run_train_bench"]


def numpy_bandit_loop(env: envs.Bandit, scheme: str, *, steps: int, group_size: int, n_groups: int, lr: float,
                      seed: int) -> np.ndarray:
    """The bandit training loop written with vectorized NumPy; returns the final logits (n_arms,)."""
    rng = np.random.default_rng(seed)
    _, means = env.arrays()
    means = means[0]
    n_arms, n_objectives = means.shape
    weights = np.full(n_objectives, 1.0 / n_objectives)
    scheme_fn = scheme_base.get(scheme).reference
    theta = np.zeros(n_arms)
    for _ in range(steps):
        probs = np.exp(theta - theta.max())
        probs /= probs.sum()
        arms = np.searchsorted(np.cumsum(probs), rng.random((n_groups, group_size)), side="right")
        arms = np.minimum(arms, n_arms - 1)
        rewards = (rng.random((n_groups, group_size, n_objectives)) < means[arms]).astype(np.float64)
        advantages, _ = scheme_fn(rewards, weights)
        _, _, _, zscores = reference.objective_stats(rewards, 0, 0.0)
        channels = np.concatenate([advantages[..., None], zscores], axis=2).reshape(-1, 1 + n_objectives)
        flat_arms = arms.ravel()
        counts = np.stack([np.bincount(flat_arms, weights=channels[:, c], minlength=n_arms)
                           for c in range(channels.shape[1])])
        grads = (counts - channels.sum(axis=0)[:, None] * probs) / flat_arms.size
        norms = np.linalg.norm(grads[1:], axis=1)
        _ = (grads[1:] @ grads[1:].T) / np.maximum(np.outer(norms, norms), 1e-300)  # conflict diagnostics
        theta += lr * grads[0]
    return theta


def _best_time(fn, repeats: int) -> float:
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def run_train_bench(*, steps: int = 2000, numpy_steps: int = 200, seeds: int = 8, repeats: int = 3,
                    schemes=("rc", "ac", "gdpo", "dvao", "saw-grpo", "saw-gdpo"), quick: bool = False) -> pd.DataFrame:
    """Time the loops; returns a tidy frame (what, scheme, impl, threads, seconds, rollouts_per_s)."""
    if quick:
        steps, numpy_steps, seeds, repeats = 100, 20, 2, 1
    env = envs.Bandit(n_arms=64, n_objectives=4)
    group_size, n_groups, lr = 16, 64, 1.0
    per_step = group_size * n_groups
    rows = []
    for scheme in schemes:
        train(env, scheme, steps=2, group_size=group_size, n_groups=n_groups, lr=lr)  # compile
        seconds = _best_time(lambda: train(env, scheme, steps=steps, group_size=group_size, n_groups=n_groups,
                                           lr=lr), repeats)
        rows.append({"what": "bandit", "scheme": scheme, "impl": "numba", "threads": 1, "seconds": seconds,
                     "rollouts_per_s": steps * per_step / seconds})
        seconds = _best_time(lambda: numpy_bandit_loop(env, scheme, steps=numpy_steps, group_size=group_size,
                                                       n_groups=n_groups, lr=lr, seed=0), repeats)
        rows.append({"what": "bandit", "scheme": scheme, "impl": "numpy", "threads": 1, "seconds": seconds,
                     "rollouts_per_s": numpy_steps * per_step / seconds})
    # Scaling: many seeds in one compiled call, serial twin vs prange over runs.
    cores = numba.config.NUMBA_NUM_THREADS
    train_many(env, "dvao", seeds=2, steps=2, parallel=True)  # compile the parallel driver
    for parallel, threads in ((False, 1), (True, cores)):
        seconds = _best_time(lambda: train_many(env, "dvao", seeds=seeds, steps=steps, group_size=group_size,
                                                n_groups=n_groups, lr=lr, parallel=parallel), repeats)
        rows.append({"what": f"bandit x{seeds} seeds", "scheme": "dvao", "impl": "numba", "threads": threads,
                     "seconds": seconds, "rollouts_per_s": seeds * steps * per_step / seconds})
    seq = envs.SequenceTask()
    train(seq, "dvao", steps=2)
    seconds = _best_time(lambda: train(seq, "dvao", steps=steps // 4, group_size=group_size, n_groups=n_groups,
                                       lr=lr), repeats)
    rows.append({"what": "sequence", "scheme": "dvao", "impl": "numba", "threads": 1, "seconds": seconds,
                 "rollouts_per_s": steps // 4 * per_step / seconds})
    return pd.DataFrame(rows)


def report(frame: pd.DataFrame) -> str:
    lines = [f"machine: {os.cpu_count()} cores, numba {numba.__version__}, numpy {np.__version__}"]
    bandit = frame[frame["what"] == "bandit"].pivot(index="scheme", columns="impl", values="rollouts_per_s")
    bandit["speedup"] = bandit["numba"] / bandit["numpy"]
    lines.append("bandit N=64 K=4 G=16 B=64, rollouts/s on one core (incl. sampling, advantages, update):")
    for scheme, row in bandit.iterrows():
        verdict = "PASS" if row["numba"] >= 10e6 and row["speedup"] >= 5 else "FAIL"
        lines.append(f"  {scheme:9s} numba {row['numba'] / 1e6:6.2f} M/s   numpy {row['numpy'] / 1e6:6.3f} M/s   "
                     f"x{row['speedup']:6.1f}   [{verdict}: >= 10 M/s and >= 5x numpy]")
    scaling = frame[frame["what"].str.contains("seeds")]
    if len(scaling) == 2:
        serial, parallel = scaling["seconds"].to_numpy()
        lines.append(f"  many seeds: {serial / parallel:.2f}x faster on {scaling['threads'].max()} threads "
                     f"(ideal {scaling['threads'].max()}x)")
    seq = frame[frame["what"] == "sequence"]
    for _, row in seq.iterrows():
        lines.append(f"sequence task (default SequenceTask, G=16 B=64): {row['rollouts_per_s'] / 1e6:.3f} M rollouts/s")
    return "\n".join(lines)
