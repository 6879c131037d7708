"""Sim-to-LLM transfer: do the orderings the simulations find hold on a small language model trained through TRL?

``mowsim llm --transfer`` runs, in this order:

1. **Predictions.** For each stress :class:`~mowsim.llm.stress.Variant`, its matching simulation (a
   :class:`~mowsim.envs.SequenceTask` under the same stress, :meth:`Variant.sim_env`) trains every scheme as sweep
   cells (study ``llm_transfer_sim``). Per (variant, scheme): the value AUC (below) with a bootstrap CI, the effect
   of the stress (AUC under the stress minus AUC on the clean variant) with a CI, and the predicted rank; per pair of
   schemes the predicted difference with a CI. They are written to ``predictions.csv`` and
   ``prediction_pairs.csv``, and the event ``predictions_written`` goes to ``events.jsonl``, before any LLM step.
2. **LLM runs.** Each (variant, scheme, seed) is an :class:`LLMCell`, a :class:`mowsim.sweep.Cell` that trains the
   warm-started char-level GPT-2 with :class:`~mowsim.llm.trl.MultiObjectiveGRPOTrainer` on the variant's wrapped
   reward functions. The cells run through :func:`mowsim.sweep.run_cells`: resumable (a stored cell is never run
   again), on any executor (a local process pool, or Dask), with a progress bar. A cell refuses to train unless
   ``predictions.csv`` exists, and logs ``llm_first_step`` to ``events.jsonl`` when its first GRPO step begins.
3. **The transfer table.** Per variant: Kendall's tau between the simulated and the LLM rankings with a one-sided
   exact permutation p-value (``transfer.csv``); per pair of schemes that the simulation separates (95 % CI of the
   difference excludes 0), whether the LLM agrees in sign, separates them significantly, and with non-overlapping
   per-scheme CIs (``transfer_pairs.csv``); per (variant, scheme) both outcomes (``transfer_schemes.csv``); and
   the figure ``transfer.{png,pdf}``: simulated against LLM effect, one point per (scheme, stressed variant), CIs
   on both axes, and the diagonal.

**The outcome** is the value AUC: the mean over training steps of the true objectives' mean reward (accuracy and
the clean auxiliary; the spurious reward has no truth), the normalized area under the value curve as in
:func:`mowsim.analysis.run_summary`. In the simulation it is exact (expected rewards); in the LLM it is the mean
clean reward of the training completions at each step (TRL's ``rewards/<name>/mean``, and for a noisy reward the
clean means its wrapper keeps). Both measure how fast the policy learns what the user wants, under its sampling
policy. For the clean variant the ranking is by that AUC; for a stressed variant by its effect, the AUC under the
stress minus the same scheme's AUC on the clean variant (a drop is negative). The accuracy and auxiliary AUCs and
the held-out greedy accuracy after training are reported beside it.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import json
import os
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from mowsim import analysis, plotting
from mowsim.llm import stats
from mowsim.llm.stress import Variant
from mowsim.sweep import Cell, run_cells

__all__ = ["TransferConfig", "LLMCell", "run", "sim_cells", "llm_cells", "predict", "transfer_table", "plot_transfer",
           "report_markdown", "read_events", "QUICK", "FULL", "SIM_STUDY", "LLM_STUDY"]

SIM_STUDY = "llm_transfer_sim"
LLM_STUDY = "llm_transfer"
METRIC = "value_auc"
SECONDARY = "accuracy_auc"
"""Also tabulated, with its own predictions written before the LLM runs: accuracy alone (the toy's format is barely
learned within the quick horizon, so its value AUC is mostly accuracy; the LLM's moves in format first)."""
EVENTS = "events.jsonl"


@dataclasses.dataclass(frozen=True)
class TransferConfig:
    """What ``mowsim llm --transfer`` runs. The first variant must be the clean one (the effects' baseline)."""

    out: Path = Path("results/llm_transfer")
    variants: tuple = (Variant("clean"), Variant("spurious", 3.0))
    schemes: tuple = ("rc", "gdpo", "dvao", "dvao-reliable")
    seeds: int = 3
    steps: int = 40
    sim_seeds: int = 16
    sim_instances: tuple = (0, 1, 2)
    sim_lr: float = 10.0
    prompts_per_step: int = 8
    num_generations: int = 8
    learning_rate: float = 2e-4
    max_completion_length: int = 24
    temperature: float = 0.7
    n_eval: int = 200
    device: str = "cpu"
    threads: int = 1
    workers: int | None = None
    cache_dir: Path | None = None
    warm_start: tuple = ()
    """Overrides of :class:`mowsim.llm.model.WarmStartConfig`'s fields (name, value) pairs, e.g. a tiny model for
    tests; the task is always the default :class:`~mowsim.llm.tasks.AdditionTask`."""

    def __post_init__(self):
        object.__setattr__(self, "warm_start", _pairs(self.warm_start))
        variants = tuple(v if isinstance(v, Variant) else Variant(*v) for v in self.variants)
        object.__setattr__(self, "variants", variants)
        if not variants or variants[0].kind != "clean":
            raise ValueError(f"the first variant must be Variant('clean'), the baseline of every effect; got "
                             f"{[v.name for v in variants]}.")
        if len({v.name for v in variants}) != len(variants):
            raise ValueError(f"variants repeat a name: {[v.name for v in variants]}.")
        if len(self.schemes) < 2 or len(set(self.schemes)) != len(self.schemes):
            raise ValueError(f"schemes must be at least two distinct names; got {self.schemes!r}.")
        if "hv-guided" in self.schemes:
            raise ValueError("hv-guided needs a held-out score per reward function; the transfer variants' noisy "
                             "and spurious rewards have none. Leave it out.")
        for name in ("seeds", "steps", "sim_seeds", "prompts_per_step", "num_generations", "n_eval", "threads"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int; got {value!r}.")


QUICK = dict(
    variants=(Variant("clean"), Variant("spurious", 3.0), Variant("noise", 3.0)),
    schemes=("rc", "gdpo", "dvao", "dvao-reliable"),
    seeds=3, steps=40, sim_seeds=16, n_eval=100,
)
"""``--transfer --quick``: clean, a spurious reward of scale 3, noise sd 3 on format; the four schemes the
simulations split (RC and DVAO against GDPO and dvao-reliable); 3 seeds x 40 steps (36 LLM runs). Format is learned
within about 40 steps on this task, so the effect shows in that window."""
FULL = dict(
    variants=(Variant("clean"), Variant("noise", 1.0), Variant("noise", 3.0), Variant("spurious", 3.0),
              Variant("conflict", 3), Variant("saturation")),
    schemes=("rc", "ac", "gdpo", "dvao", "saw-grpo", "saw-gdpo", "dvao-reliable", "dvao-ema", "pcgrad"),
    seeds=8, steps=100, sim_seeds=32, n_eval=300,
)
"""``--transfer``: six variants (clean, noise sd 1 and 3, spurious 3, the conflict with a 3-character limit,
saturation), nine schemes, 8 seeds x 100 steps (432 LLM runs)."""


# ------------------------------------------------------------------------------------------------ the cells


def _pairs(value) -> tuple:
    items = value.items() if isinstance(value, dict) else value
    return tuple(sorted((str(name), item) for name, item in items))


def _warm_start_config(overrides: tuple):
    from mowsim.llm import model as llm_model
    from mowsim.llm.tasks import AdditionTask

    return llm_model.WarmStartConfig(task=AdditionTask(), **dict(overrides))


def _variant_setting(variant: Variant) -> dict:
    return {"variant": variant.name, "kind": variant.kind, "level": variant.level}


def sim_cells(config: TransferConfig) -> list[Cell]:
    """The simulation cells: one per (variant, instance, scheme), the LLM's G, prompts per step and step count."""
    cells = []
    for variant in config.variants:
        env, env_kwargs = variant.sim_env()
        for instance in config.sim_instances:
            for scheme in config.schemes:
                cells.append(Cell(study=SIM_STUDY, index=len(cells), env=env,
                                  env_kwargs={**env_kwargs, "instance_seed": instance}, scheme=scheme,
                                  seeds=config.sim_seeds, steps=config.steps, group_size=config.num_generations,
                                  n_groups=config.prompts_per_step, lr=config.sim_lr, ddof=1, eps=1e-4,
                                  setting={**_variant_setting(variant), "instance": instance}))
    return cells


@dataclasses.dataclass(frozen=True)
class LLMCell(Cell):
    """One LLM run: ``scheme`` on ``variant`` with training seed ``seed``, as a sweep cell.

    The base fields carry the run's configuration: ``steps``, ``group_size`` (G), ``n_groups`` (prompts per step),
    ``lr``, ``ddof``, ``eps`` are the GRPO run's, ``setting`` the variant. ``env`` names the simulated world
    (``env_kwargs`` stays empty: the matching simulation lives in the sim cells, so changing it does not invalidate
    finished LLM runs). The key covers every field but the runtime ones (``workdir``, ``device``, ``threads``):
    where and on what a run executes does not change which experiment it is.
    """

    seed: int = 0
    temperature: float = 0.7
    max_completion_length: int = 24
    n_eval: int = 200
    warm_start: tuple = ()
    warm_start_key: str = ""
    workdir: str = ""
    device: str = "cpu"
    threads: int = 1

    def __post_init__(self):
        super().__post_init__()
        object.__setattr__(self, "warm_start", _pairs(self.warm_start))

    def key(self) -> str:
        return Cell.key(dataclasses.replace(self, workdir="", device="cpu", threads=1))

    @property
    def variant(self) -> Variant:
        setting = dict(self.setting)
        return Variant(setting["kind"], setting["level"])

    def run(self) -> pd.DataFrame:
        """Train and evaluate this run (called by :func:`mowsim.sweep.run_cell`); one row of outcomes."""
        return _run_llm_cell(self)


def llm_cells(config: TransferConfig, warm_start_key: str) -> list[LLMCell]:
    """One :class:`LLMCell` per (variant, seed, scheme)."""
    cells = []
    for variant in config.variants:
        env, _ = variant.sim_env()
        for seed in range(config.seeds):
            for scheme in config.schemes:
                cells.append(LLMCell(
                    study=LLM_STUDY, index=len(cells), env=env, env_kwargs=(), scheme=scheme, seeds=1,
                    steps=config.steps, group_size=config.num_generations, n_groups=config.prompts_per_step,
                    lr=config.learning_rate, ddof=1, eps=1e-4, setting=_variant_setting(variant), seed=seed,
                    temperature=config.temperature, max_completion_length=config.max_completion_length,
                    n_eval=config.n_eval, warm_start=config.warm_start, warm_start_key=warm_start_key,
                    workdir=str(Path(config.out).resolve()),
                    device=config.device, threads=config.threads))
    return cells


def _log_event(workdir, event: str, **fields) -> None:
    """Append one JSON line to ``workdir/events.jsonl`` (one ``write`` of a line opened for appending)."""
    line = json.dumps({"event": event, "pid": os.getpid(), **fields}) + "\n"
    with open(Path(workdir) / EVENTS, "a", encoding="utf-8") as stream:
        stream.write(line)


def read_events(workdir) -> list[dict]:
    """The events of ``workdir/events.jsonl``, in the order they were written."""
    path = Path(workdir) / EVENTS
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _run_llm_cell(cell: LLMCell) -> pd.DataFrame:
    with warnings.catch_warnings():
        # transformers 5 deprecates the gradient_checkpointing names that TRL 1.16 still calls, once per run
        warnings.filterwarnings("ignore", message=".*gradient_checkpointing.*", category=FutureWarning)
        return _train_llm_cell(cell)


def _train_llm_cell(cell: LLMCell) -> pd.DataFrame:
    from mowsim.llm import harness  # the llm extra: only when an LLM cell runs
    from mowsim.llm import model as llm_model
    from mowsim.llm.tasks import AdditionTask

    import torch
    import transformers
    from transformers import TrainerCallback

    workdir = Path(cell.workdir)
    if not (workdir / "predictions.csv").is_file():
        raise RuntimeError(f"{cell.id}: {workdir / 'predictions.csv'} does not exist. The simulated predictions "
                           "must be written before any LLM step; run the study with mowsim.llm.transfer.run.")
    if cell.device == "cpu":
        torch.set_num_threads(cell.threads)
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    task = AdditionTask()
    warm = _warm_start_config(cell.warm_start)
    if warm.key() != cell.warm_start_key:
        raise RuntimeError(f"{cell.id} was made for warm start {cell.warm_start_key}, this mowsim builds "
                           f"{warm.key()}: the worker runs another mowsim version.")
    model_path = llm_model.warm_start(warm, workdir / "cache", device=cell.device, log=lambda *_: None)
    config = harness.HarnessConfig(out=workdir / "runs" / cell.variant.name, schemes=(cell.scheme,),
                                   steps=cell.steps, seeds=1, device=cell.device, prompts_per_step=cell.n_groups,
                                   num_generations=cell.group_size, learning_rate=cell.lr,
                                   max_completion_length=cell.max_completion_length, temperature=cell.temperature,
                                   n_eval=cell.n_eval, ddof=cell.ddof, eps=cell.eps, threads=cell.threads)
    _, tokenizer = llm_model.load_model(model_path, device=cell.device)
    dataset = harness._dataset(task, tokenizer, config, cell.seed)
    held_out = task.held_out(cell.n_eval)
    variant = cell.variant
    reward_funcs = variant.reward_functions(task, np.random.SeedSequence([cell.seed, 12]))

    class FirstStep(TrainerCallback):
        def on_step_begin(self, args, state, control, **kwargs):
            if state.global_step == 0:
                _log_event(workdir, "llm_first_step", cell=cell.id)

    row, curve = harness._train_one(config, task, model_path, dataset, held_out, cell.scheme, cell.seed,
                                    config.out, log=lambda *_: None, reward_funcs=reward_funcs,
                                    callbacks=(FirstStep(),))
    truth = {}
    for function in reward_funcs:
        if function.__name__ in variant.true_objectives:
            clean = getattr(function, "clean_means", None)  # a noisy reward's truth is its clean mean
            values = clean if clean is not None else curve[f"rewards/{function.__name__}/mean"]
            truth[function.__name__] = np.asarray(values, dtype=np.float64)
    accuracy = truth["accuracy"]
    out = {"study": cell.study, "cell_id": cell.id, "cell_key": cell.key(), **_variant_setting(variant),
           "scheme": cell.scheme, "seed": cell.seed,
           METRIC: float(np.mean([values.mean() for values in truth.values()])),
           "accuracy_auc": float(accuracy.mean()), "auxiliary_auc": float(truth[variant.true_objectives[1]].mean()),
           "accuracy_first10": float(accuracy[:10].mean()), "accuracy_last10": float(accuracy[-10:].mean()),
           **{name: row[name] for name in ("accuracy_after", "format_after", "length_after", "compliance_after",
                                           "train_seconds", "step_seconds", "steps")}}
    for name in variant.objective_names:
        column = f"mowsim/weight/{name}"
        out[f"weight_{name}"] = float(curve[column].mean()) if column in curve else np.nan
    return pd.DataFrame([out])


# ------------------------------------------------------------------------------------------------ predictions


def _sim_runs(results: pd.DataFrame) -> pd.DataFrame:
    """One row per simulated run: variant, scheme, ``value_auc`` (the true objectives), ``accuracy_auc`` (objective
    0), ``auxiliary_auc`` (objective 1) and the mean effective weight of the last objective (the auxiliary, or the
    spurious one)."""
    keep = ("variant", "kind", "level", "instance", "scheme", "seed")
    runs = analysis.run_summary(results, keep=keep).rename(columns={"auc": METRIC})[
        ["cell_id", "run", *keep, METRIC]]
    for name, objective in (("accuracy_auc", 0), ("auxiliary_auc", 1)):
        part = analysis.run_summary(results, objectives=[objective], keep=())[["cell_id", "run", "auc"]]
        runs = runs.merge(part.rename(columns={"auc": name}), on=["cell_id", "run"])
    last = results[results["objective"] == results.groupby("cell_id", observed=True)["objective"].transform("max")]
    weight = last.groupby(["cell_id", "run"], observed=True)["effective_weight"].mean().rename("weight_last")
    return runs.merge(weight.reset_index(), on=["cell_id", "run"], how="left")


def _scheme_table(runs: pd.DataFrame, variants, schemes, prefix: str, metric: str = METRIC) -> pd.DataFrame:
    """Per (variant, scheme): outcome and effect (vs clean) with CIs, and the rank of the ranked quantity."""
    rows = []
    clean = variants[0].name
    for variant in variants:
        for scheme in schemes:
            mine = runs[(runs["variant"] == variant.name) & (runs["scheme"] == scheme)]
            values = mine[metric].to_numpy()
            base = runs[(runs["variant"] == clean) & (runs["scheme"] == scheme)][metric].to_numpy()
            outcome = stats.contrast_ci([values], [1])
            effect = stats.contrast_ci([values, base], [1, -1]) if variant.name != clean else (np.nan,) * 3
            rows.append({"variant": variant.name, "kind": variant.kind, "level": variant.level, "scheme": scheme,
                         f"{prefix}_outcome": outcome[0], f"{prefix}_outcome_low": outcome[1],
                         f"{prefix}_outcome_high": outcome[2], f"{prefix}_effect": effect[0],
                         f"{prefix}_effect_low": effect[1], f"{prefix}_effect_high": effect[2],
                         f"{prefix}_n": int(np.isfinite(values).sum()),
                         f"{prefix}_accuracy_auc": mine["accuracy_auc"].mean(),
                         f"{prefix}_auxiliary_auc": mine["auxiliary_auc"].mean()})
    table = pd.DataFrame(rows)
    ranked = np.where(table["variant"] == clean, table[f"{prefix}_outcome"], table[f"{prefix}_effect"])
    table[f"{prefix}_ranked"] = ranked
    table[f"{prefix}_rank"] = table.groupby("variant", sort=False)[f"{prefix}_ranked"].rank(ascending=False)
    return table


def _pair_table(runs: pd.DataFrame, variants, schemes, prefix: str, metric: str = METRIC) -> pd.DataFrame:
    """Per variant and pair (a, b): the difference of the ranked quantity (a minus b) with a CI."""
    rows = []
    clean = variants[0].name
    for variant in variants:
        def sample(name, scheme):
            return runs[(runs["variant"] == name) & (runs["scheme"] == scheme)][metric].to_numpy()

        for i, a in enumerate(schemes):
            for b in schemes[i + 1:]:
                if variant.name == clean:
                    groups, signs = [sample(clean, a), sample(clean, b)], [1, -1]
                else:
                    groups = [sample(variant.name, a), sample(clean, a), sample(variant.name, b), sample(clean, b)]
                    signs = [1, -1, -1, 1]
                diff, low, high = stats.contrast_ci(groups, signs)
                rows.append({"variant": variant.name, "a": a, "b": b, f"{prefix}_diff": diff,
                             f"{prefix}_diff_low": low, f"{prefix}_diff_high": high,
                             f"{prefix}_separates": bool(low > 0 or high < 0)})
    return pd.DataFrame(rows)


def predict(results: pd.DataFrame, config: TransferConfig, metric: str = METRIC) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The simulated predictions of ``metric`` from the sim cells' results: (per scheme, per pair)."""
    runs = _sim_runs(results)
    table = _scheme_table(runs, config.variants, config.schemes, "sim", metric)
    weights = runs.groupby(["variant", "scheme"], observed=True)["weight_last"].mean().rename("sim_weight_last")
    table = table.merge(weights.reset_index(), on=["variant", "scheme"], how="left")
    return table, _pair_table(runs, config.variants, config.schemes, "sim", metric)


# ------------------------------------------------------------------------------------------------ the table


def transfer_table(predictions: pd.DataFrame, prediction_pairs: pd.DataFrame, llm_runs: pd.DataFrame,
                   config: TransferConfig, metric: str = METRIC):
    """(per variant, per pair, per scheme) tables joining the predictions of ``metric`` with the LLM outcomes."""
    llm = _scheme_table(llm_runs, config.variants, config.schemes, "llm", metric)
    weight_columns = [c for c in llm_runs.columns if c.startswith("weight_")]
    weights = llm_runs.groupby(["variant", "scheme"], observed=True)[weight_columns].mean().reset_index()
    schemes = predictions.merge(llm.drop(columns=["kind", "level"]), on=["variant", "scheme"]).merge(
        weights, on=["variant", "scheme"], how="left")
    pairs = prediction_pairs.merge(_pair_table(llm_runs, config.variants, config.schemes, "llm", metric),
                                   on=["variant", "a", "b"])
    pairs["sign_agrees"] = np.sign(pairs["sim_diff"]) == np.sign(pairs["llm_diff"])
    quantity = {}
    for _, row in schemes.iterrows():
        is_clean = row["variant"] == config.variants[0].name
        which = "outcome" if is_clean else "effect"
        quantity[(row["variant"], row["scheme"])] = (row[f"llm_{which}_low"], row[f"llm_{which}_high"])
    pairs["llm_cis_disjoint"] = [bool(quantity[(v, a)][0] > quantity[(v, b)][1] or
                                      quantity[(v, b)][0] > quantity[(v, a)][1])
                                 for v, a, b in zip(pairs["variant"], pairs["a"], pairs["b"])]
    rows = []
    for variant in config.variants:
        part = schemes[schemes["variant"] == variant.name]
        predicted = pairs[(pairs["variant"] == variant.name) & pairs["sim_separates"]]
        held = predicted[predicted["sign_agrees"] & predicted["llm_separates"]]
        rows.append({
            "variant": variant.name, "kind": variant.kind, "level": variant.level,
            "ranked_by": metric if variant.kind == "clean" else f"effect on {metric}",
            "n_schemes": len(part),
            "kendall_tau": stats.kendall_tau(part["sim_ranked"], part["llm_ranked"]),
            "p_value": stats.tau_permutation_p(part["sim_ranked"], part["llm_ranked"]),
            "sim_separated_pairs": len(predicted),
            "llm_sign_agrees": int(predicted["sign_agrees"].sum()),
            "llm_separates_too": int(len(held)),
            "llm_separates_with_disjoint_cis": int((predicted["sign_agrees"] & predicted["llm_cis_disjoint"]).sum()),
            "llm_separates_opposite_sign": int((~predicted["sign_agrees"] & predicted["llm_separates"]).sum()),
        })
    return pd.DataFrame(rows), pairs, schemes


def plot_transfer(schemes: pd.DataFrame, path, config: TransferConfig) -> None:
    """Simulated against LLM effect, one point per (scheme, stressed variant), 95 % CIs on both axes, diagonal."""
    stressed = schemes[schemes["variant"] != config.variants[0].name]
    fig, axes = plotting.new_figure(1, 1, panel_size=(5.0, 4.2))
    ax = axes[0][0]
    markers = dict(zip([v.name for v in config.variants[1:]], "osD^vP*X"))
    for _, row in stressed.iterrows():
        color = plotting.SCHEME_COLORS.get(row["scheme"], "#444444")
        ax.errorbar(row["sim_effect"], row["llm_effect"],
                    xerr=[[row["sim_effect"] - row["sim_effect_low"]], [row["sim_effect_high"] - row["sim_effect"]]],
                    yerr=[[row["llm_effect"] - row["llm_effect_low"]], [row["llm_effect_high"] - row["llm_effect"]]],
                    fmt=markers.get(row["variant"], "o"), color=color, ecolor=color, alpha=0.8, capsize=2,
                    markersize=5)
    if not stressed.empty:
        values = stressed[["sim_effect_low", "sim_effect_high", "llm_effect_low", "llm_effect_high"]].to_numpy()
        low, high = np.nanmin(values), np.nanmax(values)
        pad = 0.05 * (high - low + 1e-9)
        ax.plot([low - pad, high + pad], [low - pad, high + pad], color="#999999", linestyle="--", linewidth=1,
                label="diagonal")
    ax.axhline(0.0, color="#cccccc", linewidth=0.8)
    ax.axvline(0.0, color="#cccccc", linewidth=0.8)
    for scheme in config.schemes:
        ax.scatter([], [], color=plotting.SCHEME_COLORS.get(scheme, "#444444"), label=scheme)
    for name, marker in markers.items():
        ax.scatter([], [], color="#444444", marker=marker, label=name)
    ax.set_xlabel("simulated effect on value AUC (SequenceTask)")
    ax.set_ylabel("LLM effect on value AUC (TRL, char GPT-2)")
    ax.set_title("effect of each stress, per scheme (95 % CIs)", fontsize=9)
    ax.legend(fontsize=6, ncol=2)
    plotting.save_figure(fig, path)


# ------------------------------------------------------------------------------------------------ the driver


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    frame.to_csv(temp, index=False)
    os.replace(temp, path)


def run(config: TransferConfig, *, executor: concurrent.futures.Executor | None = None, progress: bool = True,
        log=print) -> dict:
    """Predictions, then the LLM cells, then the transfer table; returns the tables and both sweep reports."""
    import torch  # the llm extra

    from mowsim.llm import model as llm_model

    if config.device == "cpu":  # the warm start runs here: two threads on two shared cores were 10-20x slower
        torch.set_num_threads(config.threads)
    out = Path(config.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    _log_event(out, "transfer_start")

    sims = sim_cells(config)
    sim_report = run_cells(sims, out / "sim", executor=executor, max_workers=config.workers, progress=progress)
    if not sim_report.ok:
        raise RuntimeError(f"{len(sim_report.failures)} simulation cells failed: {sorted(sim_report.failures)}.")
    predictions, prediction_pairs = predict(sim_report.results, config)
    secondary = predict(sim_report.results, config, SECONDARY)
    _write_csv(prediction_pairs, out / "prediction_pairs.csv")
    _write_csv(secondary[0], out / f"predictions_{SECONDARY}.csv")
    _write_csv(secondary[1], out / f"prediction_pairs_{SECONDARY}.csv")
    _write_csv(predictions, out / "predictions.csv")
    _log_event(out, "predictions_written", sim_cells=len(sims))
    log(f"predictions: {out / 'predictions.csv'} ({sim_report.summary()}; {time.perf_counter() - started:.0f} s)")

    warm = _warm_start_config(config.warm_start)
    model_path = llm_model.warm_start(warm, config.cache_dir or out / "cache", device=config.device, log=log)
    if config.cache_dir is not None and Path(config.cache_dir).resolve() != out / "cache":
        (out / "cache").mkdir(exist_ok=True)
        link = out / "cache" / model_path.name
        if not link.exists():
            link.symlink_to(model_path.resolve(), target_is_directory=True)
    before = _warm_start_metrics(model_path, config)
    cells = llm_cells(config, warm.key())
    llm_report = run_cells(cells, out / "llm", executor=executor, max_workers=config.workers, progress=progress)
    if not llm_report.ok:
        log(f"{len(llm_report.failures)} LLM cells failed (rerun to retry them): {sorted(llm_report.failures)}")
    llm_runs = llm_report.results
    result = {"predictions": predictions, "prediction_pairs": prediction_pairs, "sim_report": sim_report,
              "llm_report": llm_report}
    if llm_runs.empty:
        return result
    llm_runs = llm_runs.assign(scheme=llm_runs["scheme"].astype(str))
    _write_csv(llm_runs, out / "llm_runs.csv")
    table, pairs, schemes = transfer_table(predictions, prediction_pairs, llm_runs, config)
    _write_csv(table, out / "transfer.csv")
    _write_csv(pairs, out / "transfer_pairs.csv")
    _write_csv(schemes, out / "transfer_schemes.csv")
    plot_transfer(schemes, out / "transfer", config)
    for frame, name in zip(transfer_table(*secondary, llm_runs, config, SECONDARY),
                           ("transfer", "transfer_pairs", "transfer_schemes")):
        _write_csv(frame, out / f"{name}_{SECONDARY}.csv")
    total = time.perf_counter() - started
    (out / "run.json").write_text(json.dumps({"config": dataclasses.asdict(config), "warm_start": str(model_path),
                                              "warm_start_held_out": before, "total_seconds": total,
                                              "sim": sim_report.summary(), "llm": llm_report.summary()},
                                             indent=2, default=str))
    log(f"wrote {out / 'transfer.csv'}, transfer_pairs.csv, transfer_schemes.csv and transfer.png in {total:.0f} s")
    result.update(table=table, pairs=pairs, schemes=schemes)
    return result


def _warm_start_metrics(model_path, config: TransferConfig) -> dict:
    from mowsim.llm import model as llm_model
    from mowsim.llm.tasks import AdditionTask

    model, tokenizer = llm_model.load_model(model_path, device=config.device)
    task = AdditionTask()
    return llm_model.evaluate(model, tokenizer, task, task.held_out(config.n_eval),
                              max_new_tokens=config.max_completion_length, device=config.device)


def report_markdown(out, suffix: str = "") -> str:
    """The stored transfer tables of ``out`` as Markdown: per variant, then per predicted pair (docs/LLM.md).
    ``suffix="_accuracy_auc"`` reads the secondary metric's tables."""
    out = Path(out)
    table = pd.read_csv(out / f"transfer{suffix}.csv")
    pairs = pd.read_csv(out / f"transfer_pairs{suffix}.csv")
    schemes = pd.read_csv(out / f"transfer_schemes{suffix}.csv")
    lines = ["| variant | ranked by | schemes | Kendall tau | p (one-sided, exact) | sim-separated pairs | "
             "LLM agrees in sign | LLM separates too | ... with disjoint CIs | LLM separates, opposite sign |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for _, row in table.iterrows():
        lines.append(f"| {row['variant']} | {row['ranked_by']} | {row['n_schemes']} | {row['kendall_tau']:.3f} | "
                     f"{row['p_value']:.3f} | {row['sim_separated_pairs']} | {row['llm_sign_agrees']} | "
                     f"{row['llm_separates_too']} | {row['llm_separates_with_disjoint_cis']} | "
                     f"{row['llm_separates_opposite_sign']} |")
    lines += ["", "| variant | scheme | sim outcome | sim effect [95 % CI] | LLM outcome [95 % CI] | "
              "LLM effect [95 % CI] | sim rank | LLM rank |", "|---|---|---|---|---|---|---|---|"]
    for _, row in schemes.iterrows():
        def effect(prefix):
            if not np.isfinite(row[f"{prefix}_effect"]):
                return "-"
            return (f"{row[f'{prefix}_effect']:+.3f} [{row[f'{prefix}_effect_low']:+.3f}, "
                    f"{row[f'{prefix}_effect_high']:+.3f}]")
        lines.append(f"| {row['variant']} | {row['scheme']} | {row['sim_outcome']:.3f} | {effect('sim')} | "
                     f"{row['llm_outcome']:.3f} [{row['llm_outcome_low']:.3f}, {row['llm_outcome_high']:.3f}] | "
                     f"{effect('llm')} | {row['sim_rank']:g} | {row['llm_rank']:g} |")
    predicted = pairs[pairs["sim_separates"]]
    lines += ["", "| variant | pair (a - b) | sim difference [95 % CI] | LLM difference [95 % CI] | sign agrees | "
              "LLM separates | disjoint CIs |", "|---|---|---|---|---|---|---|"]
    for _, row in predicted.iterrows():
        lines.append(f"| {row['variant']} | {row['a']} - {row['b']} | {row['sim_diff']:+.3f} "
                     f"[{row['sim_diff_low']:+.3f}, {row['sim_diff_high']:+.3f}] | {row['llm_diff']:+.3f} "
                     f"[{row['llm_diff_low']:+.3f}, {row['llm_diff_high']:+.3f}] | "
                     f"{'yes' if row['sign_agrees'] else 'no'} | {'yes' if row['llm_separates'] else 'no'} | "
                     f"{'yes' if row['llm_cis_disjoint'] else 'no'} |")
    return "\n".join(lines) + "\n"
