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

``--update-card`` puts the new measurement into the model card beside the checkpoint, when
the card describes this very checkpoint and the measurement uses the card's own settings:
for a card measured before a change in how a method predicts.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from app.meta.algorithms import REGISTRY
from app.meta.evaluate import EVAL_SEED, evaluate_classification, evaluate_regression
from app.meta.train import build_model, episodes, load_checkpoint

RESULTS = {"accuracy", "ci95", "mse", "diverged"}  # an eval block's measured values


def update_card(checkpoint: Path, step: int, evaluation: dict, seconds: float) -> str | None:
    """Replace the eval block of the card beside ``checkpoint``; what is wrong, or None."""
    path = checkpoint.with_suffix(".json")
    if not path.is_file():
        return f"no model card at {path}"
    card = json.loads(path.read_text())
    if card.get("budget", {}).get("steps_done", card.get("steps")) != step:
        return f"{path} describes another checkpoint than {checkpoint} (step {step})"
    settings = {k: v for k, v in card["eval"].items() if k not in RESULTS}
    if settings != {k: v for k, v in evaluation.items() if k not in RESULTS}:
        return f"{path} was measured with other settings: {settings}"
    card["eval"], card["eval_seconds"] = evaluation, round(seconds, 2)
    path.write_text(json.dumps(card, indent=2) + "\n")
    return None


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
    parser.add_argument(
        "--update-card", action="store_true", help="write the result into the model card"
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if not args.checkpoint.is_file():
        print(f"no checkpoint at {args.checkpoint}", file=sys.stderr)
        return 2
    config, params, checkpoint = load_checkpoint(args.checkpoint)
    started = time.perf_counter()
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
    if args.update_card:
        problem = update_card(
            args.checkpoint, checkpoint["step"], evaluation, time.perf_counter() - started
        )
        if problem:
            print(problem, file=sys.stderr)
            return 2
    result = {"checkpoint": str(args.checkpoint), "algo": config.algo, "eval": evaluation}
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
