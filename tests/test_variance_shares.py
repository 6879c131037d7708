"""mowsim.analysis.variance_shares: a 2x2 table worked by hand, the decomposition against least-squares projections,
known population shares, interactions, bootstrap coverage, determinism and refusals."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from mowsim.analysis import variance_shares

from conftest import SEED


def table(values: dict) -> pd.DataFrame:
    """A per-run frame from ``{(a, b): [response per seed]}``."""
    return pd.DataFrame([{"a": a, "b": b, "seed": s, "y": y}
                         for (a, b), ys in values.items() for s, y in enumerate(ys)])


def factorial(rng, levels, n, mean, noise_sd, names=("a", "b", "c")):
    """n seeds in every cell of a full factorial; ``mean(*codes)`` is the cell's population mean."""
    rows = []
    for codes in itertools.product(*(range(level) for level in levels)):
        for s in range(n):
            row = dict(zip(names, codes))
            row.update(seed=s, y=mean(*codes) + noise_sd * rng.standard_normal())
            rows.append(row)
    return pd.DataFrame(rows)


def by_effect(result, column="share"):
    return dict(zip(result["effect"], result[column]))


def test_two_by_two_worked_by_hand():
    # cells (a, b): [1, 3] mean 2, (0, 1): [4, 6] mean 5, (1, 0): [5, 7] mean 6, (1, 1): [6, 10] mean 8.
    # grand mean 5.25; a's level means 3.5, 7 -> effects -+1.75, SS_a = 2 runs * 2 levels of b * 2 * 1.75**2 = 24.5.
    # b's level means 4, 6.5 -> -+1.25, SS_b = 4 * 2 * 1.25**2 = 12.5. Interaction 2 - 3.5 - 4 + 5.25 = -0.25 in
    # each cell up to sign, SS_ab = 2 * 4 * 0.0625 = 0.5. Within cells 2 + 2 + 2 + 8 = 14. Total 51.5 (the squared
    # deviations of 1, 3, 4, 6, 5, 7, 6, 10 from 5.25).
    frame = table({(0, 0): [1, 3], (0, 1): [4, 6], (1, 0): [5, 7], (1, 1): [6, 10]})
    result = variance_shares(frame, ["a", "b"], "y", n_boot=50)
    assert list(result["effect"]) == ["a", "b", "a:b", "residual"]
    np.testing.assert_allclose(result["ss"], [24.5, 12.5, 0.5, 14.0], rtol=1e-12)
    np.testing.assert_allclose(result["share"], np.array([24.5, 12.5, 0.5, 14.0]) / 51.5, rtol=1e-12)
    np.testing.assert_array_equal(result["df"], [1, 1, 1, 4])
    # omega squared: MS_residual = 14 / 4 = 3.5; a: (24.5 - 3.5) / (51.5 + 3.5) = 21 / 55
    adjusted = by_effect(result, "adjusted")
    assert adjusted["a"] == pytest.approx(21 / 55, rel=1e-12)
    assert adjusted["a:b"] == pytest.approx(-3 / 55, rel=1e-12)
    assert result["adjusted"].sum() == pytest.approx(1.0, abs=1e-12)


def _projection_ss(frame, factors, response):
    """Sequential (type I) sums of squares from least-squares fits with full dummy coding: in a balanced design
    every order gives the same, so they must equal the contrasts' SS."""
    y = frame[response].to_numpy()
    effects = [s for order in range(1, len(factors) + 1) for s in itertools.combinations(factors, order)]
    columns = [np.ones(len(frame))]
    ss, previous = {}, np.sum((y - y.mean()) ** 2)
    for effect in effects:
        cell = frame[list(effect)].astype(str).agg("|".join, axis=1)
        columns.extend(pd.get_dummies(cell).to_numpy(dtype=float).T)
        design = np.column_stack(columns)
        fitted = design @ np.linalg.lstsq(design, y, rcond=None)[0]
        rss = np.sum((y - fitted) ** 2)
        ss[":".join(effect)] = previous - rss
        previous = rss
    ss["residual"] = previous
    return ss


def test_three_factor_decomposition_matches_least_squares_projections():
    rng = np.random.default_rng(SEED)
    frame = factorial(rng, (2, 3, 4), 3, lambda i, j, k: rng.normal(), 1.0)
    result = variance_shares(frame, ["a", "b", "c"], "y", n_boot=20)
    expected = _projection_ss(frame, ["a", "b", "c"], "y")
    np.testing.assert_allclose([by_effect(result, "ss")[name] for name in expected], list(expected.values()),
                               rtol=1e-9)
    total = np.sum((frame["y"] - frame["y"].mean()) ** 2)
    assert result["ss"].sum() == pytest.approx(total, rel=1e-12)
    assert result["share"].sum() == pytest.approx(1.0, abs=1e-12)
    assert list(result["df"]) == [1, 2, 3, 2, 3, 6, 6, 2 * 3 * 4 * 2]


def test_known_population_shares_are_recovered():
    # y = alpha_i + beta_j + noise: population variances 1 (alpha = -+1), 1/6 (beta = -0.5, 0, 0.5) and 0.25.
    alpha, beta, noise_sd = np.array([-1.0, 1.0]), np.array([-0.5, 0.0, 0.5]), 0.5
    total = 1.0 + 1.0 / 6 + 0.25
    truth = {"a": 1.0 / total, "b": (1.0 / 6) / total, "a:b": 0.0, "residual": 0.25 / total}
    rng = np.random.default_rng(SEED)
    large = factorial(rng, (2, 3), 4000, lambda i, j: alpha[i] + beta[j], noise_sd)
    result = variance_shares(large, ["a", "b"], "y", n_boot=20)
    for column in ("share", "adjusted"):
        for name, value in by_effect(result, column).items():
            assert value == pytest.approx(truth[name], abs=0.005), (column, name)
    # at 10 seeds a cell eta squared is inflated by df_S / (N - 1) of noise; omega squared is not, on average
    small = [variance_shares(factorial(rng, (2, 3), 10, lambda i, j: 0.0 * (alpha[i] + beta[j]), 1.0), ["a", "b"],
                             "y", n_boot=1) for _ in range(200)]
    eta_b = np.mean([by_effect(r)["b"] for r in small])
    omega_b = np.mean([by_effect(r, "adjusted")["b"] for r in small])
    assert eta_b == pytest.approx(2 / 59, rel=0.2)  # df_b / (N - 1) with N = 60
    assert abs(omega_b) < 0.005


def test_an_interaction_without_main_effects_is_picked_up():
    # a crossover: +1 on the diagonal, -1 off it; no main effect, the interaction has variance 1, noise 1
    rng = np.random.default_rng(SEED)
    frame = factorial(rng, (2, 2), 2000, lambda i, j: 1.0 if i == j else -1.0, 1.0)
    shares = by_effect(variance_shares(frame, ["a", "b"], "y", n_boot=20), "adjusted")
    assert shares["a:b"] == pytest.approx(0.5, abs=0.01)
    assert abs(shares["a"]) < 0.005 and abs(shares["b"]) < 0.005


@pytest.mark.parametrize("resample", ["paired", "cell"])
def test_bootstrap_intervals_cover_the_population_share(resample):
    alpha, beta = np.array([-0.6, 0.0, 0.6]), np.array([-0.3, 0.3])
    var_a, var_b, noise = 0.24, 0.09, 0.36
    truth_a = var_a / (var_a + var_b + noise)
    rng = np.random.default_rng(SEED)
    covered = []
    for _ in range(60):
        frame = factorial(rng, (3, 2), 12, lambda i, j: alpha[i] + beta[j], np.sqrt(noise))
        row = variance_shares(frame, ["a", "b"], "y", n_boot=400, resample=resample, seed=1).set_index("effect")
        assert row.loc["a", "adjusted_low"] <= row.loc["a", "adjusted"] <= row.loc["a", "adjusted_high"]
        covered.append(row.loc["a", "adjusted_low"] <= truth_a <= row.loc["a", "adjusted_high"])
    assert np.mean(covered) >= 0.85, np.mean(covered)


def test_groups_and_contrasts_sum_effects_and_have_their_own_interval():
    rng = np.random.default_rng(SEED)
    frame = factorial(rng, (3, 2, 2), 8, lambda i, j, k: 0.5 * i + 0.3 * j * k, 1.0)
    result = variance_shares(frame, ["a", "b", "c"], "y", n_boot=300,
                             groups={"plumbing": ["b", "c", "b:c"]},
                             contrasts={"plumbing - a": ("plumbing", "a")}).set_index("effect")
    assert result.loc["plumbing", "kind"] == "group"
    assert result.loc["plumbing", "share"] == pytest.approx(result.loc[["b", "c", "b:c"], "share"].sum())
    assert result.loc["plumbing", "df"] == 3
    difference = result.loc["plumbing - a"]
    assert difference["adjusted"] == pytest.approx(result.loc["plumbing", "adjusted"] - result.loc["a", "adjusted"])
    assert difference["adjusted_low"] < difference["adjusted"] < difference["adjusted_high"]
    assert difference["kind"] == "contrast"


def test_row_order_and_level_labels_do_not_matter_and_seed_fixes_the_intervals():
    rng = np.random.default_rng(SEED)
    frame = factorial(rng, (2, 3), 6, lambda i, j: i - j, 1.0)
    first = variance_shares(frame, ["a", "b"], "y", n_boot=200, seed=3)
    shuffled = frame.sample(frac=1.0, random_state=0).assign(b=lambda f: f["b"].map({0: "x", 1: "y", 2: "z"}))
    again = variance_shares(shuffled, ["a", "b"], "y", n_boot=200, seed=3)
    pd.testing.assert_frame_equal(first, again, rtol=1e-12)
    pd.testing.assert_frame_equal(first, variance_shares(frame, ["a", "b"], "y", n_boot=200, seed=3))
    other = variance_shares(frame, ["a", "b"], "y", n_boot=200, seed=4)
    np.testing.assert_array_equal(other["share"], first["share"])
    assert not np.array_equal(other["ci_low"], first["ci_low"])


@pytest.mark.parametrize("change, match", [
    (lambda f: f[~((f.a == 1) & (f.b == 2))], "not full factorial"),
    (lambda f: f[~((f.a == 1) & (f.b == 2) & (f.seed == 0))], "unbalanced"),
    (lambda f: f[f.seed == 0], "at least 2"),
    (lambda f: f.assign(y=np.where(f.seed == 1, np.nan, f.y)), "non-finite"),
    (lambda f: f.assign(seed=0), "more than once"),
    (lambda f: f.assign(seed=f.seed + 10 * f.a), "resample='cell'"),
    (lambda f: f.assign(y=1.0), "no variation"),
    (lambda f: f.drop(columns="b"), "lacks columns"),
])
def test_bad_tables_are_refused(change, match):
    rng = np.random.default_rng(SEED)
    frame = factorial(rng, (2, 3), 3, lambda i, j: i + j, 1.0)
    with pytest.raises(ValueError, match=match):
        variance_shares(change(frame), ["a", "b"], "y", n_boot=10)


@pytest.mark.parametrize("kwargs, match", [
    (dict(factors=[]), "factors"),
    (dict(factors=["a", "a"]), "factors"),
    (dict(factors=["a", "y"]), "must not be among"),
    (dict(resample="block"), "resample"),
    (dict(n_boot=0), "n_boot"),
    (dict(confidence=95), "confidence"),
    (dict(groups={"g": ["a", "d"]}), "group 'g'"),
    (dict(groups={"a": ["b"]}), "group 'a'"),
    (dict(contrasts={"c": ("a", "residual")}), "contrast 'c'"),
    (dict(contrasts={"c": "ab"}), "contrast 'c'"),
])
def test_bad_arguments_are_refused(kwargs, match):
    rng = np.random.default_rng(SEED)
    frame = factorial(rng, (2, 3), 3, lambda i, j: i + j, 1.0)
    with pytest.raises(ValueError, match=match):
        variance_shares(frame, **{"factors": ["a", "b"], "response": "y", "n_boot": 10, **kwargs})
