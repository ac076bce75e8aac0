"""Matching networks, Vinyals, Blundell, Lillicrap, Kavukcuoglu & Wierstra (NeurIPS 2016).

A query x̂ is labelled by attention over the support set (eq. 1–2):

    P(ŷ = k | x̂, S) = Σ_i a(x̂, x_i) [y_i = k],   a(x̂, x_i) = softmax_i cos(f(x̂), g(x_i)),

with f = g the shared Conv4 embedding, i.e. without the full-context embeddings of
section 2.1.2 (the paper's Omniglot results, 98.1% 5-way / 93.8% 20-way 1-shot, are without
them too). Training minimises −log P(ŷ = y | x̂, S) over each episode's queries.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from app.meta.algorithms.base import Hyper, MetaStep
from app.meta.algorithms.episode import embed, gradient_step, one_hot
from app.meta.nets import Model, conv4_embedding
from app.meta.params import Params
from app.meta.tasks.base import TaskBatch


def network(ways: int, channels: int = 64) -> Model:
    return conv4_embedding(channels)


def log_probabilities(zs: torch.Tensor, ys: torch.Tensor, zq: torch.Tensor) -> torch.Tensor:
    """log P(ŷ = k | x̂, S) for every query and class, (T, N*Q, N)."""
    cosine = F.normalize(zq, dim=-1) @ F.normalize(zs, dim=-1).transpose(1, 2)
    attention = cosine.softmax(dim=-1)
    return (attention @ one_hot(ys, zs)).clamp_min(torch.finfo(zs.dtype).tiny).log()


def predict(model: Model, theta: Params, batch: TaskBatch, hp: Hyper, batched: bool = False):
    zs, zq = embed(model, theta, batch, batched)
    return log_probabilities(zs, batch.ys, zq)


def meta_gradient(
    model: Model, theta: Params, batch: TaskBatch, hp: Hyper, batched: bool = True
) -> MetaStep:
    log_p = predict(model, theta, batch, hp, batched)
    loss = F.nll_loss(log_p.flatten(0, 1), batch.yq.flatten())
    return gradient_step(loss, theta)
