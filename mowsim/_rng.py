"""A counter-free, per-run random number generator for the compiled loops: xoshiro256** (Blackman & Vigna, 2018).

Numba's built-in ``np.random`` keeps one hidden state per thread, so a ``prange`` over runs would make results depend
on the thread schedule. Here every run owns an explicit ``uint64[4]`` state, seeded from
``numpy.random.SeedSequence``, which makes the serial and parallel paths bit-identical and reproducible across
processes.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["seed_states", "next_u64", "uniform", "normal", "gamma", "t_scale"]


def seed_states(seed_sequences) -> np.ndarray:
    """One xoshiro state per ``SeedSequence``: array of shape (n, 4), dtype uint64 (never all zero)."""
    states = np.empty((len(seed_sequences), 4), dtype=np.uint64)
    for i, seq in enumerate(seed_sequences):
        state = seq.generate_state(4, dtype=np.uint64)
        if not state.any():
            state[0] = np.uint64(0x9E3779B97F4A7C15)
        states[i] = state
    return states


@njit(cache=True, inline="always")
def _rotl(x, k):
    return (x << np.uint64(k)) | (x >> np.uint64(64 - k))


@njit(cache=True)
def next_u64(state):
    """Advance ``state`` (uint64[4]) and return the next 64-bit output."""
    result = _rotl(state[1] * np.uint64(5), 7) * np.uint64(9)
    t = state[1] << np.uint64(17)
    state[2] ^= state[0]
    state[3] ^= state[1]
    state[1] ^= state[2]
    state[0] ^= state[3]
    state[2] ^= t
    state[3] = _rotl(state[3], 45)
    return result


@njit(cache=True)
def uniform(state):
    """A double in [0, 1) from the top 53 bits."""
    return float(next_u64(state) >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@njit(cache=True)
def normal(state):
    """A standard normal draw (Marsaglia's polar method; the second value is discarded to keep the state simple)."""
    while True:
        u = 2.0 * uniform(state) - 1.0
        v = 2.0 * uniform(state) - 1.0
        s = u * u + v * v
        if 0.0 < s < 1.0:
            return u * np.sqrt(-2.0 * np.log(s) / s)


@njit(cache=True)
def gamma(state, shape):
    """A Gamma(shape, 1) draw (Marsaglia & Tsang, 2000); shape > 0."""
    if shape < 1.0:
        return gamma(state, shape + 1.0) * uniform(state) ** (1.0 / shape)
    d = shape - 1.0 / 3.0
    c = 1.0 / np.sqrt(9.0 * d)
    while True:
        x = normal(state)
        v = (1.0 + c * x) ** 3
        if v <= 0.0:
            continue
        u = uniform(state)
        if np.log(u + 1e-300) < 0.5 * x * x + d - d * v + d * np.log(v):
            return d * v


@njit(cache=True)
def t_scale(state, df):
    """The mixing factor ``1 / sqrt(chi2_df / df)``: a normal vector times it is multivariate Student-t."""
    return 1.0 / np.sqrt(2.0 * gamma(state, 0.5 * df) / df)
