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
from dataclasses import asdict
from pathlib import Path

import torch

from app.meta.rl import META_GRADIENTS
from app.meta.rl_train import RLConfig, evaluate, run, save_checkpoint

PROG = "maml train-navigation"  # how the model card writes the command that made it


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n")[0])
    parser.add_argument("--algo", choices=sorted(META_GRADIENTS), default="maml")
    parser.add_argument("--steps", type=int, default=500, help="meta-iterations (1…100000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--meta-batch", type=int, default=20, help="goals per iteration (1…100)")
    parser.add_argument("--trajectories", type=int, default=20, help="per step (1…200)")
    parser.add_argument("--inner-steps", type=int, default=1, help="k during training (1…5)")
    parser.add_argument("--alpha", type=float, default=0.1, help="inner step size (0, 1]")
    parser.add_argument("--meta-lr", type=float, default=1e-3, help="Adam's step size (0, 0.1]")
    parser.add_argument("--eval-goals", type=int, default=100)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--save", type=Path, help="checkpoint path; its model card goes beside it")
    args = parser.parse_args(argv)
    checks = {
        "steps": 1 <= args.steps <= 100_000,
        "meta-batch": 1 <= args.meta_batch <= 100,
        "trajectories": 1 <= args.trajectories <= 200,
        "inner-steps": 1 <= args.inner_steps <= 5,
        "alpha": 0 < args.alpha <= 1,
        "meta-lr": 0 < args.meta_lr <= 0.1,
        "eval-goals": 2 <= args.eval_goals <= 10_000,
    }
    for name, ok in checks.items():
        if not ok:
            parser.error(f"--{name} is out of range")
    return args


def hardware() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main(argv: list[str]) -> int:
    args = parse(argv)
    torch.set_num_threads(args.threads)
    config = RLConfig(
        algo=args.algo,
        steps=args.steps,
        seed=args.seed,
        meta_batch=args.meta_batch,
        trajectories=args.trajectories,
        inner_steps=args.inner_steps,
        alpha=args.alpha,
        meta_lr=args.meta_lr,
    )
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
        "config": asdict(config),
        "command": f"{PROG} " + shlex.join(argv),
        "seconds": round(seconds, 1),
        "minutes": round(seconds / 60, 2),
        "cpu_minutes": round(cpu_seconds / 60, 2),
        "hardware": f"{hardware()}, {args.threads} torch thread(s), CPU",
        "torch": str(torch.__version__),
        "eval": evaluation,
    }
    print(json.dumps(evaluation, indent=2))
    if args.save:
        args.save.parent.mkdir(parents=True, exist_ok=True)
        save_checkpoint(args.save, config, theta, {"card": card})
        args.save.with_suffix(".json").write_text(json.dumps(card, indent=2) + "\n")
    return 0
