"""Shared fixtures: float64 toy problems small enough for exact Hessians."""

from __future__ import annotations

import pytest
import torch

from app.meta.nets import regression_mlp
from app.meta.params import leaves
from app.meta.tasks.sinusoid import SinusoidTasks


@pytest.fixture(params=["tanh", "relu"])
def small_mlp(request):
    """A 1-6-6-1 network; tanh makes the loss smooth, ReLU is what the app trains."""
    return regression_mlp((1, 6, 6, 1), torch.tanh if request.param == "tanh" else torch.relu)


@pytest.fixture
def smooth_mlp():
    return regression_mlp((1, 6, 6, 1), torch.tanh)


@pytest.fixture
def theta64():
    return leaves(
        regression_mlp((1, 6, 6, 1)).init(torch.Generator().manual_seed(3), torch.float64)
    )


@pytest.fixture
def batch64():
    return SinusoidTasks(torch.float64).sample(4, 5, 7, torch.Generator().manual_seed(11))
