"""The landscape figures: two-parameter problems drawn over a plane, and what a meta-gradient costs.

Every number comes from :mod:`app.meta.landscape` (or :mod:`app.meta.cost`); this
module validates requests, calls it and writes JSON. Identical requests are
answered from an ``lru_cache`` of the finished JSON (the figures send θ rounded to
three decimals, so a drag that returns to a point hits the cache), except the cost
measurement, which is live by design.

Routes (all POST, JSON bodies; unknown fields and out-of-range numbers are 422s
whose message names the field and its bound):

* ``/api/landscape/toy``: task losses and the accumulated meta-loss
  F_m(θ) = Σ_i L_τi(U^(m)(θ)) for m = 0…max_steps over the toy box.
* ``/api/landscape/two-tasks``: one inner step from θ on each task: φ_i and the losses.
* ``/api/landscape/reptile``: k inner steps per task, Reptile's new θ and a gradient step.
* ``/api/landscape/imaml``: iMAML's regularised inner objective over the plane for θ, λ,
  its minimiser φ* and the two forces there.
* ``/api/landscape/imaml-cg``: conjugate gradient towards iMAML's implicit gradient.
* ``/api/landscape/quadratic``: MAML against FOMAML gradients on the FOMAML page's quadratic.
* ``/api/landscape/cost``: measured time and memory of one meta-gradient against k.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import Annotated, Literal

import torch
from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from app.meta import cost, landscape, landscape_views, toy
from app.meta.algorithms import Hyper
from app.web.api.errors import enforce_rate
from app.web.payloads import answer, dumps, finite, grid, vector

PREFIX = "/api/landscape"
router = APIRouter(prefix=PREFIX, tags=["landscape"])

MAX_ALPHA = 0.45  # inner step on the toy: stable below 2 / 4.12 (its largest curvature)
LAM = (0.1, 100.0)
CG_STEPS = 6  # the CG figure's default: the landscape figure computes the same view, and shares it

X = Annotated[float, Field(ge=toy.BOX[0], le=toy.BOX[1])]
Y = Annotated[float, Field(ge=toy.BOX[2], le=toy.BOX[3])]
Theta = tuple[X, Y]
Alpha = Annotated[float, Field(gt=0, le=MAX_ALPHA, description="α: inner step size, (0, 0.45]")]
Lam = Annotated[
    float, Field(ge=LAM[0], le=LAM[1], description="λ: iMAML's proximal strength, [0.1, 100]")
]
THETA_DESCRIPTION = "θ = (w₀, w₁) in the toy box [−3, 3]²"
# The figures' α sliders run from 0.05 to MAX_ALPHA: a UI choice, since the API's lower bound 0
# is excluded and a slider needs an end it can reach.
ALPHA_SLIDER = {"x-slider": {"min": 0.05}}


class Strict(BaseModel):
    """A figure's request: no unknown fields; frozen, so that it is its compute function's
    cache key. Its defaults are the figure's starting values (:mod:`app.web.figures`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ToyRequest(Strict):
    n: int = Field(101, ge=11, le=151, description="grid points per axis, 11…151")
    max_steps: int = Field(20, ge=0, le=20, description="largest number of inner steps m, 0…20")
    alpha: Alpha = toy.ALPHA


SURFACE = ToyRequest(max_steps=0)  # the task losses alone, drawn under the two-task figures


class TwoTasksRequest(Strict):
    theta: Theta = Field((0.5, -0.5), description=THETA_DESCRIPTION)
    alpha: Alpha = Field(0.3, json_schema_extra=ALPHA_SLIDER)


class ReptileRequest(Strict):
    theta: Theta = Field((0.5, -0.5), description=THETA_DESCRIPTION)
    alpha: Alpha = Field(0.2, json_schema_extra=ALPHA_SLIDER)
    inner_steps: int = Field(5, ge=1, le=10, description="k: inner steps per task, 1…10")
    beta: float = Field(0.5, ge=0, le=1, description="β: Reptile's interpolation step, [0, 1]")


IMAML_THETA = (-1.0, 2.0)  # where both iMAML figures start (the CG figure follows the other)


class ImamlRequest(Strict):
    theta: Theta = Field(IMAML_THETA, description=THETA_DESCRIPTION)
    lam: Lam = 1.0
    task: int = Field(1, ge=1, le=2, description="whose regularised surface to send, 1 or 2")
    n: int = Field(61, ge=11, le=101, description="grid points per axis, 11…101")


IMAML_SURFACE = ToyRequest(n=ImamlRequest().n, max_steps=0)  # the task losses, on λ's grid


class ImamlCGRequest(Strict):
    theta: Theta = Field(IMAML_THETA, description=THETA_DESCRIPTION)
    lam: Lam = 1.0
    cg_steps: int = Field(CG_STEPS, ge=1, le=10, description="conjugate-gradient iterations, 1…10")
    damping: float = Field(
        0.0,
        ge=0,
        le=10,
        description="μ: Hessian damping, [0, 10]",
        # the slider stops at μ = 2, a UI choice: about half the toy's largest curvature (4.12,
        # app/meta/toy.py), enough to watch damping shrink κ; the API accepts up to 10
        json_schema_extra={"x-slider": {"max": 2}},
    )


CURVATURE = (-1.0, 6.0)  # a and c; with |b| ≤ 3 the eigenvalues of C lie in [−4, 9]


class QuadraticRequest(Strict):
    a: float = Field(1.0, ge=CURVATURE[0], le=CURVATURE[1], description="C₁₁, [−1, 6]")
    b: float = Field(0.5, ge=-3, le=3, description="C₁₂ = C₂₁, [−3, 3]")
    c: float = Field(2.0, ge=CURVATURE[0], le=CURVATURE[1], description="C₂₂, [−1, 6]")
    alpha: float = Field(toy.QUADRATIC_ALPHA, gt=0, le=0.5, description="α, (0, 0.5]")
    n: int = Field(15, ge=5, le=31, description="arrow grid points per axis, 5…31")
    heatmap_n: int = Field(61, ge=11, le=101, description="heatmap points per axis, 11…101")


class CostRequest(Strict):
    algorithms: list[Literal[cost.COST_ALGORITHMS]] = Field(
        list(cost.COST_ALGORITHMS), min_length=1, max_length=3
    )
    inner_steps: list[Annotated[int, Field(ge=1, le=16)]] = Field(
        list(cost.INNER_STEPS), min_length=1, max_length=5, description="values of k, 1…16"
    )
    repeats: int = Field(3, ge=1, le=7, description="timed repeats per point (median), 1…7")


def point(theta: tuple[float, float]):
    return toy.theta(*theta)


# ----------------------------------------------------------------------------- compute


@lru_cache(maxsize=8)
def toy_json(body: ToyRequest) -> bytes:
    view = landscape.toy_landscape(n=body.n, alpha=body.alpha, max_steps=body.max_steps)
    return dumps(
        {
            "box": list(toy.BOX),
            "alpha": body.alpha,
            "tasks": [list(t) for t in toy.TASKS],
            "xs": grid(view.xs, 6),
            "ys": grid(view.ys, 6),
            "task_losses": grid(view.task_losses),
            "meta_losses": grid(view.meta_losses),
            "task_minima": vector(view.task_minima),
            "meta_minima": vector(view.meta_minima),
            "meta_minimum_values": vector(view.meta_minimum_values),
        }
    )


def adapted_payload(theta: tuple[float, float], hp: Hyper) -> dict:
    view = landscape_views.adapted_view(point(theta), hp)
    return {
        "theta": list(theta),
        "alpha": hp.alpha,
        "inner_steps": hp.inner_steps,
        "beta": hp.beta,
        "paths": vector(view.paths),
        "phi": vector(view.paths[:, -1]),
        "losses": vector(view.losses),
        "loss_before": view.loss_before.item(),
        "meta_loss": view.meta_loss.item(),
        "target": vector(view.target),
        "new_theta": vector(view.reptile_theta),
        "gradient_step": vector(view.gradient_step),
    }


@lru_cache(maxsize=512)
def two_tasks_json(body: TwoTasksRequest) -> bytes:
    return dumps(adapted_payload(body.theta, Hyper(inner_steps=1, alpha=body.alpha)))


@lru_cache(maxsize=512)
def reptile_json(body: ReptileRequest) -> bytes:
    hp = Hyper(inner_steps=body.inner_steps, alpha=body.alpha, beta=body.beta)
    return dumps(adapted_payload(body.theta, hp))


@lru_cache(maxsize=256)
def implicit(
    theta: tuple[float, float], lam: float, cg_steps: int, damping: float
) -> tuple[Hyper, landscape.ImplicitView]:
    """iMAML at θ with its inner problem solved (``proximal_hyper``), shared by both figures."""
    hp = landscape_views.proximal_hyper(lam, cg_steps=cg_steps, damping=damping)
    return hp, landscape.implicit_view(point(theta), hp)


@lru_cache(maxsize=256)
def imaml_json(body: ImamlRequest) -> bytes:
    theta, lam, n, task = body.theta, body.lam, body.n, body.task
    hp, view = implicit(theta, lam, CG_STEPS, 0.0)
    surface = landscape_views.proximal_landscape(point(theta), lam, n=n)
    return dumps(
        {
            "theta": list(theta),
            "lam": lam,
            "task": task,
            "solver": {"alpha": hp.alpha, "inner_steps": hp.inner_steps},
            "xs": grid(surface.xs, 6),
            "ys": grid(surface.ys, 6),
            "regularised": grid(surface.regularised[task - 1]),
            "task_loss": grid(surface.task_losses[task - 1]),
            "grid_minima": vector(surface.minima),
            "phi": vector(view.phi),
            "task_gradient": vector(view.task_gradient),
            "proximal_gradient": vector(view.proximal_gradient),
            "residual": vector(view.residual),
            "residual_norm": vector(view.residual.norm(dim=-1)),
        }
    )


@lru_cache(maxsize=256)
def imaml_cg_json(body: ImamlCGRequest) -> bytes:
    theta, lam, damping = body.theta, body.lam, body.damping
    hp, view = implicit(theta, lam, body.cg_steps, damping)
    cg = landscape_views.cg_convergence(view, hp)
    return dumps(
        {
            "theta": list(theta),
            "lam": lam,
            "damping": damping,
            "phi": vector(view.phi),
            "iterates": vector(view.cg_iterates),
            "exact": vector(view.exact),
            "query_gradient": vector(cg.query_gradient),
            "errors": vector(cg.errors),
            "errors_a": vector(cg.errors_a),
            "bound": finite(cg.bound),
            "eigenvalues": vector(cg.eigenvalues),
            "condition": finite(cg.condition),
        }
    )


@lru_cache(maxsize=128)
def quadratic_json(body: QuadraticRequest) -> bytes:
    a, b, c, alpha, n, heatmap_n = body.a, body.b, body.c, body.alpha, body.n, body.heatmap_n
    arrows = landscape_views.quadratic_gap(a, b, c, alpha=alpha, n=n)
    heat = landscape_views.quadratic_gap(a, b, c, alpha=alpha, n=heatmap_n)
    eigenvalues = landscape_views.curvature_eigenvalues(a, b, c)
    factors = landscape_views.maml_factors(a, b, c, alpha)
    return dumps(
        {
            "a": a,
            "b": b,
            "c": c,
            "alpha": alpha,
            "g": list(toy.QUADRATIC_G),
            "box": list(toy.QUADRATIC_BOX),
            "eigenvalues": vector(eigenvalues),
            "maml_factors": vector(factors),
            "arrows": {
                "xs": grid(arrows.xs, 6),
                "ys": grid(arrows.ys, 6),
                "maml": vector(arrows.maml),
                "fomaml": vector(arrows.fomaml),
            },
            "heat": {
                "xs": grid(heat.xs, 6),
                "ys": grid(heat.ys, 6),
                "angle_deg": grid(heat.angle_deg, 3),
                "error": grid(heat.error),
            },
        }
    )


cost_lock = threading.Lock()  # one measurement at a time, so they do not slow each other


# ----------------------------------------------------------------------------- routes


@router.post("/toy", summary="Task losses and the accumulated meta-loss over the toy box")
def toy_surfaces(request: Request, body: ToyRequest) -> Response:
    """``{box, alpha, tasks, xs, ys, task_losses: [T][n][n], meta_losses: [M+1][n][n],
    task_minima: [T][2], meta_minima: [M+1][2], meta_minimum_values: [M+1]}``; surfaces
    are indexed [iy][ix], meta_losses[m] is Σ_i L_τi(U^(m)(θ))."""
    return answer(toy_json(body), request)


@router.post("/two-tasks", summary="One inner step from θ on each of the two tasks")
def two_tasks(body: TwoTasksRequest) -> Response:
    """``{theta, phi: [T][2], paths: [T][2][2], losses: [T][2] (at θ, at φ_i),
    loss_before: Σ L_i(θ), meta_loss: Σ L_i(φ_i), …}``."""
    return answer(two_tasks_json(body))


@router.post("/reptile", summary="Reptile's inner paths from θ and its new θ")
def reptile(body: ReptileRequest) -> Response:
    """``{theta, paths: [T][k+1][2], losses: [T][k+1], target: φ̄, new_theta: θ + β(φ̄ − θ),
    gradient_step: θ − αβ∇(1/T)Σ L_i(θ), loss_before, meta_loss}``."""
    return answer(reptile_json(body))


@router.post("/imaml", summary="iMAML's regularised inner objective and its minimiser")
def imaml(request: Request, body: ImamlRequest) -> Response:
    """``{theta, lam, task, solver: {alpha, inner_steps}, xs, ys, regularised: [n][n] and
    task_loss: [n][n] of that task, grid_minima: [T][2], phi: [T][2], task_gradient: ∇L(φ),
    proximal_gradient: λ(φ − θ), residual, residual_norm}``."""
    return answer(imaml_json(body), request)


@router.post("/imaml-cg", summary="Conjugate gradient towards iMAML's implicit gradient")
def imaml_cg(body: ImamlCGRequest) -> Response:
    """``{iterates: [n+1][T][2], exact: [T][2], query_gradient, errors: [n+1][T],
    errors_a, bound (null where A is not positive definite), eigenvalues, condition, phi}``."""
    return answer(imaml_cg_json(body))


@router.post("/quadratic", summary="MAML and FOMAML gradients on the FOMAML quadratic")
def quadratic(request: Request, body: QuadraticRequest) -> Response:
    """``{eigenvalues, arrows: {xs, ys, maml: [n][n][2], fomaml}, heat: {xs, ys, angle_deg,
    error}}``; fields indexed [iy][ix]."""
    return answer(quadratic_json(body), request)


@router.post("/cost", summary="Measure one meta-gradient's time and memory against k")
def measure_cost(body: CostRequest, request: Request) -> dict:
    """``{tasks, shots, alpha, lam, cg_steps, threads, results: [{algorithm, inner_steps, ms,
    times_ms, peak_mb}]}``, measured now (see :mod:`app.meta.cost` for what is measured)."""
    enforce_rate(request, request.app.state.cost_limiter, "cost measurements")
    with cost_lock:
        table = cost.cost_table(body.algorithms, body.inner_steps, body.repeats)
    hp = cost.hyper_for(1)
    return {
        "tasks": cost.TASKS,
        "shots": cost.SHOTS,
        "alpha": hp.alpha,
        "lam": hp.lam,
        "cg_steps": hp.cg_steps,
        "threads": torch.get_num_threads(),
        "repeats": body.repeats,
        "results": [
            {
                "algorithm": c.algorithm,
                "inner_steps": c.inner_steps,
                "ms": c.ms,
                "times_ms": list(c.times_ms),
                "peak_mb": c.peak_mb,
            }
            for c in table
        ],
    }
