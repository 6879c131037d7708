"""mowsim.claims: every decision rule flips (holds, fails, inconclusive, and holds only when where it has levels)
as synthetic score frames built here change; the registry, the ledger and the README agree."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mowsim import claims

INSTANCES = (0, 1, 2)
SEEDS = tuple(range(8))


def runs(schemes, levels: dict, metrics: dict, *, noise: float = 0.01, seed: int = 0) -> pd.DataFrame:
    """One row per (instance, seed, level, scheme); each metric is ``fn(scheme, level) + noise * N(0, 1)``."""
    rng = np.random.default_rng(seed)
    names = list(levels)
    rows = []
    for instance, s, *values in itertools.product(INSTANCES, SEEDS, *levels.values()):
        level = dict(zip(names, values))
        for scheme in schemes:
            row = {"instance": instance, "seed": s, "scheme": scheme, **level}
            for metric, fn in metrics.items():
                row[metric] = fn(scheme, level) + noise * rng.standard_normal()
            rows.append(row)
    return pd.DataFrame(rows)


def verdict(claim_id, **data):
    return claims.evaluate(claim_id, data)


# ---- bounds ------------------------------------------------------------------------------------------------------

BOUNDS_CLAIMS = {
    "dvao-prop1-rc": (("rc_mean_square",), "rc"),
    "dvao-prop1-ac": (("ac_mean_square_le_1", "ac_mean_square_identity"), "ac"),
    "dvao-prop1-ac-printed": (("ac_mean_square_paper_form",), "ac"),
    "dvao-prop2-pointwise": (("dvao_le_rc_pointwise", "dvao_mean_square_le_1", "samuelson_max_abs"), "dvao"),
    "dvao-prop3-exact": (("prop3_jacobian_fd",), "dvao"),
    "dvao-prop3-printed": (("prop3_printed_fd",), "dvao"),
}


def bounds_frame(checks, scheme, violating) -> pd.DataFrame:
    """Rows of ``checks`` for 2 distributions x ddof 0/1; ``violating(distribution, ddof)`` -> violations."""
    rows = []
    for check, distribution, ddof in itertools.product(checks, ("uniform", "bernoulli"), (0, 1)):
        rows.append({"claim": check, "scheme": scheme, "G": 4, "K": 2, "distribution": distribution, "ddof": ddof,
                     "source": "random", "n_groups": 1000, "violations": violating(distribution, ddof),
                     "worst_value": 1.0, "bound": 1.0, "worst_ratio": 1.0, "max_abs_error": 1e-15,
                     "tolerance": 1e-9, "theorem": True, "min_correlation": np.nan})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("claim_id", BOUNDS_CLAIMS)
def test_bounds_claims_flip(claim_id):
    checks, scheme = BOUNDS_CLAIMS[claim_id]
    holds = verdict(claim_id, bounds=bounds_frame(checks, scheme, lambda d, ddof: 0))
    assert holds.verdict == "holds" and holds.effect == 0 and holds.n == 4000 * len(checks)
    fails = verdict(claim_id, bounds=bounds_frame(checks, scheme, lambda d, ddof: 10))
    assert fails.verdict == "fails" and fails.ci_low > 0
    assert verdict(claim_id, bounds=bounds_frame(checks, scheme, lambda d, ddof: 0).iloc[:0]).verdict == "inconclusive"
    assert verdict(claim_id, bounds=None).verdict == "inconclusive"
    only = verdict(claim_id, bounds=bounds_frame(checks, scheme, lambda d, ddof: 5 * ddof))
    assert only.verdict == "holds only when"
    expected = "distribution=bernoulli, ddof=0; distribution=uniform, ddof=0" if claim_id == "dvao-prop1-ac-printed" \
        else "ddof = 0"
    assert only.condition == expected


def test_bounds_claim_ignores_other_schemes_rows():
    frame = pd.concat([bounds_frame(("samuelson_max_abs",), "dvao", lambda d, ddof: 0),
                       bounds_frame(("samuelson_max_abs",), "gdpo", lambda d, ddof: 3)])
    assert verdict("dvao-prop2-pointwise", bounds=frame).verdict == "holds"


def gdpo_inputs(exponent, noise, attained=1.0):
    search = pd.DataFrame([{"claim": "gdpo_unwhitened_max_abs", "source": "search", "K": k, "G": 16,
                            "worst_ratio": attained} for k in (2, 16)])
    many = runs(["gdpo"], {"K": (2, 16)}, {"max_abs_advantage": lambda s, lv: 5.0 * (lv["K"] / 2) ** exponent},
                noise=noise)
    return {"bounds": search, "many_objectives": many}


def test_gdpo_k_scale_flips():
    assert verdict("gdpo-k-scale", **gdpo_inputs(0.1, 0.05)).verdict == "holds"
    assert verdict("gdpo-k-scale", **gdpo_inputs(0.9, 0.05)).verdict == "fails"
    assert verdict("gdpo-k-scale", **gdpo_inputs(0.5, 0.5)).verdict == "inconclusive"
    assert verdict("gdpo-k-scale", **gdpo_inputs(0.1, 0.05, attained=0.5)).verdict == "fails"
    assert verdict("gdpo-k-scale", bounds=None, many_objectives=None).verdict == "inconclusive"


# ---- training studies --------------------------------------------------------------------------------------------


def explodes(progress_gap, noise, magnitude_gap=2.0):
    return runs(["rc", "dvao"], {"K": (2, 16)}, {
        "max_abs_advantage": lambda s, lv: 2.0 + (magnitude_gap if s == "rc" else 0.0),
        "normalized_final": lambda s, lv: 0.7 + (progress_gap(lv["K"]) if s == "dvao" else 0.0)}, noise=noise)


def test_dvao_rc_explodes_flips():
    assert verdict("dvao-rc-explodes", many_objectives=explodes(lambda k: 0.2, 0.01)).verdict == "holds"
    assert verdict("dvao-rc-explodes", many_objectives=explodes(lambda k: -0.2, 0.01)).verdict == "fails"
    assert verdict("dvao-rc-explodes", many_objectives=explodes(lambda k: 0.2, 0.01, -1.0)).verdict == "fails"
    assert verdict("dvao-rc-explodes", many_objectives=explodes(lambda k: 0.0, 1.0)).verdict == "inconclusive"
    only = verdict("dvao-rc-explodes", many_objectives=explodes(lambda k: 0.2 if k == 16 else -0.2, 0.01))
    assert (only.verdict, only.condition) == ("holds only when", "K = 16")


def hypervolumes(gap, noise):
    return runs(["rc", "ac", "gdpo", "dvao"], {}, {
        "hypervolume": lambda s, lv: {"rc": 0.60, "ac": 0.55, "gdpo": 0.58, "dvao": 0.60 + gap}[s]}, noise=noise)


def test_dvao_pareto_flips():
    name = "pareto_front.seed_hypervolumes"
    holds = claims.evaluate("dvao-pareto", {name: hypervolumes(0.02, 0.005)})
    assert holds.verdict == "holds" and holds.effect == pytest.approx(0.02, abs=0.005) and holds.n == 24
    assert claims.evaluate("dvao-pareto", {name: hypervolumes(-0.02, 0.005)}).verdict == "fails"
    assert claims.evaluate("dvao-pareto", {name: hypervolumes(0.0, 0.2)}).verdict == "inconclusive"


def spurious(weight, loss, noise):
    return runs(["dvao"], {"spurious_sd": (0.0, 1.0, 10.0)}, {
        "spurious_weight": lambda s, lv: 1 / 3 + weight(lv["spurious_sd"]),
        "final": lambda s, lv: 0.8 - (loss if lv["spurious_sd"] > 0 else 0.0)}, noise=noise)


def test_dvao_trusts_noise_flips():
    assert verdict("dvao-trusts-noise", spurious_reward=spurious(lambda sd: 0.3, 0.2, 0.01)).verdict == "holds"
    assert verdict("dvao-trusts-noise", spurious_reward=spurious(lambda sd: -0.2, 0.2, 0.01)).verdict == "fails"
    assert verdict("dvao-trusts-noise", spurious_reward=spurious(lambda sd: 0.0, 0.0, 0.5)).verdict == "inconclusive"
    only = verdict("dvao-trusts-noise", spurious_reward=spurious(lambda sd: 0.3 if sd > 5 else -0.2, 0.2, 0.01))
    assert (only.verdict, only.condition) == ("holds only when", "spurious_sd = 10")


def group_sizes(schemes, auc, noise, seed=0):
    return runs(schemes, {"G": (2, 4, 16)}, {"auc": lambda s, lv: auc(s, lv["G"])}, noise=noise, seed=seed)


def test_dvao_small_g_flips():
    def auc(extra):
        return lambda s, g: 0.7 - (0.05 if g < 16 else 0) - (extra(g) if s == "dvao" and g < 16 else 0)

    assert verdict("dvao-small-g", group_size=group_sizes(["rc", "dvao"], auc(lambda g: 0.05), 0.01)).verdict == "holds"
    assert verdict("dvao-small-g", group_size=group_sizes(["rc", "dvao"], auc(lambda g: -0.05), 0.01)).verdict == "fails"
    assert verdict("dvao-small-g", group_size=group_sizes(["rc", "dvao"], auc(lambda g: 0), 0.3, 2)).verdict == "inconclusive"
    only = verdict("dvao-small-g", group_size=group_sizes(["rc", "dvao"], auc(lambda g: 0.05 * (g == 2)), 0.01, 2))
    assert (only.verdict, only.condition) == ("holds only when", "G = 2")


def test_dvao_ema_small_g_flips():
    def frame(gain, noise):
        return group_sizes(["dvao", "dvao-ema"], lambda s, g: 0.6 + (gain(g) if s == "dvao-ema" else 0), noise)

    assert verdict("dvao-ema-small-g", group_size=frame(lambda g: 0.03, 0.01)).verdict == "holds"
    assert verdict("dvao-ema-small-g", group_size=frame(lambda g: -0.03, 0.01)).verdict == "fails"
    assert verdict("dvao-ema-small-g", group_size=frame(lambda g: 0.0, 0.3)).verdict == "inconclusive"
    only = verdict("dvao-ema-small-g", group_size=frame(lambda g: 0.03 if g == 2 else -0.03, 0.01))
    assert (only.verdict, only.condition) == ("holds only when", "G = 2")


def saturation(gain, noise):
    return runs(["rc", "saw-grpo", "gdpo", "saw-gdpo"], {"saturation": (0.0, 10.0)}, {
        "auc": lambda s, lv: 0.8 + (gain(s, lv["saturation"]) if s.startswith("saw") else 0)}, noise=noise)


def test_saw_saturation_flips():
    assert verdict("saw-saturation", saturation=saturation(lambda s, x: 0.02, 0.005)).verdict == "holds"
    assert verdict("saw-saturation", saturation=saturation(lambda s, x: -0.02, 0.005)).verdict == "fails"
    assert verdict("saw-saturation", saturation=saturation(lambda s, x: 0.0, 0.2)).verdict == "inconclusive"
    only = verdict("saw-saturation", saturation=saturation(lambda s, x: 0.02 if s == "saw-grpo" else -0.02, 0.005))
    assert (only.verdict, only.condition) == ("holds only when", "scheme=saw-grpo, saturation=10")


def test_saw_overhead_flips_on_the_llm_share_and_needs_an_llm_run():
    def llm(share, noise, seed=0):
        rng = np.random.default_rng(seed)
        return pd.DataFrame({"scheme": ["saw-gdpo"] * 6 + ["rc"] * 6,
                             "overhead_share": share / 100 + noise / 100 * rng.standard_normal(12)})

    assert verdict("saw-overhead", llm=llm(0.2, 0.05), overhead=None).verdict == "holds"
    assert verdict("saw-overhead", llm=llm(5.0, 0.05), overhead=None).verdict == "fails"
    assert verdict("saw-overhead", llm=llm(2.7, 3.0), overhead=None).verdict == "inconclusive"
    timing = pd.DataFrame({"B": 2048, "G": 16, "K": 2, "scheme": ["rc", "saw-gdpo"], "relative_to_rc": [1.0, 2.5],
                           "ms_per_call": [0.4, 1.0]})
    missing = verdict("saw-overhead", llm=None, overhead=timing)
    assert missing.verdict == "inconclusive" and "mowsim llm" in missing.reason and "2.5x" in missing.reason


def hv_curves(dynamic_reach, noise, seed=0):
    """HV(t) rises linearly to 0.6 at step ``reach`` (per scheme), then stays; ``noise`` jitters each run's reach."""
    rng = np.random.default_rng(seed)
    rows = []
    for scheme, instance, s in itertools.product(("rc", "hv-guided", "gradient"), INSTANCES, SEEDS):
        reach = (40 if scheme == "rc" else dynamic_reach(scheme)) + noise * rng.standard_normal()
        for step in range(0, 101, 5):
            rows.append({"scheme": scheme, "instance": instance, "seed": s, "step": step,
                         "hypervolume": 0.6 * min(1.0, step / max(reach, 1.0))})
    return pd.DataFrame(rows)


def test_lu_fewer_steps_flips():
    name = "pareto_front.hypervolume_curves"
    holds = claims.evaluate("lu-fewer-steps", {name: hv_curves(lambda s: 20, 1.0)})
    assert holds.verdict == "holds" and holds.effect == pytest.approx(20, abs=3)
    assert claims.evaluate("lu-fewer-steps", {name: hv_curves(lambda s: 60, 1.0)}).verdict == "fails"
    assert claims.evaluate("lu-fewer-steps", {name: hv_curves(lambda s: 40, 20.0)}).verdict == "inconclusive"
    only = claims.evaluate("lu-fewer-steps", {name: hv_curves(lambda s: 20 if s == "gradient" else 60, 1.0)})
    assert (only.verdict, only.condition) == ("holds only when", "scheme = gradient")


def reliable(share, noise, seed=0):
    def final(s, lv):
        if s == "dvao":
            return 0.8
        return 0.5 + 0.3 * share(lv["spurious_sd"])

    frame = runs(["dvao", "dvao-reliable"], {"spurious_sd": (0.0, 1.0, 10.0)}, {"final": final}, noise=noise, seed=seed)
    return frame.assign(initial=0.5)


def test_dvao_reliable_spurious_flips():
    assert verdict("dvao-reliable-spurious", spurious_reward=reliable(lambda sd: 0.97, 0.01)).verdict == "holds"
    assert verdict("dvao-reliable-spurious", spurious_reward=reliable(lambda sd: 0.6, 0.01)).verdict == "fails"
    assert verdict("dvao-reliable-spurious", spurious_reward=reliable(lambda sd: 0.9, 0.3, 1)).verdict == "inconclusive"
    only = verdict("dvao-reliable-spurious", spurious_reward=reliable(lambda sd: 0.97 if sd < 5 else 0.6, 0.01))
    assert (only.verdict, only.condition) == ("holds only when", "spurious_sd = 1")


def transfer_pairs(*rows):
    """A transfer_pairs.csv: rows of (variant, sim_diff, sim_separates, llm_diff, llm_low, llm_high)."""
    return pd.DataFrame([{"variant": v, "a": "rc", "b": "gdpo", "sim_diff": sim, "sim_separates": sep,
                          "llm_diff": d, "llm_diff_low": low, "llm_diff_high": high}
                         for v, sim, sep, d, low, high in rows])


def test_llm_transfer_flips_on_the_llm_pairs():
    agree = ("spurious-3", -0.01, True, -0.2, -0.3, -0.1)  # predicted a < b; the LLM separates them the same way
    unclear = ("noise-3", 0.01, True, 0.02, -0.05, 0.09)
    reversed_ = ("noise-3", 0.01, True, -0.2, -0.3, -0.1)
    ignored = ("clean", 0.0, False, 0.5, 0.4, 0.6)  # the simulation did not separate it: not a prediction
    held = verdict("llm-transfer", llm_transfer=transfer_pairs(agree, ignored))
    assert (held.verdict, held.effect, held.n) == ("holds", 1.0, 1)
    only = verdict("llm-transfer", llm_transfer=transfer_pairs(agree, unclear))
    assert (only.verdict, only.condition) == ("holds only when", "variant = spurious-3")
    assert verdict("llm-transfer", llm_transfer=transfer_pairs(reversed_)).verdict == "fails"
    assert verdict("llm-transfer", llm_transfer=transfer_pairs(unclear)).verdict == "inconclusive"
    missing = verdict("llm-transfer", llm_transfer=None)
    assert missing.verdict == "inconclusive" and "mowsim llm --transfer" in missing.reason


# ---- balance, gate or spread ---------------------------------------------------------------------------------------

BALANCING = ["rc", "ac", "gdpo", "dvao", "saw-gdpo"]


def balance_runs(gap, noise: float = 0.001, seed: int = 0) -> pd.DataFrame:
    """balance_vs_spread per-run rows: the balancing schemes score ``0.9 + gap(structure)``, vpo (m=3) 0.9."""
    def value(scheme, lv):
        return 0.9 + (0.0 if scheme == "vpo (m=3)" else gap(lv["structure"]))

    return runs(BALANCING + ["vpo (m=3)"], {"structure": (0.0, 0.5, 1.0, 1.5, 2.0)},
                {"best_at_4_dirichlet": value, "hidden_auc": value}, noise=noise, seed=seed)


def test_balance_spread_crossover_flips():
    crossing = verdict("balance-spread-crossover", balance_vs_spread=balance_runs(lambda s: 0.01 * (1 - s)))
    assert crossing.verdict == "holds" and abs(crossing.effect - 1.0) < 0.05
    always = verdict("balance-spread-crossover", balance_vs_spread=balance_runs(lambda s: 0.01))
    assert (always.verdict, always.condition) == ("holds only when", "structure in {0, 0.5}")
    assert verdict("balance-spread-crossover", balance_vs_spread=balance_runs(lambda s: -0.01)).verdict == "holds only when"
    never = verdict("balance-spread-crossover", balance_vs_spread=balance_runs(lambda s: 0.01 * (s - 1)))
    assert never.verdict == "fails"


def test_balance_hidden_conflict_flips():
    assert verdict("balance-hidden-conflict", balance_vs_spread=balance_runs(lambda s: 0.05)).verdict == "holds"
    assert verdict("balance-hidden-conflict", balance_vs_spread=balance_runs(lambda s: -0.05)).verdict == "fails"
    assert verdict("balance-hidden-conflict", balance_vs_spread=balance_runs(lambda s: 0.0, 0.3)).verdict == "inconclusive"


def gate_runs(gate_gain) -> pd.DataFrame:
    """rubric_gates per-run rows: dense schemes 0.7, gated ``0.7 + gate_gain(correlation)``."""
    return runs(["rc", "dvao", "gdpo", "gated"], {"correlation": (0.6, -0.6, -0.9)},
                {"true_auc": lambda scheme, lv: 0.7 + (gate_gain(lv["correlation"]) if scheme == "gated" else 0.0)})


def test_gate_beats_gameable_flips():
    assert verdict("gate-beats-gameable", rubric_gates=gate_runs(lambda c: 0.05)).verdict == "holds"
    assert verdict("gate-beats-gameable", rubric_gates=gate_runs(lambda c: -0.05)).verdict == "fails"
    only = verdict("gate-beats-gameable", rubric_gates=gate_runs(lambda c: 0.05 if c < -0.7 else -0.05))
    assert (only.verdict, only.condition) == ("holds only when", "correlation = -0.9")


def front_runs(dynamic_gain, noise: float = 0.01) -> pd.DataFrame:
    """nonconvex_front per-run rows at p in {0.5, 0.75}: the fixed schemes lose 0.4 of off-hull mass, the dynamic
    ones ``dynamic_gain(p)``; the final mass is the uniform start's 0.625 plus the gain."""
    fixed = ("rc", "ac", "gdpo", "dvao")

    def gain(scheme, lv):
        return -0.4 if scheme in fixed else dynamic_gain(lv["p"])

    frame = runs([*fixed, "hv-guided", "gradient"], {"p": (0.5, 0.75), "w1": (0.2, 0.8)},
                 {"off_hull_gain": gain}, noise=noise)
    return frame.assign(off_hull_final=0.625 + frame["off_hull_gain"])


def test_lu_nonconvex_flips():
    assert verdict("lu-nonconvex", nonconvex_front=front_runs(lambda p: 0.05)).verdict == "holds"
    assert verdict("lu-nonconvex", nonconvex_front=front_runs(lambda p: -0.3)).verdict == "fails"
    # no change at all: the gain CI sits on 0
    assert verdict("lu-nonconvex", nonconvex_front=front_runs(lambda p: 0.0, noise=0.0)).verdict == "inconclusive"
    only = verdict("lu-nonconvex", nonconvex_front=front_runs(lambda p: 0.05 if p < 0.6 else -0.3))
    assert (only.verdict, only.condition) == ("holds only when", "scheme=hv-guided, p=0.5; scheme=gradient, p=0.5")
    # a convex front (p >= 1) has no off-hull arms: out of scope
    convex = front_runs(lambda p: 0.05).assign(p=lambda f: f["p"] + 1.0)
    assert verdict("lu-nonconvex", nonconvex_front=convex).verdict == "inconclusive"


def plumbing_runs(scheme_size, plumbing_size, *, noise: float = 0.05) -> pd.DataFrame:
    """plumbing per-run rows (one instance, 8 seeds): ``final = scheme_size(world) * s + plumbing_size(world) * p +
    noise``, with s a fixed spread over the schemes and p over the (normalization, aggregation) cells."""
    rng = np.random.default_rng(0)
    schemes = ("rc", "ac", "gdpo", "dvao", "saw-grpo")
    normalizations = ("group", "batch", "none")
    rows = []
    for world in ("length", "format", "bandit"):
        aggregations = ("n/a",) if world == "bandit" else ("seq-mean", "token-mean", "token-sum")
        for (i, scheme), (j, norm), (k, agg), seed in itertools.product(
                enumerate(schemes), enumerate(normalizations), enumerate(aggregations), SEEDS):
            final = (scheme_size(world) * (i - 2) / 2 + plumbing_size(world) * ((j - 1) + (k - 1) * (agg != "n/a"))
                     + noise * rng.standard_normal())
            rows.append({"world": world, "scheme": scheme, "normalization": norm, "aggregation": agg,
                         "instance": 0, "seed": seed, "final": final, "auc": final})
    return pd.DataFrame(rows)


def test_plumbing_over_name_flips():
    held = verdict("plumbing-over-name", plumbing=plumbing_runs(lambda w: 0.01, lambda w: 0.3))
    assert held.verdict == "holds" and held.ci_low > 0 and held.n == 5 * 3 * 8
    assert verdict("plumbing-over-name", plumbing=plumbing_runs(lambda w: 0.3, lambda w: 0.01)).verdict == "fails"
    only = verdict("plumbing-over-name", plumbing=plumbing_runs(lambda w: 0.3 if w == "bandit" else 0.01,
                                                                lambda w: 0.01 if w == "bandit" else 0.3))
    assert (only.verdict, only.condition) == ("holds only when", "world in {length, format}")
    assert only.effect < 0  # the bandit binds
    assert verdict("plumbing-over-name", plumbing=plumbing_runs(lambda w: 0.0, lambda w: 0.0)).verdict == "inconclusive"
    unbalanced = plumbing_runs(lambda w: 0.01, lambda w: 0.3).iloc[1:]
    assert verdict("plumbing-over-name", plumbing=unbalanced).verdict == "inconclusive"


# ---- registry, ledger, README ------------------------------------------------------------------------------------

REQUIRED = ("dvao-prop1-rc", "dvao-prop1-ac", "dvao-prop1-ac-printed", "dvao-prop2-pointwise", "dvao-prop3-exact",
            "dvao-prop3-printed", "dvao-rc-explodes", "dvao-pareto", "dvao-trusts-noise", "dvao-small-g",
            "gdpo-k-scale", "saw-saturation", "saw-overhead", "lu-fewer-steps", "dvao-reliable-spurious",
            "dvao-ema-small-g", "lu-nonconvex")


def test_registry_holds_every_claim_of_the_issue_with_its_metadata():
    assert set(REQUIRED) <= set(claims.available())
    for claim_id in claims.available():
        claim = claims.get(claim_id)
        assert claim.statement and claim.source and claim.reads and claim.metric
        # a paper figure, or the transfer study's own figure (mowsim llm --transfer --out DIR/llm_transfer)
        assert claim.figure.startswith(("figures/", "llm_transfer/")) and claim.figure.endswith(".png")
        assert claim.__doc__ and len(claim.statement) < 200


def test_every_rule_is_tested_here():
    tested = set(BOUNDS_CLAIMS) | set(re.findall(r'"([a-z0-9-]+)"', Path(__file__).read_text()))
    assert set(claims.available()) <= tested


def test_missing_results_are_inconclusive_and_say_what_would_decide(tmp_path):
    verdicts = claims.evaluate_all(tmp_path)
    assert [v.claim for v in verdicts] == claims.available()
    assert all(v.verdict == "inconclusive" and v.reason for v in verdicts)
    frame = claims.ledger(verdicts)
    assert tuple(frame.columns[:10]) == ("claim", "source", "verdict", "condition", "effect", "ci_low", "ci_high",
                                         "n", "figure", "command")
    path = claims.write_ledger(verdicts, tmp_path / "claims.csv")
    assert claims.read_ledger(path)["claim"].tolist() == claims.available()
    assert "| `dvao-pareto` |" in claims.verdict_table(verdicts)


def test_unknown_claim_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown claim 'nope'"):
        claims.get("nope")


def test_every_claim_id_in_the_readme_exists():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    ids = set(re.findall(r"`((?:dvao|gdpo|saw|lu)-[a-z0-9-]+)`", readme))
    schemes = {"dvao-ema", "dvao-reliable", "saw-grpo", "saw-gdpo"}
    assert ids - schemes <= set(claims.available())


def test_cli_lists_and_evaluates_from_stored_results(tmp_path, capsys):
    from mowsim import cli

    assert cli.main(["claims", "--list"]) == 0
    assert "dvao-pareto" in capsys.readouterr().out
    (tmp_path / "bounds").mkdir()
    bounds_frame(("rc_mean_square",), "rc", lambda d, ddof: 0).to_csv(tmp_path / "bounds" / "bounds.csv", index=False)
    code = cli.main(["claims", "--results", str(tmp_path), "--claim", "dvao-prop1-rc", "--csv",
                     str(tmp_path / "ledger.csv")])
    out = capsys.readouterr().out
    assert code == 0 and "dvao-prop1-rc" in out and "holds" in out and "missing" not in out
    assert claims.read_ledger(tmp_path / "ledger.csv")["verdict"].tolist() == ["holds"]
