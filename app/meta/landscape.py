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

Real networks are viewed on a plane θ + x·δ + y·η (Li, Xu, Taylor, Studer &
Goldstein, "Visualizing the Loss Landscape of Neural Nets", NeurIPS 2018): δ, η
are filter-normalised random directions (§4) or the first two principal
components of a training trajectory (§7).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import torch
from torch.func import vmap

from app.meta import toy
from app.meta.algorithms import ALGORITHMS, Hyper
from app.meta.algorithms.imaml import implicit_gradient_iterates, inner_solution
from app.meta.inner import TaskLosses, gradients, sgd_adapt, task_losses
from app.meta.nets import Model
from app.meta.params import Params, detached, flatten, leaves, stack
from app.meta.tasks.base import TaskBatch

Box = toy.Box
DIRECTIONS = ("maml", "fomaml", "reptile", "imaml")


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


def stacked_params(vectors: torch.Tensor, like: Params) -> Params:
    """A stack of parameter dicts from rows of flat vectors, shape (G, P) → {k: (G, *shape)}."""
    out, i = {}, 0
    for k, v in like.items():
        out[k] = vectors[:, i : i + v.numel()].reshape(len(vectors), *v.shape)
        i += v.numel()
    return out


def flat_stack(params: Params) -> torch.Tensor:
    """The inverse of :func:`stacked_params`: a stack of dicts as rows, shape (G, P)."""
    return torch.cat([v.reshape(v.shape[0], -1) for v in params.values()], dim=1)


def tile_params(params: Params, tasks: int) -> Params:
    """Each of G stacked points repeated for T tasks, grid-major: (G, …) → (G·T, …)."""
    return {
        k: v.unsqueeze(1).expand(v.shape[0], tasks, *v.shape[1:]).reshape(-1, *v.shape[1:])
        for k, v in params.items()
    }


def tile_data(data: torch.Tensor, points: int) -> torch.Tensor:
    """A task stack repeated for G points, grid-major: (T, …) → (G·T, …)."""
    return data.unsqueeze(0).expand(points, *data.shape).reshape(-1, *data.shape[1:])


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


# ------------------------------------------------------------------ FOMAML quadratic


@dataclass(frozen=True)
class GradientGap:
    """True (MAML) against first-order (FOMAML) meta-gradients over an n×n grid."""

    xs: torch.Tensor  # (n,)
    ys: torch.Tensor  # (n,)
    maml: torch.Tensor  # (n, n, 2) exact meta-gradient, [iy, ix]
    fomaml: torch.Tensor  # (n, n, 2) first-order approximation
    angle_deg: torch.Tensor  # (n, n) angle between them, degrees in [0, 180]
    magnitude_gap: torch.Tensor  # (n, n) ‖fomaml‖ − ‖maml‖
    error: torch.Tensor  # (n, n) ‖fomaml − maml‖


def angle_between(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Angle in degrees between rows of u and v (…, P); 0 where either is zero.

    Kahan's form 2·atan2(‖û − v̂‖, ‖û + v̂‖), accurate at small and large angles.
    """
    tiny = torch.finfo(u.dtype).tiny
    nu, nv = u.norm(dim=-1, keepdim=True), v.norm(dim=-1, keepdim=True)
    uu, vv = u / nu.clamp_min(tiny), v / nv.clamp_min(tiny)
    angle = torch.rad2deg(2 * torch.atan2((uu - vv).norm(dim=-1), (uu + vv).norm(dim=-1)))
    return torch.where((nu * nv).squeeze(-1) > 0, angle, 0.0)


def gradient_gap(
    model: Model,
    batch: TaskBatch,
    xs: torch.Tensor,
    ys: torch.Tensor,
    like: Params,
    alpha: float,
    steps: int = 1,
) -> GradientGap:
    """MAML and FOMAML meta-gradients of a two-parameter problem on the grid xs × ys."""
    thetas = stacked_params(grid_points(xs, ys), like)
    exact = meta_gradient_grid(model, thetas, batch, alpha, steps, second_order=True)
    first = meta_gradient_grid(model, thetas, batch, alpha, steps, second_order=False)
    shape = (len(ys), len(xs), exact.shape[-1])
    return GradientGap(
        xs,
        ys,
        exact.view(shape),
        first.view(shape),
        angle_between(first, exact).view(shape[:2]),
        (first.norm(dim=-1) - exact.norm(dim=-1)).view(shape[:2]),
        (first - exact).norm(dim=-1).view(shape[:2]),
    )


def quadratic_gap(
    a: float,
    b: float,
    c: float,
    alpha: float = toy.QUADRATIC_ALPHA,
    steps: int = 1,
    n: int = 21,
    box: Box = toy.QUADRATIC_BOX,
    g: tuple[float, float] = toy.QUADRATIC_G,
    dtype: torch.dtype = torch.float32,
) -> GradientGap:
    """The FOMAML page: f(x) = ½(x − ½)ᵀC(x − ½) + gᵀx, C = [[a, b], [b, c]].

    With one inner step the exact gradient is (I − αC)∇f(U(θ)) and FOMAML's is
    ∇f(U(θ)), U(θ) = θ − α∇f(θ) (Finn et al. 2017, §5.2); both are computed by
    autodiff through :func:`sgd_adapt`, for any number of ``steps``.
    """
    xs, ys = grid_axes(box, n, dtype)
    return gradient_gap(
        toy.quadratic(),
        toy.quadratic_task(a, b, c, g, dtype),
        xs,
        ys,
        toy.theta(0, 0, dtype),
        alpha,
        steps,
    )


# ---------------------------------------------------------------------- real networks


@dataclass(frozen=True)
class Plane:
    """The plane origin + x·d₀ + y·d₁ in flattened parameter space."""

    origin: torch.Tensor  # (P,)
    directions: torch.Tensor  # (2, P)
    like: Params  # keys and shapes, for unflattening
    explained: torch.Tensor | None = None  # (2,) variance ratio of PCA directions


def filter_normalized_direction(
    theta: Params, generator: torch.Generator, biases: Literal["zero", "weights"] = "zero"
) -> Params:
    """A Gaussian direction d rescaled filter by filter: d_ij ← d_ij / ‖d_ij‖ · ‖θ_ij‖.

    Li et al. (2018), §4 (filter-wise normalisation): filter j of layer i is one output
    unit's incoming weights, a row of a (fan_out, fan_in, …) weight (a fully
    connected layer is a 1×1 convolution). One-dimensional parameters (biases,
    batch-norm) get d = 0 (``biases="zero"``: ``ignore=biasbn`` in the authors'
    released code, tomgoldstein/loss-landscape) or d = θ (``"weights"``: that code
    when they are not ignored).
    """
    out = {}
    for k, w in theta.items():
        w = w.detach()
        d = torch.randn(w.shape, generator=generator, dtype=w.dtype)
        if w.dim() <= 1:
            out[k] = torch.zeros_like(w) if biases == "zero" else w.clone()
            continue
        rows, weight_rows = d.reshape(len(d), -1), w.reshape(len(w), -1)
        scale = weight_rows.norm(dim=1, keepdim=True) / (rows.norm(dim=1, keepdim=True) + 1e-10)
        out[k] = (rows * scale).view_as(w)
    return out


def random_plane(
    theta: Params, seed: int = 0, biases: Literal["zero", "weights"] = "zero"
) -> Plane:
    """θ and two filter-normalised random directions (Li et al. 2018, §4), fixed by ``seed``."""
    generator = torch.Generator().manual_seed(seed)
    d0 = filter_normalized_direction(theta, generator, biases)
    d1 = filter_normalized_direction(theta, generator, biases)
    return Plane(flatten(detached(theta)), torch.stack([flatten(d0), flatten(d1)]), detached(theta))


def trajectory_matrix(snapshots: Sequence[Params]) -> torch.Tensor:
    """Flattened parameter snapshots as rows, shape (S, P)."""
    return torch.stack([flatten(detached(s)) for s in snapshots])


def pca_plane(snapshots: Sequence[Params], center: Literal["final", "mean"] = "final") -> Plane:
    """The plane of the first two principal components of a training trajectory.

    Li et al. (2018), §7: PCA of M = [θ_0 − θ_n; …; θ_{n−1} − θ_n], centred on the
    final parameters θ_n, which is the origin (``center="mean"``: the usual PCA,
    centred and anchored on the mean). The directions are the top two right
    singular vectors of M (torch.linalg.svd), unit length and orthogonal, signed
    so that the first snapshot projects to non-positive coordinates.
    ``explained`` is σ_j² / Σσ², the share of the centred variance each captures.
    """
    path = trajectory_matrix(snapshots)
    origin = path[-1] if center == "final" else path.mean(0)
    centred = path - origin
    _, sigma, vh = torch.linalg.svd(centred, full_matrices=False)
    directions = vh[:2]
    if len(directions) < 2:
        directions = torch.cat([directions, torch.zeros_like(directions)])[:2]
    first = directions @ centred[0]
    directions = torch.where(first.unsqueeze(1) > 0, -directions, directions)
    power = sigma**2
    explained = (power / power.sum().clamp_min(torch.finfo(power.dtype).tiny))[:2]
    explained = torch.cat([explained, explained.new_zeros(2 - len(explained))])
    return Plane(origin, directions, {k: v.detach() for k, v in snapshots[-1].items()}, explained)


def project(points: torch.Tensor, plane: Plane) -> torch.Tensor:
    """Plane coordinates (S, 2) of flat points (S, P): least squares, argmin_c ‖Dᵀc − (p − o)‖.

    Exact for points in the plane, and the orthogonal projection for any pair of
    independent directions (for PCA's orthonormal ones, c = D(p − o)).
    """
    diff = (points - plane.origin).T
    return torch.linalg.lstsq(plane.directions.T, diff).solution.T


def plane_box(coords: torch.Tensor, margin: float = 0.25) -> Box:
    """A box around projected coordinates (S, 2) and the origin, widened by ``margin``·span."""
    pts = torch.cat([coords, coords.new_zeros(1, 2)])
    low, high = pts.min(0).values, pts.max(0).values
    pad = (high - low).clamp_min(1e-3) * margin
    return (
        float(low[0] - pad[0]),
        float(high[0] + pad[0]),
        float(low[1] - pad[1]),
        float(high[1] + pad[1]),
    )


def plane_losses(
    model: Model,
    plane: Plane,
    batch: TaskBatch,
    xs: torch.Tensor,
    ys: torch.Tensor,
    alpha: float = 0.0,
    steps: int = 0,
    max_elements: int = 1 << 22,
) -> torch.Tensor:
    """Mean over tasks of L_τi^query(U_i^(steps)(origin + x·d₀ + y·d₁)), shape (n_y, n_x).

    ``steps = 0`` is the plain loss surface of Li et al. (2018); more steps give
    MAML's meta-loss on the same plane. The grid is evaluated by vmap, over grid
    points and tasks (:func:`grid_task_losses`) or, with inner steps, over their
    (points × tasks) stack; in chunks of about ``max_elements`` tiled parameters.
    """
    coords = grid_points(xs, ys).to(plane.origin.dtype)
    per_point = len(batch) * plane.origin.numel() * (steps + 1)
    chunk = max(1, max_elements // per_point)
    values = []
    for part in coords.split(chunk):
        thetas = stacked_params(plane.origin + part @ plane.directions, plane.like)
        if steps:
            losses = adapted_task_losses(model, thetas, batch, alpha, steps)[-1]
        else:
            losses = grid_task_losses(model, thetas, batch)
        values.append(losses.mean(1).detach())
    return torch.cat(values).view(len(ys), len(xs))


# ------------------------------------------------------------- views for the figures
#
# Small compositions of the functions above for the article's interactive figures,
# so that the web layer only converts tensors to JSON.

# the extreme Hessian eigenvalues of a toy task loss over [−4, 4]² (tests/test_landscape_views.py)
TOY_CURVATURE = (-2.76, 4.12)
TOY_MAX_CURVATURE = TOY_CURVATURE[1]


@dataclass(frozen=True)
class AdaptedView:
    """Inner SGD from one θ on every task (the two-task and Reptile figures); flat vectors.

    φ_0 = θ, φ_{j+1} = φ_j − α∇L_τi^support(φ_j) (:func:`inner_paths`), and the
    query losses along the way (:func:`adapted_task_losses`), so ``meta_loss`` is
    F_k(θ) = Σ_i L_τi(U_i^(k)(θ)) and ``loss_before`` is F_0(θ).
    """

    paths: torch.Tensor  # (T, k+1, P) φ_0 = θ … φ_k per task
    losses: torch.Tensor  # (T, k+1) L_τi^query(φ_j)
    loss_before: torch.Tensor  # () Σ_i L_τi(θ)
    meta_loss: torch.Tensor  # () Σ_i L_τi(φ_k)
    target: torch.Tensor  # (P,) φ̄ = (1/T) Σ_i φ_ik, Reptile's target
    reptile_theta: torch.Tensor  # (P,) θ + β(φ̄ − θ), Reptile's new θ (batched, Algorithm 2)
    gradient_step: torch.Tensor  # (P,) θ − αβ ∇(1/T)Σ_i L_τi(θ), a plain gradient step


def adapted_view(
    theta: Params, hp: Hyper, model: Model | None = None, batch: TaskBatch | None = None
) -> AdaptedView:
    """The inner paths, their losses and Reptile's step at θ (Nichol et al. 2018).

    ``reptile_theta`` is θ − β·(Reptile's direction) from ``ALGORITHMS["reptile"]``;
    ``gradient_step`` takes the pretrained baseline's gradient (the mean task loss
    at θ, ``ALGORITHMS["pretrained"]``) with step size αβ. With k = 1 the two are
    equal: φ̄ − θ = −α (1/T) Σ_i ∇L_τi(θ) (the Reptile page, k = 1).
    """
    model, batch = or_two_tasks(model, batch)
    flat = flatten(detached(theta))
    paths = inner_paths(theta, hp, model, batch)
    like = detached(theta)
    losses = adapted_task_losses(
        model, stacked_params(flat.unsqueeze(0), like), batch, hp.alpha, hp.inner_steps
    )[:, 0].T
    moves = update_directions(theta, hp, model, batch, names=("reptile", "pretrained"))
    return AdaptedView(
        paths,
        losses,
        losses[:, 0].sum(),
        losses[:, -1].sum(),
        paths[:, -1].mean(0),
        flat + hp.beta * moves["reptile"],
        flat + hp.alpha * hp.beta * moves["pretrained"],
    )


def proximal_hyper(
    lam: float,
    cg_steps: int = 5,
    damping: float = 0.0,
    curvature: tuple[float, float] = TOY_CURVATURE,
    tolerance: float = 1e-3,
    max_steps: int = 100,
) -> Hyper:
    """iMAML hyperparameters whose inner gradient descent solves the proximal problem.

    The objective L(φ) + λ/2‖φ − θ‖² has Hessian H + λI. Take the eigenvalues of H
    near the minimum to lie in [h, h_max], with h_max from ``curvature`` =
    (h_min, h_max) and h = max(h_min, −3λ/4): the task loss's own lowest curvature,
    but assuming at least λ/4 is left for the objective where the task loss is
    concave enough to make it non-convex (there gradient descent finds the local
    minimum downhill from θ, as iMAML's does, and can linger near saddles; the
    assumption is calibrated on the toy, see tests/test_landscape_views.py). The step
    α = 2/(2λ + h + h_max), the best fixed step for that range, shrinks the error by
    the factor 1 − α(λ + h) < 1 per step; ``inner_steps`` is what that rate needs to
    reach ``tolerance``, at most ``max_steps``.
    """
    low, high = curvature
    h = max(low, -0.75 * lam)
    alpha = 2.0 / (2.0 * lam + h + high)
    rate = 1.0 - alpha * (lam + h)
    steps = math.ceil(math.log(tolerance) / math.log(rate))
    return Hyper(
        inner_steps=max(1, min(max_steps, steps)),
        alpha=alpha,
        lam=lam,
        cg_steps=cg_steps,
        damping=damping,
    )


@dataclass(frozen=True)
class ProximalLandscape:
    """iMAML's inner objective per task over an n×n grid of φ, indexed [iy, ix]."""

    xs: torch.Tensor  # (n,)
    ys: torch.Tensor  # (n,)
    task_losses: torch.Tensor  # (T, n, n) L_τi^support(φ)
    regularised: torch.Tensor  # (T, n, n) L_τi^support(φ) + λ/2‖φ − θ‖²
    minima: torch.Tensor  # (T, 2) grid argmin of each regularised surface, as (x, y)


def proximal_landscape(
    theta: Params,
    lam: float,
    model: Model | None = None,
    batch: TaskBatch | None = None,
    box: Box = toy.BOX,
    n: int = 101,
) -> ProximalLandscape:
    """L_τi(φ) + λ/2‖φ − θ‖² on a grid of φ: Rajeswaran et al. (2019), eq. (4), per task."""
    model, batch = or_two_tasks(model, batch)
    xs, ys = grid_axes(box, n, batch.xs.dtype)
    points = grid_points(xs, ys)
    inner = TaskBatch(batch.xs, batch.ys, batch.xs, batch.ys)  # the support loss
    with torch.no_grad():
        losses = grid_task_losses(model, stacked_params(points, detached(theta)), inner)
        spring = 0.5 * lam * (points - flatten(detached(theta))).pow(2).sum(1, keepdim=True)
    tasks = losses.T.reshape(len(batch), n, n)
    regularised = (losses + spring).T.reshape(len(batch), n, n)
    minima, _ = grid_minima(regularised, xs, ys)
    return ProximalLandscape(xs, ys, tasks, regularised, minima)


@dataclass(frozen=True)
class CGConvergence:
    """How conjugate gradient approaches iMAML's exact implicit gradient, per task."""

    query_gradient: torch.Tensor  # (T, P) v = ∇L^query(φ), the right-hand side
    errors: torch.Tensor  # (n+1, T) ‖x_j − g‖, Euclidean
    errors_a: torch.Tensor  # (n+1, T) ‖x_j − g‖_A, A = I + (H + μI)/λ
    bound: torch.Tensor  # (n+1, T) 2((√κ − 1)/(√κ + 1))^j ‖x_0 − g‖_A, Hestenes & Stiefel
    eigenvalues: torch.Tensor  # (T, P) of A, ascending
    condition: torch.Tensor  # (T,) κ = largest / smallest eigenvalue of A (inf if not PD)


def cg_convergence(view: ImplicitView, hp: Hyper) -> CGConvergence:
    """Errors of the CG iterates of :func:`implicit_view` and the classical rate bound.

    A = I + (H + μI)/λ with the view's dense Hessians; the bound holds when A is
    positive definite (the imaml page, eq. cg-rate); where it is not, κ is inf
    and the bound is inf.
    """
    h = view.hessians
    eye = torch.eye(h.shape[-1], dtype=h.dtype)
    a = eye + (h + hp.damping * eye) / hp.lam
    eigenvalues = torch.linalg.eigvalsh(a)
    positive = eigenvalues[:, 0] > 0
    inf = torch.tensor(float("inf"), dtype=h.dtype)
    condition = torch.where(positive, eigenvalues[:, -1] / eigenvalues[:, 0].clamp_min(1e-30), inf)
    diff = view.cg_iterates - view.exact  # (n+1, T, P)
    errors = diff.norm(dim=-1)
    errors_a = torch.einsum("jtp,tpq,jtq->jt", diff, a, diff).clamp_min(0).sqrt()
    root = condition.sqrt()
    rate = torch.where(positive, (root - 1) / (root + 1), inf)
    steps = torch.arange(len(diff), dtype=h.dtype).unsqueeze(1)
    bound = torch.where(positive, 2 * rate.pow(steps) * errors_a[0], inf)
    query = torch.einsum("tpq,tq->tp", a, view.exact)
    return CGConvergence(query, errors, errors_a, bound, eigenvalues, condition)


def curvature_eigenvalues(a: float, b: float, c: float) -> torch.Tensor:
    """Eigenvalues (λ₂, λ₁), ascending, of the FOMAML quadratic's C = [[a, b], [b, c]]."""
    return torch.linalg.eigvalsh(toy.curvature(a, b, c, torch.float64))


def maml_factors(a: float, b: float, c: float, alpha: float) -> torch.Tensor:
    """1 − αλ_i along C's eigenvectors: how MAML scales FOMAML's component there (one step)."""
    return 1.0 - alpha * curvature_eigenvalues(a, b, c)
