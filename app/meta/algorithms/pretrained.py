"""The "pretrained" baseline of Finn et al. (2017), section 5.1.

No inner loop (m = 0): θ is trained by plain gradient descent on the pooled
support and query data of all sampled tasks, min_θ Σ_i L_τi(θ). It learns the
average task: for sinusoids with phase in [0, π] that is E[A sin(x − b)] =
−(2/π) E[A] cos x ≈ −1.62 cos x, one flattened wave that fits almost no task.
"""

from __future__ import annotations

import torch

from app.meta.algorithms.base import Hyper, MetaStep
from app.meta.inner import task_losses
from app.meta.nets import Model
from app.meta.params import Params, stack
from app.meta.tasks.base import TaskBatch


def meta_gradient(
    model: Model, theta: Params, batch: TaskBatch, hp: Hyper, batched: bool = True
) -> MetaStep:
    losses = task_losses(model, batched)
    x = torch.cat([batch.xs, batch.xq], dim=1)
    y = torch.cat([batch.ys, batch.yq], dim=1)
    loss = losses(stack(theta, len(batch)), x, y).mean()
    grads = torch.autograd.grad(loss, list(theta.values()))
    return MetaStep(loss.detach(), dict(zip(theta, grads, strict=True)))
