"""The loss landscape around a model while it trains, for the lab's live figure.

Two planes through the current parameters θ_t (Li et al. 2018): one spanned by
two filter-normalised random directions (§4), on which a training path looks
short because random directions are nearly orthogonal to it in high dimension,
and one spanned by the first two principal components of the path so far (§7),
which captures most of its movement. On each: the (meta-)loss of a fixed batch
of tasks after the algorithm's inner steps, and the path projected onto it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from app.meta.landscape import grid_axes
from app.meta.nets import Model
from app.meta.params import Params
from app.meta.planes import (
    pca_plane,
    plane_box,
    plane_losses,
    project,
    random_plane,
    trajectory_matrix,
)
from app.meta.tasks.base import TaskBatch


@dataclass(frozen=True)
class LiveLandscape:
    xs: torch.Tensor  # (n,)
    ys: torch.Tensor  # (n,)
    losses: torch.Tensor  # (n, n), [iy, ix]
    path: torch.Tensor  # (S, 2), the trajectory's plane coordinates; the last is θ_t = (0, 0)


def live_landscape(
    model: Model,
    path: list[Params],
    batch: TaskBatch,
    alpha: float,
    steps: int,
    kind: str = "pca",
    n: int = 15,
    seed: int = 0,
) -> LiveLandscape:
    """Loss after ``steps`` inner steps on an n×n grid of a plane through the latest θ."""
    plane = pca_plane(path) if kind == "pca" else random_plane(path[-1], seed)
    coords = project(trajectory_matrix(path), plane)
    if kind == "random":
        coords = coords - coords[-1]
    box = plane_box(coords) if kind == "pca" else (-1.0, 1.0, -1.0, 1.0)
    xs, ys = grid_axes(box, n, plane.origin.dtype)
    losses = plane_losses(model, plane, batch, xs, ys, alpha, steps)
    return LiveLandscape(xs, ys, losses, coords)
