"""Two-parameter problems for the article's figures, built as :class:`~app.meta.nets.Model`.

Every registered algorithm (MAML, FOMAML, Reptile, iMAML, pretrained) runs on
these unchanged: θ is a parameter dict ``{"w": tensor of shape (2,)}`` and the
tasks are an ordinary :class:`~app.meta.tasks.base.TaskBatch`.

**Two tasks** (the running example). One tanh neuron, θ = (w₀, w₁) = (slope, offset):

    f_θ(x) = tanh(w₀ x + w₁),    L_τ(θ) = (1/K) Σ_x (f_θ(x) − y_τ(x))²

Task τ is the same neuron with its own parameters, y_τ(x) = tanh(a_τ x + c_τ), on
K = 8 fixed inputs evenly spaced in [−2, 2] (support = query: one loss per task).
The tasks' minima, (a, c) = (2, 1) and (−1.5, −1), are different, so their losses
conflict; tanh makes each loss non-quadratic (flat plateaus where the neuron
saturates, a narrow valley near the minimum), so the Hessian varies over the plane
and MAML's second-order term visibly changes the direction FOMAML would take.
Plot box: [−3, 3]² (:data:`BOX`), which holds both minima, the basin of the
summed loss between them and the plateaus. Inner step size α = 0.1
(:data:`ALPHA`): the largest Hessian eigenvalue of a task loss in the box is
about 4.1, so gradient descent is stable for α < 2/4.1 ≈ 0.48 and 20 inner steps
(αm = 2) carry θ a visible way towards each task's minimum.

**FOMAML quadratic** (the first-order page). One task with

    f(x) = ½ (x − ½·1)ᵀ C (x − ½·1) + gᵀx,    C = [[a, b], [b, c]],  g = (0.5, −0.5)ᵀ

so ∇f(x) = C(x − ½·1) + g and ∇²f = C. One inner step is U(θ) = θ − α∇f(θ), and
the exact MAML gradient is (I − αC)∇f(U(θ)) while FOMAML keeps only ∇f(U(θ))
(Finn et al. 2017, §5.2). g is non-zero so that the field does not vanish at
C = 0 (there both gradients equal g, the gap is zero) and so that the minimiser
½·1 − C⁻¹g moves off the diagonal as the sliders change. The "data" of the task
are C (as ``x``, shape (K, 2, 2)) and g (as ``y``, shape (K, 2)) with K = 1, so the
Model signature ``loss(params, x, y)`` carries them and ``vmap`` stacks them like
any other data set of K points. Plot box:
[−1.5, 2.5]² (:data:`QUADRATIC_BOX`), centred on ½·1.
"""

from __future__ import annotations

import torch

from app.meta.nets import Model, mse
from app.meta.params import Params
from app.meta.tasks.base import TaskBatch

Box = tuple[float, float, float, float]  # (x_min, x_max, y_min, y_max)

BOX: Box = (-3.0, 3.0, -3.0, 3.0)
ALPHA = 0.1
TASKS: tuple[tuple[float, float], ...] = ((2.0, 1.0), (-1.5, -1.0))  # (slope a, offset c)
INPUTS = (-2.0, 2.0, 8)  # K inputs evenly spaced in [−2, 2]
START = (-2.5, 2.5)  # a θ far from both tasks, where the tests and bench/landscape.py probe

QUADRATIC_BOX: Box = (-1.5, 2.5, -1.5, 2.5)
QUADRATIC_G = (0.5, -0.5)
QUADRATIC_ALPHA = 0.25


def theta(w0: float, w1: float, dtype: torch.dtype = torch.float32) -> Params:
    """θ = (w₀, w₁) as the parameter dict the engine takes."""
    return {"w": torch.tensor([w0, w1], dtype=dtype)}


def _uniform_in_box(box: Box, generator: torch.Generator, dtype: torch.dtype) -> Params:
    u = torch.rand(2, generator=generator, dtype=dtype)
    low = torch.tensor([box[0], box[2]], dtype=dtype)
    high = torch.tensor([box[1], box[3]], dtype=dtype)
    return {"w": low + u * (high - low)}


def neuron_forward(params: Params, x: torch.Tensor) -> torch.Tensor:
    """f_θ(x) = tanh(w₀ x + w₁), elementwise."""
    w = params["w"]
    return torch.tanh(w[0] * x + w[1])


def neuron_loss(params: Params, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return mse(neuron_forward(params, x), y)


def neuron() -> Model:
    """The one-neuron regressor of the two-task figures; ``init`` draws θ uniformly in BOX."""
    return Model(
        name="toy-tanh-neuron",
        init=lambda generator, dtype=torch.float32: _uniform_in_box(BOX, generator, dtype),
        forward=neuron_forward,
        loss=neuron_loss,
    )


def two_tasks(
    tasks: tuple[tuple[float, float], ...] = TASKS, dtype: torch.dtype = torch.float32
) -> TaskBatch:
    """The tasks y = tanh(a x + c), shape (tasks, K, 1), support and query identical."""
    x = torch.linspace(*INPUTS[:2], INPUTS[2], dtype=dtype).unsqueeze(-1)
    xs = x.unsqueeze(0).expand(len(tasks), *x.shape).contiguous()
    ys = torch.stack([neuron_forward(theta(a, c, dtype), x) for a, c in tasks])
    return TaskBatch(xs, ys, xs, ys)


def curvature(a: float, b: float, c: float, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """C = [[a, b], [b, c]], shape (2, 2)."""
    return torch.tensor([[a, b], [b, c]], dtype=dtype)


def quadratic_forward(params: Params, curv: torch.Tensor) -> torch.Tensor:
    """½ (x − ½·1)ᵀ C_k (x − ½·1) for each of the task's K matrices C_k, shape (K,)."""
    d = params["w"] - 0.5
    return 0.5 * torch.einsum("i,kij,j->k", d, curv, d)


def quadratic_loss(params: Params, curv: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """f(x) = ½ (x − ½·1)ᵀ C (x − ½·1) + gᵀx, averaged over the K copies of (C, g).

    The task's ``x`` is C, shape (K, 2, 2), and its ``y`` is g, shape (K, 2); a
    task holds K = 1 copy, so pooling support and query (the pretrained baseline
    concatenates them) averages two equal copies and leaves f unchanged.
    """
    return (quadratic_forward(params, curv) + g @ params["w"]).mean()


def quadratic() -> Model:
    """The FOMAML page's quadratic as a Model; ``init`` draws θ uniformly in QUADRATIC_BOX."""
    return Model(
        name="toy-quadratic",
        init=lambda generator, dtype=torch.float32: _uniform_in_box(
            QUADRATIC_BOX, generator, dtype
        ),
        forward=quadratic_forward,
        loss=quadratic_loss,
    )


def quadratic_task(
    a: float,
    b: float,
    c: float,
    g: tuple[float, float] = QUADRATIC_G,
    dtype: torch.dtype = torch.float32,
) -> TaskBatch:
    """One task: xs = xq = C, shape (1, 1, 2, 2); ys = yq = g, shape (1, 1, 2)."""
    curv = curvature(a, b, c, dtype).view(1, 1, 2, 2)
    lin = torch.tensor([g], dtype=dtype).view(1, 1, 2)
    return TaskBatch(curv, lin, curv, lin)
