"""The kernels run as plain Python (``NUMBA_DISABLE_JIT=1``), every helper un-jitted, against the compiled kernels.

The ``python`` backend interprets only the driver (``compute_serial.py_func``): the passes it calls stay compiled.
Here a child process imports mowsim with Numba's JIT disabled, so every pass, helper and reduction of the scheme
drivers runs as Python on NumPy scalars, on every edge case; the compiled results must equal them bit for bit
(the kernels use only +, -, *, / and sqrt, which IEEE 754 rounds the same in both) and the NumPy reference to
``rtol=1e-12``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from conftest import EDGE_CASES

import mowsim
from mowsim.schemes import get

SCHEMES = ("rc", "ac", "gdpo", "dvao", "saw-grpo", "saw-gdpo")
SETTINGS = ((0, 0.0), (1, 1e-4))

CHILD = textwrap.dedent("""
    import sys
    import numpy as np
    sys.path.insert(0, sys.argv[2])
    from conftest import EDGE_CASES
    import mowsim
    from mowsim.schemes import _kernels
    assert not hasattr(_kernels.compute_serial, "py_func"), "the JIT is still on"
    out = {}
    for name in %r:
        for case, (rewards, weights) in EDGE_CASES.items():
            for ddof, eps in %r:
                result = mowsim.schemes.get(name).compute(rewards, weights, ddof=ddof, eps=eps)
                out[f"{name}|{case}|{ddof}|{eps}|adv"] = result.advantages
                out[f"{name}|{case}|{ddof}|{eps}|eff"] = result.weights
    np.savez(sys.argv[1], **out)
""") % (SCHEMES, SETTINGS)


@pytest.fixture(scope="module")
def unjitted(tmp_path_factory):
    path = tmp_path_factory.mktemp("unjitted") / "results.npz"
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    tests_dir = os.path.dirname(os.path.abspath(__file__))
    subprocess.run([sys.executable, "-c", CHILD, str(path), tests_dir], check=True, env=env, timeout=600)
    with np.load(path) as data:
        return dict(data)


@pytest.mark.parametrize("name", SCHEMES)
def test_unjitted_kernels_equal_the_compiled_ones(name, unjitted):
    for case, (rewards, weights) in EDGE_CASES.items():
        for ddof, eps in SETTINGS:
            key = f"{name}|{case}|{ddof}|{eps}"
            compiled = get(name).compute(rewards, weights, ddof=ddof, eps=eps)
            reference = get(name).compute(rewards, weights, ddof=ddof, eps=eps, backend="numpy")
            np.testing.assert_array_equal(unjitted[key + "|adv"], compiled.advantages, err_msg=key)
            np.testing.assert_array_equal(unjitted[key + "|eff"], compiled.weights, err_msg=key)
            np.testing.assert_allclose(unjitted[key + "|adv"], reference.advantages, rtol=1e-12, atol=1e-12,
                                       err_msg=key)


LOOP_ENVS = {
    "bandit": ("Bandit", {"noise_sd": 0.3, "n_spurious": 1, "flip_prob": 0.1, "reward_scale": (1.0, 100.0, 1.0)}),
    "contextual": ("ContextualBandit", {"noise_sd": 0.2, "noise_df": 5.0, "condition": (1, 0, 0.5)}),
    "sequence": ("SequenceTask", {"noise_sd": 0.1, "ppo_epochs": 2}),
}
LOOP_SCHEMES = ("rc", "gdpo", "dvao", "saw-gdpo")


def _loop_histories(envs, schemes) -> dict:
    import mowsim.envs

    out = {}
    for env_name, (cls, kwargs) in envs.items():
        env = getattr(mowsim.envs, cls)(**kwargs)
        for scheme in schemes:
            history = mowsim.train(env, scheme, steps=3, n_groups=8, group_size=4, seed=7).history
            out[f"{env_name}|{scheme}"] = history.select_dtypes("number").to_numpy()
    return out


LOOP_CHILD = textwrap.dedent("""
    import sys, warnings
    import numpy as np
    warnings.filterwarnings("ignore", "overflow encountered", RuntimeWarning)  # xoshiro's uint64 wraparound
    sys.path.insert(0, sys.argv[2])
    from mowsim.envs import bandit
    assert not hasattr(bandit.run_bandit, "py_func"), "the JIT is still on"
    from test_unjitted import LOOP_ENVS, LOOP_SCHEMES, _loop_histories
    np.savez(sys.argv[1], **_loop_histories(LOOP_ENVS, LOOP_SCHEMES))
""")


def test_unjitted_training_loops_equal_the_compiled_ones(tmp_path):
    """The whole loop (sampling, the reward model, z-scores, advantages, update) as Python, on noisy, flipped,
    spurious, heavy-tailed, mis-scaled and conditioned rewards: the same random stream (the RNG is integer
    arithmetic), the same history up to the last bits of exp and log, which the compiled code takes elsewhere."""
    path = tmp_path / "loops.npz"
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    tests_dir = os.path.dirname(os.path.abspath(__file__))
    subprocess.run([sys.executable, "-c", LOOP_CHILD, str(path), tests_dir], check=True, env=env, timeout=600)
    compiled = _loop_histories(LOOP_ENVS, LOOP_SCHEMES)
    with np.load(path) as data:
        assert sorted(data.files) == sorted(compiled)
        for key, history in compiled.items():
            np.testing.assert_allclose(data[key], history, rtol=1e-10, atol=1e-12, err_msg=key)
