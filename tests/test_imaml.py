"""iMAML's implicit gradient against (I + H/λ)⁻¹ ∇L_test with an exact Hessian."""

import pytest
import torch

from app.meta.algorithms import Hyper, imaml
from app.meta.inner import task_losses
from app.meta.params import first, flatten, stack, unflatten


@pytest.fixture
def solved(smooth_mlp, theta64, batch64):
    hp = Hyper(inner_steps=1500, alpha=0.05, lam=4.0, cg_steps=80)
    one = batch64.slice(0, 1)
    losses = task_losses(smooth_mlp)
    phi = imaml.inner_solution(losses, stack(theta64, 1), one, hp)
    phi_flat = flatten(first(phi)).detach()
    like = {k: v.detach() for k, v in first(phi).items()}

    def support_loss(vector):
        return smooth_mlp.loss(unflatten(vector, like), one.xs[0], one.ys[0])

    def query_loss(vector):
        return smooth_mlp.loss(unflatten(vector, like), one.xq[0], one.yq[0])

    hessian = torch.autograd.functional.hessian(support_loss, phi_flat)
    v = torch.autograd.grad(query_loss(phi_flat.requires_grad_(True)), phi_flat)[0]
    a = torch.eye(len(v), dtype=v.dtype) + hessian / hp.lam
    return hp, one, losses, phi, a, torch.linalg.solve(a, v)


def test_inner_problem_is_near_its_optimum(smooth_mlp, theta64, solved):
    hp, one, losses, phi, _, _ = solved
    from app.meta.inner import gradients

    g = gradients(losses, phi, one.xs, one.ys, create_graph=False)
    stationarity = {k: g[k] + hp.lam * (phi[k] - theta64[k].detach()) for k in g}
    assert flatten(first(stationarity)).norm() < 1e-6


def test_cg_converges_to_the_exact_implicit_gradient(solved):
    hp, one, losses, phi, a, exact = solved
    assert torch.linalg.eigvalsh(a).min() > 0
    iterates = [flatten(first(x)) for x in imaml.implicit_gradient_iterates(losses, phi, one, hp)]
    assert torch.allclose(iterates[-1], exact, rtol=1e-8, atol=1e-10)
    errors = [float((x - exact) @ a @ (x - exact)) for x in iterates]
    assert all(
        later <= earlier * (1 + 1e-9) for earlier, later in zip(errors, errors[1:], strict=False)
    )
    assert errors[3] < 0.5 * errors[0]


def test_meta_gradient_is_the_cg_solution(smooth_mlp, theta64, solved):
    hp, one, _, _, _, exact = solved
    step = imaml.meta_gradient(smooth_mlp, theta64, one, hp)
    assert torch.allclose(flatten(step.direction), exact, rtol=1e-8, atol=1e-10)
