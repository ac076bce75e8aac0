"""Inner loops as pure functions of stacked, per-task parameters.

A *task-loss function* maps a stack of parameters (task dimension first) and a
stack of data sets to the vector of per-task losses. Batched, it is
``torch.func.vmap(model.loss)``: one call runs every task's forward pass. For a
reference it can also run a single task with plain autograd (``batched=False``),
which is what a per-task Python loop calls.

Because the tasks are independent, ∇ of Σ_i L_i(φ_i) with respect to the stack
is the stack of per-task gradients ∇L_i(φ_i): one ``autograd.grad`` call takes
the inner step of every task at once.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.func import vmap

from app.meta.nets import Model
from app.meta.params import Params, first

TaskLosses = Callable[[Params, torch.Tensor, torch.Tensor], torch.Tensor]


def task_losses(model: Model, batched: bool = True) -> TaskLosses:
    """Per-task losses, shape (tasks,), for a stack of parameters and data."""
    if batched:
        return vmap(model.loss)

    def single(params: Params, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return model.loss(first(params), x[0], y[0]).unsqueeze(0)

    return single


def gradients(
    losses: TaskLosses, params: Params, x: torch.Tensor, y: torch.Tensor, create_graph: bool
) -> Params:
    """Per-task gradients ∇_φ L_i(φ_i) of a stack."""
    total = losses(params, x, y).sum()
    grads = torch.autograd.grad(total, list(params.values()), create_graph=create_graph)
    return dict(zip(params, grads, strict=True))


def requiring_grad(params: Params) -> Params:
    """The stack, each part that is not in a graph made a detached leaf that requires grad
    (a head set to zero for every task is such a part, ``app.meta.heads``)."""
    return {k: v if v.requires_grad else v.detach().requires_grad_(True) for k, v in params.items()}


def sgd_adapt(
    losses: TaskLosses,
    params: Params,
    x: torch.Tensor,
    y: torch.Tensor,
    alpha: float,
    steps: int,
    second_order: bool = False,
    proximal: float = 0.0,
) -> list[Params]:
    """Gradient descent on every task at once; returns the iterates φ_0 … φ_steps.

    Each step is φ_{j+1} = φ_j − α (∇L(φ_j) + λ (φ_j − φ_0)), Finn et al. (2017)
    eq. (1) when λ = 0, and the proximal inner problem of Rajeswaran et al.
    (2019) eq. (4) when λ = ``proximal`` > 0. With ``second_order`` the steps stay
    differentiable (MAML); otherwise each gradient is a constant, so φ depends on
    φ_0 only through the identity (FOMAML, Reptile, iMAML).
    """
    phi = requiring_grad(params)
    anchor = {k: v.detach() for k, v in phi.items()}
    iterates = [phi]
    with torch.enable_grad():
        for _ in range(steps):
            grads = gradients(losses, phi, x, y, create_graph=second_order)
            if proximal:
                grads = {k: g + proximal * (phi[k].detach() - anchor[k]) for k, g in grads.items()}
            phi = {k: phi[k] - alpha * grads[k] for k in phi}
            iterates.append(phi)
    return iterates
