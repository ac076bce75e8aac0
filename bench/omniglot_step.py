"""Time one Conv4 meta-iteration on Omniglot: batched (``vmap``) against a per-task loop.

MAML (second order), FOMAML and Prototypical networks, 5-way 1-shot, 15 queries per
class, meta-batch 4, float32, one CPU thread; both modes compute the same direction
(checked here), the loop running the very same algorithm function one task at a time
(:func:`~app.meta.algorithms.base.per_task_loop`). Needs the background set in
``../shared/omniglot`` (or ``$MAML_OMNIGLOT_DIR``).

    python bench/omniglot_step.py [--repeats 10] [--threads 1]

Prints median milliseconds per meta-iteration and the batched/loop ratio (above 1: the
loop is faster). Measured on the development machine (2 busy shared cores, torch 2.13
CPU), batched against loop: MAML 1303 against 555 ms (2.35×), FOMAML 1357 against 527 ms
(2.58×), Prototypical networks 931 against 500 ms (1.86×); so Omniglot trains with the
loop. The loop's channels-last activations (see ``conv4_features``) account for about
1.8× of that: one Conv4 forward and backward on 80 images took 125–234 ms in the default
layout and 68–152 ms channels-last.

Last, ``torch.compile`` of the Conv4 forward, one Prototypical-network episode (5-way,
15 queries), compiled against eager in the same run: 110–131 against 125–136 ms, 1.00–1.14×
faster, after a 29 s compilation (2 s once cached), so training does not compile on a CPU.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from functools import partial

import torch
from timing import median_ms

from app.cli.omniglot import omniglot_data
from app.meta.algorithms import OMNIGLOT_ALGORITHMS, Hyper, per_task_loop
from app.meta.params import flatten, leaves
from app.meta.tasks.omniglot_episodes import OmniglotTasks

SETTINGS = {
    "maml": Hyper(inner_steps=1, alpha=0.4),
    "fomaml": Hyper(inner_steps=1, alpha=0.4),
    "protonet": Hyper(),
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    generator = torch.Generator().manual_seed(0)
    batch = OmniglotTasks(omniglot_data(), "train", 5).sample(4, 1, 15, generator)
    print(f"{'algorithm':<10} {'loop ms':>9} {'batched ms':>11} {'batched/loop':>13}  max |Δ|")
    for name, hp in SETTINGS.items():
        algorithm = OMNIGLOT_ALGORITHMS[name]
        model = algorithm.network(5, 64)
        theta = leaves(model.init(generator, torch.float32))
        batched = algorithm.meta_gradient(model, theta, batch, hp, True)
        loop = per_task_loop(algorithm.meta_gradient, model, theta, batch, hp)
        diff = (flatten(batched.direction) - flatten(loop.direction)).abs().max().item()
        scale = flatten(loop.direction).abs().max().item()
        assert diff <= 1e-3 * scale + 1e-6, f"{name}: batched and loop disagree by {diff}"
        loop_ms = median_ms(
            partial(per_task_loop, algorithm.meta_gradient, model, theta, batch, hp), args.repeats
        )
        batched_ms = median_ms(
            partial(algorithm.meta_gradient, model, theta, batch, hp, True), args.repeats
        )
        print(
            f"{name:<10} {loop_ms:>9.1f} {batched_ms:>11.1f} {batched_ms / loop_ms:>12.2f}x"
            f"  {diff:.1e}"
        )
    compiled_forward(generator, args.repeats)


def compiled_forward(generator: torch.Generator, repeats: int) -> None:
    """One Prototypical-network episode with the Conv4 forward compiled, against eager."""
    algorithm = OMNIGLOT_ALGORITHMS["protonet"]
    model = algorithm.network(5, 64)
    compiled = dataclasses.replace(model, forward=torch.compile(model.forward))
    theta = leaves(model.init(generator, torch.float32))
    episode = OmniglotTasks(omniglot_data(), "train", 5).sample(1, 1, 15, generator)
    start = time.perf_counter()
    algorithm.meta_gradient(compiled, theta, episode, Hyper(), False)
    seconds = time.perf_counter() - start
    eager_ms, compiled_ms = (
        median_ms(partial(algorithm.meta_gradient, m, theta, episode, Hyper(), False), repeats)
        for m in (model, compiled)
    )
    print(
        f"protonet, one episode: eager {eager_ms:.1f} ms, torch.compile {compiled_ms:.1f} ms "
        f"(eager/compiled {eager_ms / compiled_ms:.2f}x), compiling took {seconds:.0f} s"
    )


if __name__ == "__main__":
    main()
