"""Adaptation curves: what a model predicts after each inner step on one task, for the figures.

The MAML page's figures and the training stream's probe task show how θ adapts to
one task's support set: φ_0 = θ, φ_{j+1} = φ_j − α∇L_support(φ_j) (Finn et al.
2017, eq. 1), with a read-out of each φ_j and the support loss after each step.
Sinusoids read the prediction on a grid (:func:`finetune_curves`); Omniglot reads the
queries' class probabilities (:func:`episode_curves`).

A trained Omniglot classifier adapting to one episode (the MAML page's figure): MAML learns an
initialisation θ, and at test time fine-tunes it on the episode's N·K labelled support images,
L^S(φ) = −(1/NK) Σ_i log softmax(f_φ(x_i))[y_i], and classifies a query x_q by
softmax(f_{φ_j}(x_q)). :func:`episode_curves` returns the queries' class probabilities and L^S
after every step j = 0 … k, not only the last.

Batch norm uses the statistics of the episode's images, never running averages: the support
set's for the steps and for L^S, exactly as in training (``app.meta.algorithms.maml``), and
the support set's together with the queries' for the prediction. Training normalises a batch
of N·Q queries, N classes mixed; one query on its own would be normalised by the statistics
of a single drawing, which its features were never trained for. With the support set beside
it, the statistics are again those of a mixture of the N classes. (How fine-tuned classifiers
predict in evaluation is :mod:`app.meta.algorithms.finetuned`.)
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


def episode_curves(
    model: Model,
    theta: Params,
    xs: torch.Tensor,
    ys: torch.Tensor,
    xq: torch.Tensor,
    alpha: float,
    steps: int,
) -> Curves:
    """Query probabilities (steps + 1, Q, N) and support losses (steps + 1,) of φ_0 … φ_steps.

    ``xs`` (N·K, 1, 28, 28) with labels ``ys`` (N·K,) in 0 … N−1, ``xq`` (Q, 1, 28, 28); one
    episode, run without ``vmap`` (Conv4 is faster that way on a CPU, ``bench/omniglot_step.py``).
    """
    dtype = next(iter(theta.values())).dtype
    xs, xq = xs.to(dtype), xq.to(dtype)
    episode = torch.cat([xs, xq])

    def query_probabilities(phi: Params) -> torch.Tensor:
        return model.forward(phi, episode)[len(xs) :].softmax(-1)

    return adaptation_curves(model, theta, xs, ys, alpha, steps, query_probabilities, batched=False)
