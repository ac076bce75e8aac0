"""Conjugate gradient on a stack of independent linear systems.

Solves A_i x_i = b_i for every task i at once, where ``matvec`` applies each A_i
(symmetric positive definite) to its own vector; vectors are parameter dicts
with a leading task dimension. Hestenes & Stiefel (1952); iMAML uses it to
apply (I + H/λ)⁻¹ without forming H (Rajeswaran et al. 2019, section 3.2).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from app.meta.params import Params, batched_dot


def _scale(per_task: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return per_task.view(-1, *([1] * (like.dim() - 1)))


def conjugate_gradient(matvec: Callable[[Params], Params], b: Params, steps: int) -> list[Params]:
    """The iterates x_0 = 0, x_1, …, x_steps; in exact arithmetic x_n solves the system."""
    x = {k: torch.zeros_like(v) for k, v in b.items()}
    r = dict(b)
    p = dict(b)
    rr = batched_dot(r, r)
    iterates = [x]
    for _ in range(steps):
        ap = matvec(p)
        pap = batched_dot(p, ap)
        step = torch.where(pap > 0, rr / pap.clamp_min(torch.finfo(pap.dtype).tiny), 0.0)
        x = {k: x[k] + _scale(step, v) * p[k] for k, v in x.items()}
        r = {k: r[k] - _scale(step, v) * ap[k] for k, v in r.items()}
        rr_next = batched_dot(r, r)
        ratio = torch.where(rr > 0, rr_next / rr.clamp_min(torch.finfo(rr.dtype).tiny), 0.0)
        p = {k: r[k] + _scale(ratio, v) * p[k] for k, v in p.items()}
        rr = rr_next
        iterates.append(x)
    return iterates
