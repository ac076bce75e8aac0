"""How close one Conv4 training step runs to what this CPU's convolutions can do.

One Prototypical-network training step on a 20-way 1-shot episode (20 support and 100
query images, forward and backward through Conv4, batch norm, ReLU and max-pooling, the
app's own code) is timed against its four bare convolutions with the same shapes (forward
and backward of ``F.conv2d`` alone, same layout), in the same run. The floating-point
operations of each are counted by ``torch.utils.flop_counter.FlopCounterMode`` (which
counts the convolutions and matrix products, 2 per multiply-add), so the two give
achieved GFLOP/s on the same count, and their ratio says how much of the step's time
goes to everything that is not convolution. Random images: the time does not depend on
the pixels.

    python bench/conv4_flops.py [--repeats 10] [--threads 1]

Prints GFLOP per step, median milliseconds, achieved GFLOP/s of each, and their ratio.
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F
from timing import median_ms
from torch.utils.flop_counter import FlopCounterMode

from app.meta.algorithms import OMNIGLOT_ALGORITHMS, Hyper
from app.meta.params import leaves
from app.meta.tasks.base import TaskBatch

WAYS, QUERIES, CHANNELS = 20, 5, 64


def episode(generator: torch.Generator) -> TaskBatch:
    def images(per_class: int) -> torch.Tensor:
        return torch.rand(1, WAYS * per_class, 1, 28, 28, generator=generator)

    def labels(per_class: int) -> torch.Tensor:
        return torch.arange(WAYS).repeat_interleave(per_class)[None]

    return TaskBatch(images(1), labels(1), images(QUERIES), labels(QUERIES))


def training_step(theta, batch):
    algorithm = OMNIGLOT_ALGORITHMS["protonet"]
    model = algorithm.network(WAYS, CHANNELS)
    return lambda: algorithm.meta_gradient(model, theta, batch, Hyper(), False)


def bare_convolutions(theta, batch):
    """The four convolutions of the step with the same input shapes, forward and backward."""
    images = torch.cat([batch.xs[0], batch.xq[0]])
    inputs, size = [], 28
    for i in range(4):
        channels = 1 if i == 0 else CHANNELS
        x = torch.rand(images.shape[0], channels, size, size).contiguous(
            memory_format=torch.channels_last
        )
        inputs.append(x.requires_grad_(i > 0))
        size //= 2

    def run():
        outputs = [
            F.conv2d(x, theta[f"conv{i}_w"], theta[f"conv{i}_b"], padding=1)
            for i, x in enumerate(inputs)
        ]
        weights = [theta[f"conv{i}_w"] for i in range(4)] + inputs[1:]
        torch.autograd.grad(sum(o.sum() for o in outputs), weights)

    return run


def flops(fn) -> int:
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    generator = torch.Generator().manual_seed(0)
    model = OMNIGLOT_ALGORITHMS["protonet"].network(WAYS, CHANNELS)
    theta = leaves(model.init(generator, torch.float32))
    batch = episode(generator)
    rows = {"Conv4 training step": training_step(theta, batch)}
    rows["bare convolutions"] = bare_convolutions(theta, batch)
    print(f"{WAYS}-way 1-shot episode, {QUERIES} queries per class, {args.threads} thread(s)")
    rates = {}
    for name, fn in rows.items():
        gflop = flops(fn) / 1e9
        ms = median_ms(fn, args.repeats)
        rates[name] = gflop / (ms / 1000)
        print(f"{name:22s} {gflop:6.3f} GFLOP  {ms:8.1f} ms  {rates[name]:6.2f} GFLOP/s")
    ratio = rates["Conv4 training step"] / rates["bare convolutions"]
    print(f"training step ÷ bare convolutions: {ratio:.2f} of the achieved GFLOP/s")


if __name__ == "__main__":
    main()
