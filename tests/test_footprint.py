"""The store's footprint: results.parquet is the one copy of its run's cells, the history's floats are float32 in
zstd, resume still works (also across scales written into one folder), and mowsim 0.2.0's files still read."""

from __future__ import annotations

import concurrent.futures
import textwrap

import numpy as np
import pandas as pd
import pytest

import mowsim
from mowsim import sweep

STUDY = '''
from mowsim.sweep import make_cell

SETTINGS = tuple(
    make_cell("small", index, "bandit", {"noise_sd": noise, "n_arms": 4}, "dvao", setting={"noise_sd": noise},
              steps=5, seeds=2, n_groups=8, group_size=4)
    for index, noise in enumerate((0.0, 0.5, 1.0))
)
QUICK = {"steps": 3}
'''


@pytest.fixture(autouse=True)
def studies(tmp_path, monkeypatch):
    root = tmp_path / "studies"
    (root / "small").mkdir(parents=True)
    (root / "small" / "sweep.py").write_text(textwrap.dedent(STUDY))
    monkeypatch.setenv("MOWSIM_STUDIES", str(root))
    return root


def _run(out, **kwargs):
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        return sweep.run_study("small", out, executor=pool, progress=False, **kwargs)


def test_results_parquet_replaces_the_cell_files_and_a_rerun_skips_everything(tmp_path):
    out = tmp_path / "out"
    first = _run(out)
    assert sorted(first.completed) == ["small/0", "small/1", "small/2"]
    assert list((out / "small" / "cells").glob("*.parquet")) == []
    stored = sweep.read_table(out / "small" / "results.parquet")
    pd.testing.assert_frame_equal(stored, first.results, check_exact=True)
    again = _run(out)
    assert again.completed == [] and len(again.skipped) == 3
    pd.testing.assert_frame_equal(again.results, first.results, check_exact=True)
    assert sweep.storage_version(out / "small" / "results.parquet") == (mowsim.__version__, sweep.STORAGE_FORMAT)


def test_history_floats_are_float32_and_settings_stay_float64(tmp_path):
    table = _run(tmp_path).results
    for column in ("expected_reward", "effective_weight", "max_abs_advantage", "grad_norm"):
        assert table[column].dtype == np.float32
    assert table["noise_sd"].dtype == np.float64 and (table["noise_sd"] == 0.5).any()
    fresh = sweep.run_cell(sweep.study_cells("small")[1])
    np.testing.assert_allclose(table[table["cell_id"] == "small/1"]["expected_reward"].to_numpy(),
                               fresh["expected_reward"].to_numpy(), rtol=1e-6)


def test_resume_after_an_interrupted_run_gives_the_uninterrupted_table(tmp_path):
    whole = _run(tmp_path / "whole").results
    cells = sweep.study_cells("small")
    with concurrent.futures.ThreadPoolExecutor(2) as pool:  # as if stopped after two cells: their files only
        sweep.run_cells(cells[:2], tmp_path / "part" / "small", executor=pool, progress=False)
    resumed = _run(tmp_path / "part")
    assert resumed.completed == ["small/2"]
    pd.testing.assert_frame_equal(resumed.results, whole, check_exact=True)


def test_another_scale_in_the_same_folder_keeps_both_runs(tmp_path):
    full = _run(tmp_path).results
    quick = _run(tmp_path, quick=True)
    assert len(quick.completed) == 3 and quick.results["step"].max() == 3
    # The full run's cells left results.parquet for their own files again; rerunning it runs nothing.
    assert len(list((tmp_path / "small" / "cells").glob("*.parquet"))) == 3
    back = _run(tmp_path)
    assert back.completed == [] and len(back.skipped) == 3
    pd.testing.assert_frame_equal(back.results, full, check_exact=True)


def _as_version_020(path):
    """Rewrite a stored file the way mowsim 0.2.0 wrote it: float64, snappy, no mowsim metadata."""
    frame = sweep.read_table(path)
    frame = frame.astype({c: np.float64 for c in frame.columns if frame[c].dtype == np.float32})
    frame.to_parquet(path, index=False)


def test_results_of_version_020_are_read(tmp_path):
    current = _run(tmp_path).results
    path = tmp_path / "small" / "results.parquet"
    _as_version_020(path)
    assert sweep.storage_version(path) == (None, "1")
    again = _run(tmp_path)
    assert again.completed == []
    pd.testing.assert_frame_equal(again.results, current, check_exact=True, check_dtype=False)
    from mowsim import analysis

    pd.testing.assert_frame_equal(analysis.read_results(tmp_path, "small"), current, check_dtype=False,
                                  check_categorical=False)


def test_per_step_columns_are_stored_once_per_step_and_read_back_exactly(tmp_path):
    import pyarrow.parquet as pq

    table = _run(tmp_path).results
    path = tmp_path / "small" / "results.parquet"
    raw = pd.read_parquet(path)  # what the file holds, without read_table's restoration
    off = raw["objective"] != 0
    thinned = [name for name in sweep.PER_STEP_COLUMNS if name in raw and raw.loc[off, name].isna().all()]
    assert {"grad_norm", "entropy", "max_abs_advantage", "hidden_reward"} <= set(thinned)
    np.testing.assert_array_equal(raw.loc[~off, "grad_norm"], table.loc[~off.to_numpy(), "grad_norm"])
    assert "expected_reward" not in thinned and raw.loc[off, "expected_reward"].notna().all()
    metadata = pq.read_schema(path).metadata
    assert set(__import__("json").loads(metadata[b"mowsim.per_step"])) == set(thinned)
    pd.testing.assert_frame_equal(sweep.read_table(path), table, check_exact=True)


def test_a_column_that_differs_between_objectives_is_kept_whole(tmp_path):
    frame = sweep.run_cell(sweep.study_cells("small")[0])
    frame.loc[frame["objective"] == 1, "grad_norm"] += 1.0  # no longer one value per step
    path = tmp_path / "cell.parquet"
    sweep._write_atomic(frame, path)
    np.testing.assert_array_equal(pd.read_parquet(path)["grad_norm"], frame["grad_norm"])  # NaN only where it was
    pd.testing.assert_frame_equal(sweep.read_table(path), frame, check_exact=True)


def test_format_2_files_read_alike(tmp_path):
    table = _run(tmp_path).results
    path = tmp_path / "small" / "results.parquet"
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrow = pa.Table.from_pandas(table, preserve_index=False)
    metadata = {**arrow.schema.metadata, b"mowsim.version": b"0.3.0", b"mowsim.storage": b"2"}
    pq.write_table(arrow.replace_schema_metadata(metadata), path, compression="zstd")
    assert sweep.storage_version(path) == ("0.3.0", "2")
    pd.testing.assert_frame_equal(sweep.read_table(path), table, check_exact=True)
    again = _run(tmp_path)
    assert again.completed == []
    pd.testing.assert_frame_equal(again.results, table, check_exact=True)


def test_rows_out_of_history_order_are_refused_not_misread(tmp_path):
    table = _run(tmp_path).results
    path = tmp_path / "small" / "results.parquet"
    raw = pd.read_parquet(path)
    shuffled = tmp_path / "shuffled.parquet"
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrow = pa.Table.from_pandas(raw.iloc[::-1].reset_index(drop=True), preserve_index=False)
    pq.write_table(arrow.replace_schema_metadata(pq.read_schema(path).metadata), shuffled)
    with pytest.raises(ValueError, match="history order"):
        sweep.read_table(shuffled)
    assert len(table) == len(raw)
