"""The sinusoid regression family of Finn et al. (2017), section 5.1.

A task is y = A·sin(x − φ) with amplitude A ~ U[0.1, 5] and phase φ ~ U[0, π];
inputs are drawn x ~ U[−5, 5]; the loss is the mean-squared error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from app.meta.tasks.base import TaskBatch

AMPLITUDE = (0.1, 5.0)
PHASE = (0.0, math.pi)
X_RANGE = (-5.0, 5.0)


def sinusoid(x: torch.Tensor, amplitude, phase) -> torch.Tensor:
    return amplitude * torch.sin(x - phase)


def _uniform(shape, low, high, generator, dtype):
    return torch.rand(*shape, generator=generator, dtype=dtype) * (high - low) + low


@dataclass(frozen=True)
class SinusoidTasks:
    """Samples batches of sinusoid tasks; a seeded generator makes them repeatable."""

    dtype: torch.dtype = torch.float32

    def sample(
        self, n_tasks: int, k_support: int, k_query: int, generator: torch.Generator
    ) -> TaskBatch:
        amplitude = _uniform((n_tasks, 1, 1), *AMPLITUDE, generator, self.dtype)
        phase = _uniform((n_tasks, 1, 1), *PHASE, generator, self.dtype)
        xs = _uniform((n_tasks, k_support, 1), *X_RANGE, generator, self.dtype)
        xq = _uniform((n_tasks, k_query, 1), *X_RANGE, generator, self.dtype)
        return TaskBatch(xs, sinusoid(xs, amplitude, phase), xq, sinusoid(xq, amplitude, phase))


PROBE = (3.0, 0.5)  # amplitude and phase of the probe task watched during training


def probe_task(shots: int, seed: int = 7, dtype: torch.dtype = torch.float32):
    """The probe task's K support points (x, y): fixed, for watching a model train."""
    x = _uniform((shots, 1), *X_RANGE, torch.Generator().manual_seed(seed), dtype)
    return x, sinusoid(x, *PROBE)


def grid(points: int = 200, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Evenly spaced inputs over the task family's x range, shape (points, 1)."""
    return torch.linspace(*X_RANGE, points, dtype=dtype)[:, None]
