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


def stacked_params(vectors: torch.Tensor, like: Params) -> Params:
    """A stack of parameter dicts from rows of flat vectors, shape (G, P) → {k: (G, *shape)}."""
    out, i = {}, 0
    for k, v in like.items():
        out[k] = vectors[:, i : i + v.numel()].reshape(len(vectors), *v.shape)
        i += v.numel()
    return out


def flat_stack(params: Params) -> torch.Tensor:
    """The inverse of :func:`stacked_params`: a stack of dicts as rows, shape (G, P)."""
    return torch.cat([v.reshape(v.shape[0], -1) for v in params.values()], dim=1)


def tile_params(params: Params, tasks: int) -> Params:
    """Each of G stacked points repeated for T tasks, grid-major: (G, …) → (G·T, …)."""
    return {
        k: v.unsqueeze(1).expand(v.shape[0], tasks, *v.shape[1:]).reshape(-1, *v.shape[1:])
        for k, v in params.items()
    }


def tile_data(data: torch.Tensor, points: int) -> torch.Tensor:
    """A task stack repeated for G points, grid-major: (T, …) → (G·T, …)."""
    return data.unsqueeze(0).expand(points, *data.shape).reshape(-1, *data.shape[1:])
