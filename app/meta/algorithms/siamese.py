"""Siamese networks for one-shot recognition, Koch, Zemel & Salakhutdinov (ICML DL workshop 2015).

Twin networks share the embedding f_θ; a pair is scored by a weighted L1 distance (eq. 1)

    p(x₁, x₂) = σ(Σ_j w_j |f(x₁)_j − f(x₂)_j| + b),

the probability that both show the same character, trained with binary cross-entropy. Here
f is the Conv4 backbone (Koch et al. used a larger convolutional net on 105×105 images) and
the pairs are every (query, support) pair of an episode, the positives weighted N − 1 times
so both kinds count equally. One-shot classification (section 4.2) picks the class whose
support images score highest; with K shots the K logits are averaged.

Before the first meta-step the head is set from data (:func:`calibrate`), a data-dependent
initialisation in the sense of Krähenbühl, Doersch, Donahue & Darrell (ICLR 2016): drawn
at random, w weighs the channels with mixed signs and b sits far from the distances'
scale, so the verification loss first reshapes the (pre-trained) features to fit the head.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from app.meta.algorithms.base import Hyper, MetaStep, gradient_step
from app.meta.algorithms.episode import embed, one_hot
from app.meta.nets import Model, conv4_features, conv4_init, uniform_init
from app.meta.params import Params
from app.meta.tasks.base import TaskBatch


def network(ways: int, channels: int = 64) -> Model:
    """Conv4 plus the pair head (``pair_w``, ``pair_b``) of eq. (1)."""

    def init(generator: torch.Generator, dtype=torch.float32) -> Params:
        params = conv4_init(generator, dtype, channels)
        params["pair_w"] = uniform_init((channels,), channels, generator, dtype)
        params["pair_b"] = torch.zeros((), dtype=dtype)
        return params

    return Model(name=f"siamese-conv4-{channels}", init=init, forward=conv4_features)


def calibrate(model: Model, theta: Params, batch: TaskBatch) -> Params:
    """The head that starts as the plain L1 distance, d = mean_j |f(x₁)_j − f(x₂)_j|, with
    the logit +1 at the mean d of same-character pairs (d₊) and −1 at that of different
    ones (d₋): w_j = −2 / (C (d₋ − d₊)) and b = (d₊ + d₋) / (d₋ − d₊). Features that do not
    yet tell characters apart (d₋ ≤ d₊, random weights) take |d₋ − d₊|, so the head still
    starts as the nearest support image in L1."""
    with torch.no_grad():
        zs, zq = embed(model, theta, batch, False)
        distance = (zq[:, :, None] - zs[:, None]).abs().mean(-1)
        same = batch.yq[:, :, None] == batch.ys[:, None]
        near, far = distance[same].mean(), distance[~same].mean()
        width = (far - near).abs().clamp_min(torch.finfo(distance.dtype).eps)
    channels = theta["pair_w"].numel()
    return {
        "pair_w": torch.full_like(theta["pair_w"], float(-2 / (channels * width))),
        "pair_b": ((near + far) / width).to(theta["pair_b"]),
    }


def pair_logits(theta: Params, zs: torch.Tensor, zq: torch.Tensor) -> torch.Tensor:
    """Σ_j w_j |f(x̂)_j − f(x_i)_j| + b for every query and support image, (T, N*Q, N*K)."""
    distance = (zq[:, :, None] - zs[:, None]).abs()
    return distance @ theta["pair_w"] + theta["pair_b"]


def class_logits(pairs: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
    """Mean pair logit of each class's support images, (T, N*Q, N)."""
    labels = one_hot(ys, pairs)
    return pairs @ labels / labels.sum(1)[:, None]


def predict(model: Model, theta: Params, batch: TaskBatch, hp: Hyper, batched: bool = False):
    zs, zq = embed(model, theta, batch, batched)
    return class_logits(pair_logits(theta, zs, zq), batch.ys)


def meta_gradient(
    model: Model, theta: Params, batch: TaskBatch, hp: Hyper, batched: bool = True
) -> MetaStep:
    zs, zq = embed(model, theta, batch, batched)
    pairs = pair_logits(theta, zs, zq)
    same = (batch.yq[:, :, None] == batch.ys[:, None]).to(pairs.dtype)
    ways = int(batch.ys.max()) + 1
    weight = pairs.new_tensor(float(ways - 1))
    loss = F.binary_cross_entropy_with_logits(pairs, same, pos_weight=weight)
    return gradient_step(loss, theta)
