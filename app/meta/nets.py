"""Networks as functions of a parameter dict.

A :class:`Model` bundles ``init`` (a fresh parameter dict), ``forward`` and the
per-task ``loss``. Nothing here keeps state, so ``torch.func.vmap`` can run one
forward per task over a stack of parameters.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from app.meta.params import Params


@dataclass(frozen=True)
class Model:
    name: str
    init: Callable[[torch.Generator, torch.dtype], Params]
    forward: Callable[[Params, torch.Tensor], torch.Tensor]
    loss: Callable[[Params, torch.Tensor, torch.Tensor], torch.Tensor]


def mlp_init(sizes: tuple[int, ...], generator: torch.Generator, dtype=torch.float32) -> Params:
    """Kaiming-uniform weights and uniform biases, as ``torch.nn.Linear`` draws them."""
    params: Params = {}
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        bound = 1.0 / math.sqrt(fan_in)
        params[f"w{i}"] = (
            torch.rand(fan_out, fan_in, generator=generator, dtype=dtype) * 2 - 1
        ) * bound
        params[f"b{i}"] = (torch.rand(fan_out, generator=generator, dtype=dtype) * 2 - 1) * bound
    return params


def mlp_forward(params: Params, x: torch.Tensor, activation=F.relu) -> torch.Tensor:
    """A multilayer perceptron, ReLU unless told otherwise; layers are read from the dict."""
    layers = len(params) // 2
    h = x
    for i in range(layers):
        h = F.linear(h, params[f"w{i}"], params[f"b{i}"])
        if i < layers - 1:
            h = activation(h)
    return h


def mse(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return ((prediction - target) ** 2).mean()


def regression_mlp(sizes: tuple[int, ...] = (1, 40, 40, 1), activation=F.relu) -> Model:
    """The sinusoid regressor of Finn et al. (2017): 1-40-40-1, ReLU, mean-squared error.

    A smooth ``activation`` (tanh) gives a twice-differentiable loss everywhere,
    which the exact-Hessian tests need; ReLU has kinks where an inner optimum can sit.
    """

    def forward(params: Params, x: torch.Tensor) -> torch.Tensor:
        return mlp_forward(params, x, activation)

    def loss(params: Params, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return mse(forward(params, x), y)

    return Model(
        name="mlp-" + "-".join(map(str, sizes)),
        init=lambda generator, dtype=torch.float32: mlp_init(sizes, generator, dtype),
        forward=forward,
        loss=loss,
    )
