"""MAML: Model-Agnostic Meta-Learning, Finn, Abbeel & Levine (ICML 2017).

Meta-objective, eq. (1)–(2) and Algorithm 2 of the paper:

    min_θ  Σ_i L_τi^query(φ_i),   φ_i = U^k(θ) = k steps of φ ← φ − α ∇L_τi^support(φ)

The meta-gradient differentiates through the inner steps (second order):

    ∇_θ L(φ_k) = Π_{j=k−1..0} (I − α ∇²L^support(φ_j)) · ∇L^query(φ_k)

computed here by reverse-mode autodiff with ``create_graph=True`` so the
Hessian-vector products are never formed as matrices.
"""

from __future__ import annotations

import torch

from app.meta.algorithms.base import Hyper, MetaStep, gradient_step
from app.meta.heads import task_start
from app.meta.inner import sgd_adapt, task_losses
from app.meta.nets import Model
from app.meta.params import Params
from app.meta.tasks.base import TaskBatch


def adapted_query_loss(
    model: Model, theta: Params, batch: TaskBatch, hp: Hyper, batched: bool, second_order: bool
) -> torch.Tensor:
    """Mean over tasks of L^query(U^k(φ_0(θ))), differentiable with respect to θ; φ_0 is θ
    with each task's head where ``hp.head`` says (``app.meta.heads``)."""
    losses = task_losses(model, batched)
    phi = sgd_adapt(
        losses,
        task_start(theta, batch, hp.head),
        batch.xs,
        batch.ys,
        hp.alpha,
        hp.inner_steps,
        second_order=second_order,
    )[-1]
    return losses(phi, batch.xq, batch.yq).mean()


def meta_gradient(
    model: Model, theta: Params, batch: TaskBatch, hp: Hyper, batched: bool = True
) -> MetaStep:
    loss = adapted_query_loss(model, theta, batch, hp, batched, second_order=True)
    return gradient_step(loss, theta)
