"""Loss landscapes: losses, meta-losses and update directions over a plane of parameters.

Grids are evaluated in one batched call with the stack convention of
:mod:`app.meta.inner`: the G grid points become a stack of parameters, tiled once
per task into a stack of G·T independent copies (grid-major), so one
``vmap(model.loss)`` runs every (point, task) pair and one ``autograd.grad`` per
inner step adapts all of them (:func:`app.meta.inner.sgd_adapt`, the engine's own
inner loop; no second implementation of the math).

Conventions. A grid over a box (x_min, x_max, y_min, y_max) has axes ``xs`` and
``ys`` of n points each; point g = iy·n + ix is (xs[ix], ys[iy]), and surfaces are
returned with shape (…, n, n) indexed [iy, ix] (row = y, as a heatmap's z).
Parameters of two-parameter problems are flattened in the dict's order
(:func:`app.meta.params.flatten`), so a grid point is a vector of length P = 2.

Update directions follow the algorithms' own :class:`MetaStep` with the sign
flipped: Δθ per unit outer step, −∇ for MAML, FOMAML and iMAML and φ̄ − θ for
Reptile (Nichol et al. 2018, Algorithm 2), so arrows point where θ moves.

The figures' compositions of these functions are :mod:`app.meta.landscape_views`; real
networks, viewed on planes through their parameters, are :mod:`app.meta.planes`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
from torch.func import vmap

from app.meta import toy
from app.meta.algorithms import ALGORITHMS, Hyper
from app.meta.algorithms.imaml import implicit_gradient_iterates, inner_solution
from app.meta.inner import TaskLosses, gradients, sgd_adapt, task_losses
from app.meta.nets import Model
from app.meta.params import (
    Params,
    detached,
    flat_stack,
    flatten,
    leaves,
    stack,
    stacked_params,
    tile_data,
    tile_params,
)
from app.meta.tasks.base import TaskBatch

Box = toy.Box
# The meta-learners of the toy problems: every algorithm of the registry with an inner loop.
DIRECTIONS = tuple(n for n, a in ALGORITHMS.items() if a.default_inner_steps > 0)


def or_two_tasks(model: Model | None, batch: TaskBatch | None) -> tuple[Model, TaskBatch]:
    """The given problem, or the toy two-task neuron for what is missing."""
    return (
        toy.neuron() if model is None else model,
        toy.two_tasks() if batch is None else batch,
    )


# ----------------------------------------------------------------------------- grids


def grid_axes(
    box: Box, n: int, dtype: torch.dtype = torch.float32
) -> tuple[torch.Tensor, torch.Tensor]:
    """The axes ``xs``, ``ys`` of an n×n grid over ``box``, each of shape (n,)."""
    return (
        torch.linspace(box[0], box[1], n, dtype=dtype),
        torch.linspace(box[2], box[3], n, dtype=dtype),
    )


def grid_points(xs: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
    """All grid points, shape (n_y·n_x, 2); point iy·n_x + ix is (xs[ix], ys[iy])."""
    y, x = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([x.reshape(-1), y.reshape(-1)], dim=1)


def grid_minima(
    values: torch.Tensor, xs: torch.Tensor, ys: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """argmin and min of surfaces (…, n_y, n_x): points (…, 2) as (x, y), values (…)."""
    flat = values.flatten(-2)
    best, index = flat.min(dim=-1)
    points = torch.stack([xs[index % len(xs)], ys[index // len(xs)]], dim=-1)
    return points, best


# ------------------------------------------------------------- meta-losses over a grid


def grid_task_losses(model: Model, thetas: Params, batch: TaskBatch) -> torch.Tensor:
    """L_τi^query(θ_g) for every grid point g and task i, shape (G, T).

    A vmap over the grid of a vmap over the tasks: the parameters are not copied per task.
    """
    per_task = vmap(model.loss, in_dims=(None, 0, 0))
    return vmap(per_task, in_dims=(0, None, None))(thetas, batch.xq, batch.yq)


def recording(losses: TaskLosses, record: list[torch.Tensor]) -> TaskLosses:
    """``losses`` that also appends each value it computes (detached) to ``record``."""

    def run(params: Params, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        out = losses(params, x, y)
        record.append(out.detach())
        return out

    return run


def same_data(batch: TaskBatch) -> bool:
    """Whether the support and query sets are the same data (as in the toy problems)."""
    return all(
        a is b or (a.shape == b.shape and torch.equal(a, b))
        for a, b in ((batch.xs, batch.xq), (batch.ys, batch.yq))
    )


def adapted_task_losses(
    model: Model, thetas: Params, batch: TaskBatch, alpha: float, max_steps: int
) -> torch.Tensor:
    """L_τi^query(U_i^(m)(θ_g)) for m = 0…max_steps, every grid point g and task i.

    U^(m) is m steps of φ ← φ − α∇L_τi^support(φ) from φ = θ (Finn et al. 2017,
    eq. 1), run by :func:`sgd_adapt` on the (G·T)-stack. Shape (max_steps+1, G, T).
    When support and query coincide, the losses sgd_adapt computes for its own
    steps are the ones wanted, so they are recorded instead of computed twice.
    """
    points, tasks = next(iter(thetas.values())).shape[0], len(batch)
    losses, record = task_losses(model), []
    iterates = sgd_adapt(
        recording(losses, record) if same_data(batch) else losses,
        tile_params(detached(thetas), tasks),
        tile_data(batch.xs, points),
        tile_data(batch.ys, points),
        alpha,
        max_steps,
    )
    if len(record) != max_steps:  # not one loss per step: recompute them all
        record = []
    xq, yq = tile_data(batch.xq, points), tile_data(batch.yq, points)
    with torch.no_grad():
        values = record + [losses(phi, xq, yq) for phi in iterates[len(record) :]]
    return torch.stack(values).view(max_steps + 1, points, tasks)


@dataclass(frozen=True)
class ToyLandscape:
    """Surfaces over an n×n grid, indexed [iy, ix]; see the module docstring."""

    xs: torch.Tensor  # (n,) first parameter
    ys: torch.Tensor  # (n,) second parameter
    task_losses: torch.Tensor  # (T, n, n) L_τi(θ)
    combined: torch.Tensor  # (n, n) Σ_i L_τi(θ), equal to meta_losses[0]
    meta_losses: torch.Tensor  # (M+1, n, n) Σ_i L_τi(U_i^(m)(θ)), m = 0…M
    task_minima: torch.Tensor  # (T, 2) grid argmin of each task loss, as (x, y)
    meta_minima: torch.Tensor  # (M+1, 2) grid argmin of each meta-loss, as (x, y)
    meta_minimum_values: torch.Tensor  # (M+1,)


def toy_landscape(
    model: Model | None = None,
    batch: TaskBatch | None = None,
    box: Box = toy.BOX,
    n: int = 101,
    alpha: float = toy.ALPHA,
    max_steps: int = 20,
) -> ToyLandscape:
    """Task losses and the accumulated meta-loss Σ_i L_τi(U_i^(m)(θ)) for a 2-parameter model.

    Defaults to the two-task tanh neuron of :mod:`app.meta.toy`. Meta-loss as in
    Finn et al. (2017), eq. (1)–(2), summed (not averaged) over tasks; m = 0 is
    the plain multi-task loss, the "pretrained" objective.
    """
    model, batch = or_two_tasks(model, batch)
    xs, ys = grid_axes(box, n, batch.xs.dtype)
    like = model.init(torch.Generator().manual_seed(0), batch.xs.dtype)  # keys and shapes
    per_task = adapted_task_losses(
        model, stacked_params(grid_points(xs, ys), like), batch, alpha, max_steps
    )
    per_task = per_task.view(max_steps + 1, n, n, len(batch))
    tasks = per_task[0].permute(2, 0, 1)
    meta = per_task.sum(-1)
    task_minima, _ = grid_minima(tasks, xs, ys)
    meta_minima, meta_values = grid_minima(meta, xs, ys)
    return ToyLandscape(xs, ys, tasks, meta[0], meta, task_minima, meta_minima, meta_values)


def meta_gradient_grid(
    model: Model, thetas: Params, batch: TaskBatch, alpha: float, steps: int, second_order: bool
) -> torch.Tensor:
    """∇_θ (1/T) Σ_i L_τi^query(U_i^k(θ)) at every grid point θ_g, flat, shape (G, P).

    ``second_order`` differentiates through the inner steps, MAML's
    Π_j (I − α∇²L(φ_j)) ∇L^query(φ_k) (Finn et al. 2017, eq. 1–2); without it each
    inner gradient is a constant and the result is FOMAML's ∇L^query(φ_k) (§5.2).
    Grid points are independent, so the gradient of the sum over points is the
    stack of per-point meta-gradients, the same as ``maml``/``fomaml.meta_gradient``.
    """
    points, tasks = next(iter(thetas.values())).shape[0], len(batch)
    losses = task_losses(model)
    outer = leaves(thetas)
    with torch.enable_grad():
        phi = sgd_adapt(
            losses,
            tile_params(outer, tasks),
            tile_data(batch.xs, points),
            tile_data(batch.ys, points),
            alpha,
            steps,
            second_order=second_order,
        )[-1]
        query = losses(phi, tile_data(batch.xq, points), tile_data(batch.yq, points))
        grads = torch.autograd.grad(query.sum() / tasks, list(outer.values()))
    return flat_stack(dict(zip(outer, grads, strict=True)))


# ----------------------------------------------------------------- update directions


def update_directions(
    theta: Params,
    hp: Hyper,
    model: Model | None = None,
    batch: TaskBatch | None = None,
    names: Sequence[str] = DIRECTIONS,
    overrides: Mapping[str, Hyper] | None = None,
) -> dict[str, torch.Tensor]:
    """{name: Δθ}, each flat of shape (P,): −MetaStep.direction of the registered algorithm.

    Runs ``ALGORITHMS[name].meta_gradient(model, θ, batch, hp, batched=True)``
    (``overrides[name]`` replaces ``hp`` for one algorithm). Defaults to the toy
    two-task problem. MAML/FOMAML/iMAML give −∇ of the meta-loss; Reptile gives
    φ̄ − θ, the move that β scales.
    """
    model, batch = or_two_tasks(model, batch)
    overrides = overrides or {}
    out = {}
    for name in names:
        step = ALGORITHMS[name].meta_gradient(
            model, leaves(theta), batch, overrides.get(name, hp), True
        )
        out[name] = -flatten(step.direction).detach()
    return out


def inner_paths(
    theta: Params, hp: Hyper, model: Model | None = None, batch: TaskBatch | None = None
) -> torch.Tensor:
    """Reptile's inner SGD paths φ_0 = θ, φ_1, …, φ_k per task, flat, shape (T, k+1, P).

    φ_{j+1} = φ_j − α∇L_τi^support(φ_j) (Nichol et al. 2018, Algorithm 1); the
    Reptile target is the mean over tasks of φ_k.
    """
    model, batch = or_two_tasks(model, batch)
    iterates = sgd_adapt(
        task_losses(model),
        stack(detached(theta), len(batch)),
        batch.xs,
        batch.ys,
        hp.alpha,
        hp.inner_steps,
    )
    return torch.stack([flat_stack(phi).detach() for phi in iterates], dim=1)


@dataclass(frozen=True)
class ImplicitView:
    """iMAML at one θ, per task (Rajeswaran et al. 2019); vectors flat, T tasks, P params.

    At the inner optimum ∇L^support(φ) + λ(φ − θ) = 0 (eq. 4): the task's pull
    −∇L(φ) and the spring −λ(φ − θ) back to θ cancel; ``residual`` is their sum
    as gradients, zero when the inner problem is solved exactly.
    """

    phi: torch.Tensor  # (T, P) φ_i ≈ argmin L^support(φ) + λ/2‖φ − θ‖²
    task_gradient: torch.Tensor  # (T, P) ∇L^support(φ_i)
    proximal_gradient: torch.Tensor  # (T, P) λ(φ_i − θ)
    residual: torch.Tensor  # (T, P) task_gradient + proximal_gradient
    hessians: torch.Tensor  # (T, P, P) ∇²L^support(φ_i)
    cg_iterates: torch.Tensor  # (cg_steps+1, T, P), x_0 = 0 … x_cg_steps
    exact: torch.Tensor  # (T, P) (I + (H_i + μI)/λ)⁻¹ ∇L^query(φ_i), eq. (6)


def support_hessians(model: Model, phi: Params, batch: TaskBatch) -> torch.Tensor:
    """∇²L_τi^support(φ_i) per task as dense matrices, shape (T, P, P); for small P only.

    Row j of every task's Hessian at once: ∇ of Σ_i ∂_j L_τi(φ_i) with respect to
    the stack (the tasks are independent), one backward pass per parameter.
    """
    losses = task_losses(model)
    phi = {k: v.detach().requires_grad_(True) for k, v in phi.items()}
    inputs = list(phi.values())
    with torch.enable_grad():
        g = flat_stack(gradients(losses, phi, batch.xs, batch.ys, create_graph=True))
        rows = [
            torch.autograd.grad(g[:, j].sum(), inputs, retain_graph=True, materialize_grads=True)
            for j in range(g.shape[1])
        ]
    return torch.stack([flat_stack(dict(zip(phi, r, strict=True))) for r in rows], dim=1)


def implicit_view(
    theta: Params, hp: Hyper, model: Model | None = None, batch: TaskBatch | None = None
) -> ImplicitView:
    """iMAML's inner optimum, the balance of forces there, and CG towards the exact gradient.

    Reuses :func:`inner_solution` and :func:`implicit_gradient_iterates` (the
    algorithm's own code); ``exact`` solves the P×P system with a dense Hessian.
    """
    model, batch = or_two_tasks(model, batch)
    losses = task_losses(model)
    phi = inner_solution(losses, stack(detached(theta), len(batch)), batch, hp)
    iterates = implicit_gradient_iterates(losses, phi, batch, hp)
    task_gradient = flat_stack(gradients(losses, phi, batch.xs, batch.ys, create_graph=False))
    query_gradient = flat_stack(gradients(losses, phi, batch.xq, batch.yq, create_graph=False))
    phi_flat = flat_stack(detached(phi))
    proximal = hp.lam * (phi_flat - flatten(detached(theta)))
    h = support_hessians(model, phi, batch)
    eye = torch.eye(h.shape[-1], dtype=h.dtype)
    system = eye + (h + hp.damping * eye) / hp.lam
    exact = torch.linalg.solve(system, query_gradient)
    return ImplicitView(
        phi_flat,
        task_gradient,
        proximal,
        task_gradient + proximal,
        h,
        torch.stack([flat_stack(x).detach() for x in iterates]),
        exact,
    )
