"""Reptile, Nichol, Achiam & Schulman, "On First-Order Meta-Learning Algorithms" (2018).

Run k steps of SGD on a task to get φ, then move θ towards it:

    θ ← θ + β (φ − θ)                       (serial, Algorithm 1)
    θ ← θ + β · (1/n) Σ_i (φ_i − θ)          (batched, Algorithm 2)

The direction returned is θ − φ (averaged over tasks), so plain SGD with step
size β performs exactly these updates. With k = 1, φ − θ = −α∇L(θ) and Reptile
is ordinary SGD on the expected task loss with step size αβ.
"""

from __future__ import annotations

from app.meta.algorithms.base import Hyper, MetaStep
from app.meta.inner import sgd_adapt, task_losses
from app.meta.nets import Model
from app.meta.params import Params, detached, first, stack
from app.meta.tasks.base import TaskBatch


def _adapt(model, theta, batch, hp, batched):
    losses = task_losses(model, batched)
    phi = sgd_adapt(losses, stack(theta, len(batch)), batch.xs, batch.ys, hp.alpha, hp.inner_steps)
    phi = {k: v.detach() for k, v in phi[-1].items()}
    return phi, losses(phi, batch.xq, batch.yq).detach()


def meta_gradient(
    model: Model, theta: Params, batch: TaskBatch, hp: Hyper, batched: bool = True
) -> MetaStep:
    theta = detached(theta)
    if hp.serial:
        current, losses = theta, []
        for i in range(len(batch)):
            phi, loss = _adapt(model, current, batch.slice(i, i + 1), hp, batched)
            phi = first(phi)
            current = {k: current[k] + hp.beta * (phi[k] - current[k]) for k in current}
            losses.append(loss)
        direction = {k: (theta[k] - current[k]) / hp.beta for k in theta}
        return MetaStep(sum(losses).squeeze(0) / len(losses), direction)
    phi, loss = _adapt(model, theta, batch, hp, batched)
    return MetaStep(loss.mean(), {k: theta[k] - phi[k].mean(0) for k in theta})
