"""Loss-landscape planes of real networks, for the lab's live figure (:mod:`app.meta.live`).

A network is viewed on a plane θ + x·δ + y·η (Li, Xu, Taylor, Studer & Goldstein, "Visualizing
the Loss Landscape of Neural Nets", NeurIPS 2018): δ, η are filter-normalised random directions
(§4) or the first two principal components of a training trajectory (§7). Grids over a plane
follow the conventions of :mod:`app.meta.landscape`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import torch

from app.meta.landscape import Box, adapted_task_losses, grid_points, grid_task_losses
from app.meta.nets import Model
from app.meta.params import Params, detached, flatten, stacked_params
from app.meta.tasks.base import TaskBatch


@dataclass(frozen=True)
class Plane:
    """The plane origin + x·d₀ + y·d₁ in flattened parameter space."""

    origin: torch.Tensor  # (P,)
    directions: torch.Tensor  # (2, P)
    like: Params  # keys and shapes, for unflattening
    explained: torch.Tensor | None = None  # (2,) variance ratio of PCA directions


def filter_normalized_direction(
    theta: Params, generator: torch.Generator, biases: Literal["zero", "weights"] = "zero"
) -> Params:
    """A Gaussian direction d rescaled filter by filter: d_ij ← d_ij / ‖d_ij‖ · ‖θ_ij‖.

    Li et al. (2018), §4 (filter-wise normalisation): filter j of layer i is one output
    unit's incoming weights, a row of a (fan_out, fan_in, …) weight (a fully
    connected layer is a 1×1 convolution). One-dimensional parameters (biases,
    batch-norm) get d = 0 (``biases="zero"``: ``ignore=biasbn`` in the authors'
    released code, tomgoldstein/loss-landscape) or d = θ (``"weights"``: that code
    when they are not ignored).
    """
    out = {}
    for k, w in theta.items():
        w = w.detach()
        d = torch.randn(w.shape, generator=generator, dtype=w.dtype)
        if w.dim() <= 1:
            out[k] = torch.zeros_like(w) if biases == "zero" else w.clone()
            continue
        rows, weight_rows = d.reshape(len(d), -1), w.reshape(len(w), -1)
        scale = weight_rows.norm(dim=1, keepdim=True) / (rows.norm(dim=1, keepdim=True) + 1e-10)
        out[k] = (rows * scale).view_as(w)
    return out


def random_plane(
    theta: Params, seed: int = 0, biases: Literal["zero", "weights"] = "zero"
) -> Plane:
    """θ and two filter-normalised random directions (Li et al. 2018, §4), fixed by ``seed``."""
    generator = torch.Generator().manual_seed(seed)
    d0 = filter_normalized_direction(theta, generator, biases)
    d1 = filter_normalized_direction(theta, generator, biases)
    return Plane(flatten(detached(theta)), torch.stack([flatten(d0), flatten(d1)]), detached(theta))


def landmark_plane(origin: Params, first: Params, second: Params) -> Plane:
    """The plane through three parameter vectors: origin + x·(first − origin) + y·(second −
    origin), so that (1, 0) is ``first`` and (0, 1) is ``second``.

    Garipov, Izmailov, Podoprikhin, Vetrov & Wilson (NeurIPS 2018) view a network's loss on
    the plane through three trained weight vectors; here the three are a run's start θ₀ and the
    end points of two long reference runs from that θ₀, so that :func:`project` says how far
    another run from θ₀ has gone towards each (as a combination of the two, least squares).
    """
    start = flatten(detached(origin))
    ends = torch.stack([flatten(detached(first)), flatten(detached(second))])
    return Plane(start, ends - start, detached(origin))


def trajectory_matrix(snapshots: Sequence[Params]) -> torch.Tensor:
    """Flattened parameter snapshots as rows, shape (S, P)."""
    return torch.stack([flatten(detached(s)) for s in snapshots])


def pca_plane(snapshots: Sequence[Params], center: Literal["final", "mean"] = "final") -> Plane:
    """The plane of the first two principal components of a training trajectory.

    Li et al. (2018), §7: PCA of M = [θ_0 − θ_n; …; θ_{n−1} − θ_n], centred on the
    final parameters θ_n, which is the origin (``center="mean"``: the usual PCA,
    centred and anchored on the mean). The directions are the top two right
    singular vectors of M (torch.linalg.svd), unit length and orthogonal, signed
    so that the first snapshot projects to non-positive coordinates.
    ``explained`` is σ_j² / Σσ², the share of the centred variance each captures.
    """
    path = trajectory_matrix(snapshots)
    origin = path[-1] if center == "final" else path.mean(0)
    centred = path - origin
    _, sigma, vh = torch.linalg.svd(centred, full_matrices=False)
    directions = vh[:2]
    if len(directions) < 2:
        directions = torch.cat([directions, torch.zeros_like(directions)])[:2]
    first = directions @ centred[0]
    directions = torch.where(first.unsqueeze(1) > 0, -directions, directions)
    power = sigma**2
    explained = (power / power.sum().clamp_min(torch.finfo(power.dtype).tiny))[:2]
    explained = torch.cat([explained, explained.new_zeros(2 - len(explained))])
    return Plane(origin, directions, {k: v.detach() for k, v in snapshots[-1].items()}, explained)


def project(points: torch.Tensor, plane: Plane) -> torch.Tensor:
    """Plane coordinates (S, 2) of flat points (S, P): least squares, argmin_c ‖Dᵀc − (p − o)‖.

    Exact for points in the plane, and the orthogonal projection for any pair of
    independent directions (for PCA's orthonormal ones, c = D(p − o)).
    """
    diff = (points - plane.origin).T
    return torch.linalg.lstsq(plane.directions.T, diff).solution.T


def plane_box(coords: torch.Tensor, margin: float = 0.25) -> Box:
    """A box around projected coordinates (S, 2) and the origin, widened by ``margin``·span."""
    pts = torch.cat([coords, coords.new_zeros(1, 2)])
    low, high = pts.min(0).values, pts.max(0).values
    pad = (high - low).clamp_min(1e-3) * margin
    return (
        float(low[0] - pad[0]),
        float(high[0] + pad[0]),
        float(low[1] - pad[1]),
        float(high[1] + pad[1]),
    )


def plane_losses(
    model: Model,
    plane: Plane,
    batch: TaskBatch,
    xs: torch.Tensor,
    ys: torch.Tensor,
    alpha: float = 0.0,
    steps: int = 0,
    max_elements: int = 1 << 22,
) -> torch.Tensor:
    """Mean over tasks of L_τi^query(U_i^(steps)(origin + x·d₀ + y·d₁)), shape (n_y, n_x).

    ``steps = 0`` is the plain loss surface of Li et al. (2018); more steps give
    MAML's meta-loss on the same plane. The grid is evaluated by vmap, over grid
    points and tasks (:func:`grid_task_losses`) or, with inner steps, over their
    (points × tasks) stack; in chunks of about ``max_elements`` tiled parameters.
    """
    coords = grid_points(xs, ys).to(plane.origin.dtype)
    per_point = len(batch) * plane.origin.numel() * (steps + 1)
    chunk = max(1, max_elements // per_point)
    values = []
    for part in coords.split(chunk):
        thetas = stacked_params(plane.origin + part @ plane.directions, plane.like)
        if steps:
            losses = adapted_task_losses(model, thetas, batch, alpha, steps)[-1]
        else:
            losses = grid_task_losses(model, thetas, batch)
        values.append(losses.mean(1).detach())
    return torch.cat(values).view(len(ys), len(xs))
