"""`mowsim bounds` (mowsim.bounds), the worst-case search it runs, and the figure helpers of mowsim.plotting."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from mowsim import bounds, plotting, theory
from mowsim.cli import main

TINY = dataclasses.replace(bounds.QUICK, n_rollouts=(2, 4), n_objectives=(2, 3), n_groups=32, n_restarts=2,
                           max_iter=40)

CLAIMS = {
    "samuelson_max_abs", "rc_mean_square", "ac_mean_square_identity", "ac_mean_square_paper_form",
    "ac_mean_square_le_1", "dvao_mean_square_identity", "dvao_mean_square_le_1", "dvao_le_rc_pointwise",
    "gdpo_unwhitened_max_abs", "gdpo_batch_mean_square", "prop3_jacobian_fd", "prop3_printed_fd",
}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bounds")
    return bounds.run_bounds(seed=0, out=out, config=TINY), out


def test_table_columns_and_files(tiny_run):
    frame, out = tiny_run
    assert tuple(frame.columns) == bounds.COLUMNS
    assert set(frame["claim"]) == CLAIMS
    assert set(frame.loc[frame["source"] == "random", "distribution"]) == set(bounds.DISTRIBUTIONS)
    assert set(frame.loc[frame["source"] == "search", "distribution"]) == {"adversarial"}
    on_disk = pd.read_csv(out / "bounds.csv")
    assert list(on_disk.columns) == list(bounds.COLUMNS)
    assert len(on_disk) == len(frame)
    for suffix in (".png", ".pdf"):
        assert (out / f"bounds_tightness{suffix}").stat().st_size > 0


def test_theorems_hold(tiny_run):
    frame, _ = tiny_run
    theorems = frame[frame["theorem"]]
    assert theorems["violations"].sum() == 0, theorems[theorems["violations"] > 0]
    ratios = theorems["worst_ratio"].dropna()
    assert len(ratios) > 0.9 * len(theorems)
    assert (ratios <= 1 + 1e-9).all()


def test_printed_forms_fail_where_predicted(tiny_run):
    frame, _ = tiny_run
    printed = frame[(frame["claim"] == "prop3_printed_fd") & (frame["G"] == 4)]
    assert (printed.loc[printed["ddof"] == 0, "violations"] == 0).all()
    assert (printed.loc[printed["ddof"] == 1, "violations"] > 0).all()
    paper = frame[(frame["claim"] == "ac_mean_square_paper_form") & (frame["distribution"] == "uniform")]
    assert (paper.loc[paper["ddof"] == 0, "violations"] == 0).all()  # every uniform objective varies
    assert (paper.loc[paper["ddof"] == 1, "violations"] == paper.loc[paper["ddof"] == 1, "n_groups"]).all()


def test_search_rows_attain_their_bounds(tiny_run):
    frame, _ = tiny_run
    search = frame[(frame["source"] == "search") & (frame["G"] == 4)]
    assert len(search) == len(bounds.SEARCHES) * len(TINY.n_objectives)
    assert (search["worst_ratio"] >= 0.99).all(), search
    dvao = search[search["scheme"] == "dvao"]
    assert (dvao["min_correlation"] >= 0.99).all()


def test_same_seed_same_table_other_seed_differs():
    config = dataclasses.replace(TINY, n_rollouts=(4,), n_objectives=(2,), distributions=("uniform",))
    first = bounds.run_bounds(seed=3, config=config)
    pd.testing.assert_frame_equal(first, bounds.run_bounds(seed=3, config=config))
    other = bounds.run_bounds(seed=4, config=config)
    assert not np.allclose(first["worst_value"], other["worst_value"], equal_nan=True)


def test_summary_has_one_row_per_claim_and_theorem_flag(tiny_run):
    frame, _ = tiny_run
    summary = bounds.summarize(frame)
    assert set(summary["claim"]) == CLAIMS
    assert summary["groups"].sum() == frame["n_groups"].sum()
    assert not summary.duplicated(["claim", "theorem"]).any()


def test_cli_writes_the_files(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(bounds, "QUICK", TINY)  # the wiring of --quick, at the scale of a test
    assert main(["bounds", "--quick", "--out", str(tmp_path), "--seed", "1"]) == 0
    assert (tmp_path / "bounds.csv").exists()
    assert (tmp_path / "bounds_tightness.png").exists()
    assert (tmp_path / "bounds_tightness.pdf").exists()
    printed = capsys.readouterr().out
    assert "samuelson_max_abs" in printed and "violations" in printed


# ---- the worst-case search ----


@pytest.mark.parametrize("n_objectives", [2, 3])
def test_search_finds_dvao_bound_only_with_correlated_objectives(n_objectives):
    # One restart: it starts from independent objectives, so the search itself has to correlate them.
    found = theory.worst_case_search("dvao", 6, n_objectives, n_restarts=1, seed=0)
    assert found.ratio >= 0.99
    assert found.value == pytest.approx(theory.samuelson_bound(6), rel=1e-2)
    assert found.min_correlation >= 0.99
    assert theory.objectives_perfectly_correlated(found.rewards, atol=1e-3)


def test_search_reaches_samuelson_for_rc_at_g4():
    found = theory.worst_case_search("rc", 4, 2, n_restarts=2, seed=1)
    assert found.value == pytest.approx(np.sqrt(3), rel=1e-6)
    assert found.rewards.shape == (4, 2)
    assert found.values.shape == (2,)


def test_search_shows_unwhitened_gdpo_growth_with_k():
    values = [theory.worst_case_search("ac", 8, k, weights=np.ones(k), n_restarts=2, seed=2).value for k in (1, 2, 4)]
    np.testing.assert_allclose(values, [k * np.sqrt(7) for k in (1, 2, 4)], rtol=1e-2)


def test_search_mean_square_approaches_one():
    found = theory.worst_case_search("ac", 8, 3, target="mean_square", n_restarts=2, seed=0)
    assert 0.99 <= found.ratio <= 1 + 1e-9
    assert found.bound == 1.0


def test_search_is_deterministic():
    first = theory.worst_case_search("dvao", 5, 2, n_restarts=2, max_iter=20, seed=7)
    second = theory.worst_case_search("dvao", 5, 2, n_restarts=2, max_iter=20, seed=7)
    np.testing.assert_array_equal(first.rewards, second.rewards)


# ---- sampling and configuration ----


@pytest.mark.parametrize("distribution", bounds.DISTRIBUTIONS)
def test_sample_rewards_shapes_and_character(distribution):
    rewards = bounds.sample_rewards(distribution, np.random.default_rng(0), 200, 8, 4)
    assert rewards.shape == (200, 8, 4)
    assert np.isfinite(rewards).all()
    correlation = theory.within_group_correlation(rewards)[:, 0, 1]
    if distribution in ("bernoulli", "uniform", "mixed", "saturated"):
        assert rewards.min() >= 0.0 and rewards.max() <= 1.0
    if distribution == "saturated":
        assert (rewards.std(axis=1) == 0).any(axis=1).mean() > 0.5
    if distribution == "anti-correlated":
        assert np.median(correlation) < -0.9
    if distribution == "correlated":
        assert np.median(correlation) > 0.9


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"n_rollouts": (1, 4)}, "n_rollouts"),
        ({"distributions": ("gaussian",)}, "distributions"),
        ({"ddofs": (2,)}, "ddofs"),
        ({"n_groups": 40, "batch_groups": 16}, "multiple of batch_groups"),
        ({"n_restarts": 0}, "n_restarts"),
    ],
)
def test_bad_config_raises(change, match):
    with pytest.raises(ValueError, match=match):
        dataclasses.replace(bounds.FULL, **change)


def test_unknown_distribution_raises():
    with pytest.raises(ValueError, match="unknown distribution"):
        bounds.sample_rewards("gaussian", np.random.default_rng(0), 2, 4, 2)


# ---- plotting helpers ----


def test_scheme_colors_cover_every_scheme_and_are_distinct():
    needed = {"rc", "ac", "gdpo", "dvao", "saw-grpo", "saw-gdpo", "hv-guided", "gradient", "mgda", "pcgrad",
              "dvao-ema", "dvao-reliable"}
    assert needed <= set(plotting.SCHEME_COLORS)
    assert len(set(plotting.SCHEME_COLORS.values())) == len(plotting.SCHEME_COLORS)
    with pytest.raises(ValueError, match="no colour"):
        plotting.scheme_palette(["rc", "mystery"])


def test_save_figure_writes_pdf_and_png(tmp_path):
    frame = pd.DataFrame({"scheme": ["rc", "rc", "dvao", "dvao"], "G": [2, 4, 2, 4],
                          "worst_ratio": [1.0, 0.9, 0.8, 0.7]})
    ax = plotting.plot_tightness(frame, "G")
    assert [line.get_label() for line in ax.get_legend().get_lines()] == ["rc", "dvao"]
    written = plotting.save_figure(ax.figure, tmp_path / "sub" / "figure")
    assert [path.suffix for path in written] == [".pdf", ".png"]
    assert all(path.stat().st_size > 0 for path in written)
    with pytest.raises(ValueError, match="without a suffix"):
        plotting.save_figure(ax.figure, tmp_path / "figure.png")
    with pytest.raises(ValueError, match="lacks columns"):
        plotting.plot_tightness(frame.drop(columns="worst_ratio"), "G")
