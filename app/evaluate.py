"""Command line: evaluate a saved model on fresh tasks.

    python -m app.evaluate sinusoid --checkpoint models/sinusoid-maml.pt \
        --shots 10 --tasks 1000 --seed 2017 --out eval.json

Writes ``{"checkpoint", "algo", "eval": {...}}`` with the same ``eval`` block as
``python -m app.train``: query MSE after 0, 1 and 10 inner steps.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from app.meta.evaluate import EVAL_SEED, evaluate_regression
from app.meta.train import MODELS, load_checkpoint


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m app.evaluate", description=__doc__.split("\n")[0]
    )
    parser.add_argument("task", choices=sorted(MODELS))
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--shots", type=int, default=10)
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=EVAL_SEED)
    parser.add_argument(
        "--alpha", type=float, help="fine-tuning step size (default: the model's α)"
    )
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    if not args.checkpoint.is_file():
        print(f"no checkpoint at {args.checkpoint}", file=sys.stderr)
        return 2
    config, params, _ = load_checkpoint(args.checkpoint)
    result = {
        "checkpoint": str(args.checkpoint),
        "algo": config.algo,
        "eval": evaluate_regression(
            MODELS[config.task](),
            params,
            shots=args.shots,
            tasks=args.tasks,
            alpha=args.alpha or config.alpha,
            seed=args.seed,
        ),
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
