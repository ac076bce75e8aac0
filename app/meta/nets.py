"""Networks as functions of a parameter dict.

A :class:`Model` bundles ``init`` (a fresh parameter dict), ``forward`` and the
per-task ``loss`` (absent for an embedding, whose loss needs a whole episode).
Nothing here keeps state, so ``torch.func.vmap`` can run one
forward per task over a stack of parameters.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch._C._functorch import is_batchedtensor

from app.meta.params import Params


@dataclass(frozen=True)
class Model:
    name: str
    init: Callable[[torch.Generator, torch.dtype], Params]
    forward: Callable[[Params, torch.Tensor], torch.Tensor]
    loss: Callable[[Params, torch.Tensor, torch.Tensor], torch.Tensor] | None = None


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


def cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits, labels)


def uniform_init(shape: tuple[int, ...], fan_in: int, generator, dtype) -> torch.Tensor:
    """U(−1/√fan_in, 1/√fan_in), the default of ``torch.nn.Linear`` and ``Conv2d``."""
    bound = 1.0 / math.sqrt(fan_in)
    return (torch.rand(shape, generator=generator, dtype=dtype) * 2 - 1) * bound


def conv4_init(
    generator: torch.Generator, dtype=torch.float32, channels: int = 64, in_channels: int = 1
) -> Params:
    """Four blocks of 3×3 convolution (``conv{i}_w``, ``conv{i}_b``) and batch-norm scale and
    shift (``bn{i}_w`` = 1, ``bn{i}_b`` = 0)."""
    params: Params = {}
    for i in range(4):
        cin = in_channels if i == 0 else channels
        params[f"conv{i}_w"] = uniform_init((channels, cin, 3, 3), cin * 9, generator, dtype)
        params[f"conv{i}_b"] = uniform_init((channels,), cin * 9, generator, dtype)
        params[f"bn{i}_w"] = torch.ones(channels, dtype=dtype)
        params[f"bn{i}_b"] = torch.zeros(channels, dtype=dtype)
    return params


def conv4_features(params: Params, x: torch.Tensor) -> torch.Tensor:
    """The Conv4 backbone of Vinyals et al. (2016), Finn et al. (2017) and Snell et al. (2017).

    Each block is h ← maxpool₂ₓ₂(ReLU(BN(W ∗ h + b))); 28×28 inputs shrink to 14, 7, 3, 1,
    so (B, 1, 28, 28) gives (B, channels). Batch norm always uses the statistics of the
    images in this call, BN(z) = γ (z − μ_B)/√(σ²_B + ε) + β, as Finn et al.'s code does at
    training and test time alike: no running averages, so the network stays a pure function
    and one call should hold one episode. The mean subtraction cancels the conv bias b
    exactly, so ∂L/∂b = 0 in exact arithmetic (a check on every meta-gradient).
    Activations are kept channels-last, about 1.8× faster on a CPU for the same numbers
    (``bench/omniglot_step.py``); not under ``vmap``, which cannot change memory formats.
    """
    h = x if is_batchedtensor(x) else x.contiguous(memory_format=torch.channels_last)
    for i in range(4):
        h = F.conv2d(h, params[f"conv{i}_w"], params[f"conv{i}_b"], padding=1)
        h = F.batch_norm(h, None, None, params[f"bn{i}_w"], params[f"bn{i}_b"], training=True)
        h = F.max_pool2d(F.relu(h), 2)
    return h.flatten(1)


def conv4_embedding(channels: int = 64) -> Model:
    """Conv4 as an embedding f_θ(x) ∈ R^channels for the metric-based learners (no loss:
    theirs is defined on a whole episode, see ``app.meta.algorithms``)."""
    return Model(
        name=f"conv4-{channels}",
        init=lambda generator, dtype=torch.float32: conv4_init(generator, dtype, channels),
        forward=conv4_features,
    )


def conv4_classifier(ways: int, channels: int = 64) -> Model:
    """Conv4 and a linear N-way head, trained with cross-entropy: the Omniglot network of
    Finn et al. (2017), section 5.2, for MAML, FOMAML, Reptile and iMAML."""

    def init(generator: torch.Generator, dtype=torch.float32) -> Params:
        params = conv4_init(generator, dtype, channels)
        params["head_w"] = uniform_init((ways, channels), channels, generator, dtype)
        params["head_b"] = uniform_init((ways,), channels, generator, dtype)
        return params

    def forward(params: Params, x: torch.Tensor) -> torch.Tensor:
        return F.linear(conv4_features(params, x), params["head_w"], params["head_b"])

    def loss(params: Params, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return cross_entropy(forward(params, x), y)

    return Model(name=f"conv4-{channels}-{ways}way", init=init, forward=forward, loss=loss)
