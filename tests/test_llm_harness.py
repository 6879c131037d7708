"""The ``mowsim llm`` harness: a two-step smoke run, a model loaded from a local directory, the task's rewards, and
the error a user sees without the ``llm`` extra."""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # before transformers reads it; nothing here may download

from mowsim import cli  # noqa: E402
from mowsim.llm.tasks import AdditionTask, score  # noqa: E402

TINY_WARM_START = dict(n_layer=1, n_embd=32, n_head=2, n_positions=96, max_steps=4, eval_every=2, n_eval=8,
                       batch_size=16)
SMOKE = dict(steps=2, seeds=1, n_eval=8, prompts_per_step=2, num_generations=4, max_completion_length=8)


# ---------------------------------------------------------------- the task, no extra needed


@pytest.mark.parametrize("completion, expected", [
    ("<a>57</a>", (1.0, 1.0, 1.0)),
    ("57", (1.0, 0.0, 1.0)),
    ("the sum is <a>57</a>", (1.0, 1.0, 0.0)),
    ("<a>56</a>", (0.0, 1.0, 1.0)),
    ("<a>57</a><a>57</a>", (1.0, 0.0, 0.0)),
    ([{"role": "assistant", "content": "<a>057</a>"}], (1.0, 1.0, 1.0)),
    ("", (0.0, 0.0, 1.0)),
])
def test_scores_worked_by_hand(completion, expected):
    assert score(completion, "57", 12) == expected


def test_task_splits_are_disjoint_and_styles_mixed():
    task = AdditionTask()
    train = {tuple(p) for p in task.operand_pairs("train")}
    test = {tuple(p) for p in task.operand_pairs("test")}
    assert not train & test and len(train) + len(test) == 90 * 90
    styles = [p["style"] for p in task.sample(2000, "train", 0)]
    shares = np.array([styles.count(s) for s in ("tagged", "bare", "verbose")]) / len(styles)
    np.testing.assert_allclose(shares, task.style_mix, atol=0.05)
    with pytest.raises(ValueError, match="length_limit"):
        AdditionTask(length_limit=5)


# ---------------------------------------------------------------- the extra missing


def test_missing_extra_is_a_clear_import_error(monkeypatch, capsys):
    import mowsim.llm

    monkeypatch.setitem(sys.modules, "trl", None)  # `import trl` now fails as if TRL were not installed
    monkeypatch.delitem(sys.modules, "mowsim.llm.trl", raising=False)
    with pytest.raises(ImportError, match=r"\[llm\] extra; missing: .*trl.*pip install -e \"\.\[llm\]\""):
        mowsim.llm.require()
    with pytest.raises(ImportError, match=r"\[llm\] extra"):
        importlib.import_module("mowsim.llm.trl")
    with pytest.raises(ImportError, match=r"\[llm\] extra"):
        from mowsim.llm import MultiObjectiveGRPOTrainer  # noqa: F401
    assert cli.main(["llm", "--quick", "--out", "unused"]) == 2
    assert "[llm] extra" in capsys.readouterr().err


def test_help_needs_no_extra(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "trl", None)
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["llm", "--help"])
    assert exit_info.value.code == 0
    assert "--schemes" in capsys.readouterr().out


# ---------------------------------------------------------------- runs (need the extra)


@pytest.fixture
def harness():
    pytest.importorskip("trl", reason="the harness needs the llm extra: pip install -e .[llm]")
    from mowsim.llm import harness

    return harness


def test_two_step_smoke_run(harness, tmp_path):
    warm = harness.llm_model.WarmStartConfig(**TINY_WARM_START)
    config = harness.HarnessConfig(out=tmp_path / "out", schemes=("rc", "dvao"), warm_start=warm, **SMOKE)
    messages = []
    summary = harness.run(config, log=messages.append)
    assert list(summary["scheme"]) == ["rc", "dvao"]
    on_disk = pd.read_csv(tmp_path / "out" / "summary.csv")
    for column in ("accuracy_before", "accuracy_after", "format_after", "length_after", "compliance_after",
                   "wall_seconds", "step_seconds", "mowsim_seconds", "overhead_share"):
        assert column in on_disk.columns
        assert np.isfinite(on_disk[column]).all()
    assert (on_disk["steps"] == 2).all()
    assert ((on_disk["overhead_share"] > 0) & (on_disk["overhead_share"] < 1)).all()
    curves = pd.read_csv(tmp_path / "out" / "curves.csv")
    assert {"scheme", "seed", "step", "rewards/accuracy/mean", "mowsim/adv_max_abs"} <= set(curves.columns)
    for name in ("curves.png", "curves.pdf", "plane.png", "plane.pdf", "run.json"):
        assert (tmp_path / "out" / name).exists()

    again = harness.HarnessConfig(out=tmp_path / "again", schemes=("gdpo",), warm_start=warm,
                                  cache_dir=tmp_path / "out" / "cache", **SMOKE)
    messages.clear()
    harness.run(again, log=messages.append)
    assert any("reusing" in m for m in messages)  # the cached warm start


def test_cli_loads_a_local_model_directory(harness, tmp_path, capsys):
    from mowsim.llm import model as llm_model

    tokenizer = llm_model.build_char_tokenizer()
    model = llm_model.build_char_model(tokenizer, n_layer=1, n_embd=32, n_head=2, n_positions=160)
    model_dir = tmp_path / "my-model"
    model.save_pretrained(model_dir)
    tokenizer.save_pretrained(model_dir)
    out = tmp_path / "out"
    argv = ["llm", "--model", str(model_dir), "--out", str(out), "--schemes", "rc", "--steps", "2", "--seeds", "1",
            "--n-eval", "4", "--prompts-per-step", "2", "--num-generations", "4"]
    assert cli.main(argv) == 0
    summary = pd.read_csv(out / "summary.csv")
    assert list(summary["scheme"]) == ["rc"] and not (out / "cache").exists()  # no warm start was built
    assert "rc" in capsys.readouterr().out

    assert cli.main(["llm", "--model", str(tmp_path / "absent"), "--out", str(out)]) == 2
    assert "not a local directory" in capsys.readouterr().err


def test_bad_arguments_are_clear_errors(harness, tmp_path, capsys):
    assert cli.main(["llm", "--schemes", "rc,nope", "--out", str(tmp_path)]) == 2
    assert "unknown scheme 'nope'" in capsys.readouterr().err
    with pytest.raises(ValueError, match="num_generations must be >= 2"):
        harness.HarnessConfig(out=Path(tmp_path), num_generations=1)
