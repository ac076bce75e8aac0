"""What the episode-level learners (metric- and model-based) share.

These methods have no inner loop: the loss of an episode is a function of the embeddings
f_θ(x) of its support and query images, and the meta-gradient is the plain gradient of the
mean episode loss over the meta-batch. Each episode is embedded in one call, support and
query together, so batch norm uses that episode's statistics (see ``conv4_features``).
``batched=True`` embeds every episode at once with ``torch.func.vmap``; ``False`` runs the
tasks one by one (what :func:`~app.meta.algorithms.base.per_task_loop` does per slice).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch.func import vmap

from app.meta.nets import Model
from app.meta.params import Params
from app.meta.tasks.base import TaskBatch

EpisodeLoss = Callable[[Params, torch.Tensor, torch.Tensor, TaskBatch], torch.Tensor]


def embed(
    model: Model, theta: Params, batch: TaskBatch, batched: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """Support and query embeddings, (T, N*K, D) and (T, N*Q, D), one episode per call."""
    x = torch.cat([batch.xs, batch.xq], dim=1)
    if batched:
        z = vmap(model.forward, in_dims=(None, 0))(theta, x)
    else:
        z = torch.stack([model.forward(theta, episode) for episode in x])
    return z[:, : batch.xs.shape[1]], z[:, batch.xs.shape[1] :]


def one_hot(labels: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """(T, M) labels in 0..N-1 as (T, M, N) one-hot rows in ``like``'s dtype."""
    return F.one_hot(labels, int(labels.max()) + 1).to(like.dtype)


def query_cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean over episodes and queries of −log softmax(logits)[label]; logits (T, M, N)."""
    return F.cross_entropy(logits.flatten(0, 1), labels.flatten())
