"""The landscape engine against pointwise evaluation and the algorithms themselves."""

import pytest
import torch

from app.meta import landscape, landscape_views, params, planes, toy
from app.meta.algorithms import ALGORITHMS, Hyper, fomaml, maml, per_task_loop, reptile
from app.meta.nets import regression_mlp
from app.meta.params import flatten, leaves, unflatten
from app.meta.tasks.base import TaskBatch
from app.meta.tasks.sinusoid import SinusoidTasks

F64 = torch.float64


def pointwise_meta_losses(model, w, batch, alpha, max_steps):
    """Σ_i L_τi(U^(m)(w)) for m = 0…max_steps: a plain loop, one task and one step at a time."""
    totals = torch.zeros(max_steps + 1, dtype=w.dtype)
    for i in range(len(batch)):
        phi = w.clone()
        for m in range(max_steps + 1):
            totals[m] += model.loss({"w": phi}, batch.xq[i], batch.yq[i]).detach()
            leaf = phi.detach().requires_grad_(True)
            grad = torch.autograd.grad(model.loss({"w": leaf}, batch.xs[i], batch.ys[i]), leaf)[0]
            phi = (leaf - alpha * grad).detach()
    return totals


@pytest.fixture
def two_tasks():
    return toy.neuron(), toy.two_tasks(dtype=F64)


@pytest.mark.parametrize("name", ["pretrained", "maml", "fomaml", "reptile", "imaml"])
@pytest.mark.parametrize(
    "problem",
    [
        lambda: (toy.neuron(), toy.two_tasks(dtype=F64), toy.theta(-1.0, 1.0, F64)),
        lambda: (
            toy.quadratic(),
            toy.quadratic_task(1.0, 0.3, 2.0, dtype=F64),
            toy.theta(0.2, 1.1, F64),
        ),
    ],
    ids=["two-tasks", "quadratic"],
)
def test_every_algorithm_runs_on_the_toy_problems(problem, name):
    model, batch, theta = problem()
    hp = Hyper(inner_steps=3, alpha=0.1)
    step = ALGORITHMS[name].meta_gradient(model, leaves(theta), batch, hp, True)
    loop = per_task_loop(ALGORITHMS[name].meta_gradient, model, leaves(theta), batch, hp)
    assert step.direction["w"].shape == (2,) and step.loss.isfinite()
    assert torch.allclose(step.direction["w"], loop.direction["w"], rtol=1e-12, atol=1e-15)
    if name == "pretrained" and model.name == "toy-quadratic":  # ∇f(θ) = C(θ − ½) + g
        curv, g = toy.curvature(1.0, 0.3, 2.0, F64), torch.tensor(toy.QUADRATIC_G, dtype=F64)
        assert torch.allclose(step.direction["w"], curv @ (theta["w"] - 0.5) + g)


@pytest.mark.parametrize("query", ["same", "distinct"])
def test_toy_grid_agrees_with_pointwise_evaluation(two_tasks, query):
    model, batch = two_tasks
    if query == "distinct":  # other inputs for the query set: nothing is reused
        batch = TaskBatch(batch.xs, batch.ys, 0.7 * batch.xq, batch.yq.flip(1))
    grid = landscape.toy_landscape(model, batch, n=7, alpha=0.2, max_steps=6)
    assert grid.meta_losses.shape == (7, 7, 7) and grid.task_losses.shape == (2, 7, 7)
    for iy in range(7):
        for ix in range(7):
            w = torch.stack([grid.xs[ix], grid.ys[iy]])
            expected = pointwise_meta_losses(model, w, batch, 0.2, 6)
            assert torch.allclose(grid.meta_losses[:, iy, ix], expected, rtol=1e-10, atol=1e-12)
            for i in range(2):
                single = model.loss({"w": w}, batch.xq[i], batch.yq[i])
                assert torch.allclose(grid.task_losses[i, iy, ix], single, rtol=1e-12)


def test_meta_loss_at_zero_steps_is_the_summed_task_losses(two_tasks):
    grid = landscape.toy_landscape(*two_tasks, n=11, max_steps=3)
    assert torch.equal(grid.meta_losses[0], grid.combined)
    assert torch.allclose(grid.combined, grid.task_losses.sum(0), rtol=1e-14)


def test_grid_minimum_is_the_smallest_value(two_tasks):
    grid = landscape.toy_landscape(*two_tasks, n=61, max_steps=4)  # spacing 0.1
    for m in range(5):
        iy, ix = divmod(int(grid.meta_losses[m].argmin()), 61)
        assert grid.meta_minimum_values[m] == grid.meta_losses[m].min()
        assert torch.equal(grid.meta_minima[m], torch.stack([grid.xs[ix], grid.ys[iy]]))
    # each task's minimum is its own parameters (a, c), which lie on this grid
    assert torch.allclose(grid.task_minima, torch.tensor(toy.TASKS, dtype=F64), atol=1e-9)


def test_the_toy_tasks_conflict_and_maml_differs_from_fomaml(two_tasks):
    model, batch = two_tasks
    xs, ys = landscape.grid_axes(toy.BOX, 9, F64)
    gap = landscape_views.gradient_gap(model, batch, xs, ys, toy.theta(0, 0, F64), toy.ALPHA, 3)
    assert gap.angle_deg.max() > 10


@pytest.mark.parametrize("second_order", [True, False])
def test_grid_meta_gradients_equal_maml_and_fomaml(two_tasks, second_order):
    model, batch = two_tasks
    points = torch.tensor([[-2.5, 2.5], [0.3, -0.7], [1.9, 1.1]], dtype=F64)
    thetas = params.stacked_params(points, toy.theta(0, 0, F64))
    grid = landscape.meta_gradient_grid(model, thetas, batch, 0.15, 3, second_order)
    algorithm = maml if second_order else fomaml
    hp = Hyper(inner_steps=3, alpha=0.15)
    for point, row in zip(points, grid, strict=True):
        step = algorithm.meta_gradient(model, leaves({"w": point}), batch, hp)
        assert torch.allclose(row, flatten(step.direction), rtol=1e-10, atol=1e-14)


def test_update_directions_are_the_algorithms_called_directly(two_tasks):
    model, batch = two_tasks
    theta = toy.theta(*toy.START, dtype=F64)
    hp = Hyper(inner_steps=4, alpha=0.1, lam=2.0, cg_steps=3)
    directions = landscape.update_directions(theta, hp, model, batch)
    assert set(directions) == {"maml", "fomaml", "reptile", "imaml"}
    for name, direction in directions.items():
        step = ALGORITHMS[name].meta_gradient(model, leaves(theta), batch, hp, True)
        assert direction.shape == (2,)
        assert torch.allclose(direction, -flatten(step.direction), rtol=1e-12, atol=1e-15)


def test_update_directions_take_per_algorithm_hyperparameters(two_tasks):
    theta = toy.theta(0.5, -0.5, dtype=F64)
    hp, other = Hyper(inner_steps=1, alpha=0.1), Hyper(inner_steps=5, alpha=0.1)
    out = landscape.update_directions(
        theta, hp, *two_tasks, names=("reptile",), overrides={"reptile": other}
    )
    step = reptile.meta_gradient(*two_tasks[:1], leaves(theta), two_tasks[1], other)
    assert list(out) == ["reptile"]
    assert torch.allclose(out["reptile"], -flatten(step.direction))


def test_inner_paths_end_at_reptiles_target(two_tasks):
    model, batch = two_tasks
    theta = toy.theta(-1.0, 2.0, dtype=F64)
    hp = Hyper(inner_steps=6, alpha=0.2)
    paths = landscape.inner_paths(theta, hp, model, batch)
    assert paths.shape == (2, 7, 2)
    assert torch.equal(paths[:, 0], flatten(theta).expand(2, 2))
    step = reptile.meta_gradient(model, theta, batch, hp)
    assert torch.allclose(paths[:, -1].mean(0), flatten(theta) - flatten(step.direction))


def test_implicit_view_balances_forces_and_cg_reaches_the_exact_gradient(two_tasks):
    model, batch = two_tasks
    theta = toy.theta(-0.5, 1.5, dtype=F64)
    hp = Hyper(inner_steps=100, alpha=0.2, lam=2.0, cg_steps=2)
    view = landscape.implicit_view(theta, hp, model, batch)
    assert view.cg_iterates.shape == (3, 2, 2) and view.hessians.shape == (2, 2, 2)
    assert torch.allclose(view.task_gradient, -view.proximal_gradient, atol=1e-9)
    assert view.residual.abs().max() < 1e-9
    assert torch.allclose(view.cg_iterates[-1], view.exact, rtol=1e-8, atol=1e-12)
    assert torch.equal(view.cg_iterates[0], torch.zeros(2, 2, dtype=F64))
    step = ALGORITHMS["imaml"].meta_gradient(model, leaves(theta), batch, hp, True)
    assert torch.allclose(view.cg_iterates[-1].mean(0), flatten(step.direction))


def test_quadratic_gap_vanishes_without_curvature():
    gap = landscape_views.quadratic_gap(0.0, 0.0, 0.0, n=9, dtype=F64)
    assert gap.error.abs().max() == 0 and gap.angle_deg.abs().max() == 0
    assert gap.magnitude_gap.abs().max() == 0
    assert torch.allclose(gap.maml, torch.tensor(toy.QUADRATIC_G, dtype=F64).expand(9, 9, 2))


def test_quadratic_gradients_match_the_closed_form():
    a, b, c, alpha = 1.5, -0.7, 0.4, 0.3
    gap = landscape_views.quadratic_gap(a, b, c, alpha=alpha, n=5, dtype=F64)
    curv, g = toy.curvature(a, b, c, F64), torch.tensor(toy.QUADRATIC_G, dtype=F64)
    points = landscape.grid_points(gap.xs, gap.ys)
    grad = (points - 0.5) @ curv + g  # ∇f(x) = C(x − ½) + g (C symmetric)
    adapted = points - alpha * grad
    first = (adapted - 0.5) @ curv + g
    exact = first @ (torch.eye(2, dtype=F64) - alpha * curv)
    assert torch.allclose(gap.fomaml.reshape(-1, 2), first, rtol=1e-12)
    assert torch.allclose(gap.maml.reshape(-1, 2), exact, rtol=1e-12)
    assert gap.angle_deg.max() > 1


def test_angle_between_is_accurate():
    u = torch.tensor([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [0.0, 0.0]], dtype=F64)
    v = torch.tensor([[0.0, 2.0], [-3.0, 0.0], [1.0, 1e-9], [1.0, 1.0]], dtype=F64)
    angles = landscape_views.angle_between(u, v)
    assert torch.allclose(
        angles, torch.tensor([90.0, 180.0, 1e-9 * 180 / torch.pi, 0.0], dtype=F64)
    )


@pytest.fixture
def mlp_theta():
    model = regression_mlp((1, 8, 8, 1), torch.tanh)
    return model, model.init(torch.Generator().manual_seed(5), F64)


def test_filter_normalised_directions_have_the_filter_norms_of_theta(mlp_theta):
    _, theta = mlp_theta
    direction = planes.filter_normalized_direction(theta, torch.Generator().manual_seed(1))
    for k, w in theta.items():
        if w.dim() == 1:
            assert torch.equal(direction[k], torch.zeros_like(w))
        else:
            assert torch.allclose(direction[k].norm(dim=1), w.norm(dim=1), rtol=1e-12)
            assert not torch.allclose(direction[k], w)
    kept = planes.filter_normalized_direction(theta, torch.Generator(), biases="weights")
    assert torch.equal(kept["b0"], theta["b0"])


def test_random_plane_is_deterministic_given_a_seed(mlp_theta):
    _, theta = mlp_theta
    one, two = planes.random_plane(theta, seed=3), planes.random_plane(theta, seed=3)
    assert torch.equal(one.directions, two.directions)
    assert torch.equal(one.origin, flatten(theta))
    assert not torch.equal(one.directions, planes.random_plane(theta, seed=4).directions)
    assert not torch.allclose(one.directions[0], one.directions[1])


def test_projection_of_a_path_in_the_plane_is_exact(mlp_theta):
    _, theta = mlp_theta
    plane = planes.random_plane(theta, seed=0)  # directions not orthogonal
    coords = torch.randn(12, 2, generator=torch.Generator().manual_seed(2), dtype=F64)
    path = plane.origin + coords @ plane.directions
    assert torch.allclose(planes.project(path, plane), coords, rtol=1e-9, atol=1e-10)


def test_pca_plane_recovers_a_planar_trajectory(mlp_theta):
    _, theta = mlp_theta
    basis = planes.random_plane(theta, seed=1).directions
    t = torch.linspace(0, 1, 15, dtype=F64)
    coords = torch.stack([3 * (1 - t), torch.sin(4 * t) * (1 - t)], dim=1)
    path = flatten(theta) + coords @ basis
    snapshots = [unflatten(p, theta) for p in path]
    plane = planes.pca_plane(snapshots)
    assert torch.equal(plane.origin, path[-1])
    assert torch.allclose(plane.directions @ plane.directions.T, torch.eye(2, dtype=F64))
    assert torch.allclose(plane.explained.sum(), torch.tensor(1.0, dtype=F64))
    projected = planes.project(planes.trajectory_matrix(snapshots), plane)
    assert torch.allclose(plane.origin + projected @ plane.directions, path, atol=1e-10)
    assert (projected[0] <= 0).all()
    box = planes.plane_box(projected)
    assert box[0] < projected[:, 0].min() and box[3] > projected[:, 1].max()


@pytest.mark.parametrize("steps", [0, 2])
def test_plane_losses_agree_with_pointwise_evaluation(mlp_theta, steps):
    model, theta = mlp_theta
    batch = SinusoidTasks(F64).sample(3, 5, 6, torch.Generator().manual_seed(0))
    plane = planes.random_plane(theta, seed=7)
    xs, ys = torch.linspace(-1, 1, 4, dtype=F64), torch.linspace(-0.5, 1, 3, dtype=F64)
    hp = Hyper(inner_steps=steps, alpha=0.05)
    grid = planes.plane_losses(model, plane, batch, xs, ys, hp.alpha, steps, max_elements=500)
    assert grid.shape == (3, 4)
    for iy, y in enumerate(ys):
        for ix, x in enumerate(xs):
            point = unflatten(
                plane.origin + x * plane.directions[0] + y * plane.directions[1], theta
            )
            expected = maml.meta_gradient(model, leaves(point), batch, hp).loss
            assert torch.allclose(grid[iy, ix], expected, rtol=1e-10)


def test_grid_task_losses_equal_the_tiled_stack(two_tasks):
    model, batch = two_tasks
    points = torch.tensor([[-2.0, 0.5], [1.0, 1.0], [0.0, -3.0]], dtype=F64)
    thetas = params.stacked_params(points, toy.theta(0, 0, F64))
    nested = landscape.grid_task_losses(model, thetas, batch)
    tiled = landscape.adapted_task_losses(model, thetas, batch, 0.1, 0)[0]
    assert nested.shape == (3, 2)
    assert torch.allclose(nested, tiled, rtol=1e-14)


def test_support_hessians_are_the_dense_hessians(two_tasks):
    model, batch = two_tasks
    phi = {"w": torch.tensor([[0.3, -1.2], [1.5, 0.7]], dtype=F64)}
    hessians = landscape.support_hessians(model, phi, batch)
    for i in range(2):
        exact = torch.autograd.functional.hessian(
            lambda w, i=i: model.loss({"w": w}, batch.xs[i], batch.ys[i]), phi["w"][i]
        )
        assert torch.allclose(hessians[i], exact, rtol=1e-12, atol=1e-14)
