"""Command line: meta-train a 2-D navigation policy and write its checkpoint and model card.

    maml train-navigation --algo maml --steps 1000 --seed 0 \
        --save models/navigation-maml.pt
    maml train-navigation --algo pretrained --steps 1000 --seed 0 \
        --save models/navigation-pretrained.pt

``--algo`` is ``maml`` (second order, DiCE), ``fomaml`` or ``pretrained`` (one policy trained
on all goals at once); see :mod:`app.meta.rl`. The card (``.json`` beside the checkpoint)
records the configuration, the command, the training time and hardware, and the evaluation
of :func:`app.meta.rl_train.evaluate`: the mean return over 100 new goals after 0, 1, 2 and 3
policy-gradient steps of size α on 20 trajectories each, with 95% intervals.
"""

from __future__ import annotations

import argparse
import json
import platform
import shlex
import time
from pathlib import Path

import torch
from pydantic import ValidationError

from app.meta.config import NavigationConfig
from app.meta.rl import META_GRADIENTS
from app.meta.rl_train import evaluate, run, save_checkpoint

PROG = "maml train-navigation"  # how the model card writes the command that made it
PAPER = "Finn, Abbeel & Levine 2017, section 5.3 (2-D navigation)"
PUBLISHED = (
    "MAML's return after one policy-gradient step far above the pretrained policy's, which"
    " one step barely improves; the returns are not comparable in scale (the paper's reward is"
    " minus the distance to the goal, this one minus its square, and here an episode ends at"
    " the goal)"
)


def field_help(name: str) -> str:
    """A flag's help: the configuration field's description and bounds, written once there."""
    spec = NavigationConfig.model_json_schema()["properties"][name]
    low = next((f"{spec[k]} {op} " for k, op in LOWER if k in spec), "")
    high = f" ≤ {spec['maximum']}" if "maximum" in spec else ""
    return f"{spec['description']} ({low}{name}{high}; default {spec['default']})"


LOWER = (("minimum", "≤"), ("exclusiveMinimum", "<"))
FLAGS = ("steps", "seed", "meta_batch", "trajectories", "inner_steps", "alpha", "meta_lr")


def parse(argv: list[str]) -> tuple[argparse.Namespace, NavigationConfig]:
    """The arguments and the run's configuration, validated by :class:`NavigationConfig`: a
    value out of its range stops with the field's name and range."""
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n")[0])
    parser.add_argument("--algo", choices=sorted(META_GRADIENTS), default="maml")
    for name in FLAGS:
        kind = NavigationConfig.model_fields[name].annotation
        flag = "--" + name.replace("_", "-")
        parser.add_argument(flag, type=kind, default=None, help=field_help(name))
    parser.add_argument("--eval-goals", type=int, default=100, help="goals of the card (2…10000)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--save", type=Path, help="checkpoint path; its model card goes beside it")
    args = parser.parse_args(argv)
    if not 2 <= args.eval_goals <= 10_000:
        parser.error("--eval-goals is out of range (2…10000)")
    values = {name: getattr(args, name) for name in FLAGS if getattr(args, name) is not None}
    try:
        config = NavigationConfig(algo=args.algo, **values)
    except ValidationError as error:
        problems = "; ".join(
            f"--{str(e['loc'][0]).replace('_', '-')}: {e['msg']}" for e in error.errors()
        )
        parser.error(problems)
    return args, config


def hardware() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main(argv: list[str]) -> int:
    args, config = parse(argv)
    torch.set_num_threads(args.threads)
    start, cpu_start = time.perf_counter(), time.process_time()

    def report(progress) -> None:
        print(
            f"step {progress.step}: mean return after adaptation {-progress.loss:.2f}"
            f" ({progress.seconds:.0f} s)",
            flush=True,
        )

    theta = run(config, report, every=max(1, min(50, config.steps // 20)))
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    evaluation = evaluate(theta, config.alpha, goals=args.eval_goals)
    card = {
        "task": "navigation",
        "algo": config.algo,
        "config": config.model_dump(),
        "command": f"{PROG} " + shlex.join(argv),
        "seconds": round(seconds, 1),
        "minutes": round(seconds / 60, 2),
        "cpu_minutes": round(cpu_seconds / 60, 2),
        "hardware": f"{hardware()}, {args.threads} torch thread(s), CPU",
        "torch": str(torch.__version__),
        "eval": evaluation,
        "paper": PAPER,
        "published": PUBLISHED,
    }
    print(json.dumps(evaluation, indent=2))
    if args.save:
        args.save.parent.mkdir(parents=True, exist_ok=True)
        save_checkpoint(args.save, config, theta, {"card": card})
        args.save.with_suffix(".json").write_text(json.dumps(card, indent=2) + "\n")
    return 0
