"""Prototypical networks, Snell, Swersky & Zemel (NeurIPS 2017).

Each class k is represented by the mean embedding of its support images (eq. 1),

    c_k = (1/|S_k|) Σ_{(x_i, y_i) ∈ S_k} f_θ(x_i),

and a query is classified by a softmax over negative squared Euclidean distances (eq. 2),

    p_θ(y = k | x) = exp(−‖f_θ(x) − c_k‖²) / Σ_k' exp(−‖f_θ(x) − c_k'‖²),

trained by minimising −log p_θ(y = k | x) over the queries of each episode (Algorithm 1).
"""

from __future__ import annotations

import torch

from app.meta.algorithms.base import Hyper, MetaStep, gradient_step
from app.meta.algorithms.episode import embed, one_hot, query_cross_entropy
from app.meta.nets import Model, conv4_embedding
from app.meta.params import Params
from app.meta.tasks.base import TaskBatch


def network(ways: int, channels: int = 64) -> Model:
    return conv4_embedding(channels)


def logits(zs: torch.Tensor, ys: torch.Tensor, zq: torch.Tensor) -> torch.Tensor:
    """−‖f(x) − c_k‖² for every query and class, (T, N*Q, N)."""
    labels = one_hot(ys, zs)
    prototypes = labels.transpose(1, 2) @ zs / labels.sum(1)[..., None]
    return -(zq[:, :, None] - prototypes[:, None]).pow(2).sum(-1)


def predict(model: Model, theta: Params, batch: TaskBatch, hp: Hyper, batched: bool = False):
    zs, zq = embed(model, theta, batch, batched)
    return logits(zs, batch.ys, zq)


def meta_gradient(
    model: Model, theta: Params, batch: TaskBatch, hp: Hyper, batched: bool = True
) -> MetaStep:
    loss = query_cross_entropy(predict(model, theta, batch, hp, batched), batch.yq)
    return gradient_step(loss, theta)
