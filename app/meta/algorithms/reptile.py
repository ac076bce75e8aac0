"""Reptile, Nichol, Achiam & Schulman, "On First-Order Meta-Learning Algorithms" (2018).

Run k steps of SGD on a task to get φ, then move θ towards it:

    θ ← θ + β (φ − θ)                       (serial, Algorithm 1)
    θ ← θ + β · (1/n) Σ_i (φ_i − θ)          (batched, Algorithm 2)

The direction returned is θ − φ (averaged over tasks), so plain SGD with step
size β performs exactly these updates. With k = 1, φ − θ = −α∇L(θ) and Reptile
is ordinary SGD on the expected task loss with step size αβ.
"""

from __future__ import annotations

import torch

from app.meta.algorithms.base import Hyper, MetaStep
from app.meta.heads import pull_back, task_start
from app.meta.inner import requiring_grad, sgd_adapt, task_losses
from app.meta.nets import Model
from app.meta.params import Params, detached, first, stack
from app.meta.tasks.base import TaskBatch


def _adapt(model, start, batch, hp, batched):
    losses = task_losses(model, batched)
    phi = sgd_adapt(losses, start, batch.xs, batch.ys, hp.alpha, hp.inner_steps)
    phi = {k: v.detach() for k, v in phi[-1].items()}
    return phi, losses(phi, batch.xq, batch.yq).detach()


def meta_gradient(
    model: Model, theta: Params, batch: TaskBatch, hp: Hyper, batched: bool = True
) -> MetaStep:
    if hp.head != "learned":
        return _from_task_heads(model, theta, batch, hp, batched)
    theta = detached(theta)
    if hp.serial:
        current, losses = theta, []
        for i in range(len(batch)):
            phi, loss = _adapt(model, stack(current, 1), batch.slice(i, i + 1), hp, batched)
            phi = first(phi)
            current = {k: current[k] + hp.beta * (phi[k] - current[k]) for k in current}
            losses.append(loss)
        direction = {k: (theta[k] - current[k]) / hp.beta for k in theta}
        return MetaStep(sum(losses).squeeze(0) / len(losses), direction)
    phi, loss = _adapt(model, stack(theta, len(batch)), batch, hp, batched)
    return MetaStep(loss.mean(), {k: theta[k] - phi[k].mean(0) for k in theta})


def _from_task_heads(model, theta, batch, hp, batched) -> MetaStep:
    """Reptile from a head built per task (``app.meta.heads``): each task's φ_0 − φ is taken
    back to θ through φ_0(θ), so the body also moves the way that makes the prototypes a
    better start.

    The inner steps train on all of the task's images, support and query: Reptile has no
    query loss, and Nichol et al. train their 1-shot Omniglot models with 10 images per
    class in the inner loop (their ``--train-shots 10``). With one support image per class
    a prototype head already fits the support set, so steps on it alone would not move φ.
    """
    with torch.enable_grad():
        outer = requiring_grad(theta)
        start = task_start(outer, batch, hp.head)
    whole = TaskBatch(
        torch.cat([batch.xs, batch.xq], 1), torch.cat([batch.ys, batch.yq], 1), batch.xq, batch.yq
    )
    phi, loss = _adapt(model, detached(start), whole, hp, batched)
    difference = {k: start[k].detach() - phi[k] for k in start}
    return MetaStep(loss.mean(), pull_back(outer, start, difference))
