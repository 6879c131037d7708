"""Every notebook runs top to bottom (fast mode: MOWSIM_FAST=1 shrinks every size)."""

import os
import pathlib

import pytest

nbformat = pytest.importorskip("nbformat", reason="nbclient/nbformat come with the dev extra")
from nbclient import NotebookClient  # noqa: E402

NOTEBOOKS = sorted((pathlib.Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def test_the_four_walkthroughs_exist():
    names = [p.name for p in NOTEBOOKS]
    assert names == ["01_quickstart.ipynb", "02_boundedness.ipynb", "03_noise_robustness.ipynb",
                     "04_explore_results.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_and_is_committed_without_outputs(path, tmp_path, monkeypatch):
    book = nbformat.read(path, as_version=4)
    assert all(not cell.get("outputs") for cell in book.cells if cell.cell_type == "code"), \
        f"{path.name} is committed with outputs; clear them"
    monkeypatch.setenv("MOWSIM_FAST", "1")
    monkeypatch.setenv("MOWSIM_RESULTS", str(tmp_path / "results"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    client = NotebookClient(book, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    errors = [out for cell in book.cells if cell.cell_type == "code" for out in cell.get("outputs", [])
              if out.get("output_type") == "error"]
    assert not errors
