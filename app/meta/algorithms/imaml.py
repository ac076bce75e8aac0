"""iMAML: Meta-Learning with Implicit Gradients, Rajeswaran, Finn, Kakade & Levine (NeurIPS 2019).

Inner problem (eq. 4): φ_i = argmin_φ L_τi^support(φ) + λ/2 ‖φ − θ‖², solved
approximately by gradient descent started at θ. At its optimum
∇L(φ) + λ(φ − θ) = 0, and the implicit function theorem gives (eq. 6)

    dφ/dθ = (I + ∇²L^support(φ)/λ)⁻¹,   so   g_i = (I + H_i/λ)⁻¹ ∇L_τi^query(φ_i)

which needs neither the inner path nor its memory. g_i is found by conjugate
gradient on Hessian-vector products (section 3.2); with damping μ the system is
(I + (H + μI)/λ) g = ∇L^query, which keeps it positive definite when H is not.
"""

from __future__ import annotations

import torch

from app.meta.algorithms.base import Hyper, MetaStep
from app.meta.cg import conjugate_gradient
from app.meta.heads import pull_back, task_start
from app.meta.inner import TaskLosses, gradients, requiring_grad, sgd_adapt, task_losses
from app.meta.nets import Model
from app.meta.params import Params, detached, stack
from app.meta.tasks.base import TaskBatch


def inner_solution(losses: TaskLosses, start: Params, batch: TaskBatch, hp: Hyper) -> Params:
    """φ_i ≈ argmin L^support(φ) + λ/2‖φ − φ_0,i‖² from the stack ``start`` of φ_0,i (θ, or θ
    with a head of the task's own, ``app.meta.heads``), detached leaves that require grad."""
    phi = sgd_adapt(
        losses,
        detached(start),
        batch.xs,
        batch.ys,
        hp.alpha,
        hp.inner_steps,
        proximal=hp.lam,
    )[-1]
    return {k: v.detach().requires_grad_(True) for k, v in phi.items()}


def implicit_gradient_iterates(
    losses: TaskLosses, phi: Params, batch: TaskBatch, hp: Hyper
) -> list[Params]:
    """CG iterates towards (I + (H + μI)/λ)⁻¹ ∇L^query(φ), per task."""
    v = gradients(losses, phi, batch.xq, batch.yq, create_graph=False)
    with torch.enable_grad():
        g = gradients(losses, phi, batch.xs, batch.ys, create_graph=True)
    inputs, outputs = list(phi.values()), list(g.values())

    def matvec(u: Params) -> Params:
        hu = torch.autograd.grad(outputs, inputs, grad_outputs=list(u.values()), retain_graph=True)
        return {k: u[k] + (h + hp.damping * u[k]) / hp.lam for k, h in zip(u, hu, strict=True)}

    return conjugate_gradient(matvec, v, hp.cg_steps)


def meta_gradient(
    model: Model, theta: Params, batch: TaskBatch, hp: Hyper, batched: bool = True
) -> MetaStep:
    losses = task_losses(model, batched)
    if hp.head == "learned":
        start = stack(detached(theta), len(batch))
    else:
        with torch.enable_grad():
            outer = requiring_grad(theta)
            start = task_start(outer, batch, hp.head)
    phi = inner_solution(losses, start, batch, hp)
    solution = implicit_gradient_iterates(losses, phi, batch, hp)[-1]
    loss = losses(phi, batch.xq, batch.yq).detach().mean()
    if hp.head == "learned":
        return MetaStep(loss, {k: v.mean(0) for k, v in solution.items()})
    return MetaStep(loss, pull_back(outer, start, solution))
