"""Command line: meta-train a model and write its evaluation, checkpoint and model card.

    python -m app.train sinusoid --algo maml --steps 70000 --seed 0 \
        --save models/sinusoid-maml.pt --out maml.json

With ``--save``, a checkpoint is written every ``--checkpoint-every`` steps; run
the same command again and training resumes from it (raise ``--steps`` to
extend a finished run). At the end the checkpoint's model card (``.json`` next
to it) records the configuration, the command, the training time and the
evaluation on 1,000 fresh tasks.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

import torch
from pydantic import ValidationError
from tqdm import tqdm

from app.meta.algorithms import ALGORITHMS
from app.meta.config import TrainConfig
from app.meta.train import Progress, Training, load_checkpoint

HYPER_FLAGS = (
    "meta_batch",
    "shots",
    "inner_steps",
    "alpha",
    "meta_lr",
    "beta",
    "lam",
    "cg_steps",
    "damping",
)


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m app.train", description=__doc__.split("\n")[0])
    parser.add_argument("task", choices=["sinusoid"])
    parser.add_argument("--algo", choices=sorted(ALGORITHMS), default="maml")
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    fields = TrainConfig.model_fields
    for name in HYPER_FLAGS:
        kind = int if fields[name].annotation in (int, int | None) else float
        parser.add_argument(
            "--" + name.replace("_", "-"), type=kind, default=None, help=fields[name].description
        )
    parser.add_argument("--serial", action="store_true", help=fields["serial"].description)
    parser.add_argument("--out", type=Path, help="write the result (eval block) as JSON here")
    parser.add_argument("--save", type=Path, help="checkpoint path; its model card goes beside it")
    parser.add_argument("--checkpoint-every", type=int, default=2000)
    parser.add_argument("--eval-tasks", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    return parser.parse_args(argv)


def config_from(args: argparse.Namespace) -> TrainConfig:
    given = {n: getattr(args, n) for n in HYPER_FLAGS if getattr(args, n) is not None}
    return TrainConfig(
        task=args.task,
        algo=args.algo,
        steps=args.steps,
        seed=args.seed,
        serial=args.serial,
        **given,
    )


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    torch.set_num_threads(args.threads)
    try:
        config = config_from(args)
    except ValidationError as error:
        print(f"invalid configuration:\n{error}", file=sys.stderr)
        return 2
    run = Training(config)
    if args.save and args.save.exists():
        try:
            run = Training.resume(load_checkpoint(args.save)[2], config)
        except ValueError as error:
            print(f"{args.save}: {error}; delete it or save elsewhere", file=sys.stderr)
            return 2
        print(f"resuming {args.save} from step {run.step}", file=sys.stderr)
    bar = tqdm(total=config.steps, initial=run.step, desc=config.algo, unit="step")
    for event in run.run():
        if isinstance(event, Progress):
            bar.update(1)
            if event.step % 50 == 0:
                bar.set_postfix(loss=f"{event.loss:.3f}")
            if args.save and event.step % args.checkpoint_every == 0:
                run.save(args.save)
    bar.close()
    started = time.perf_counter()
    result = {
        "task": config.task,
        "algo": config.algo,
        "steps": config.steps,
        "seed": config.seed,
        "seconds": round(run.seconds, 2),
        "config": config.model_dump(),
        "command": "python -m app.train " + shlex.join(sys.argv[1:] if argv is None else argv),
        "torch": str(torch.__version__),
        "eval": run.evaluate(args.eval_tasks),
    }
    result["eval_seconds"] = round(time.perf_counter() - started, 2)
    text = json.dumps(result, indent=2)
    print(json.dumps(result["eval"]["mse"]))
    if args.save:
        run.save(args.save)
        args.save.with_suffix(".json").write_text(text + "\n")
    if args.out:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
