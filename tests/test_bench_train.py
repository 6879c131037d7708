"""Smoke test of the training-loop benchmark (no timing assertions)."""

import numpy as np

from mowsim import cli, envs
from mowsim.bench import train as bench_train


def test_numpy_loop_learns_like_the_compiled_one():
    env = envs.Bandit(n_arms=8, n_objectives=2)
    theta = bench_train.numpy_bandit_loop(env, "dvao", steps=150, group_size=8, n_groups=16, lr=1.0, seed=0)
    probs = np.exp(theta - theta.max())
    probs /= probs.sum()
    before = env.expected_rewards(np.zeros((1, 8)))
    after = env.expected_rewards(theta[None, :])
    assert probs.shape == (8,) and np.isclose(probs.sum(), 1.0)
    assert np.all(after > before)


def test_bench_train_cli_writes_its_table(tmp_path, capsys):
    assert cli.main(["bench", "train", "--quick", "--out", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "rollouts/s" in text
    table = (tmp_path / "bench_train.csv").read_text().splitlines()
    assert table[0] == "what,scheme,impl,threads,seconds,rollouts_per_s"
    assert len(table) > 10
