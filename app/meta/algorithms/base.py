"""The one signature every meta-learning algorithm shares.

An algorithm is a function ``meta_gradient(model, theta, batch, hp, batched)``
returning a :class:`MetaStep`: the meta-loss (mean query loss after adaptation)
and a direction in parameter space for the outer optimiser to descend. For
gradient-based methods the direction is the meta-gradient; for Reptile it is
θ − φ, which plain SGD with step size β turns into θ ← θ + β(φ − θ).

``batched=True`` runs all tasks together (``vmap`` forward passes, one
``autograd.grad`` per step); :func:`per_task_loop` runs the same function one
task at a time and averages, the plain Python loop the batched code must match.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import torch

from app.meta.nets import Model
from app.meta.params import Params
from app.meta.tasks.base import TaskBatch


@dataclass(frozen=True)
class Hyper:
    """Hyperparameters, named as the papers name them: all an algorithm's math reads.

    Apart from :class:`~app.meta.config.TrainConfig` because the algorithms run outside
    training too (the figures adapt with test-time settings, ``TrainConfig.hyper``), and they
    need none of a run's bookkeeping (task, steps, seed, schedule)."""

    inner_steps: int = 1  # k: inner gradient steps
    alpha: float = 0.01  # α: inner step size
    beta: float = 1.0  # β: Reptile's outer interpolation step
    lam: float = 1.0  # λ: iMAML's proximal regularisation strength
    cg_steps: int = 5  # iMAML: conjugate-gradient iterations
    damping: float = 0.0  # iMAML: μ added to the Hessian, A = I + (H + μI)/λ
    serial: bool = False  # Reptile: update θ after each task instead of averaging
    head: str = "learned"  # where each inner loop starts the N-way head (``app.meta.heads``)


@dataclass(frozen=True)
class MetaStep:
    loss: torch.Tensor
    direction: Params


def gradient_step(loss: torch.Tensor, theta: Params) -> MetaStep:
    """The loss and its gradient in θ as a meta-step; a part of θ the loss does not use (a
    head that each task rebuilds, ``app.meta.heads``) gets a zero gradient."""
    grads = torch.autograd.grad(loss, list(theta.values()), allow_unused=True)
    return MetaStep(
        loss.detach(),
        {
            k: torch.zeros_like(v) if g is None else g
            for (k, v), g in zip(theta.items(), grads, strict=True)
        },
    )


MetaGradient = Callable[[Model, Params, TaskBatch, Hyper, bool], MetaStep]
# predict(model, θ, episodes, hp, batched) -> query scores (T, N*Q, N); argmax is the class
Predict = Callable[[Model, Params, TaskBatch, Hyper, bool], torch.Tensor]
Network = Callable[[int, int], Model]  # (ways, channels) -> the Omniglot network
# calibrate(model, θ, training episodes) -> the parameters to start meta-training from
Calibrate = Callable[[Model, Params, TaskBatch], Params]


@dataclass(frozen=True)
class Algorithm:
    name: str
    title: str
    paper: str
    meta_gradient: MetaGradient
    outer: Literal["adam", "sgd"]  # sgd: step size β (Reptile); adam: the meta learning rate
    default_inner_steps: int
    family: Literal["optimisation", "metric", "model"] = "optimisation"
    tasks: tuple[str, ...] = ("sinusoid", "omniglot")
    network: Network | None = None  # for Omniglot
    predict: Predict | None = None  # for Omniglot
    calibrate: Calibrate | None = None  # a head set from data before the first meta-step


def per_task_loop(
    meta_gradient: MetaGradient, model: Model, theta: Params, batch: TaskBatch, hp: Hyper
) -> MetaStep:
    """The same meta-step, one task at a time in a Python loop, averaged."""
    steps = [
        meta_gradient(model, theta, batch.slice(i, i + 1), hp, False) for i in range(len(batch))
    ]
    n = len(steps)
    loss = sum(s.loss for s in steps) / n
    direction = {k: sum(s.direction[k] for s in steps) / n for k in theta}
    return MetaStep(loss, direction)
