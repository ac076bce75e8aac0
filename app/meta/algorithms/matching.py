"""Matching networks, Vinyals, Blundell, Lillicrap, Kavukcuoglu & Wierstra (NeurIPS 2016).

A query x̂ is labelled by attention over the support set (eq. 1–2):

    P(ŷ = k | x̂, S) = Σ_i a(x̂, x_i) [y_i = k],   a(x̂, x_i) = softmax_i cos(f(x̂), g(x_i)),

with f = g the shared Conv4 embedding, i.e. without the full-context embeddings of
section 2.1.2 (the paper's Omniglot results, 98.1% 5-way / 93.8% 20-way 1-shot, are without
them too). Training minimises −log P(ŷ = y | x̂, S) over each episode's queries.

One change to the kernel: the cosines are multiplied by a learned scale s before the
softmax, a(x̂, x_i) = softmax_i s·cos(f(x̂), g(x_i)). Conv4 ends in a ReLU, so every cosine
lies in [0, 1] and, with s = 1, the attention over 20 support images can never be far from
uniform: the loss cannot fall much below log 20 − 1 whatever the features, and its gradient
rewards odd features (measured here: from the pre-trained body, 500 steps of that loss took
20-way validation accuracy from 83.8% to 65.0%). Oreshkin, Rodríguez & Lacoste (NeurIPS
2018, "TADAM", §2.1) show that such metric scaling changes what the softmax learns and
fixes this; s = exp(ρ) with ρ learned, starting at s = 10. The prediction, the argmax of
the attention, is the same nearest-neighbour rule for any s.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from app.meta.algorithms.base import Hyper, MetaStep, gradient_step
from app.meta.algorithms.episode import embed, one_hot
from app.meta.nets import Model, conv4_embedding, conv4_features
from app.meta.params import Params
from app.meta.tasks.base import TaskBatch

INITIAL_SCALE = 10.0  # s at the start; ρ = log s is what is learned


def network(ways: int, channels: int = 64) -> Model:
    """Conv4 plus the log-scale ρ of the cosine kernel (``log_scale``)."""
    body = conv4_embedding(channels)

    def init(generator: torch.Generator, dtype=torch.float32) -> Params:
        scale = torch.tensor(math.log(INITIAL_SCALE), dtype=dtype)
        return body.init(generator, dtype) | {"log_scale": scale}

    return Model(name=f"matching-conv4-{channels}", init=init, forward=conv4_features)


def log_probabilities(
    zs: torch.Tensor, ys: torch.Tensor, zq: torch.Tensor, scale: torch.Tensor
) -> torch.Tensor:
    """log P(ŷ = k | x̂, S) for every query and class, (T, N*Q, N)."""
    cosine = F.normalize(zq, dim=-1) @ F.normalize(zs, dim=-1).transpose(1, 2)
    attention = (scale * cosine).softmax(dim=-1)
    return (attention @ one_hot(ys, zs)).clamp_min(torch.finfo(zs.dtype).tiny).log()


def predict(model: Model, theta: Params, batch: TaskBatch, hp: Hyper, batched: bool = False):
    zs, zq = embed(model, theta, batch, batched)
    return log_probabilities(zs, batch.ys, zq, theta["log_scale"].exp())


def meta_gradient(
    model: Model, theta: Params, batch: TaskBatch, hp: Hyper, batched: bool = True
) -> MetaStep:
    log_p = predict(model, theta, batch, hp, batched)
    loss = F.nll_loss(log_p.flatten(0, 1), batch.yq.flatten())
    return gradient_step(loss, theta)
