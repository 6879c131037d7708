"""Every registered claim, with its decision rule: the one file to read or change how a verdict is decided.

Each claim is a frozen dataclass whose docstring states the rule (metric, comparison, threshold) that ``decide``
applies; thresholds are fields or class attributes, fixed before any result is read.
"""

from __future__ import annotations

import dataclasses
import math
from typing import ClassVar

import numpy as np
import pandas as pd

from mowsim import analysis
from mowsim.claims.base import (Claim, Outcome, _levels, _missing, _pair_keys, all_of, by_level, combine, level_verdict,
                                mean_ci, paired, pooled_ci, register, side, two_sample_ci)

@dataclasses.dataclass(frozen=True)
class BoundsClaim(Claim):
    """A proposition checked on the groups of ``bounds.csv``: it holds at a level when no checked group of the
    named ``checks`` violates it there (a violation is an error beyond the tolerance of ``mowsim.bounds``).
    ``levels`` are the columns whose values the condition names. Effect: the share of checked groups that
    violate it, with its exact (Clopper-Pearson) 95 % CI."""

    reads: ClassVar[tuple[str, ...]] = ("bounds",)
    figure: ClassVar[str] = "figures/bounds_tightness.png"
    metric: ClassVar[str] = "share of checked groups violating it"
    checks: ClassVar[tuple[str, ...]] = ()
    schemes: ClassVar[tuple[str, ...] | None] = None
    levels: ClassVar[tuple[str, ...]] = ("ddof",)

    def decide(self, data) -> Outcome:
        missing = _missing(data, self.reads)
        if missing:
            return missing
        table = data["bounds"]
        rows = table[table["claim"].isin(self.checks)]
        if self.schemes is not None:
            rows = rows[rows["scheme"].isin(self.schemes)]
        what = "needs `mowsim bounds` rows of " + ", ".join(self.checks) + "."
        if rows.empty or rows["n_groups"].sum() == 0:
            return Outcome("inconclusive", reason=f"bounds.csv has no rows of {', '.join(self.checks)}; {what}")
        per_level = []
        for key, group in rows.groupby(list(self.levels), sort=True):
            key = key if isinstance(key, tuple) else (key,)
            level = dict(zip(self.levels, (k.item() if hasattr(k, "item") else k for k in key)))
            violations, checked = int(group["violations"].sum()), int(group["n_groups"].sum())
            per_level.append((level, "holds" if violations == 0 else "fails" if checked else "inconclusive"))
        violations, checked = int(rows["violations"].sum()), int(rows["n_groups"].sum())
        low, high = _clopper_pearson(violations, checked)
        error = rows["max_abs_error"].max()
        reason = (f"{violations:,} of {checked:,} checked groups violate it; worst ratio to the bound "
                  f"{rows['worst_ratio'].max():.6g}" + (f", largest error {error:.3g}." if np.isfinite(error) else "."))
        return combine(per_level if len(self.levels) else [({}, per_level[0][1])],
                       (violations / checked, low, high, checked), reason, what_decides=what)


def _clopper_pearson(successes: int, trials: int) -> tuple[float, float]:
    from scipy import stats

    if trials == 0:
        return (math.nan, math.nan)
    interval = stats.binomtest(successes, trials).proportion_ci(confidence_level=analysis.CONFIDENCE)
    return (float(interval.low), float(interval.high))


@register
@dataclasses.dataclass(frozen=True)
class DvaoProp1RC(BoundsClaim):
    """RC's mean-square advantage is exactly (G - ddof) / G: 1 at the papers' ddof = 0."""

    id = "dvao-prop1-rc"
    statement = "RC's mean-square advantage (1/G) sum_j A_RC^2 equals 1."
    source = "DVAO paper, Prop. 1"
    checks = ("rc_mean_square",)


@register
@dataclasses.dataclass(frozen=True)
class DvaoProp1AC(BoundsClaim):
    """AC's mean square is at most 1 and equals the general form sum w_k^2 m_k + 2 sum w_k w_l rho_kl sqrt(m_k m_l)."""

    id = "dvao-prop1-ac"
    statement = "AC's mean-square advantage is at most 1."
    source = "DVAO paper, Prop. 1"
    checks = ("ac_mean_square_le_1", "ac_mean_square_identity")


@register
@dataclasses.dataclass(frozen=True)
class DvaoProp1ACPrinted(BoundsClaim):
    """The printed identity; the condition names the (distribution, ddof) cells where no group breaks it."""

    id = "dvao-prop1-ac-printed"
    statement = "AC's mean square equals the printed 1 - 2 sum_{k<l} w_k w_l (1 - rho_kl)."
    source = "DVAO paper, Prop. 1 (printed form)"
    checks = ("ac_mean_square_paper_form",)
    levels = ("distribution", "ddof")


@register
@dataclasses.dataclass(frozen=True)
class DvaoProp2(BoundsClaim):
    """Pointwise |A_DVAO| <= |A_RC|, hence |A_DVAO| <= sqrt(G-1) and a mean square <= 1."""

    id = "dvao-prop2-pointwise"
    statement = "|A_DVAO[b,j]| <= |A_RC[b,j]| for every rollout (so |A_DVAO| <= sqrt(G-1), mean square <= 1)."
    source = "DVAO paper, Prop. 2"
    checks = ("dvao_le_rc_pointwise", "dvao_mean_square_le_1", "samuelson_max_abs")
    schemes = ("dvao",)


@register
@dataclasses.dataclass(frozen=True)
class DvaoProp3Exact(BoundsClaim):
    """The exact Jacobians of RC, AC and DVAO (off-diagonal terms included) against central differences."""

    id = "dvao-prop3-exact"
    statement = "The exact sensitivities dA/dr of RC, AC and DVAO match central differences at ddof 0 and 1."
    source = "DVAO paper, Prop. 3 (exact form)"
    checks = ("prop3_jacobian_fd",)


@register
@dataclasses.dataclass(frozen=True)
class DvaoProp3Printed(BoundsClaim):
    """Prop. 3's printed diagonal, with 1/G in the last term, against central differences at both ddof."""

    id = "dvao-prop3-printed"
    statement = "The printed sensitivity (w_k/sigma_k)(1 - 1/G - A A_k / G) is exact, at ddof 0 and 1."
    source = "DVAO paper, Prop. 3 (printed form)"
    checks = ("prop3_printed_fd",)


@register
@dataclasses.dataclass(frozen=True)
class GdpoKScale(Claim):
    """Two parts. (a) ``bounds.csv``'s worst-case search finds the unwhitened sum of K z-scores at its bound
    K sqrt(G-1) (worst ratio >= ``attained``) at every K: its scale grows linearly with K. (b) in the
    many_objectives study, the growth exponent of whitened GDPO's max |A|, ``log(mean(K_max) / mean(K_min)) /
    log(K_max / K_min)`` (1 for the unwhitened sum), has its 95 % CI below ``max_exponent``."""

    id = "gdpo-k-scale"
    statement = "The scale of GDPO's summed z-scores grows with K (up to K sqrt(G-1)); batch whitening removes it."
    source = "GDPO paper, Eq. 4-7; DVAO paper Sec. 3"
    reads = ("bounds", "many_objectives")
    figure = "figures/stability.png"
    metric = "growth exponent of whitened GDPO's max |A| in K (unwhitened: 1)"
    attained: float = 0.99
    max_exponent: float = 0.5

    def decide(self, data) -> Outcome:
        missing = _missing(data, self.reads)
        if missing:
            return missing
        search = data["bounds"]
        search = search[(search["claim"] == "gdpo_unwhitened_max_abs") & (search["source"] == "search")]
        runs = data["many_objectives"]
        runs = runs[runs["scheme"].astype(str) == "gdpo"]
        if search.empty or runs["K"].nunique() < 2:
            return Outcome("inconclusive", reason="needs the bounds search rows of gdpo_unwhitened_max_abs and "
                                                  "GDPO runs at two K or more (many_objectives).")
        reached = search.groupby("K")["worst_ratio"].max()
        grows = bool((reached >= self.attained).all())
        k_min, k_max = runs["K"].min(), runs["K"].max()
        exponent = two_sample_ci(runs.loc[runs["K"] == k_max, "max_abs_advantage"],
                                 runs.loc[runs["K"] == k_min, "max_abs_advantage"],
                                 lambda hi, lo: math.log(hi / lo) / math.log(k_max / k_min))
        removed = side(exponent[1], exponent[2], self.max_exponent, above=False)
        reason = (f"(a) the unwhitened sum reaches {reached.min():.4f}-{reached.max():.4f} of K sqrt(G-1) for K in "
                  f"{{{', '.join(str(k) for k in reached.index)}}}; (b) whitened GDPO's max |A| goes "
                  f"{runs.loc[runs['K'] == k_min, 'max_abs_advantage'].mean():.3g} -> "
                  f"{runs.loc[runs['K'] == k_max, 'max_abs_advantage'].mean():.3g} from K={k_min} to K={k_max}.")
        verdict = "fails" if not grows else removed
        if verdict == "inconclusive":
            reason += " More seeds or a wider K range would decide (b)."
        return Outcome(verdict, *exponent, reason=reason)


# ---- training studies -------------------------------------------------------------------------------------------


@register
@dataclasses.dataclass(frozen=True)
class DvaoRCExplodes(Claim):
    """Per K of many_objectives, paired by (instance, seed): RC's max |A| exceeds DVAO's (CI above 0) and DVAO's
    share of the achievable gain exceeds RC's (CI above 0). A level holds when both do, fails when either CI lies
    below 0. Effect: DVAO's minus RC's ``normalized_final``, pooled over K."""

    id = "dvao-rc-explodes"
    statement = "RC's advantage magnitudes explode and destabilize training; DVAO's stay bounded."
    source = "DVAO paper, Sec. 1 and 3 (motivation of Prop. 2)"
    reads = ("many_objectives",)
    figure = "figures/stability.png"
    metric = "normalized_final(DVAO) - normalized_final(RC)"

    def decide(self, data) -> Outcome:
        missing = _missing(data, self.reads)
        if missing:
            return missing
        runs = data["many_objectives"]
        magnitude = paired(runs, "max_abs_advantage", {"scheme": "rc"}, {"scheme": "dvao"}, on=["K"])
        progress = paired(runs, "normalized_final", {"scheme": "dvao"}, {"scheme": "rc"}, on=["K"])
        ks = _levels(progress, "K")
        levels = [({"K": k}, all_of([level_verdict(mean_ci(frame.loc[frame["K"] == k, "difference"], len(ks)))
                                     for frame in (magnitude, progress)])) for k in ks]
        pooled = pooled_ci(progress, "difference")
        reason = (f"RC's max |A| exceeds DVAO's by {magnitude['difference'].mean():.3g} on average (RC is itself "
                  f"capped at sqrt(G-1), see dvao-prop2-pointwise); DVAO's share of the achievable gain minus RC's: "
                  f"{pooled[0]:.3g}.")
        return combine(levels, pooled, reason, what_decides="More seeds per K would decide.")


@register
@dataclasses.dataclass(frozen=True)
class DvaoParetoDominance(Claim):
    """Per (instance, seed) of pareto_front: the hypervolume of DVAO's front (its final points over every weight)
    minus that of the best baseline among RC, AC and GDPO (the one with the highest mean hypervolume). Holds if
    the 95 % CI of the paired difference lies above 0, fails if below."""

    id = "dvao-pareto"
    statement = "On two objectives DVAO's Pareto front dominates RC's, AC's and GDPO's (higher hypervolume)."
    source = "DVAO paper, Sec. 4 (Tables 1-2, Fig. 1)"
    reads = ("pareto_front.seed_hypervolumes",)
    figure = "figures/pareto_fronts.png"
    metric = "HV(DVAO) - HV(best of RC, AC, GDPO)"
    baselines: tuple = ("rc", "ac", "gdpo")

    def decide(self, data) -> Outcome:
        missing = _missing(data, self.reads)
        if missing:
            return missing
        hv = data["pareto_front.seed_hypervolumes"].assign(scheme=lambda f: f["scheme"].astype(str))
        present = [s for s in self.baselines if s in set(hv["scheme"])]
        if "dvao" not in set(hv["scheme"]) or not present:
            return Outcome("inconclusive", reason="needs DVAO and at least one of RC, AC, GDPO in pareto_front.")
        best = max(present, key=lambda s: hv.loc[hv["scheme"] == s, "hypervolume"].mean())
        diff = paired(hv, "hypervolume", {"scheme": "dvao"}, {"scheme": best})["difference"]
        effect = mean_ci(diff)
        verdict = level_verdict(effect)
        reason = (f"best baseline: {best} (HV {hv.loc[hv['scheme'] == best, 'hypervolume'].mean():.4f}); DVAO "
                  f"{hv.loc[hv['scheme'] == 'dvao', 'hypervolume'].mean():.4f}.")
        if verdict == "inconclusive":
            reason += " More seeds or instances would decide."
        return Outcome(verdict, *effect, reason=reason)


@register
@dataclasses.dataclass(frozen=True)
class DvaoTrustsNoise(Claim):
    """Per spurious_sd > 0 of spurious_reward: DVAO's mean effective weight on the pure-noise reward lies above
    the user's weight (CI above ``user_weight``, 1/3: equal weights over the study's three objectives) and its
    final true reward lies below its own at spurious_sd = 0 (paired CI of the loss above 0). A level holds when
    both do. Effect: the weight on the noise minus the user's weight, pooled over the levels."""

    id = "dvao-trusts-noise"
    statement = "Variance weighting trusts a noisy or spurious reward: DVAO moves weight to it and loses true reward."
    source = "DVAO paper, Limitations"
    reads = ("spurious_reward",)
    figure = "figures/spurious.png"
    metric = "DVAO's weight on the spurious reward - user weight"
    user_weight: float = 1 / 3

    def decide(self, data) -> Outcome:
        missing = _missing(data, self.reads)
        if missing:
            return missing
        runs = data["spurious_reward"]
        dvao = runs[runs["scheme"].astype(str) == "dvao"]
        clean = dvao[dvao["spurious_sd"] == 0].groupby(_pair_keys(dvao))["final"].mean().rename("clean")
        dvao = dvao.join(clean, on=_pair_keys(dvao))
        dvao = dvao.assign(excess=dvao["spurious_weight"] - self.user_weight, loss=dvao["clean"] - dvao["final"])
        weight = by_level(dvao, "excess", "spurious_sd", keep=lambda v: v > 0)
        loss = by_level(dvao, "loss", "spurious_sd", keep=lambda v: v > 0)
        levels = [(level, all_of([a, b])) for (level, a), (_, b) in zip(weight, loss)]
        scope = dvao[dvao["spurious_sd"] > 0]
        pooled = pooled_ci(scope, "excess")
        top = scope[scope["spurious_sd"] == scope["spurious_sd"].max()] if len(scope) else scope
        reason = (f"at the largest sd DVAO puts {top['spurious_weight'].mean():.3g} on the noise and its true reward "
                  f"is {top['final'].mean():.3g} (clean: {dvao['clean'].mean():.3g}).") if len(top) else ""
        return combine(levels, pooled, reason, what_decides="More seeds per level would decide.")


@register
@dataclasses.dataclass(frozen=True)
class DvaoSmallG(Claim):
    """Per G <= ``small`` of group_size (fixed rollout budget B*G), paired by (instance, seed): DVAO's loss of
    true-reward AUC from G = ``reference`` (the papers' G) to G, minus RC's loss over the same step (RC has one
    variance, of the summed reward; DVAO one per objective). Holds at a level if the CI of that extra loss lies
    above 0."""

    id = "dvao-small-g"
    statement = "DVAO's per-objective variance estimates are unreliable at G <= 4: it loses more there than RC."
    source = "DVAO paper, Limitations"
    reads = ("group_size",)
    figure = "figures/group_size.png"
    metric = "extra AUC loss of DVAO over RC from G=16 to small G"
    small: int = 4
    reference: int = 16

    def decide(self, data) -> Outcome:
        missing = _missing(data, self.reads)
        if missing:
            return missing
        runs = data["group_size"]
        keys = _pair_keys(runs)
        wide = runs.pivot_table(index=keys + ["G"], columns="scheme", values="auc", observed=True)
        if not {"dvao", "rc"} <= set(wide.columns.astype(str)) or self.reference not in set(runs["G"]):
            return Outcome("inconclusive", reason=f"needs DVAO and RC at G={self.reference} and G<={self.small}.")
        wide.columns = wide.columns.astype(str)
        gap = (wide["rc"] - wide["dvao"]).rename("gap").reset_index()  # RC minus DVAO at each G
        at_reference = gap[gap["G"] == self.reference].set_index(keys)["gap"]
        gap = gap.join(at_reference.rename("ref"), on=keys)
        gap["extra_loss"] = gap["gap"] - gap["ref"]
        levels = by_level(gap, "extra_loss", "G", keep=lambda v: v <= self.small)
        scope = gap[gap["G"] <= self.small]
        pooled = pooled_ci(scope, "extra_loss")
        reason = f"DVAO's AUC loss from G={self.reference} to G<={self.small}, beyond RC's: {pooled[0]:.3g}."
        return combine(levels, pooled, reason, what_decides="More seeds per G would decide.")


@register
@dataclasses.dataclass(frozen=True)
class SawSaturation(Claim):
    """Per saturation > 0 of the saturation study, paired by (instance, seed): the hard objective's AUC under
    SAW-GRPO minus RC's, and under SAW-GDPO minus GDPO's. A (variant, saturation) level holds if the CI lies
    above 0. Effect: the difference pooled over both variants and every saturation > 0."""

    id = "saw-saturation"
    statement = "SAW's batch-CV weighting learns the hard objective faster under asynchronous saturation (GRPO and GDPO)."
    source = "SAW paper, Sec. 3 (asynchronous learning)"
    reads = ("saturation",)
    figure = "figures/saturation.png"
    metric = "hard-objective AUC: SAW minus its base (RC or GDPO)"
    pairs: tuple = (("saw-grpo", "rc"), ("saw-gdpo", "gdpo"))

    def decide(self, data) -> Outcome:
        missing = _missing(data, self.reads)
        if missing:
            return missing
        runs = data["saturation"]
        levels, pooled = [], []
        n_levels = len(self.pairs) * len(_levels(runs, "saturation", lambda v: v > 0))
        for variant, base in self.pairs:
            diff = paired(runs, "auc", {"scheme": variant}, {"scheme": base}, on=["saturation"])
            diff = diff[diff["saturation"] > 0]
            pooled.append(diff)
            levels += [({"scheme": variant, "saturation": s},
                        level_verdict(mean_ci(diff.loc[diff["saturation"] == s, "difference"], n_levels)))
                       for s in _levels(diff, "saturation")]
        pooled = pooled_ci(pd.concat(pooled), "difference") if pooled else (math.nan, math.nan, math.nan, 0)
        reason = f"SAW's hard-objective AUC minus its base's, pooled over saturation > 0: {pooled[0]:.3g}."
        return combine(levels, pooled, reason, what_decides="More seeds per saturation level would decide.")


@register
@dataclasses.dataclass(frozen=True)
class SawOverhead(Claim):
    """SAW's share of training-step time, from the LLM harness (``llm/summary.csv``, ``overhead_share`` of the SAW
    runs, bootstrap over seeds): holds if its CI lies below ``upper`` (2.7 %, the paper's upper figure), fails if
    above. The overhead study times the schemes alone, without a training step to divide by: without an LLM run
    the claim is inconclusive, and the reason gives the overhead study's SAW time relative to RC."""

    id = "saw-overhead"
    statement = "SAW's overhead is 0.9-2.7 % of step time."
    source = "SAW paper, Sec. 5 (efficiency)"
    reads = ("overhead", "llm")
    figure = "figures/overhead.png"
    metric = "SAW's share of training-step time (%)"
    upper: float = 2.7

    def decide(self, data) -> Outcome:
        timing = data.get("overhead")
        study = ""
        if timing is not None and len(timing):
            runs = timing[timing["B"] == timing["B"].max()]
            saw = runs[runs["scheme"].astype(str).str.startswith("saw")]["relative_to_rc"]
            study = (f" The overhead study: SAW takes {saw.mean():.3g}x RC's time at B*G = "
                     f"{int(runs['B'].max() * runs['G'].iloc[0])} rollouts "
                     f"({runs.loc[runs['scheme'].astype(str).str.startswith('saw'), 'ms_per_call'].mean():.3g} ms).")
        llm = data.get("llm")
        llm = None if llm is None else llm[llm["scheme"].astype(str).str.startswith("saw")]
        if llm is None or llm.empty:
            return Outcome("inconclusive", reason="no LLM run: the share of a training step needs one (`mowsim llm "
                                                  "--quick --out DIR/llm` measures it)." + study)
        effect = mean_ci(100 * llm["overhead_share"])
        verdict = side(effect[1], effect[2], self.upper, above=False)
        return Outcome(verdict, *effect, reason=f"LLM harness, {len(llm)} SAW run(s)." + study)


@register
@dataclasses.dataclass(frozen=True)
class LuFewerSteps(Claim):
    """From the pareto_front history, per (instance, seed): the target is ``share`` (90 %) of the fixed-weight (RC)
    front's hypervolume gain over training, ``HV_0 + share (HV_RC,final - HV_0)`` (RC's front still grows at its
    last step, so its own final value would be reached only there); each scheme's steps are the first step its
    front (its expected-reward vectors over every weight, at that step) reaches the target; one that never does
    counts as one step past the end (which favours it). Effect: RC's steps minus the dynamic scheme's, paired; a
    scheme holds if the CI lies above 0. Lu et al. report 6.1 steps fewer."""

    id = "lu-fewer-steps"
    statement = "Dynamic weighting (hv-guided, gradient) reaches Pareto-dominant fronts in fewer steps than fixed weights (6.1 on average)."
    source = "Lu et al. 2025 (arXiv 2509.11452), Sec. 5"
    reads = ("pareto_front.hypervolume_curves",)
    figure = "figures/pareto_fronts.png"
    metric = "steps(RC) - steps(dynamic) to 90 % of RC's hypervolume gain"
    dynamic: tuple = ("hv-guided", "gradient")
    fixed: str = "rc"
    share: float = 0.9

    def decide(self, data) -> Outcome:
        missing = _missing(data, self.reads)
        if missing:
            return missing
        curves = data["pareto_front.hypervolume_curves"].assign(scheme=lambda f: f["scheme"].astype(str))
        keys = _pair_keys(curves)
        last = curves["step"].max()
        fixed = curves[curves["scheme"] == self.fixed]
        if fixed.empty:
            return Outcome("inconclusive", reason=f"needs {self.fixed} in pareto_front.")
        start = fixed[fixed["step"] == fixed["step"].min()].set_index(keys)["hypervolume"]
        end = fixed[fixed["step"] == last].set_index(keys)["hypervolume"]
        target = (start + self.share * (end - start)).rename("target")

        def steps(rows):
            rows = rows.join(target, on=keys)
            hit = rows[rows["hypervolume"] >= rows["target"]].groupby(keys)["step"].min()
            return hit.reindex(target.index).fillna(last + 1)

        fixed_steps = steps(fixed)
        levels, pooled = [], []
        for scheme in self.dynamic:
            rows = curves[curves["scheme"] == scheme]
            if rows.empty:
                continue
            diff = (fixed_steps - steps(rows)).dropna()
            pooled.append(diff)
            levels.append(({"scheme": scheme}, level_verdict(mean_ci(diff, len(self.dynamic)))))
        pooled_effect = pooled_ci(pd.concat(pooled).rename("difference").reset_index(), "difference") if pooled else (math.nan, math.nan, math.nan, 0)
        reason = (f"RC reaches {self.share:.0%} of its hypervolume gain at step {fixed_steps.mean():.3g} on average "
                  f"(of {last}); "
                  f"dynamic minus fixed, pooled: {pooled_effect[0]:.3g} steps fewer.")
        return combine(levels, pooled_effect, reason, what_decides="More seeds would decide.")


@register
@dataclasses.dataclass(frozen=True)
class DvaoReliableSpurious(Claim):
    """Per spurious_sd > 0 of spurious_reward: dvao-reliable's gain of true reward (final - initial) as a share of
    DVAO's clean gain (spurious_sd = 0, same instance); holds at a level if the CI lies above ``keep`` (0.9)."""

    id = "dvao-reliable-spurious"
    statement = "mowsim's dvao-reliable keeps its progress under a spurious reward (>= 90 % of DVAO's clean gain)."
    source = "mowsim (this toolkit), schemes/dynamic.py"
    reads = ("spurious_reward",)
    figure = "figures/spurious.png"
    metric = "dvao-reliable's gain / DVAO's clean gain"
    keep: float = 0.9

    def decide(self, data) -> Outcome:
        missing = _missing(data, self.reads)
        if missing:
            return missing
        runs = data["spurious_reward"].assign(gain=lambda f: f["final"] - f["initial"])
        by = [k for k in ("instance",) if k in runs]
        clean = runs[(runs["scheme"].astype(str) == "dvao") & (runs["spurious_sd"] == 0)]
        if clean.empty:
            return Outcome("inconclusive", reason="needs DVAO at spurious_sd = 0 as the clean reference.")
        reference = clean.groupby(by)["gain"].mean() if by else pd.Series({0: clean["gain"].mean()})
        reliable = runs[runs["scheme"].astype(str) == "dvao-reliable"]
        share = reliable["gain"] / (reliable[by[0]].map(reference) if by else reference.iloc[0])
        reliable = reliable.assign(share=share)
        levels = by_level(reliable, "share", "spurious_sd", self.keep, keep=lambda v: v > 0)
        pooled = pooled_ci(reliable[reliable["spurious_sd"] > 0], "share")
        reason = f"dvao-reliable keeps {pooled[0]:.3g} of DVAO's clean gain on average over spurious_sd > 0."
        return combine(levels, pooled, reason, what_decides="More seeds per level would decide.")


@register
@dataclasses.dataclass(frozen=True)
class DvaoEmaSmallG(Claim):
    """Per G <= ``small`` of group_size, paired by (instance, seed): dvao-ema's true-reward AUC minus DVAO's;
    holds at a level if the CI lies above 0."""

    id = "dvao-ema-small-g"
    statement = "mowsim's dvao-ema (cross-batch pooled variance) helps DVAO at small G (G <= 4)."
    source = "mowsim (this toolkit), schemes/dynamic.py"
    reads = ("group_size",)
    figure = "figures/group_size.png"
    metric = "AUC(dvao-ema) - AUC(dvao)"
    small: int = 4

    def decide(self, data) -> Outcome:
        missing = _missing(data, self.reads)
        if missing:
            return missing
        diff = paired(data["group_size"], "auc", {"scheme": "dvao-ema"}, {"scheme": "dvao"}, on=["G"])
        diff = diff[diff["G"] <= self.small]
        levels = by_level(diff, "difference", "G")
        pooled = pooled_ci(diff, "difference")
        reason = f"dvao-ema minus DVAO, true-reward AUC at G <= {self.small}: {pooled[0]:.3g}."
        return combine(levels, pooled, reason, what_decides="More seeds per G would decide.")


@register
@dataclasses.dataclass(frozen=True)
class LlmTransfer(Claim):
    """The sim-to-LLM transfer table (``llm_transfer/transfer_pairs.csv`` of ``mowsim llm --transfer``). For each
    pair of schemes that the simulation separates (95 % CI of the difference excludes 0) in a variant, the LLM's
    difference turned to the predicted direction: the pair holds if its 95 % CI lies above 0, fails if below (the
    LLM separates them the other way), else is inconclusive. A variant holds when every pair it predicts holds
    (:func:`all_of`), fails when one fails. Effect: the share of predicted pairs that hold, with its exact
    (Clopper-Pearson) 95 % CI, over all variants."""

    id = "llm-transfer"
    statement = "The simulated orderings hold on a small LLM trained through TRL (mowsim llm --transfer)."
    source = "mowsim (this toolkit), issue 12; mowsim/llm/transfer.py"
    reads = ("llm_transfer",)
    figure = "llm_transfer/transfer.png"  # written by `mowsim llm --transfer --out DIR/llm_transfer`
    metric = "share of the simulation's separated pairs the LLM separates the same way"

    def decide(self, data) -> Outcome:
        missing = _missing(data, self.reads)
        if missing:
            return Outcome("inconclusive", reason="no transfer table: run `mowsim llm --transfer --quick --out "
                                                  "DIR/llm_transfer` (about 15 minutes on two CPU cores).")
        pairs = data["llm_transfer"]
        predicted = pairs[pairs["sim_separates"].astype(bool)]
        levels, held, counts = [], 0, []
        for variant, group in predicted.groupby("variant", sort=False):
            direction = np.sign(group["sim_diff"].to_numpy())
            low = np.where(direction > 0, group["llm_diff_low"], -group["llm_diff_high"])
            high = np.where(direction > 0, group["llm_diff_high"], -group["llm_diff_low"])
            verdicts = [side(lo, hi, 0.0) for lo, hi in zip(low, high)]
            levels.append(({"variant": variant}, all_of(verdicts)))
            held += verdicts.count("holds")
            counts.append(f"{variant}: {verdicts.count('holds')} of {len(verdicts)} held, "
                          f"{verdicts.count('fails')} reversed")
        n = len(predicted)
        low, high = _clopper_pearson(held, n) if n else (math.nan, math.nan)
        pooled = (held / n if n else math.nan, low, high, n)
        reason = "Pairs the simulation separates, on the LLM: " + "; ".join(counts) + "."
        return combine(levels, pooled, reason, what_decides="More LLM seeds per (variant, scheme) would narrow the "
                                                            "LLM's CIs (the quick run has 3).")


def _gap_frame(runs: pd.DataFrame, metric: str, treatment, control, knob: str) -> pd.DataFrame:
    """Per (instance, seed, knob): mean of ``metric`` over the ``treatment`` schemes minus the ``control`` scheme's."""
    table = runs.pivot_table(index=_pair_keys(runs) + [knob], columns="scheme", values=metric, observed=True)
    present = [s for s in treatment if s in table]
    if not present or control not in table:
        return pd.DataFrame(columns=_pair_keys(runs) + [knob, "gap"])
    return (table[present].mean(axis=1) - table[control]).dropna().rename("gap").reset_index()


@register
@dataclasses.dataclass(frozen=True)
class BalanceSpreadCrossover(Claim):
    """balance_vs_spread, paired by (instance, seed): the gap ``mean of the balancing schemes (rc, ac, gdpo, dvao,
    saw-gdpo) - vpo (m=3)`` in best@4 under downstream Dirichlet weightings after training. Per structure below 1
    (the objectives share one hidden reward) the gap's CI must lie above 0 (balance ahead); per structure strictly
    between 1 and the axis end (conflicting goods; the end, pure conflict, gives balancing no signal at equal
    weights and is left out) below 0 (spread ahead). Effect: the crossover, the structure where the mean gap turns
    from positive to non-positive (linear interpolation), with its bootstrap 95 % CI over the pairs."""

    id = "balance-spread-crossover"
    statement = ("Balance when the objectives are views of one hidden reward, spread when they conflict: VPO beats "
                 "the balancing schemes on best@4 exactly where the objectives' correlation is negative.")
    source = "seed note on DVAO vs VPO; VPO (Bahlous-Boldi et al., arXiv 2605.22817)"
    reads = ("balance_vs_spread",)
    figure = "figures/balance_vs_spread.png"
    metric = "structure where spread starts to beat balance on best@4 (downstream weightings)"
    balancing: tuple = ("rc", "ac", "gdpo", "dvao", "saw-gdpo")
    spread: str = "vpo (m=3)"
    value: str = "best_at_4_dirichlet"

    def decide(self, data) -> Outcome:
        missing = _missing(data, self.reads)
        if missing:
            return missing
        runs = data["balance_vs_spread"]
        gaps = _gap_frame(runs, self.value, self.balancing, self.spread, "structure")
        if gaps.empty:
            return Outcome("inconclusive", reason=f"needs {self.balancing} and {self.spread!r} in the results.")
        end = gaps["structure"].max()
        shared = by_level(gaps, "gap", "structure", keep=lambda v: v < 1.0)
        conflict = by_level(gaps, "gap", "structure", above=False, keep=lambda v: 1.0 < v < end)
        found = analysis.study_analysis("balance_vs_spread")._crossover(runs, self.value)
        effect = (found["crossover"], found["ci_low"], found["ci_high"], found["n"])
        reason = (f"balance minus spread on {self.value}: "
                  + ", ".join(f"{s:g}: {g:+.4f}" for s, g in gaps.groupby("structure")["gap"].mean().items()) + ".")
        return combine(shared + conflict, effect, reason, what_decides="More seeds per structure would decide.")


@register
@dataclasses.dataclass(frozen=True)
class BalanceHiddenConflict(Claim):
    """balance_vs_spread, paired by (instance, seed): per structure strictly between 1 and the axis end (conflicting
    objectives that still share the hidden reward), the hidden-reward AUC of the balancing schemes (their mean)
    minus vpo (m=3)'s; holds at a level if the CI lies above 0. Effect: that gap pooled over those levels."""

    id = "balance-hidden-conflict"
    statement = "Even where the objectives conflict, balancing them tracks the hidden true reward better than spreading."
    source = "seed note on DVAO vs VPO"
    reads = ("balance_vs_spread",)
    figure = "figures/balance_vs_spread.png"
    metric = "hidden-reward AUC: balancing - vpo (m=3)"
    balancing: tuple = ("rc", "ac", "gdpo", "dvao", "saw-gdpo")
    spread: str = "vpo (m=3)"

    def decide(self, data) -> Outcome:
        missing = _missing(data, self.reads)
        if missing:
            return missing
        gaps = _gap_frame(data["balance_vs_spread"], "hidden_auc", self.balancing, self.spread, "structure")
        if gaps.empty:
            return Outcome("inconclusive", reason=f"needs {self.balancing} and {self.spread!r} in the results.")
        end = gaps["structure"].max()
        scope = gaps[(gaps["structure"] > 1.0) & (gaps["structure"] < end)]
        levels = by_level(scope, "gap", "structure")
        pooled = pooled_ci(scope, "gap") if len(scope) else (math.nan, math.nan, math.nan, 0)
        reason = f"balancing minus spread, hidden-reward AUC at 1 < structure < {end:g}: {pooled[0]:.3g}."
        return combine(levels, pooled, reason, what_decides="Levels between 1 and the axis end would decide.")


@register
@dataclasses.dataclass(frozen=True)
class GateBeatsGameable(Claim):
    """rubric_gates, paired by (instance, seed): per correlation of the criterion with quality at or below
    ``gameable`` (-0.6), the true-reward AUC of the dense schemes (mean of rc, dvao, gdpo) minus gated's; holds at a
    level if the CI lies below 0 (the gate learns more true reward). Effect: that gap pooled over those levels."""

    id = "gate-beats-gameable"
    statement = "A gameable criterion is safer as a rubric gate than as a dense reward: the gate earns more true reward."
    source = "DRO (Xu et al., arXiv 2506.13351); seed note"
    reads = ("rubric_gates",)
    figure = "figures/rubric_gates.png"
    metric = "true-reward AUC: dense - gate"
    dense: tuple = ("rc", "dvao", "gdpo")
    gameable: float = -0.6

    def decide(self, data) -> Outcome:
        missing = _missing(data, self.reads)
        if missing:
            return missing
        gaps = _gap_frame(data["rubric_gates"], "true_auc", self.dense, "gated", "correlation")
        scope = gaps[gaps["correlation"] <= self.gameable + 1e-9]
        if scope.empty:
            return Outcome("inconclusive", reason=f"needs rc/dvao/gdpo and gated at correlation <= {self.gameable}.")
        levels = by_level(scope, "gap", "correlation", above=False)
        pooled = pooled_ci(scope, "gap")
        reason = f"dense minus gate, true-reward AUC at correlation <= {self.gameable:g}: {pooled[0]:.3g}."
        return combine(levels, pooled, reason, what_decides="More seeds per level would decide.")


@register
@dataclasses.dataclass(frozen=True)
class LuNonconvex(Claim):
    """nonconvex_front, per dynamic scheme (hv-guided, gradient) and curvature p < 1 (fronts with Pareto arms off
    the convex hull), over pairs (instance, seed) with each run's value averaged over the weights: (1) the dynamic
    scheme's gain of policy mass on off-hull Pareto arms (final minus initial ``mass_off_hull``) has its CI above 0
    (it moves mass onto them), and (2) its final off-hull mass minus the fixed-weight schemes' (mean of rc, ac,
    gdpo, dvao), paired, has its CI above 0. A level holds if both parts hold, fails if either fails (CIs widened
    for the number of levels). Effect: the dynamic schemes' off-hull gain, pooled over the levels."""

    id = "lu-nonconvex"
    statement = ("Dynamic weighting (hv-guided, gradient) moves mass onto Pareto arms off the convex hull, which "
                 "fixed linear weights cannot reach.")
    source = "Lu et al. 2025 (arXiv 2509.11452), Sec. 1 and 3"
    reads = ("nonconvex_front",)
    figure = "figures/nonconvex_front.png"
    metric = "gain of policy mass on off-hull Pareto arms (final - initial)"
    dynamic: tuple = ("hv-guided", "gradient")
    fixed: tuple = ("rc", "ac", "gdpo", "dvao")
    nonconvex_below: float = 1.0

    def decide(self, data) -> Outcome:
        missing = _missing(data, self.reads)
        if missing:
            return missing
        frame = data["nonconvex_front"].assign(scheme=lambda f: f["scheme"].astype(str))
        frame = frame[(frame["p"] < self.nonconvex_below) & frame["off_hull_gain"].notna()]
        keys = _pair_keys(frame) + ["p"]
        per_pair = frame.groupby(["scheme"] + keys, observed=True)[["off_hull_gain", "off_hull_final"]].mean()
        per_pair = per_pair.reset_index()
        fixed = per_pair[per_pair["scheme"].isin(self.fixed)].groupby(keys)[["off_hull_gain", "off_hull_final"]].mean()
        if fixed.empty:
            return Outcome("inconclusive", reason=f"needs {', '.join(self.fixed)} at p < {self.nonconvex_below:g} in "
                                                  "nonconvex_front.")
        cases = [(scheme, p) for scheme in self.dynamic for p in _levels(per_pair, "p")
                 if ((per_pair["scheme"] == scheme) & (per_pair["p"] == p)).any()]
        levels, pooled = [], []
        for scheme, p in cases:
            rows = per_pair[(per_pair["scheme"] == scheme) & (per_pair["p"] == p)].set_index(keys)
            gain = rows["off_hull_gain"]
            over_fixed = (rows["off_hull_final"] - fixed["off_hull_final"]).dropna()
            parts = [level_verdict(mean_ci(gain, len(cases))), level_verdict(mean_ci(over_fixed, len(cases)))]
            levels.append(({"scheme": scheme, "p": p}, all_of(parts)))
            pooled.append(gain.reset_index())
        if not pooled:
            return Outcome("inconclusive", reason=f"needs {' or '.join(self.dynamic)} at p < "
                                                  f"{self.nonconvex_below:g} in nonconvex_front.")
        pooled_effect = pooled_ci(pd.concat(pooled, ignore_index=True), "off_hull_gain")
        reason = (f"Off-hull mass gain, final - initial: dynamic {pooled_effect[0]:.3g} pooled; fixed weights "
                  f"{fixed['off_hull_gain'].mean():.3g}.")
        return combine(levels, pooled_effect, reason, what_decides="More seeds per level would decide.")


@register
@dataclasses.dataclass(frozen=True)
class PlumbingOverName(Claim):
    """plumbing, per world: the df-adjusted (omega squared) share of the final true reward's variance explained by
    the plumbing (advantage normalization, loss aggregation and their interaction) minus the share of the scheme's
    main effect, from the balanced ANOVA of the study's full factorial (:func:`mowsim.analysis.variance_shares`),
    with a paired percentile-bootstrap CI over seeds widened to ``1 - 0.05 / worlds`` (Bonferroni). Holds in a world
    if the CI lies above 0, fails there if below; ``holds only when world in {...}`` where it holds in some. Effect:
    the smallest per-world difference (the world that binds), with its CI; n: that world's runs."""

    id = "plumbing-over-name"
    statement = ("Advantage normalization and loss aggregation explain more of the outcome than the scheme's name "
                 "(RC, AC, GDPO, DVAO, SAW).")
    source = ("source note on Lite PPO; Liu et al., Tricks or Traps? A Deep Dive into RL for LLM Reasoning "
              "(arXiv 2508.08221)")
    reads = ("plumbing",)
    figure = "figures/plumbing.png"
    metric = "df-adjusted variance share of the final true reward: plumbing - scheme"
    response: str = "final"

    def decide(self, data) -> Outcome:
        missing = _missing(data, self.reads)
        if missing:
            return missing
        runs = data["plumbing"]
        study = analysis.study_analysis("plumbing")
        worlds = sorted(set(runs["world"]))
        try:
            table = study.shares(runs, confidence=1 - (1 - analysis.CONFIDENCE) / max(len(worlds), 1))
        except ValueError as err:  # an unbalanced or constant table: no decomposition to read
            return Outcome("inconclusive", reason=f"no variance decomposition: {err}")
        rows = table[(table["response"] == self.response) & (table["effect"] == study.CONTRAST)]
        levels = [({"world": w}, side(r["adjusted_low"], r["adjusted_high"], 0.0)) for w, r in
                  zip(rows["world"], rows.to_dict("records"))]
        binding = rows.loc[rows["adjusted"].idxmin()]
        effect = (float(binding["adjusted"]), float(binding["adjusted_low"]), float(binding["adjusted_high"]),
                  int(binding["n"]))
        reason = ("plumbing minus scheme, df-adjusted share of the final true reward: "
                  + ", ".join(f"{w}: {d:+.3g} [{lo:+.3g}, {hi:+.3g}]" for w, d, lo, hi in
                              zip(rows["world"], rows["adjusted"], rows["adjusted_low"], rows["adjusted_high"]))
                  + f"; the effect is the smallest ({binding['world']}).")
        return combine(levels, effect, reason, what_decides="More seeds per cell would decide.")
