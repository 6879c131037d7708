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
                        help="one seed, 100 steps, 200 held-out problems (about 5 minutes on two CPU cores)")
    parser.add_argument("--schemes", default="rc,ac,gdpo,dvao,saw-gdpo",
                        help="comma-separated scheme names (default: %(default)s)")
    parser.add_argument("--steps", type=int, default=None, help="GRPO steps per run (default 200; --quick 100)")
    parser.add_argument("--seeds", type=int, default=None, help="seeds per scheme (default 3; --quick 1)")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--model", default=None,
                        help="a local directory with a causal LM and its tokenizer (save_pretrained layout); "
                             "default: build and warm-start the tiny char-level GPT-2")
    parser.add_argument("--out", type=Path, default=Path("results/llm"), help="output directory (default: %(default)s)")
    parser.add_argument("--cache-dir", type=Path, default=None, help="warm-start cache (default: OUT/cache)")
    parser.add_argument("--lr", type=float, default=None, help="GRPO learning rate (default 2e-4)")
    parser.add_argument("--prompts-per-step", type=int, default=None, help="prompts per GRPO step (default 8)")
    parser.add_argument("--num-generations", type=int, default=None, help="rollouts per prompt, G (default 8)")
    parser.add_argument("--n-eval", type=int, default=None, help="held-out problems (default 300; --quick 200)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default 1; see docs/LLM.md)")


def run(args: argparse.Namespace) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the harness never downloads; fail fast if something tries
    try:
        from mowsim.llm import require

        require()
    except ImportError as err:
        print(f"mowsim llm: error: {err}", file=sys.stderr)
        return 2
    from mowsim.llm import harness

    settings = dict(harness.QUICK if args.quick else harness.FULL)
    overrides = {"steps": args.steps, "seeds": args.seeds, "n_eval": args.n_eval, "learning_rate": args.lr,
                 "prompts_per_step": args.prompts_per_step, "num_generations": args.num_generations,
                 "threads": args.threads}
    settings.update({key: value for key, value in overrides.items() if value is not None})
    schemes = tuple(name.strip() for name in args.schemes.split(",") if name.strip())
    if not schemes:
        raise ValueError("--schemes is empty; pass e.g. --schemes rc,dvao")
    config = harness.HarnessConfig(out=args.out, schemes=schemes, device=args.device, model=args.model,
                                   cache_dir=args.cache_dir, **settings)
    summary = harness.run(config)
    columns = ["scheme", "seed"] + [f"{m}_{w}" for m in ("accuracy", "compliance") for w in ("before", "after")]
    table = summary[columns].copy()
    table["overhead_%"] = 100 * summary["overhead_share"]
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    return 0
