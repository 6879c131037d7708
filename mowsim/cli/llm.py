"""``mowsim llm``: GRPO on a small local language model with each scheme, through the TRL plug-in.

Imports nothing heavy until :func:`run`, so ``mowsim --help`` works without the ``llm`` extra.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true",
                        help="one seed, 100 steps, 200 held-out problems (about 5 minutes on two CPU cores); with "
                             "--transfer: 3 variants x 4 schemes x 3 seeds x 40 steps (15.5 minutes measured)")
    parser.add_argument("--schemes", default=None,
                        help="comma-separated scheme names (default: rc,ac,gdpo,dvao,saw-gdpo; with --transfer "
                             "the --quick or full set)")
    parser.add_argument("--steps", type=int, default=None, help="GRPO steps per run (default 200; --quick 100)")
    parser.add_argument("--seeds", type=int, default=None, help="seeds per scheme (default 3; --quick 1)")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--model", default=None,
                        help="a local directory with a causal LM and its tokenizer (save_pretrained layout); "
                             "default: build and warm-start the tiny char-level GPT-2")
    parser.add_argument("--out", type=Path, default=None,
                        help="output directory (default: results/llm, with --transfer results/llm_transfer)")
    parser.add_argument("--cache-dir", type=Path, default=None, help="warm-start cache (default: OUT/cache)")
    parser.add_argument("--lr", type=float, default=None, help="GRPO learning rate (default 2e-4)")
    parser.add_argument("--prompts-per-step", type=int, default=None, help="prompts per GRPO step (default 8)")
    parser.add_argument("--num-generations", type=int, default=None, help="rollouts per prompt, G (default 8)")
    parser.add_argument("--n-eval", type=int, default=None, help="held-out problems (default 300; --quick 200)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default 1; see docs/LLM.md)")
    transfer = parser.add_argument_group("sim-to-LLM transfer (--transfer; docs/LLM.md)")
    transfer.add_argument("--transfer", action="store_true",
                          help="run the transfer study: simulated predictions first (predictions.csv), then one "
                               "resumable LLM run per (variant, scheme, seed), then transfer.csv and the figure")
    transfer.add_argument("--variants", default=None,
                          help="comma-separated variants, the first 'clean' (e.g. clean,noise-3,spurious-3,"
                               "conflict-3,saturation); default: the --quick or full set")
    transfer.add_argument("--sim-seeds", type=int, default=None, help="simulation seeds per instance and scheme")
    transfer.add_argument("--workers", type=int, default=None,
                          help="processes running cells at once (default: all cores)")


def run(args: argparse.Namespace) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the harness never downloads; fail fast if something tries
    try:
        from mowsim.llm import require

        require()
    except ImportError as err:
        print(f"mowsim llm: error: {err}", file=sys.stderr)
        return 2
    if args.transfer:
        return _run_transfer(args)
    from mowsim.llm import harness

    settings = dict(harness.QUICK if args.quick else harness.FULL)
    overrides = {"steps": args.steps, "seeds": args.seeds, "n_eval": args.n_eval, "learning_rate": args.lr,
                 "prompts_per_step": args.prompts_per_step, "num_generations": args.num_generations,
                 "threads": args.threads}
    settings.update({key: value for key, value in overrides.items() if value is not None})
    schemes = tuple(name.strip() for name in (args.schemes or "rc,ac,gdpo,dvao,saw-gdpo").split(",")
                    if name.strip())
    if not schemes:
        raise ValueError("--schemes is empty; pass e.g. --schemes rc,dvao")
    config = harness.HarnessConfig(out=args.out or Path("results/llm"), schemes=schemes, device=args.device,
                                   model=args.model, cache_dir=args.cache_dir, **settings)
    summary = harness.run(config)
    columns = ["scheme", "seed"] + [f"{m}_{w}" for m in ("accuracy", "compliance") for w in ("before", "after")]
    table = summary[columns].copy()
    table["overhead_%"] = 100 * summary["overhead_share"]
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    return 0


def _parse_variant(text: str):
    from mowsim.llm.stress import Variant

    kind, _, level = text.strip().partition("-")
    return Variant(kind, float(level) if level else 0.0)


def _run_transfer(args: argparse.Namespace) -> int:
    from mowsim.llm import transfer

    settings = dict(transfer.QUICK if args.quick else transfer.FULL)
    overrides = {"steps": args.steps, "seeds": args.seeds, "n_eval": args.n_eval, "learning_rate": args.lr,
                 "prompts_per_step": args.prompts_per_step, "num_generations": args.num_generations,
                 "threads": args.threads, "sim_seeds": args.sim_seeds, "workers": args.workers}
    settings.update({key: value for key, value in overrides.items() if value is not None})
    if args.variants:
        settings["variants"] = tuple(_parse_variant(text) for text in args.variants.split(",") if text.strip())
    if args.schemes:
        settings["schemes"] = tuple(name.strip() for name in args.schemes.split(",") if name.strip())
    if args.model is not None:
        print("mowsim llm: error: --transfer trains the built-in char model; --model is not supported with it",
              file=sys.stderr)
        return 2
    out = args.out or Path("results/llm_transfer")
    config = transfer.TransferConfig(out=out, device=args.device, cache_dir=args.cache_dir, **settings)
    result = transfer.run(config)
    if "table" not in result:
        return 1
    print(result["table"].to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    return 0 if result["llm_report"].ok else 1
