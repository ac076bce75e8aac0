"""Time one meta-iteration of every algorithm: batched against a per-task Python loop.

Both compute the same direction (checked here); the loop runs the very same
algorithm function on one task at a time. Setting of the issue: sinusoid MLP
1-40-40-1, 25 tasks, K = 10 support and 10 query points, float32, one CPU thread.

    python bench/meta_step.py [--repeats 50] [--threads 1]

Prints median milliseconds per meta-iteration and the loop/batched ratio.
"""

from __future__ import annotations

import argparse
from functools import partial

import torch
from timing import median_ms

from app.meta.algorithms import ALGORITHMS, Hyper, per_task_loop
from app.meta.nets import regression_mlp
from app.meta.params import flatten, leaves
from app.meta.tasks.sinusoid import SinusoidTasks


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    generator = torch.Generator().manual_seed(0)
    model = regression_mlp()
    theta = leaves(model.init(generator, torch.float32))
    batch = SinusoidTasks().sample(25, 10, 10, generator)
    print(f"{'algorithm':<11} {'k':>3} {'loop ms':>9} {'batched ms':>11} {'ratio':>7}  max |Δ|")
    for name, algorithm in ALGORITHMS.items():
        hp = Hyper(inner_steps=algorithm.default_inner_steps)
        batched = algorithm.meta_gradient(model, theta, batch, hp, True)
        loop = per_task_loop(algorithm.meta_gradient, model, theta, batch, hp)
        diff = (flatten(batched.direction) - flatten(loop.direction)).abs().max().item()
        scale = flatten(loop.direction).abs().max().item()
        assert diff <= 1e-3 * scale + 1e-6, f"{name}: batched and loop disagree by {diff}"
        meta_gradient = algorithm.meta_gradient
        loop_ms = median_ms(
            partial(per_task_loop, meta_gradient, model, theta, batch, hp),
            max(5, args.repeats // 5),
        )
        batched_ms = median_ms(partial(meta_gradient, model, theta, batch, hp, True), args.repeats)
        print(
            f"{name:<11} {hp.inner_steps:>3} {loop_ms:>9.2f} {batched_ms:>11.2f} "
            f"{loop_ms / batched_ms:>6.1f}x  {diff:.1e}"
        )


if __name__ == "__main__":
    main()
