"""Random search for violations of the exactness guarantees (issue 15).

Draws random batches over the whole float64 range (magnitudes 1e-300..1e300 and subnormal, offsets up to 1e12 times
the spread, near-constant groups, Cauchy tails, binary rewards, NaN entries and unscorable rollouts, objectives of
very different scales, random shapes, both ``ddof``, ``eps`` in {0, 1e-6, 1e-4}) and calls the six static schemes
on them, checking

* Samuelson's bound: ``|A| <= sqrt(n - 1)`` (``ddof = 0``) or ``(n - 1) / sqrt(n)`` (``ddof = 1``) over a group's
  ``n`` scorable rollouts for RC, DVAO and SAW-GRPO; ``sum_k w_k`` times it for AC; over the batch's scorable
  rollouts for GDPO and SAW-GDPO;
* bit-exact invariance under an exact power-of-two scaling of the rewards (RC, AC, GDPO, DVAO with ``eps = 0``);
* that no finite input is refused and every advantage is finite.

Prints the number of calls, the largest ``|A| / bound`` per scheme and the number of invariance violations.

    PYTHONPATH=. python benchmarks/exactness_search.py --calls 1000000
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import mowsim

STATIC = ("rc", "ac", "gdpo", "dvao", "saw-grpo", "saw-gdpo")
SCALE_FREE = ("rc", "ac", "gdpo", "dvao")


def random_batch(rng: np.random.Generator):
    """(rewards (B, G, K), weights (K,)): finite apart from NaN, anywhere in the float64 range."""
    shape = (int(rng.integers(1, 6)), int(rng.integers(1, 17)), int(rng.integers(1, 5)))
    kind = rng.integers(4)
    if kind == 0:
        unit = rng.normal(size=shape)
    elif kind == 1:
        unit = rng.standard_cauchy(size=shape)
    elif kind == 2:
        unit = rng.integers(0, 2, size=shape).astype(np.float64)
    else:
        unit = rng.random(size=shape)
    spread = 10.0 ** rng.uniform(-12, 0) if kind == 3 else 1.0
    offset = (0.0, 1.0, 10.0 ** rng.uniform(0, 12))[rng.integers(3)] if rng.random() < 0.6 else 0.0
    with np.errstate(over="ignore", under="ignore"):
        rewards = (offset + unit * spread) * 10.0 ** rng.uniform(-300, 300)
        if rng.random() < 0.05:  # subnormal or largest-float groups
            rewards = np.ldexp(unit, int(rng.choice([-1070, -1060, -1030, 1015, 1020])))
        if rng.random() < 0.3:
            rewards = rewards * 10.0 ** rng.integers(-40, 41, size=shape[2])
    if rng.random() < 0.3:
        rewards[rng.random(shape) < rng.choice([0.05, 0.2, 0.5])] = np.nan
    if rng.random() < 0.2:
        rewards[rng.random(shape[:2]) < 0.2] = np.nan
    rewards[np.isinf(rewards)] = np.nan  # an overflowing draw: not an input this search is about
    weights = rng.uniform(0.1, 1.0, size=shape[2])
    if shape[2] > 1 and rng.random() < 0.2:
        weights[rng.integers(shape[2])] = 0.0
        weights[rng.integers(shape[2])] += 0.5
    return np.ascontiguousarray(rewards), weights


def bound(name, rewards, weights, ddof):
    """(B, G) Samuelson bound of ``name`` (see the module docstring)."""
    scorable = ~np.all(np.isnan(rewards), axis=2)
    counts = scorable.sum(axis=1)
    counts = np.where(counts >= 2, counts, 0)
    if name in ("gdpo", "saw-gdpo"):
        counts = np.full(rewards.shape[0], (scorable & (counts >= 2)[:, None]).sum())
    n = np.maximum(counts, 1).astype(np.float64)
    per_group = np.sqrt(n - 1.0) if ddof == 0 else (n - 1.0) / np.sqrt(n)
    if name == "ac":
        per_group = per_group * weights.sum()
    return np.broadcast_to(per_group[:, None], scorable.shape)


def exact_power(values, k):
    with np.errstate(over="ignore", under="ignore"):
        scaled = np.ldexp(values, k)
    scored = ~np.isnan(values)
    if not np.all(np.isfinite(scaled[scored])) or not np.array_equal(np.ldexp(scaled, -k), values, equal_nan=True):
        return None
    return scaled


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1_000_000, help="scheme calls in all (default 1,000,000)")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--numpy-share", type=float, default=0.05,
                        help="share of the draws also run on the NumPy reference (default 0.05)")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    calls = {"numba": 0, "numpy": 0}
    worst = {name: 0.0 for name in STATIC}
    worst_case = {}
    checks = violations = refused = nonfinite = 0
    start = time.perf_counter()
    while sum(calls.values()) < args.calls:
        rewards, weights = random_batch(rng)
        ddof = int(rng.integers(2))
        eps = (0.0, 1e-6, 1e-4)[rng.integers(3)]
        backends = ("numba", "numpy") if rng.random() < args.numpy_share else ("numba",)
        limit = None
        for name in STATIC:
            for backend in backends:
                try:
                    advantages = mowsim.advantages(rewards, name, weights, ddof=ddof, eps=eps, backend=backend)
                except ValueError as err:
                    refused += 1
                    print(f"refused: {name} {backend}: {err}")
                    continue
                finally:
                    calls[backend] += 1
                if not np.all(np.isfinite(advantages)):
                    nonfinite += 1
                    continue
                ratio = np.abs(advantages) / np.where(bound(name, rewards, weights, ddof) > 0,
                                                      bound(name, rewards, weights, ddof), np.inf)
                top = float(np.max(ratio, initial=0.0))
                if top > worst[name]:
                    worst[name] = top
                    worst_case[name] = (rewards, weights, ddof, eps, backend)
                if name in SCALE_FREE and eps == 0.0:
                    if limit is None:
                        limit = int(rng.integers(-1100, 1101))
                    scaled = exact_power(rewards, limit)
                    if scaled is None:
                        continue
                    again = mowsim.advantages(scaled, name, weights, ddof=ddof, eps=eps, backend=backend)
                    calls[backend] += 1
                    checks += 1
                    if not np.array_equal(again, advantages):
                        violations += 1
                        print(f"invariance violated: {name} {backend} k={limit} "
                              f"max diff {np.max(np.abs(again - advantages)):.3g}")
    elapsed = time.perf_counter() - start
    print(f"calls: {sum(calls.values()):,} (numba {calls['numba']:,}, numpy {calls['numpy']:,}) in {elapsed:.0f} s")
    print("largest |A| / Samuelson bound per scheme (must be <= 1 + 1e-12):")
    for name in STATIC:
        print(f"  {name:9s} {worst[name]:.15f}")
    print(f"power-of-two invariance checks: {checks:,}, violations: {violations}")
    print(f"refused inputs: {refused}, non-finite advantages: {nonfinite}")
    failed = violations or refused or nonfinite or any(value > 1.0 + 1e-12 for value in worst.values())
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
