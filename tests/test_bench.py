"""The scheme benchmark: the PyTorch contestant computes what mowsim computes, and the bench runs end to end.

No test here asserts a timing: timings belong to ``mowsim bench schemes``, not to the test suite.
"""

from __future__ import annotations

import argparse
import importlib
import sys

import numpy as np
import pytest

import mowsim
import mowsim.bench
from mowsim.bench import schemes as bench
from mowsim.cli import bench as bench_cli

TORCH_SCHEMES = ("rc", "ac", "gdpo", "dvao", "saw-grpo", "saw-gdpo")


def _random_rewards(seed, n_groups, group_size, n_objectives):
    """NaN-free, non-degenerate float64 rewards: every objective has its own scale and offset."""
    rng = np.random.default_rng(seed)
    scale = rng.uniform(0.1, 10.0, size=n_objectives)
    offset = rng.normal(size=n_objectives)
    return rng.normal(size=(n_groups, group_size, n_objectives)) * scale + offset, rng.uniform(0.1, 1.0, n_objectives)


@pytest.mark.parametrize("scheme", TORCH_SCHEMES)
@pytest.mark.parametrize("ddof", [0, 1])
@pytest.mark.parametrize("eps", [0.0, 1e-4])
@pytest.mark.parametrize(("n_groups", "group_size", "n_objectives"), [(5, 16, 2), (3, 4, 3), (2, 2, 1), (4, 8, 8)])
def test_torch_reference_matches_mowsim(scheme, ddof, eps, n_groups, group_size, n_objectives):
    torch = pytest.importorskip("torch")
    from mowsim.bench import torch_reference

    seed = [TORCH_SCHEMES.index(scheme), ddof, int(eps > 0), group_size, n_objectives]
    rewards, weights = _random_rewards(seed, n_groups, group_size, n_objectives)
    expected = mowsim.advantages(rewards, scheme, weights, ddof=ddof, eps=eps)
    found = torch_reference.advantages(torch.from_numpy(rewards), scheme, torch.from_numpy(weights), ddof=ddof, eps=eps)
    assert found.dtype == torch.float64
    assert tuple(found.shape) == (n_groups, group_size)
    np.testing.assert_allclose(found.numpy(), expected, rtol=1e-10, atol=0)


@pytest.mark.parametrize("scheme", ["saw-grpo", "saw-gdpo"])
def test_torch_reference_saw_reward_min_and_delta(scheme):
    pytest.importorskip("torch")
    from mowsim.bench import torch_reference

    rewards, weights = _random_rewards(7, 6, 8, 3)
    reward_min = rewards.reshape(-1, 3).min(axis=0) - np.array([0.5, 1.0, 2.0])
    expected = mowsim.schemes.get(scheme, delta=1e-3).compute(rewards, weights, ddof=1, reward_min=reward_min)
    found = torch_reference.advantages(rewards, scheme, weights, ddof=1, reward_min=reward_min, delta=1e-3)
    np.testing.assert_allclose(found.numpy(), expected.advantages, rtol=1e-10, atol=0)


def test_torch_reference_covers_every_stateless_scheme():
    pytest.importorskip("torch")
    from mowsim.bench import torch_reference

    stateless = {name for name in mowsim.schemes.available() if not mowsim.schemes.get(name).stateful}
    assert set(TORCH_SCHEMES) <= set(torch_reference.SCHEMES)
    assert stateless <= set(torch_reference.SCHEMES), "add the new scheme to mowsim.bench.torch_reference"


def test_torch_nanstd_ddof_is_float64_exact():
    torch = pytest.importorskip("torch")
    from mowsim.bench import torch_reference

    values = torch.tensor([[1.0, 2.0, 4.0, float("nan")], [0.5, 0.25, 8.0, 3.0]], dtype=torch.float64)
    expected = [np.std([1.0, 2.0, 4.0], ddof=1), np.std([0.5, 0.25, 8.0, 3.0], ddof=1)]
    np.testing.assert_allclose(torch_reference.nanstd(values, dim=1, ddof=1).numpy(), expected, rtol=1e-15)


def test_torch_reference_rejects_unknown_scheme():
    pytest.importorskip("torch")
    from mowsim.bench import torch_reference

    with pytest.raises(ValueError, match="no PyTorch implementation"):
        torch_reference.advantages(np.zeros((1, 2, 2)), "no-such-scheme")


def test_torch_reference_without_torch_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` raise ImportError
    monkeypatch.delitem(sys.modules, "mowsim.bench.torch_reference", raising=False)
    with pytest.raises(ImportError, match=r"pip install mowsim\[bench\]"):
        importlib.import_module("mowsim.bench.torch_reference")


def test_bench_without_torch_skips_it_with_a_reason(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    monkeypatch.delitem(sys.modules, "mowsim.bench.torch_reference", raising=False)
    monkeypatch.delattr(mowsim.bench, "torch_reference", raising=False)
    messages = []
    frame = bench.run_scheme_bench(sizes=[64], objectives=[2], repeats=1, schemes=["rc"], impls=["numba", "torch"],
                                   progress=False, log=messages.append)
    assert set(frame.impl) == {"numba"}
    assert any("skipping impl torch" in message and "mowsim[bench]" in message for message in messages)


def test_make_rewards_shape_and_seed():
    first = bench.make_rewards(64, 3, group_size=16, seed=1)
    assert first.shape == (4, 16, 3) and first.dtype == np.float64
    assert not np.isnan(first).any()
    assert set(np.unique(first[..., 0])) <= {0.0, 1.0}
    np.testing.assert_array_equal(first, bench.make_rewards(64, 3, group_size=16, seed=1))
    with pytest.raises(ValueError, match="multiple of group_size"):
        bench.make_rewards(100, 2, group_size=16)


def test_bench_smoke_every_scheme_and_impl():
    frame = bench.run_scheme_bench(sizes=[1024], objectives=[2], repeats=1, progress=False, log=lambda message: None)
    assert list(frame.columns) == bench.COLUMNS
    impls = set(bench.IMPLS)
    try:
        import torch  # noqa: F401
    except ImportError:
        impls.discard("torch")
    stateless = [name for name in mowsim.schemes.available() if not mowsim.schemes.get(name).stateful]
    cells = set(zip(frame.scheme, frame.impl))
    assert cells == {(scheme, impl) for scheme in stateless for impl in impls}
    assert (frame.n_rollouts == 1024).all() and (frame.n_groups * frame.group_size == frame.n_rollouts).all()
    assert (frame.n_objectives == 2).all() and (frame.repeats == 1).all()
    assert (frame.min_s > 0).all() and (frame.min_s <= frame.median_s).all()
    for check in frame.attrs["meta"]["cross_checks"]:
        assert check["max_abs_diff_vs_numba"] <= (1e-6 if check["impl"] == "torch" else 1e-9), check
    table = bench.ratio_table(frame)
    assert "numpy/numba" in table and len(table) == len(stateless)
    assert len(bench.target_report(frame)) == 0  # the target cell (65,536 x 4) was not run


def test_bench_cli_writes_csv(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    bench_cli.add_arguments(parser)
    args = parser.parse_args(["schemes", "--sizes", "256", "--objectives", "2", "--repeats", "1", "--schemes", "rc",
                              "dvao", "--impls", "numba", "numpy", "--no-memory", "--no-progress", "--out",
                              str(tmp_path)])
    assert bench_cli.run(args) == 0
    import pandas as pd

    frame = pd.read_csv(tmp_path / "bench_schemes.csv")
    assert list(frame.columns) == bench.COLUMNS
    assert set(zip(frame.scheme, frame.impl)) == {(s, i) for s in ("rc", "dvao") for i in ("numba", "numpy")}
    assert (tmp_path / "bench_schemes_meta.json").exists()
    assert "target not measured" in capsys.readouterr().out


def test_bench_rejects_bad_sizes():
    with pytest.raises(ValueError, match="multiple of group_size"):
        bench.run_scheme_bench(sizes=[1000], objectives=[2], repeats=1, progress=False, log=lambda message: None)
    with pytest.raises(ValueError, match="unknown impls"):
        bench.run_scheme_bench(sizes=[1024], objectives=[2], impls=["cuda"], progress=False)
