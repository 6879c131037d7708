"""mowsim.analysis: hand-worked metrics on synthetic histories, then a real train_many history end to end."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mowsim import analysis
from mowsim.envs import Bandit
from mowsim.train import train_many


def synthetic_history(curves: dict, *, objective_names=None, extra=None) -> pd.DataFrame:
    """A minimal history: ``curves[(run, objective)] = expected rewards over steps 0..n-1``."""
    rows = []
    for (run, objective), values in curves.items():
        for step, value in enumerate(values):
            name = (objective_names or {}).get(objective, f"objective_{objective}")
            rows.append({"run": run, "scheme": "rc" if run % 2 == 0 else "dvao", "seed": run // 2, "step": step,
                         "objective": objective, "objective_name": name, "expected_reward": value,
                         "max_abs_advantage": float(run + step), "grad_norm": float(step % 2),
                         "effective_weight": 0.5})
    frame = pd.DataFrame(rows)
    for name, value in (extra or {}).items():
        frame[name] = value
    return frame


# -- value, final, AUC, steps to target --------------------------------------------------------------------------


def test_auc_final_initial_and_target_by_hand():
    # value = mean of the two objectives: 0, 1, 2, 3, 4 -> trapezoid area 8 over 4 updates = 2.
    frame = synthetic_history({(0, 0): [0, 1, 2, 3, 4], (0, 1): [0, 1, 2, 3, 4]})
    summary = analysis.run_summary(frame, target=2.5).iloc[0]
    assert summary["initial"] == 0.0
    assert summary["final"] == 4.0
    assert summary["auc"] == pytest.approx(2.0)
    assert summary["steps_to_target"] == 3.0 and summary["reached"]
    assert summary["max_abs_advantage"] == 4.0  # run 0, last step 4
    assert summary["grad_norm_var"] == pytest.approx(np.var([0, 1, 0, 1, 0]))


def test_auc_of_an_uneven_curve_by_hand():
    # Trapezoids: (0+2)/2 + (2+2)/2 + (2+0)/2 = 1 + 2 + 1 = 4 over 3 updates.
    frame = synthetic_history({(0, 0): [0, 2, 2, 0]})
    assert analysis.run_summary(frame)["auc"].iloc[0] == pytest.approx(4 / 3)


def test_target_never_reached_is_nan():
    frame = synthetic_history({(0, 0): [0.1, 0.2]})
    summary = analysis.run_summary(frame, target=0.9).iloc[0]
    assert np.isnan(summary["steps_to_target"]) and not summary["reached"]


def test_weights_and_objective_selection():
    frame = synthetic_history({(0, 0): [0.0, 1.0], (0, 1): [1.0, 0.0]})
    weighted = analysis.run_summary(frame, weights=[3, 1]).iloc[0]
    assert weighted["initial"] == pytest.approx(0.25) and weighted["final"] == pytest.approx(0.75)
    only_first = analysis.run_summary(frame, objectives=[0]).iloc[0]
    assert only_first["final"] == 1.0
    with pytest.raises(ValueError, match="weights must be 2"):
        analysis.run_summary(frame, weights=[1, 1, 1])


def test_spurious_objectives_are_left_out_by_default():
    frame = synthetic_history({(0, 0): [0.2, 0.4], (0, 1): [0.0, 0.0]}, objective_names={1: "spurious_0"})
    assert analysis.run_summary(frame)["final"].iloc[0] == pytest.approx(0.4)


def test_runs_with_different_k_share_a_frame():
    # Run 0 has two objectives, run 1 four: equal weights over each run's own objectives.
    curves = {(0, 0): [0.0, 1.0], (0, 1): [0.0, 0.0]}
    curves.update({(1, k): [0.0, 1.0 if k == 0 else 0.0] for k in range(4)})
    finals = analysis.run_summary(synthetic_history(curves)).set_index("run")["final"]
    assert finals[0] == pytest.approx(0.5) and finals[1] == pytest.approx(0.25)


def test_study_results_identify_runs_by_cell_and_run():
    frame = synthetic_history({(0, 0): [0.0, 1.0]})
    twice = pd.concat([frame.assign(cell_id="s/0"), frame.assign(cell_id="s/1", expected_reward=2.0)])
    assert analysis.run_columns(twice) == ["cell_id", "run"]
    summary = analysis.run_summary(twice)
    assert len(summary) == 2 and sorted(summary["final"]) == [1.0, 2.0]


def test_final_objectives_is_wide_by_objective_name():
    frame = synthetic_history({(0, 0): [0.1, 0.3], (0, 1): [0.2, 0.6]})
    wide = analysis.final_objectives(frame)
    assert list(wide.columns[-2:]) == ["objective_0", "objective_1"]
    assert wide.loc[0, "objective_1"] == 0.6
    assert analysis.final_objectives(frame, step=0).loc[0, "objective_0"] == 0.1


# -- hypervolume ----------------------------------------------------------------------------------------------------


def test_hypervolume_by_hand():
    assert analysis.hypervolume([[1.0, 2.0], [2.0, 1.0]], [0.0, 0.0]) == pytest.approx(3.0)
    # Two 0.5 x 1.5 rectangles overlapping in a 0.5 x 0.5 square: 0.75 + 0.75 - 0.25.
    assert analysis.hypervolume([[1.0, 2.0], [2.0, 1.0]], [0.5, 0.5]) == pytest.approx(1.25)
    assert analysis.hypervolume([[1.0, 1.0, 1.0]], [0.0, 0.0, 0.0]) == pytest.approx(1.0)


def test_hypervolume_ignores_dominated_and_non_dominating_points():
    assert analysis.hypervolume([[1.0, 1.0], [0.5, 0.5]], [0.0, 0.0]) == pytest.approx(1.0)
    assert analysis.hypervolume([[1.0, -1.0]], [0.0, 0.0]) == 0.0
    with pytest.raises(ValueError, match="shape"):
        analysis.hypervolume([[1.0, 1.0]], [0.0, 0.0, 0.0])


# -- uncertainty and aggregates -------------------------------------------------------------------------------------


def test_bootstrap_ci_matches_scipy_and_handles_degenerate_samples():
    values = np.array([0.1, 0.4, 0.35, 0.8, 0.55, 0.6, 0.2, 0.9])
    low, high = analysis.bootstrap_ci(values)
    expected = stats.bootstrap((values,), np.mean, confidence_level=0.95, n_resamples=2000, method="BCa",
                               rng=np.random.default_rng(0)).confidence_interval
    assert (low, high) == pytest.approx((expected.low, expected.high))
    assert low < values.mean() < high
    assert analysis.bootstrap_ci([0.3, 0.3, 0.3]) == (0.3, 0.3)
    assert analysis.bootstrap_ci([0.7]) == (0.7, 0.7)
    assert all(np.isnan(analysis.bootstrap_ci([])))


def test_curve_ci_per_row():
    data = np.array([[1.0, 1.0, 1.0], [0.0, 1.0, 2.0]])
    mean, low, high = analysis.curve_ci(data)
    assert mean.tolist() == [1.0, 1.0]
    assert low[0] == high[0] == 1.0
    assert 0.0 <= low[1] < 1.0 < high[1] <= 2.0


def test_summarize_and_robust_aggregate_by_hand():
    per_run = pd.DataFrame({"scheme": ["a"] * 6 + ["b"] * 3,
                            "knob": [1, 1, 2, 2, 3, 3, 1, 2, 3],
                            "score": [0.4, 0.6, 0.7, 0.7, 0.8, 1.0, 0.5, 0.5, 0.5]})
    summary = analysis.summarize(per_run, "score", ["scheme", "knob"])
    a = summary[summary["scheme"] == "a"].set_index("knob")
    assert a["mean"].tolist() == pytest.approx([0.5, 0.7, 0.9])
    assert a.loc[2, "ci_low"] == a.loc[2, "ci_high"] == 0.7
    assert a["n"].tolist() == [2, 2, 2]
    robust = analysis.robust_aggregate(summary).set_index("scheme")
    std = np.sqrt((0.2**2 + 0.0 + 0.2**2) / 3)
    assert robust.loc["a", "robust_mean"] == pytest.approx(0.7)
    assert robust.loc["a", "robust_std"] == pytest.approx(std)
    assert robust.loc["a", "robust_mean_minus_std"] == pytest.approx(0.7 - std)
    assert robust.loc["b", "robust_mean_minus_std"] == pytest.approx(0.5)


def test_score_table_within_groups_aggregates_separately():
    per_run = pd.DataFrame({"scheme": ["a"] * 4, "noise": ["x", "x", "y", "y"], "level": [0, 1, 0, 1],
                            "score": [1.0, 3.0, 10.0, 10.0]})
    table = analysis.score_table(per_run, "score", knobs=["level"], within=["noise"], metric="m")
    assert set(table["metric"]) == {"m"}
    by_noise = table.groupby("noise")["robust_mean"].first()
    assert by_noise["x"] == pytest.approx(2.0) and by_noise["y"] == pytest.approx(10.0)


def test_normalized_score():
    assert analysis.normalized_score(0.75, 0.5, 1.0) == pytest.approx(0.5)
    assert np.isnan(analysis.normalized_score(0.5, 0.5, 0.5))


def test_best_value_is_the_best_arm():
    env = Bandit(n_arms=8, n_objectives=2, correlation=-0.5)
    means = env.arrays()[1][0]
    assert analysis.best_value(env) == pytest.approx(means.mean(axis=1).max())
    assert analysis.best_value(env, [1.0, 0.0]) == pytest.approx(means[:, 0].max())


# -- a real history --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def history() -> pd.DataFrame:
    return train_many(Bandit(n_arms=4, n_spurious=1), ["rc", "dvao"], seeds=3, steps=6, n_groups=8,
                      group_size=4).history


def test_run_summary_of_a_real_history(history):
    summary = analysis.run_summary(history)
    assert len(summary) == 6 and set(summary["scheme"]) == {"rc", "dvao"}
    last = history[(history["step"] == 6) & (history["objective"] < 2)]
    expected = last.groupby("run")["expected_reward"].mean()
    assert summary.set_index("run")["final"].to_numpy() == pytest.approx(expected.to_numpy())
    largest = history.groupby("run")["max_abs_advantage"].max()
    assert summary.set_index("run")["max_abs_advantage"].to_numpy() == pytest.approx(largest.to_numpy())
    assert (summary["initial"] == summary["initial"].iloc[0]).all()  # one env instance, one uniform policy


def test_curve_summary_of_a_real_history(history):
    curves = analysis.curve_summary(history, objectives=[0])
    assert set(curves.columns) == {"scheme", "step", "mean", "ci_low", "ci_high", "n"}
    assert len(curves) == 2 * 7 and (curves["n"] == 3).all()
    assert (curves["ci_low"] <= curves["mean"] + 1e-12).all() and (curves["mean"] <= curves["ci_high"] + 1e-12).all()
