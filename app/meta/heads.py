"""Where each task's inner loop starts the N-way head of the Conv4 classifier.

The N-way head of a fine-tuned classifier is special: its rows stand for the N classes of
one episode, whose labels are shuffled from task to task, so no single meta-learned row
can be right for a class. Four starting points, named by ``Hyper.head``:

- ``learned``: φ_0 = θ, head included (Finn et al. 2017). What MAML trains.
- ``zero``: the head is set to 0 before every inner loop, so every class starts equal
  (the "zeroing trick" of Kao, Chiu & Chen, ICLR 2022, "MAML is a noisy contrastive
  learner"); the head of θ is never used.
- ``proto``: the head is built from the support set's prototypes c_n, the mean embedding
  f_θ(x) of class n's support images, as

      W_n = 2 c_n,   b_n = −‖c_n‖²,   so   W_n·f + b_n = −‖f − c_n‖² + ‖f‖²

  and the head's softmax before any inner step is exactly a prototypical network's
  (Snell et al. 2017) under squared Euclidean distance: "Proto-MAML" (Triantafillou et
  al., ICLR 2020, §3). The head is a function of the body, so meta-gradients flow into
  the body through it too (their first-order variant keeps this path as well).
- ``scaled``: the prototype head divided by a temperature τ, the episode's mean squared
  distance between two prototypes,

      τ = 1/(N(N−1)) Σ_{n≠m} ‖c_n − c_m‖²,   W_n = 2 c_n / τ,   b_n = −‖c_n‖² / τ,

  so W_n·f + b_n = (−‖f − c_n‖² + ‖f‖²)/τ: the same prediction as ``proto``, with logits of
  order one. Pre-trained features put the prototype head's logits in the hundreds, where
  its softmax is saturated: with one shot the support loss is about zero and inner steps
  change nothing, while the queries it gets wrong have enormous gradients. A softmax
  temperature (Hinton et al. 2015; Oreshkin et al. 2018 learn one, "TADAM") makes the
  inner loop a real fine-tuning; here τ is set from the data of each episode, not learned.

:func:`task_start` builds φ_0 for every task of a batch; :func:`pull_back` takes a
direction given per task with respect to φ_0 (an implicit gradient, Reptile's θ − φ) back
to θ through that map, by the chain rule.
"""

from __future__ import annotations

from typing import Literal, get_args

import torch
import torch.nn.functional as F

from app.meta.nets import conv4_features
from app.meta.params import Params, stack
from app.meta.tasks.base import TaskBatch

HeadName = Literal["learned", "zero", "proto", "scaled"]
HEADS: tuple[str, ...] = get_args(HeadName)
SPREAD_FLOOR = 1e-6  # the smallest temperature of a scaled prototype head


def prototype_head(
    theta: Params, xs: torch.Tensor, ys: torch.Tensor, ways: int, scaled: bool = False
) -> Params:
    """The Proto-MAML head of one task: W_n = 2 c_n, b_n = −‖c_n‖² from its support set;
    ``scaled``: both divided by the prototypes' spread τ (:func:`prototype_spread`)."""
    features = conv4_features(theta, xs)
    onehot = F.one_hot(ys, ways).to(features.dtype)
    prototypes = onehot.T @ features / onehot.sum(0)[:, None]
    tau = prototype_spread(prototypes) if scaled else 1.0
    return {"head_w": 2 * prototypes / tau, "head_b": -(prototypes**2).sum(1) / tau}


def prototype_spread(prototypes: torch.Tensor) -> torch.Tensor:
    """τ = 1/(N(N−1)) Σ_{n≠m} ‖c_n − c_m‖², kept above ``SPREAD_FLOOR`` (N identical
    prototypes, say N blank drawings, would give 0)."""
    ways = prototypes.shape[0]
    squared = ((prototypes[:, None] - prototypes[None]) ** 2).sum(-1)  # 0 on the diagonal
    return (squared.sum() / (ways * (ways - 1))).clamp_min(SPREAD_FLOOR)


def task_start(theta: Params, batch: TaskBatch, head: str) -> Params:
    """φ_0 for each task of ``batch``, stacked along a leading task dimension; differentiable
    with respect to θ wherever θ is. A zero or prototype head has one row per class of the
    episode, so a model trained for 20 classes classifies a 5-way episode with 5 rows."""
    start = stack(theta, len(batch))
    if head == "learned":
        return start
    ways = int(batch.ys.max()) + 1  # the episode's N, which may be below the head's rows
    features = theta["head_w"].shape[1]
    if head == "zero":
        zero = theta["head_w"].new_zeros
        return {
            **start,
            "head_w": zero(len(batch), ways, features),
            "head_b": zero(len(batch), ways),
        }
    heads = [
        prototype_head(theta, batch.xs[i], batch.ys[i], ways, scaled=head == "scaled")
        for i in range(len(batch))
    ]
    return {**start, **{k: torch.stack([h[k] for h in heads]) for k in ("head_w", "head_b")}}


def pull_back(theta: Params, start: Params, direction: Params) -> Params:
    """The mean over tasks of Jᵀ d_i, with J = ∂φ_0/∂θ and d_i the i-th task's direction
    with respect to its φ_0 (``start``, built from ``theta`` by :func:`task_start`)."""
    tasks = next(iter(start.values())).shape[0]
    keys = [k for k, v in start.items() if v.requires_grad]  # a zero head depends on nothing
    grads = torch.autograd.grad(
        [start[k] for k in keys],
        list(theta.values()),
        grad_outputs=[direction[k] / tasks for k in keys],
        allow_unused=True,
    )
    return {
        k: torch.zeros_like(v) if g is None else g
        for (k, v), g in zip(theta.items(), grads, strict=True)
    }
