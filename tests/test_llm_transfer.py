"""The sim-to-LLM transfer study: the stress wrappers' reward distributions, the transfer statistics on hand-made
rankings, the order of events (predictions before the first LLM step), a two-step ``mowsim llm --transfer`` smoke
run and a resume after an interrupted cell."""

from __future__ import annotations

import concurrent.futures
import itertools
import math
import os

import numpy as np
import pandas as pd
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # before transformers reads it; nothing here may download

from mowsim import cli  # noqa: E402
from mowsim.llm import stats  # noqa: E402
from mowsim.llm.stress import Variant, has_number, noisy, short, spurious  # noqa: E402
from mowsim.llm.tasks import AdditionTask  # noqa: E402

TINY_WARM_START = dict(n_layer=1, n_embd=32, n_head=2, n_positions=96, max_steps=4, eval_every=2, n_eval=8,
                       batch_size=16)
SMOKE = dict(steps=2, seeds=1, sim_seeds=2, sim_instances=(0,), n_eval=4, prompts_per_step=2, num_generations=4,
             max_completion_length=8, warm_start=TINY_WARM_START)

COMPLETIONS = ["<a>95</a>", "95", "the sum is <a>95</a>", "", "<a>12</a>", "x"] * 500
ANSWERS = ["95"] * len(COMPLETIONS)


# ---------------------------------------------------------------- the wrappers (no extra needed)


def test_noise_has_the_stated_sd_and_keeps_the_clean_mean():
    task = AdditionTask()
    format_ = task.reward_functions()[1]
    clean = np.array(format_(None, COMPLETIONS, answer=ANSWERS))
    wrapped = noisy(format_, 2.0, 0, name="format_noisy")
    first = np.array(wrapped(None, COMPLETIONS, answer=ANSWERS))
    again = np.array(wrapped(None, COMPLETIONS, answer=ANSWERS))
    noise = first - clean
    # 3,000 draws: the sample sd of N(0, 2^2) lies within 2 +- 0.08 with probability > 0.99
    assert abs(noise.std() - 2.0) < 0.08 and abs(noise.mean()) < 0.12
    assert not np.allclose(first, again)  # fresh noise on every call: a rescoring is an independent scoring
    assert abs(np.corrcoef(first - clean, again - clean)[0, 1]) < 0.07
    assert wrapped.__name__ == "format_noisy"
    assert wrapped.clean_means == pytest.approx([clean.mean(), clean.mean()])
    np.testing.assert_array_equal(np.array(noisy(format_, 0.0, 0)(None, COMPLETIONS, answer=ANSWERS)), clean)
    with pytest.raises(ValueError, match="sd"):
        noisy(format_, -1.0, 0)


def test_spurious_reward_ignores_the_completion():
    reward = spurious(3.0, 1)
    values = np.array(reward(None, COMPLETIONS, answer=ANSWERS))
    assert abs(values.std() - 3.0) < 0.12 and abs(values.mean()) < 0.18
    # independent of the completion: the same scores for any completions given the same generator state
    other = spurious(3.0, 1)(None, ["whatever"] * len(COMPLETIONS), answer=ANSWERS)
    np.testing.assert_array_equal(values, other)
    # and no completion style differs from another in mean (six styles, 500 each: 3 / sqrt(500) = 0.13 per mean)
    by_style = values.reshape(-1, 6).mean(axis=0)
    assert np.all(np.abs(by_style) < 0.55)
    accuracy = np.array(AdditionTask().reward_functions()[0](None, COMPLETIONS, answer=ANSWERS))
    assert abs(np.corrcoef(values, accuracy)[0, 1]) < 0.07


def test_conflict_and_saturation_rewards():
    assert short(3)(None, ["", "95", "195", "<a>95</a>", "  7 "]) == [1.0, 1.0, 1.0, 0.0, 1.0]
    assert has_number()(None, ["", "95", "the sum", "<a>12</a>"]) == [0.0, 1.0, 0.0, 1.0]
    names = [f.__name__ for f in Variant("spurious", 3).reward_functions(AdditionTask(), 0)]
    assert names == ["accuracy", "format", "spurious"]
    assert Variant("noise", 2).true_objectives == ("accuracy", "format_noisy")
    assert Variant("spurious", 3).true_objectives == ("accuracy", "format")
    env, kwargs = Variant("noise", 2).sim_env()
    assert env == "sequence" and kwargs["noise_sd"] == (0.0, 2.0)
    assert Variant("spurious", 3).sim_env()[1]["spurious_sd"] == 3.0
    with pytest.raises(ValueError, match="kind"):
        Variant("nope")
    with pytest.raises(ValueError, match="character limit"):
        Variant("conflict", 2.5)


# ---------------------------------------------------------------- the statistics


def test_kendall_tau_on_hand_made_rankings():
    assert stats.kendall_tau([1, 2, 3, 4], [10, 20, 30, 40]) == 1.0
    assert stats.kendall_tau([1, 2, 3, 4], [4, 3, 2, 1]) == -1.0
    # one discordant pair of six: (5 - 1) / 6
    assert stats.kendall_tau([1, 2, 3, 4], [1, 2, 4, 3]) == pytest.approx(4 / 6)
    assert math.isnan(stats.kendall_tau([1, 1, 1], [1, 2, 3]))


def test_permutation_p_value_is_exact_on_a_small_case():
    # n = 3: the 6 orderings have tau 1 (1 of them), 1/3 (2), -1/3 (2), -1 (1)
    assert stats.tau_permutation_p([1, 2, 3], [1, 2, 3]) == pytest.approx(1 / 6)
    assert stats.tau_permutation_p([1, 2, 3], [1, 3, 2]) == pytest.approx(3 / 6)  # tau 1/3: 1 + 2 orderings
    assert stats.tau_permutation_p([1, 2, 3], [3, 2, 1]) == pytest.approx(1.0)
    # n = 4, by brute force over the 24 orderings
    x, y = [1, 2, 3, 4], [2, 1, 3, 4]
    observed = stats.kendall_tau(x, y)
    taus = [stats.kendall_tau(x, list(p)) for p in itertools.permutations(y)]
    assert stats.tau_permutation_p(x, y) == pytest.approx(np.mean(np.array(taus) >= observed - 1e-12))
    # one inversion, tau 2/3; orderings of 4 with 0 or 1 inversions: 1 + 3 (the Mahonian numbers 1, 3, 5, 6, ...)
    assert stats.tau_permutation_p(x, y) == pytest.approx(4 / 24)


def test_contrast_ci_covers_the_difference():
    rng = np.random.default_rng(0)
    a, b = rng.normal(1.0, 0.1, 40), rng.normal(0.0, 0.1, 40)
    estimate, low, high = stats.contrast_ci([a, b], [1, -1])
    assert estimate == pytest.approx(a.mean() - b.mean())
    assert low < estimate < high and low > 0.9 and high < 1.1
    assert stats.contrast_ci([[0.5]], [1]) == (0.5, 0.5, 0.5)


# ---------------------------------------------------------------- runs (need the extra)


@pytest.fixture
def transfer():
    pytest.importorskip("trl", reason="the transfer study needs the llm extra: pip install -e .[llm]")
    from mowsim.llm import transfer

    return transfer


def test_two_step_transfer_smoke_run_through_the_cli(transfer, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(transfer, "QUICK", dict(SMOKE))
    out = tmp_path / "out"
    argv = ["llm", "--transfer", "--quick", "--variants", "clean,noise-1", "--schemes", "rc,dvao", "--workers", "1",
            "--out", str(out)]
    assert cli.main(argv) == 0
    for name in ("predictions.csv", "prediction_pairs.csv", "transfer.csv", "transfer_pairs.csv",
                 "transfer_schemes.csv", "llm_runs.csv", "transfer.png", "transfer.pdf", "run.json",
                 "predictions_accuracy_auc.csv", "transfer_accuracy_auc.csv"):
        assert (out / name).exists(), name
    predictions = pd.read_csv(out / "predictions.csv")
    assert list(predictions["variant"]) == ["clean", "clean", "noise-1", "noise-1"]
    assert np.isfinite(predictions["sim_outcome"]).all()
    assert np.isfinite(predictions.loc[predictions["variant"] == "noise-1", "sim_effect"]).all()
    table = pd.read_csv(out / "transfer.csv")
    assert list(table["variant"]) == ["clean", "noise-1"]
    assert set(table["kendall_tau"].dropna()) <= {-1.0, 1.0}  # two schemes: the orderings agree or not
    runs = pd.read_csv(out / "llm_runs.csv")
    assert len(runs) == 4 and (runs["steps"] == 2).all() and np.isfinite(runs["value_auc"]).all()
    assert "kendall_tau" in capsys.readouterr().out
    assert "| noise-1 | effect on value_auc | 2 |" in transfer.report_markdown(out)

    events = [e["event"] for e in transfer.read_events(out)]
    first_llm = events.index("llm_first_step")
    assert events.index("predictions_written") < first_llm
    assert events.count("llm_first_step") == 4 and "llm_first_step" not in events[:first_llm]


def test_resume_after_an_interrupted_cell(transfer, tmp_path, monkeypatch):
    config = transfer.TransferConfig(out=tmp_path / "out", variants=(Variant("clean"), Variant("spurious", 1.0)),
                                     schemes=("rc", "gdpo"), **SMOKE)
    real = transfer._run_llm_cell

    def killed_on_the_third(cell):
        if cell.index == 2:
            raise KeyboardInterrupt("the run was interrupted here")
        return real(cell)

    monkeypatch.setattr(transfer, "_run_llm_cell", killed_on_the_third)
    with concurrent.futures.ThreadPoolExecutor(1) as pool, pytest.raises(KeyboardInterrupt):
        transfer.run(config, executor=pool, progress=False, log=lambda *_: None)
    stored = sorted((tmp_path / "out" / "llm" / "cells").glob("*.parquet"))
    assert len(stored) == 2  # the two finished cells were kept
    stamps = {path: path.stat().st_mtime_ns for path in stored}

    monkeypatch.setattr(transfer, "_run_llm_cell", real)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        result = transfer.run(config, executor=pool, progress=False, log=lambda *_: None)
    assert result["sim_report"].completed == []  # the predictions' simulations were not run again
    assert sorted(result["llm_report"].skipped) == ["llm_transfer/0", "llm_transfer/1"]
    assert sorted(result["llm_report"].completed) == ["llm_transfer/2", "llm_transfer/3"]
    assert all(path.stat().st_mtime_ns == stamp for path, stamp in stamps.items())  # untouched
    assert list(result["table"]["variant"]) == ["clean", "spurious-1"]


def test_an_llm_cell_refuses_to_train_before_the_predictions(transfer, tmp_path):
    config = transfer.TransferConfig(out=tmp_path, variants=(Variant("clean"),), schemes=("rc", "gdpo"), **SMOKE)
    cell = transfer.llm_cells(config, "unused")[0]
    with pytest.raises(RuntimeError, match="predictions must be written before any LLM step"):
        cell.run()
    moved = transfer.llm_cells(transfer.TransferConfig(out=tmp_path / "elsewhere", variants=(Variant("clean"),),
                                                       schemes=("rc", "gdpo"), device="cpu", threads=2, **SMOKE),
                               "unused")[0]
    assert moved.key() == cell.key()  # where a run executes is not part of its key
