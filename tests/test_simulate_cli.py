"""`mowsim simulate`: knobs as flags, history.parquet, the final table, and errors before any work."""

import pandas as pd
import pytest

from mowsim import cli
from mowsim.cli import simulate


def test_simulate_writes_history_and_prints_a_table_with_cis(tmp_path, capsys):
    code = cli.main(["simulate", "--env", "sequence", "--scheme", "rc", "--scheme", "dvao", "--steps", "5",
                     "--seeds", "3", "--reward-scale", "1,100,1", "--max-len", "6", "--out", str(tmp_path)])
    assert code == 0
    history = pd.read_parquet(tmp_path / "history.parquet")
    assert set(history["scheme"].astype(str)) == {"rc", "dvao"}
    assert history["seed"].nunique() == 3 and history["step"].max() == 5
    out = capsys.readouterr().out
    assert "±" in out and "accuracy" in out and "reward_scale=(1, 100, 1)" in out


@pytest.mark.parametrize("argv, message", [
    (["--env", "bandit", "--correlation", "2"], "correlation must be <= 1.0"),
    (["--env", "bandit", "--noise-sd", "-1"], "noise_sd"),
    (["--env", "bandit", "--n-objectives", "0"], "n_objectives"),
    (["--env", "bandit", "--n-prompts", "3"], "not a knob of --env bandit"),
])
def test_bad_knobs_fail_before_any_work(tmp_path, capsys, argv, message):
    assert cli.main(["simulate", *argv, "--out", str(tmp_path / "out")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_summary_interval_is_a_t_interval():
    frame = pd.DataFrame({"step": [1, 1, 1], "scheme": "rc", "objective_name": "a",
                          "expected_reward": [0.1, 0.2, 0.3]})
    row = simulate.summarize(frame).iloc[0]
    assert row["mean"] == pytest.approx(0.2)
    assert row["ci95"] == pytest.approx(0.1 / 3**0.5 * 4.302652729911275, rel=1e-9)


def test_normalization_and_loss_aggregation_flags(tmp_path, capsys):
    code = cli.main(["simulate", "--env", "sequence", "--scheme", "rc", "--scheme", "dvao", "--steps", "3",
                     "--seeds", "2", "--normalization", "none", "--loss-aggregation", "token-mean",
                     "--out", str(tmp_path)])
    assert code == 0
    assert "loss_aggregation='token-mean'" in capsys.readouterr().out


def test_an_unsupported_normalization_fails_before_any_work(tmp_path, capsys):
    assert cli.main(["simulate", "--scheme", "vpo", "--normalization", "batch", "--out", str(tmp_path / "out")]) == 2
    assert "supported by the schemes" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
