"""``mowsim simulate``: train schemes on a simulation environment and summarize the final expected rewards.

Every field of the chosen environment dataclass is a flag (``n_arms`` -> ``--n-arms``); tuple fields take
comma-separated values (``--reward-scale 1,100``, ``--objectives accuracy,format``, ``--condition 1,0,0.5``).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import pathlib

import pandas as pd
from scipy import stats
from tqdm.auto import tqdm

from mowsim import schemes, validation
from mowsim.sweep import ENVIRONMENTS  # one name -> environment mapping for the CLI and the studies
from mowsim.train import train_many



def _env_fields() -> dict[str, dataclasses.Field]:
    """Union of the environments' fields, by name (the same knob has the same meaning everywhere)."""
    fields: dict[str, dataclasses.Field] = {}
    for cls in ENVIRONMENTS.values():
        for field in dataclasses.fields(cls):
            fields.setdefault(field.name, field)
    return fields


def _parse_value(text: str, field: dataclasses.Field):
    """Parse a flag value for ``field``: bool, int, float, str, or comma-separated tuples of those."""
    annotation = str(field.type)
    if annotation == "bool":
        lowered = text.lower()
        if lowered not in ("true", "false", "1", "0", "yes", "no"):
            raise ValueError(f"--{field.name.replace('_', '-')} takes true or false; got {text!r}.")
        return lowered in ("true", "1", "yes")
    if "," in text or annotation.startswith("tuple"):
        return tuple(_scalar(part.strip()) for part in text.split(",") if part.strip())
    if annotation == "str":
        return text
    return _scalar(text)


def _scalar(text: str):
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            continue
    if text.lower() in ("inf", "infinity"):
        return math.inf
    return text


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--env", choices=sorted(ENVIRONMENTS), default="bandit")
    parser.add_argument("--scheme", action="append", dest="schemes", metavar="S",
                        help=f"scheme name (repeatable); default: all of {', '.join(schemes.available())}")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--seeds", type=int, default=8, help="number of training seeds (0..N-1)")
    parser.add_argument("--group-size", type=int, default=16)
    parser.add_argument("--n-groups", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1.0)
    parser.add_argument("--weights", type=str, default=None, help="comma-separated objective weights")
    parser.add_argument("--ddof", type=int, default=0)
    parser.add_argument("--eps", type=float, default=0.0)
    parser.add_argument("--normalization", choices=("group", "batch", "none"), default="group",
                        help="which std the scheme divides by: group (as published), batch (Lite PPO), none (Dr. GRPO); "
                             "batch and none: rc, ac, gdpo, dvao, saw-grpo, saw-gdpo (the default schemes then)")
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("results/simulate"))
    knobs = parser.add_argument_group("environment knobs (dataclass fields; defaults are the environment's)")
    for name, field in _env_fields().items():
        knobs.add_argument(f"--{name.replace('_', '-')}", dest=f"knob_{name}", default=None, metavar="V",
                           help=_field_help(field))


def _field_help(field: dataclasses.Field) -> str:
    owners = [key for key, cls in ENVIRONMENTS.items() if field.name in {f.name for f in dataclasses.fields(cls)}]
    return f"{field.type}; envs: {', '.join(owners)}"


def build_env(env_name: str, knobs: dict[str, str]):
    """The environment ``env_name`` with string knob values parsed and validated; unknown knobs are an error."""
    cls = ENVIRONMENTS[env_name]
    own = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(knobs) - set(own))
    if unknown:
        flags = ", ".join("--" + name.replace("_", "-") for name in unknown)
        raise ValueError(f"not a knob of --env {env_name}: {flags}. Its knobs are: "
                         f"{', '.join('--' + n.replace('_', '-') for n in own)}.")
    values = {name: _parse_value(text, own[name]) for name, text in knobs.items()}
    return cls(**values)


def summarize(history: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Final expected reward per (scheme, objective): mean over seeds and a t-interval half-width."""
    final = history[history["step"] == history["step"].max()]
    rows = []
    for (scheme, objective), group in final.groupby(["scheme", "objective_name"], observed=True, sort=False):
        values = group["expected_reward"].to_numpy()
        mean = float(values.mean())
        if len(values) > 1:
            sem = stats.sem(values)
            half = float(sem * stats.t.ppf(0.5 + confidence / 2, len(values) - 1)) if sem > 0 else 0.0
        else:
            half = math.nan
        rows.append({"scheme": scheme, "objective": objective, "mean": mean, "ci95": half, "seeds": len(values)})
    return pd.DataFrame(rows)


def format_summary(summary: pd.DataFrame) -> str:
    cells = summary.assign(value=[f"{m:.3f} ± {h:.3f}" for m, h in zip(summary["mean"], summary["ci95"])])
    table = cells.pivot(index="scheme", columns="objective", values="value")
    return table.to_string()


def run(args: argparse.Namespace) -> int:
    knobs = {key[len("knob_"):]: value for key, value in vars(args).items()
             if key.startswith("knob_") and value is not None}
    env = build_env(args.env, knobs)
    scheme_names = args.schemes or [name for name in schemes.available()
                                    if args.normalization == "group" or name in validation.NORMALIZED_SCHEMES]
    scheme_objects = [schemes.get(name) for name in scheme_names]
    for scheme in scheme_objects:  # before any work: an unsupported (scheme, normalization) pair
        validation.check_normalization(args.normalization, scheme.name)
    weights = None if args.weights is None else [float(w) for w in args.weights.split(",")]
    args.out.mkdir(parents=True, exist_ok=True)
    frames = []
    for scheme in tqdm(scheme_objects, desc="schemes", unit="scheme"):
        result = train_many(env, scheme, seeds=args.seeds, steps=args.steps, group_size=args.group_size,
                            n_groups=args.n_groups, lr=args.lr, weights=weights, ddof=args.ddof, eps=args.eps,
                            normalization=args.normalization)
        frames.append(result.history.assign(run=result.history["run"] + len(frames) * args.seeds))
    history = pd.concat(frames, ignore_index=True)
    for column in ("env", "scheme"):
        history[column] = history[column].astype(str).astype("category")
    path = args.out / "history.parquet"
    tmp = path.with_suffix(".parquet.tmp")
    history.to_parquet(tmp, index=False)
    tmp.replace(path)
    summary = summarize(history)
    print(f"\n{env!r}\nfinal expected reward after {args.steps} steps (mean ± 95% CI over {args.seeds} seeds):")
    print(format_summary(summary))
    print(f"\nwrote {path} ({len(history):,} rows)")
    return 0
