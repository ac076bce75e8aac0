"""First-order MAML (FOMAML), Finn et al. (2017), section 5.2.

MAML's meta-gradient with every Hessian term dropped: treating each inner
gradient as a constant makes dφ_k/dθ = I, so

    g_FOMAML = Σ_i ∇L_τi^query(φ_i)

the query gradient evaluated at the adapted parameters.
"""

from __future__ import annotations

from app.meta.algorithms.base import Hyper, MetaStep, gradient_step
from app.meta.algorithms.maml import adapted_query_loss
from app.meta.nets import Model
from app.meta.params import Params
from app.meta.tasks.base import TaskBatch


def meta_gradient(
    model: Model, theta: Params, batch: TaskBatch, hp: Hyper, batched: bool = True
) -> MetaStep:
    loss = adapted_query_loss(model, theta, batch, hp, batched, second_order=False)
    return gradient_step(loss, theta)
