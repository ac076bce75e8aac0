"""Few-shot classification by fine-tuning, for the optimisation-based learners.

At test time MAML, FOMAML and Reptile adapt θ to the support set with k steps of
φ ← φ − α ∇L^support(φ) (Finn et al. 2017, eq. 1) and classify the queries with f_φ;
iMAML takes the steps of its proximal inner problem, φ ← φ − α(∇L^support(φ) + λ(φ − θ))
(Rajeswaran et al. 2019, eq. 4). One task at a time or all at once (``batched``).

Batch norm always uses the statistics of the images in hand. The steps see the support set
alone, as in training; the queries are then normalised together with the support set, as
the metric learners embed an episode (``episode.embed``). A lone query (a quiz task, a
drawing on the Draw page) is thus normalised by a mixture of the N classes, as a batch of
queries is in training, and not by the statistics of one drawing.
"""

from __future__ import annotations

import torch
from torch.func import vmap

from app.meta.algorithms.base import Hyper
from app.meta.heads import task_start
from app.meta.inner import sgd_adapt, task_losses
from app.meta.nets import Model, conv4_classifier
from app.meta.params import Params, detached, first
from app.meta.tasks.base import TaskBatch


def network(ways: int, channels: int = 64) -> Model:
    return conv4_classifier(ways, channels)


def adapted_logits(
    model: Model, theta: Params, batch: TaskBatch, hp: Hyper, batched: bool, proximal: float
) -> torch.Tensor:
    """Query logits (T, N*Q, N) after fine-tuning on each task's support set."""
    if not batched and len(batch) > 1:
        return torch.cat(
            [
                adapted_logits(model, theta, batch.slice(i, i + 1), hp, False, proximal)
                for i in range(len(batch))
            ]
        )
    losses = task_losses(model, batched)
    start = task_start(detached(theta), batch, hp.head)
    phi = sgd_adapt(losses, start, batch.xs, batch.ys, hp.alpha, hp.inner_steps, proximal=proximal)[
        -1
    ]
    episode = torch.cat([batch.xs, batch.xq], dim=1)
    with torch.no_grad():
        if batched:
            logits = vmap(model.forward)(detached(phi), episode)
        else:
            logits = model.forward(first(detached(phi)), episode[0])[None]
    return logits[:, batch.xs.shape[1] :]


def predict(model: Model, theta: Params, batch: TaskBatch, hp: Hyper, batched: bool = False):
    return adapted_logits(model, theta, batch, hp, batched, proximal=0.0)


def predict_proximal(
    model: Model, theta: Params, batch: TaskBatch, hp: Hyper, batched: bool = False
):
    return adapted_logits(model, theta, batch, hp, batched, proximal=hp.lam)
