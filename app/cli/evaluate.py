"""Command line: evaluate a saved model on fresh tasks.

    maml evaluate sinusoid --checkpoint models/sinusoid-maml.pt \
        --shots 10 --tasks 1000 --seed 2017 --out eval.json
    maml evaluate omniglot --checkpoint models/omniglot-protonet-20way-1shot.pt \
        --tasks 1000 --split test --ways 5

Writes ``{"checkpoint", "algo", "eval": {...}}`` with the same ``eval`` block as
``maml train``: for sinusoids the query MSE after 0, 1 and 10 inner steps, for
Omniglot the accuracy over episodes of one split's alphabets with its 95% interval
(``--shots`` and ``--alpha`` are the sinusoid's; a metric-based model, which has no
fixed number of classes, can be tested with another ``--ways`` than it was trained with).

``--update-card`` puts the new measurement into the model card beside the checkpoint, when
the card describes this very checkpoint and the measurement uses the card's own settings:
for a card measured before a change in how a method predicts.

``--body models/bodies/NAME.pt`` tests a pre-trained Conv4 body alone, with the
nearest-prototype rule of Prototypical networks and no meta-training: what pre-training by
itself gives. With ``--update-card`` the result goes into the body's card (``NAME.json``).

    maml evaluate omniglot --body models/bodies/NAME.pt --ways 20 --update-card
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

import torch

from app.cli.omniglot import omniglot_data
from app.meta.algorithms import REGISTRY
from app.meta.checkpoint import load_checkpoint
from app.meta.config import OmniglotConfig
from app.meta.evaluation import EVAL_SEED, evaluate_classification, evaluate_regression
from app.meta.params import Params
from app.meta.training import build_model, episodes

PROG = "maml evaluate"  # how a body's card writes the command that measured it
BODY_QUERIES = 5  # query images per class, as the model cards are measured
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


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n")[0])
    parser.add_argument("task", choices=["omniglot", "sinusoid"])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--checkpoint", type=Path)
    source.add_argument(
        "--body",
        type=Path,
        help="Omniglot: a pre-trained Conv4 body (models/bodies/*.pt), tested with a "
        "nearest-prototype head and no meta-training",
    )
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
    args.argv = argv
    torch.set_num_threads(args.threads)
    if args.body:
        return body_main(args)
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
        evaluation = omniglot_evaluation(config, params, args)
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


def omniglot_evaluation(config: OmniglotConfig, params: Params, args: argparse.Namespace) -> dict:
    """The configured learner with ``params`` on ``--tasks`` episodes of ``--split``."""
    return evaluate_classification(
        REGISTRY[config.algo],
        build_model(config),
        params,
        config.hyper(evaluation=True),
        episodes(config, args.split, omniglot_data()),
        shots=config.shots,
        queries=config.queries,
        episodes=args.tasks,
        seed=args.seed,
    )


def body_main(args: argparse.Namespace) -> int:
    """A pre-trained body alone: Prototypical networks' nearest-prototype rule on its
    features (Snell et al. 2017), no meta-training; ``--update-card`` keeps the result in
    the body's card (``.json`` beside it), one entry per N and split."""
    if not args.body.is_file():
        print(f"no pre-trained body at {args.body}", file=sys.stderr)
        return 2
    saved = torch.load(args.body, weights_only=True)
    config = OmniglotConfig(algo="protonet", ways=args.ways or 5, queries=BODY_QUERIES)
    started = time.perf_counter()
    evaluation = omniglot_evaluation(config, saved["body"], args)
    if args.update_card:
        path = args.body.with_suffix(".json")
        card = json.loads(path.read_text()) if path.is_file() else {"body": args.body.name}
        card |= {"pretrain_seconds": round(saved["seconds"], 2), "final_loss": saved["loss"]}
        key = f"{config.ways}way-{args.split}"
        card.setdefault("nearest_prototype", {})[key] = evaluation | {
            "seconds": round(time.perf_counter() - started, 2),
            "command": f"{PROG} " + shlex.join(args.argv),
        }
        path.write_text(json.dumps(card, indent=2) + "\n")
    result = {"body": str(args.body), "eval": evaluation}
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 0
