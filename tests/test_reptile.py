"""Reptile with one inner step is SGD with step size αβ (Nichol et al. 2018, section 5)."""

import torch

from app.meta.algorithms import Hyper, reptile
from app.meta.inner import gradients, task_losses
from app.meta.params import stack


def test_one_step_reptile_is_sgd_with_step_alpha_beta(small_mlp, theta64, batch64):
    alpha, beta = 0.05, 0.3
    hp = Hyper(inner_steps=1, alpha=alpha, beta=beta)
    step = reptile.meta_gradient(small_mlp, theta64, batch64, hp)
    theta = {k: v.detach().clone().requires_grad_(True) for k, v in theta64.items()}
    sgd = torch.optim.SGD(theta.values(), lr=beta)
    for k, p in theta.items():
        p.grad = step.direction[k]
    sgd.step()

    per_task = gradients(
        task_losses(small_mlp),
        stack(theta64, len(batch64)),
        batch64.xs,
        batch64.ys,
        create_graph=False,
    )
    for k, v in theta64.items():
        expected = v - alpha * beta * per_task[k].mean(0)
        assert torch.allclose(theta[k], expected, atol=1e-12)


def test_serial_reptile_moves_towards_each_task_in_turn(small_mlp, theta64, batch64):
    hp = Hyper(inner_steps=3, alpha=0.05, beta=0.5, serial=True)
    step = reptile.meta_gradient(small_mlp, theta64, batch64, hp)
    current = {k: v.detach() for k, v in theta64.items()}
    for i in range(len(batch64)):
        one = batch64.slice(i, i + 1)
        single = reptile.meta_gradient(small_mlp, current, one, Hyper(inner_steps=3, alpha=0.05))
        current = {k: current[k] - 0.5 * single.direction[k] for k in current}
    for k, v in theta64.items():
        assert torch.allclose(v - 0.5 * step.direction[k], current[k], atol=1e-12)
