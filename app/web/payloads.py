"""Tensors as JSON for the wire, and JSON as responses: one set of helpers for every router.

Vectors go as computed, surfaces and curves rounded for transfer, values that may have
diverged (NaN, ±∞) as null; large bodies are gzipped once and kept.
"""

from __future__ import annotations

import gzip
import json
import math
from functools import lru_cache

import torch
from fastapi import Request, Response

GRID_DECIMALS = 4  # surfaces are rounded for transfer (losses to 1e-4); vectors as computed
PATH_DECIMALS = 4  # positions of navigation trajectories are rounded for transfer


def vector(t: torch.Tensor) -> list:
    """A (small) tensor as nested lists of its values, unrounded."""
    return t.detach().double().tolist()


def grid(t: torch.Tensor, decimals: int = GRID_DECIMALS) -> list:
    """A surface or curve rounded for transfer (float64 first, so the rounded values print
    short)."""
    return t.detach().double().round(decimals=decimals).tolist()


def trajectory_paths(rollouts, task: int = 0) -> list[list[list[float]]]:
    """One task's sampled navigation trajectories (:class:`app.meta.rl.Rollouts`): each
    trajectory's positions x_0 … x_T up to the step its episode ended, as [x, y] pairs."""
    lengths = rollouts.mask[task].sum(-1).long() + 1
    rounded = rollouts.path[task].double().round(decimals=PATH_DECIMALS)
    return [rounded[i, : int(n)].tolist() for i, n in enumerate(lengths)]


def finite(t: torch.Tensor, significant: int | None = None) -> list:
    """Like :func:`vector`, for tensors that may hold ±inf or NaN (sent as null); with
    ``significant``, each value to that many significant digits."""
    if t.dim():
        return [finite(row, significant) for row in t]
    value = t.item()
    if not math.isfinite(value):
        return None
    return float(f"{value:.{significant}g}") if significant else value


def dumps(payload: dict) -> bytes:
    return json.dumps(payload, separators=(",", ":"), allow_nan=False).encode()


GZIP_AT = 32 * 1024  # bodies this large are compressed here (level 5, cached), not by middleware


@lru_cache(maxsize=16)
def gzipped(body: bytes) -> bytes:
    return gzip.compress(body, compresslevel=5, mtime=0)


def answer(body: bytes, request: Request | None = None) -> Response:
    """JSON bytes as a response; large ones gzipped once and kept, when the client accepts it
    (the app's GZipMiddleware, at level 9, would compress a cached 1.5 MB grid on every request
    and passes already-encoded responses through)."""
    accepts = request is not None and "gzip" in request.headers.get("accept-encoding", "")
    if len(body) < GZIP_AT or not accepts:
        return Response(content=body, media_type="application/json")
    return Response(
        content=gzipped(body),
        media_type="application/json",
        headers={"Content-Encoding": "gzip", "Vary": "Accept-Encoding"},
    )
