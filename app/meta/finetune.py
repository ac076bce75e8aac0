"""Fine-tuning curves: what a model predicts after each inner step on one task.

The MAML page's figures and the training stream's probe task show how θ adapts to
one task's support set: φ_0 = θ, φ_{j+1} = φ_j − α∇L_support(φ_j) (Finn et al.
2017, eq. 1), with a read-out of each φ_j and the support loss after each step.
Sinusoids read the prediction on a grid (:func:`finetune_curves`); Omniglot reads a
query's class probabilities (``app.meta.adaptation``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from app.meta.inner import sgd_adapt, task_losses
from app.meta.nets import Model
from app.meta.params import Params, detached, first, stack


@dataclass(frozen=True)
class Curves:
    predictions: torch.Tensor  # (steps + 1, …): the read-out of φ_0 … φ_steps
    support_losses: torch.Tensor  # (steps + 1,)


def adaptation_curves(
    model: Model,
    theta: Params,
    xs: torch.Tensor,
    ys: torch.Tensor,
    alpha: float,
    steps: int,
    readout: Callable[[Params], torch.Tensor],
    batched: bool = True,
) -> Curves:
    """``readout(φ_j)`` and L_support(φ_j) for j = 0 … ``steps`` of gradient descent on (xs, ys).

    ``batched=False`` runs the one task with plain autograd instead of ``vmap``.
    """
    losses = task_losses(model, batched)
    iterates = sgd_adapt(losses, stack(detached(theta), 1), xs[None], ys[None], alpha, steps)
    with torch.no_grad():
        predictions = torch.stack([readout(first(phi)) for phi in iterates])
        support = torch.stack([losses(phi, xs[None], ys[None])[0] for phi in iterates])
    return Curves(predictions, support)


def finetune_curves(
    model: Model,
    theta: Params,
    xs: torch.Tensor,
    ys: torch.Tensor,
    alpha: float,
    steps: int,
    grid: torch.Tensor,
) -> Curves:
    """Predictions on ``grid`` (G, d) and support losses after 0 … ``steps`` steps on (xs, ys)."""
    return adaptation_curves(
        model, theta, xs, ys, alpha, steps, lambda phi: model.forward(phi, grid)[:, 0]
    )
