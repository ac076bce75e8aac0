"""The figure views added to the landscape engine, against the algorithms and closed forms."""

import math

import pytest
import torch

from app.meta import landscape, landscape_views, params, toy
from app.meta.algorithms import ALGORITHMS, Hyper
from app.meta.params import flatten, leaves

F64 = torch.float64


@pytest.fixture
def two_tasks():
    return toy.neuron(), toy.two_tasks(dtype=F64)


def test_adapted_view_paths_losses_and_reptile_step(two_tasks):
    model, batch = two_tasks
    theta = toy.theta(0.5, -0.5, F64)
    hp = Hyper(inner_steps=4, alpha=0.2, beta=0.3)
    view = landscape_views.adapted_view(theta, hp, model, batch)
    assert view.paths.shape == (2, 5, 2) and view.losses.shape == (2, 5)
    assert torch.equal(view.paths, landscape.inner_paths(theta, hp, model, batch))
    for i in range(2):
        for j in range(5):
            phi = {"w": view.paths[i, j]}
            expected = model.loss(phi, batch.xq[i], batch.yq[i])
            assert torch.allclose(view.losses[i, j], expected, rtol=1e-12)
    assert torch.allclose(view.loss_before, view.losses[:, 0].sum())
    assert torch.allclose(view.meta_loss, view.losses[:, -1].sum())
    step = ALGORITHMS["reptile"].meta_gradient(model, leaves(theta), batch, hp, True)
    target = flatten(theta) - flatten(step.direction)
    assert torch.allclose(view.target, target, rtol=1e-12)
    assert torch.allclose(view.reptile_theta, flatten(theta) + 0.3 * (target - flatten(theta)))


def test_one_reptile_step_is_a_gradient_step_on_the_mean_loss(two_tasks):
    model, batch = two_tasks
    theta = toy.theta(-1.2, 0.7, F64)
    view = landscape_views.adapted_view(
        theta, Hyper(inner_steps=1, alpha=0.3, beta=0.6), model, batch
    )
    w = flatten(theta).clone().requires_grad_(True)
    mean = sum(model.loss({"w": w}, batch.xs[i], batch.ys[i]) for i in range(2)) / 2
    (grad,) = torch.autograd.grad(mean, w)
    assert torch.allclose(view.gradient_step, flatten(theta) - 0.3 * 0.6 * grad, rtol=1e-12)
    assert torch.allclose(view.reptile_theta, view.gradient_step, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("lam", [0.1, 1.0, 10.0, 100.0])
def test_proximal_hyper_is_stable_and_solves_the_inner_problem(two_tasks, lam):
    hp = landscape_views.proximal_hyper(lam)
    assert hp.lam == lam and 1 <= hp.inner_steps <= 100
    assert hp.alpha * (lam + landscape_views.TOY_MAX_CURVATURE) < 2  # stable on the whole box
    view = landscape.implicit_view(toy.theta(0.0, 0.0, F64), hp, *two_tasks)
    assert view.residual.norm(dim=-1).max() < 1e-3
    assert torch.allclose(view.task_gradient, -view.proximal_gradient, atol=1e-3)


@pytest.mark.parametrize("lam", [1.0, 3.0, 10.0, 100.0])
def test_proximal_hyper_converges_across_the_box(two_tasks, lam):
    """The calibration of ``proximal_hyper``: for λ ≥ 1 the forces balance everywhere."""
    hp = landscape_views.proximal_hyper(lam)
    for x in torch.linspace(-3, 3, 5).tolist():
        for y in torch.linspace(-3, 3, 5).tolist():
            view = landscape.implicit_view(toy.theta(x, y, F64), hp, *two_tasks)
            assert view.residual.norm(dim=-1).max() < 1e-2, (x, y)


def test_toy_curvature_bounds_hold_around_the_box(two_tasks):
    model, batch = two_tasks
    xs, ys = landscape.grid_axes((-4.0, 4.0, -4.0, 4.0), 81, F64)
    points = landscape.grid_points(xs, ys)
    values = []
    for i in range(2):
        one = batch.slice(i, i + 1)
        tiled = type(batch)(*(params.tile_data(t, len(points)) for t in (one.xs, one.ys) * 2))
        phi = params.stacked_params(points, toy.theta(0, 0, F64))
        values.append(torch.linalg.eigvalsh(landscape.support_hessians(model, phi, tiled)))
    values = torch.cat(values)
    low, high = landscape_views.TOY_CURVATURE
    assert low <= values.min() < low + 0.05 and high - 0.05 < values.max() <= high


def test_proximal_landscape_adds_the_spring(two_tasks):
    model, batch = two_tasks
    theta = toy.theta(1.0, -2.0, F64)
    surface = landscape_views.proximal_landscape(theta, 3.0, model, batch, n=9)
    assert surface.regularised.shape == surface.task_losses.shape == (2, 9, 9)
    grid = landscape.toy_landscape(model, batch, n=9, max_steps=0)
    assert torch.allclose(surface.task_losses, grid.task_losses, rtol=1e-12)
    iy, ix = 2, 7
    phi = torch.stack([surface.xs[ix], surface.ys[iy]])
    spring = 1.5 * (phi - flatten(theta)).pow(2).sum()
    assert torch.allclose(surface.regularised[:, iy, ix], surface.task_losses[:, iy, ix] + spring)
    for i in range(2):
        assert (
            surface.regularised[i].min()
            == surface.regularised[i][
                (surface.ys == surface.minima[i, 1]).nonzero()[0, 0],
                (surface.xs == surface.minima[i, 0]).nonzero()[0, 0],
            ]
        )


def test_cg_convergence_errors_and_bound(two_tasks):
    theta = toy.theta(-1.0, 2.0, F64)
    hp = landscape_views.proximal_hyper(1.0, cg_steps=4)
    view = landscape.implicit_view(theta, hp, *two_tasks)
    cg = landscape_views.cg_convergence(view, hp)
    assert cg.errors.shape == cg.errors_a.shape == cg.bound.shape == (5, 2)
    assert torch.allclose(cg.errors[0], view.exact.norm(dim=-1))
    assert cg.errors[2:].max() < 1e-10  # two parameters: exact after two iterations
    assert (cg.errors_a <= cg.bound + 1e-12).all()  # Hestenes & Stiefel's bound holds
    assert (cg.condition >= 1).all()
    a = torch.eye(2, dtype=F64) + view.hessians / hp.lam
    assert torch.allclose(torch.linalg.solve(a, cg.query_gradient), view.exact)


def test_cg_bound_is_infinite_when_the_system_is_not_positive_definite(two_tasks):
    theta = toy.theta(-1.0, 2.0, F64)
    hp = landscape_views.proximal_hyper(1.0)
    view = landscape.implicit_view(theta, hp, *two_tasks)
    indefinite = landscape.ImplicitView(
        view.phi, view.task_gradient, view.proximal_gradient, view.residual,
        view.hessians - 5 * torch.eye(2, dtype=F64), view.cg_iterates, view.exact,
    )  # fmt: skip
    cg = landscape_views.cg_convergence(indefinite, hp)
    assert math.isinf(cg.condition.min()) and math.isinf(cg.bound[1:].min())


def test_curvature_eigenvalues_and_maml_factors():
    values = landscape_views.curvature_eigenvalues(1.0, 2.5, 1.0)
    assert values.tolist() == pytest.approx([-1.5, 3.5])
    assert landscape_views.maml_factors(1.0, 2.5, 1.0, 0.25).tolist() == pytest.approx(
        [1.375, 0.125]
    )
