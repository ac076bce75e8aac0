"""FOMAML is MAML without its Hessian term, on linear regression where H is known.

For a linear model f(x) = w·x + b with Z = [x, 1], the mean-squared error
L(θ) = (1/n)‖Zθ − y‖² has ∇L = (2/n)Zᵀ(Zθ − y) and the constant Hessian
H = (2/n)ZᵀZ. With one inner step φ = θ − α∇L_s(θ):

    MAML:   (I − αH_s) ∇L_q(φ)
    FOMAML:             ∇L_q(φ)
"""

import torch

from app.meta.algorithms import Hyper, fomaml, maml
from app.meta.nets import regression_mlp
from app.meta.params import flatten, leaves
from app.meta.tasks.base import TaskBatch


def design(x):
    return torch.cat([x, torch.ones(x.shape[0], 1, dtype=x.dtype)], dim=1)


def test_fomaml_drops_exactly_the_hessian_term():
    g = torch.Generator().manual_seed(5)
    d, n = 3, 8
    model = regression_mlp((d, 1))
    theta = leaves(model.init(g, torch.float64))
    xs, xq = (
        torch.randn(1, n, d, generator=g, dtype=torch.float64),
        torch.randn(1, n, d, generator=g, dtype=torch.float64),
    )
    ys, yq = (
        torch.randn(1, n, 1, generator=g, dtype=torch.float64),
        torch.randn(1, n, 1, generator=g, dtype=torch.float64),
    )
    batch = TaskBatch(xs, ys, xq, yq)
    alpha = 0.1
    hp = Hyper(inner_steps=1, alpha=alpha)

    th = flatten(theta).detach()  # [w (1×d), b]: the same order as Z's columns
    zs, zq = design(xs[0]), design(xq[0])
    grad_s = 2 / n * zs.T @ (zs @ th - ys[0, :, 0])
    hess_s = 2 / n * zs.T @ zs
    phi = th - alpha * grad_s
    grad_q = 2 / n * zq.T @ (zq @ phi - yq[0, :, 0])

    first = flatten(fomaml.meta_gradient(model, theta, batch, hp).direction)
    second = flatten(maml.meta_gradient(model, theta, batch, hp).direction)
    assert torch.allclose(first, grad_q, atol=1e-12)
    assert torch.allclose(
        second, (torch.eye(d + 1, dtype=torch.float64) - alpha * hess_s) @ grad_q, atol=1e-12
    )
    assert not torch.allclose(first, second, atol=1e-6)
