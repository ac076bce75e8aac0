"""Fine-tuning curves: a model's prediction after each inner step on one task.

The MAML page's sinusoid figure and the training stream's probe task both show
how θ adapts to K points: φ_0 = θ, φ_{j+1} = φ_j − α∇L_support(φ_j) (Finn et al.
2017, eq. 1), with the prediction on a grid and the support loss after each step.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from app.meta.inner import sgd_adapt, task_losses
from app.meta.nets import Model
from app.meta.params import Params, detached, first, stack


@dataclass(frozen=True)
class Curves:
    predictions: torch.Tensor  # (steps + 1, grid points)
    support_losses: torch.Tensor  # (steps + 1,)


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
    losses = task_losses(model)
    iterates = sgd_adapt(losses, stack(detached(theta), 1), xs[None], ys[None], alpha, steps)
    with torch.no_grad():
        predictions = torch.stack([model.forward(first(phi), grid)[:, 0] for phi in iterates])
        support = torch.stack([losses(phi, xs[None], ys[None])[0] for phi in iterates])
    return Curves(predictions, support)
