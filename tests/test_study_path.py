"""``mowsim study PATH``: a study folder given by path (sweep.use_study_path)."""

from __future__ import annotations

import os

import pytest

from mowsim import cli, sweep

STUDY = '''"""A study found by path."""
from mowsim.sweep import make_cell
SETTINGS = tuple(make_cell("by_path", i, "bandit", {"n_arms": 4}, s, setting={}, steps=2, seeds=1, group_size=4,
                           n_groups=2) for i, s in enumerate(("rc", "dvao")))
'''


@pytest.fixture
def study_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("MOWSIM_STUDIES", raising=False)
    folder = tmp_path / "mine" / "by_path"
    folder.mkdir(parents=True)
    (folder / "sweep.py").write_text(STUDY)
    monkeypatch.chdir(tmp_path)
    yield folder
    os.environ.pop("MOWSIM_STUDIES", None)  # use_study_path sets it for the process


def test_a_name_is_left_alone(monkeypatch):
    monkeypatch.delenv("MOWSIM_STUDIES", raising=False)
    assert sweep.use_study_path("noise_robustness") == "noise_robustness"
    assert "MOWSIM_STUDIES" not in os.environ


def test_a_path_sets_the_studies_folder(study_folder):
    assert sweep.use_study_path("./mine/by_path") == "by_path"
    assert os.environ["MOWSIM_STUDIES"] == str(study_folder.parent)
    assert sweep.available_studies() == ["by_path"]


def test_a_folder_without_sweep_py_is_refused(study_folder):
    (study_folder.parent / "empty").mkdir()
    with pytest.raises(ValueError, match="not a study folder: expected a folder holding sweep.py"):
        sweep.use_study_path("./mine/empty")


def test_two_folders_in_one_command_are_refused(study_folder, tmp_path):
    other = tmp_path / "other" / "second"
    other.mkdir(parents=True)
    (other / "sweep.py").write_text(STUDY.replace("by_path", "second"))
    sweep.use_study_path("./mine/by_path")
    with pytest.raises(ValueError, match="run the studies of one folder per command"):
        sweep.use_study_path("./other/second")


def test_cli_runs_a_study_by_path(study_folder, tmp_path, capsys):
    out = tmp_path / "out"
    assert cli.main(["study", "./mine/by_path", "--workers", "1", "--no-progress", "--out", str(out)]) == 0
    assert (out / "by_path" / "results.parquet").is_file()
    assert "by_path: 2 run" in capsys.readouterr().out
