"""The article's two-parameter figures, composed from :mod:`app.meta.landscape`.

Small compositions for the interactive figures, so that the web layer only converts tensors
to JSON: the FOMAML page's quadratic (true against first-order meta-gradients), a task's
adapted landscape, iMAML's proximal landscape and its conjugate-gradient convergence, and the
curvature of the toy task loss.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from app.meta import toy
from app.meta.algorithms import Hyper
from app.meta.landscape import (
    Box,
    ImplicitView,
    adapted_task_losses,
    grid_axes,
    grid_minima,
    grid_points,
    grid_task_losses,
    inner_paths,
    meta_gradient_grid,
    or_two_tasks,
    update_directions,
)
from app.meta.nets import Model
from app.meta.params import Params, detached, flatten, stacked_params
from app.meta.tasks.base import TaskBatch


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
