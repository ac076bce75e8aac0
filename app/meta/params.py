"""Helpers for parameters held as ``dict[str, Tensor]``.

Batched code keeps one copy of the parameters per task, stacked along a
leading task dimension; these helpers make, combine and measure such stacks.
"""

from __future__ import annotations

import torch

Params = dict[str, torch.Tensor]


def stack(params: Params, n: int) -> Params:
    """``n`` copies of ``params`` along a new leading task dimension (a view, no copy)."""
    return {k: v.unsqueeze(0).expand(n, *v.shape) for k, v in params.items()}


def first(params: Params) -> Params:
    """The first task's parameters from a stack."""
    return {k: v[0] for k, v in params.items()}


def detached(params: Params) -> Params:
    """Views without history; they change when the originals are updated in place."""
    return {k: v.detach() for k, v in params.items()}


def copied(params: Params) -> Params:
    """Detached copies: a snapshot that later in-place updates leave alone."""
    return {k: v.detach().clone() for k, v in params.items()}


def leaves(params: Params) -> Params:
    """Detached copies that require grad: the outer variables θ of a meta-step."""
    return {k: v.detach().clone().requires_grad_(True) for k, v in params.items()}


def batched_dot(a: Params, b: Params) -> torch.Tensor:
    """Per-task inner product ⟨a_i, b_i⟩ of two stacks, shape (tasks,)."""
    return sum((a[k] * b[k]).flatten(1).sum(1) for k in a)


def flatten(params: Params) -> torch.Tensor:
    """All parameters as one vector, in the dict's order."""
    return torch.cat([v.reshape(-1) for v in params.values()])


def unflatten(vector: torch.Tensor, like: Params) -> Params:
    """The inverse of :func:`flatten`, shaped like ``like``."""
    out, i = {}, 0
    for k, v in like.items():
        out[k] = vector[i : i + v.numel()].view_as(v)
        i += v.numel()
    return out
