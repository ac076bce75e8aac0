"""Command line: meta-train a model and write its evaluation, checkpoint and model card.

    maml train sinusoid --algo maml --steps 70000 --seed 0 \
        --save models/sinusoid-maml.pt --out maml.json
    maml train omniglot --algo protonet --ways 5 --shots 1 --steps 20000 --seed 0 \
        --save models/omniglot-protonet-5way-1shot.pt

With ``--save``, progress is checkpointed every ``--checkpoint-every`` steps and every
``--checkpoint-minutes`` to ``NAME.resume.pt`` beside it; run the same command again and
training resumes from there, or from ``NAME.pt`` (raise ``--steps`` to extend a finished
run). ``--minutes`` caps this sitting: training stops there, checkpointed, and the card
says it is unfinished and how to resume. ``--device cuda`` trains on a GPU (the tasks of
a meta-batch then run batched unless ``--loop``); the checkpoint is saved for the CPU
either way, and the card lists each sitting's device. ``--pretrain-steps P`` first trains
the Conv4 body of an optimisation-based learner by plain classification over the training
split (:mod:`app.meta.pretrain`), then meta-trains from there. ``--eval-inner-steps`` and
``--eval-alpha`` set how a fine-tuned model adapts at test time (validation, the card, the
served model); they do not change θ, so a run may be resumed with new ones. At the end
``NAME.pt`` and its model card are written together, so the served parameters are always
the ones the card measured, and ``NAME.resume.pt`` is removed. The model card (``.json``
next to the checkpoint) records the configuration, the command, the training time and the
evaluation: for sinusoids on 1,000 fresh tasks, for Omniglot the accuracy on
``--test-episodes`` episodes of the held-out test alphabets with its 95% interval, after
validation every ``--val-every`` steps on the validation alphabets.
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

from app.cli.omniglot import omniglot_data
from app.meta.algorithms import REGISTRY
from app.meta.checkpoint import load_checkpoint
from app.meta.config import OmniglotConfig, TrainConfig
from app.meta.heads import HEADS
from app.meta.tasks.omniglot import SPLITS
from app.meta.training import Evaluation, Pretraining, Progress, Training
from app.settings import ROOT

PROG = "maml train"  # how the model card writes the command that made it
HYPER_FLAGS = (
    "meta_batch",
    "shots",
    "inner_steps",
    "alpha",
    "meta_lr",
    "lr_drop_at",
    "beta",
    "lam",
    "cg_steps",
    "damping",
    "ways",
    "queries",
    "channels",
    "eval_inner_steps",
    "eval_alpha",
    "pretrain_steps",
)


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n")[0])
    parser.add_argument("task", choices=["sinusoid", "omniglot"])
    parser.add_argument("--algo", choices=sorted(REGISTRY), default="maml")
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    fields = TrainConfig.model_fields
    for name in HYPER_FLAGS:
        kind = int if fields[name].annotation in (int, int | None) else float
        parser.add_argument(
            "--" + name.replace("_", "-"), type=kind, default=None, help=fields[name].description
        )
    parser.add_argument("--head", choices=HEADS, help=fields["head"].description)
    parser.add_argument("--serial", action="store_true", help=fields["serial"].description)
    parser.add_argument("--no-rotations", action="store_true", help="Omniglot: no 90° turns")
    parser.add_argument("--out", type=Path, help="write the result (eval block) as JSON here")
    parser.add_argument("--save", type=Path, help="checkpoint path; its model card goes beside it")
    parser.add_argument("--checkpoint-every", type=int, default=2000)
    parser.add_argument("--checkpoint-minutes", type=float, default=3.0)
    parser.add_argument("--minutes", type=float, help="stop this sitting after so many minutes")
    parser.add_argument("--eval-tasks", type=int, default=1000, help="sinusoid evaluation tasks")
    parser.add_argument("--val-every", type=int, default=500, help="Omniglot validation period")
    parser.add_argument("--val-episodes", type=int, default=200)
    parser.add_argument("--test-episodes", type=int, default=1000)
    parser.add_argument(
        "--bodies",
        type=Path,
        default=ROOT / "models" / "bodies",
        help="where pre-trained bodies are kept and reused (default: %(default)s)",
    )
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu", help="cuda: a GPU")
    parser.add_argument(
        "--loop", action="store_true", help="run a meta-batch's tasks one at a time on a GPU too"
    )
    return parser.parse_args(argv)


def config_from(args: argparse.Namespace) -> TrainConfig:
    given = {n: getattr(args, n) for n in (*HYPER_FLAGS, "head") if getattr(args, n) is not None}
    kind = TrainConfig
    if args.task == "omniglot":
        given["rotations"] = not args.no_rotations
        kind = OmniglotConfig
    return kind(
        task=args.task,
        algo=args.algo,
        steps=args.steps,
        seed=args.seed,
        serial=args.serial,
        **given,
    )


def progress_path(save: Path) -> Path:
    """Where a sitting checkpoints its progress, apart from the served ``save``."""
    return save.with_suffix(".resume.pt")


def train(run: Training, args: argparse.Namespace) -> bool:
    """Run this sitting; True when ``config.steps`` was reached, False when ``--minutes`` ran
    out first. Checkpoints by steps and by minutes, validates on Omniglot."""
    config = run.config
    omniglot = config.task == "omniglot"
    started = last_save = time.monotonic()
    bar = tqdm(total=config.steps, initial=run.step, desc=config.algo, unit="step")
    for event in run.run(
        eval_every=args.val_every if omniglot else 0, eval_tasks=args.val_episodes
    ):
        if isinstance(event, Pretraining):
            if event.reused:
                bar.write(
                    f"pre-training: reused the body that {config.pretrain_steps} steps made "
                    f"in {event.seconds:.0f} s ({args.bodies})"
                )
            elif event.step % 250 == 0 or event.step == config.pretrain_steps:
                bar.write(
                    f"pre-training step {event.step}/{config.pretrain_steps}: "
                    f"loss {event.loss:.3f}, {event.seconds:.0f} s"
                )
            continue
        if isinstance(event, Evaluation):
            bar.write(f"step {event.step}: validation accuracy {event.eval['accuracy']:.4f}")
            continue
        if not isinstance(event, Progress):
            continue
        bar.update(1)
        if event.step % 50 == 0:
            bar.set_postfix(loss=f"{event.loss:.3f}")
        now = time.monotonic()
        due = now - last_save > 60 * args.checkpoint_minutes
        if args.save and (event.step % args.checkpoint_every == 0 or due):
            run.save(progress_path(args.save))
            last_save = now
        if args.minutes and now - started > 60 * args.minutes and run.step < config.steps:
            bar.close()
            return False
    bar.close()
    return True


def card(run: Training, args: argparse.Namespace, argv: list[str], done: bool) -> dict:
    """The result and model card: configuration, command, budget and evaluation."""
    config = run.config
    command = f"{PROG} " + shlex.join(argv)
    result = {
        "task": config.task,
        "algo": config.algo,
        "steps": config.steps,
        "seed": config.seed,
        "seconds": round(run.seconds, 2),
        "config": config.model_dump(),
        "command": command,
        "torch": str(torch.__version__),
    }
    started = time.perf_counter()
    if config.task == "sinusoid":
        result["eval"] = run.evaluate(args.eval_tasks)
    else:
        algorithm = REGISTRY[config.algo]
        result.update(
            title=algorithm.title,
            paper=algorithm.paper,
            family=algorithm.family,
            network=run.model.name,
            parameters=sum(p.numel() for p in run.theta.values()),
            split={name: list(alphabets) for name, alphabets in SPLITS.items()},
            budget={
                "steps_done": run.step,
                "finished": done,
                "train_seconds": round(run.seconds, 2),
                "pretrain_seconds": round(run.pretrain_seconds, 2),
                "threads": args.threads,
                "batched": run.batched,
                "sittings": run.sittings(),
                "resume": command if not done else f"{command} (with a larger --steps)",
            },
            validation=run.history,
            eval=run.evaluate(args.test_episodes, split="test"),
        )
    result["eval_seconds"] = round(time.perf_counter() - started, 2)
    return result


def main(argv: list[str]) -> int:
    args = parse(argv)
    torch.set_num_threads(args.threads)
    try:
        config = config_from(args)
    except ValidationError as error:
        print(f"invalid configuration:\n{error}", file=sys.stderr)
        return 2
    if args.device == "cuda" and not torch.cuda.is_available():
        print("--device cuda: this machine has no CUDA GPU that torch can use", file=sys.stderr)
        return 2
    batched = False if args.loop else None
    torch.backends.cudnn.benchmark = True  # fixed episode shapes: tune the GPU's kernels once
    data = omniglot_data() if config.task == "omniglot" else None
    run = Training(config, data=data, device=args.device, batched=batched, bodies=args.bodies)
    saved = [p for p in (progress_path(args.save), args.save) if p.exists()] if args.save else []
    if saved:
        try:
            checkpoint = load_checkpoint(saved[0])[2]
            run = Training.resume(checkpoint, config, run.data, args.device, batched)
        except ValueError as error:
            print(f"{saved[0]}: {error}; delete it or save elsewhere", file=sys.stderr)
            return 2
        print(f"resuming {saved[0]} from step {run.step}", file=sys.stderr)
    done = train(run, args)
    result = card(run, args, argv, done)
    text = json.dumps(result, indent=2)
    print(json.dumps(result["eval"].get("mse", result["eval"].get("accuracy"))))
    if args.save:
        run.save(args.save)
        args.save.with_suffix(".json").write_text(text + "\n")
        progress_path(args.save).unlink(missing_ok=True)
    if args.out:
        args.out.write_text(text + "\n")
    return 0
