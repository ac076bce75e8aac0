"""Command line: evaluate a saved model on fresh tasks.

    python -m app.evaluate sinusoid --checkpoint models/sinusoid-maml.pt \
        --shots 10 --tasks 1000 --seed 2017 --out eval.json
    python -m app.evaluate omniglot --checkpoint models/omniglot-protonet-20way-1shot.pt \
        --tasks 1000 --split test --ways 5

Writes ``{"checkpoint", "algo", "eval": {...}}`` with the same ``eval`` block as
``python -m app.train``: for sinusoids the query MSE after 0, 1 and 10 inner steps, for
Omniglot the accuracy over episodes of one split's alphabets with its 95% interval
(``--shots`` and ``--alpha`` are the sinusoid's; a metric-based model, which has no
fixed number of classes, can be tested with another ``--ways`` than it was trained with).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from app.meta.algorithms import REGISTRY
from app.meta.evaluate import EVAL_SEED, evaluate_classification, evaluate_regression
from app.meta.train import build_model, episodes, load_checkpoint


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m app.evaluate", description=__doc__.split("\n")[0]
    )
    parser.add_argument("task", choices=["omniglot", "sinusoid"])
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--shots", type=int, default=10)
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=EVAL_SEED)
    parser.add_argument(
        "--alpha", type=float, help="fine-tuning step size (default: the model's α)"
    )
    parser.add_argument("--split", default="test", help="Omniglot: alphabets to evaluate on")
    parser.add_argument("--ways", type=int, help="Omniglot, metric-based: N of the episodes")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if not args.checkpoint.is_file():
        print(f"no checkpoint at {args.checkpoint}", file=sys.stderr)
        return 2
    config, params, _ = load_checkpoint(args.checkpoint)
    if config.task != args.task:
        print(f"{args.checkpoint} is a {config.task} model", file=sys.stderr)
        return 2
    if config.task == "sinusoid":
        evaluation = evaluate_regression(
            build_model(config),
            params,
            shots=args.shots,
            tasks=args.tasks,
            alpha=args.alpha or config.alpha,
            seed=args.seed,
        )
    else:
        algorithm = REGISTRY[config.algo]
        if args.ways not in (None, config.ways) and algorithm.family != "metric":
            print(f"a {config.algo} model classifies {config.ways} ways only", file=sys.stderr)
            return 2
        config = config.model_copy(update={"ways": args.ways or config.ways})
        evaluation = evaluate_classification(
            algorithm,
            build_model(config),
            params,
            config.hyper(evaluation=True),
            episodes(config, args.split),
            shots=config.shots,
            queries=config.queries,
            episodes=args.tasks,
            seed=args.seed,
        )
    result = {"checkpoint": str(args.checkpoint), "algo": config.algo, "eval": evaluation}
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
