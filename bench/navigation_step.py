"""Time one navigation meta-iteration: every task at once against a Python loop over tasks.

The batched step rolls out all T goals × N trajectories in lockstep (one policy call per time
step for T·N agents) and takes every task's inner step with one ``autograd.grad``; the loop
runs the very same function on one task at a time (``per_task_loop``) and averages. Both use
the same noise, so they compute the same direction, which is checked. Setting of Finn et al.
(2017), section 5.3: 20 goals, 20 trajectories of 100 steps, 2×100 ReLU policy, one inner
step, float32, one CPU thread.

    python bench/navigation_step.py [--repeats 5] [--threads 1] [--tasks 20]

Prints median milliseconds per meta-iteration of MAML (DiCE, second order), FOMAML and the
pretrained baseline, and the loop/batched ratio.
"""

from __future__ import annotations

import argparse
from functools import partial

import torch
from timing import median_ms

from app.meta.algorithms.base import Hyper, per_task_loop
from app.meta.params import flatten, leaves
from app.meta.rl import META_GRADIENTS, gaussian_mlp
from app.meta.tasks.navigation import navigation_batch, sample_goals


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--tasks", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    generator = torch.Generator().manual_seed(0)
    policy = gaussian_mlp()
    theta = leaves(policy.init(generator, torch.float32))
    batch = navigation_batch(sample_goals(args.tasks, generator), 2, 20, generator)
    hp = Hyper(inner_steps=1, alpha=0.1)
    print(f"{'algorithm':<11} {'loop ms':>9} {'batched ms':>11} {'ratio':>7}  max |Δ| / max")
    for name, meta_gradient in META_GRADIENTS.items():
        batched = meta_gradient(policy, theta, batch, hp, True)
        loop = per_task_loop(meta_gradient, policy, theta, batch, hp)
        diff = (flatten(batched.direction) - flatten(loop.direction)).abs().max().item()
        scale = flatten(loop.direction).abs().max().item()
        assert diff <= 1e-3 * scale, f"{name}: batched and loop disagree by {diff}"
        loop_ms = median_ms(
            partial(per_task_loop, meta_gradient, policy, theta, batch, hp), args.repeats
        )
        batched_ms = median_ms(partial(meta_gradient, policy, theta, batch, hp, True), args.repeats)
        print(
            f"{name:<11} {loop_ms:>9.1f} {batched_ms:>11.1f} "
            f"{loop_ms / batched_ms:>6.1f}x  {diff / scale:.1e}"
        )


if __name__ == "__main__":
    main()
