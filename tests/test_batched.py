"""The batched meta-step equals the per-task Python loop for every algorithm."""

import pytest
import torch

from app.meta.algorithms import ALGORITHMS, Hyper, per_task_loop
from app.meta.params import flatten


@pytest.mark.parametrize("name", sorted(ALGORITHMS))
def test_batched_equals_loop(small_mlp, theta64, batch64, name):
    algorithm = ALGORITHMS[name]
    hp = Hyper(inner_steps=max(algorithm.default_inner_steps, 2), alpha=0.05, cg_steps=4)
    batched = algorithm.meta_gradient(small_mlp, theta64, batch64, hp, True)
    loop = per_task_loop(algorithm.meta_gradient, small_mlp, theta64, batch64, hp)
    assert torch.allclose(
        flatten(batched.direction), flatten(loop.direction), rtol=1e-9, atol=1e-12
    )
    assert batched.loss.item() == pytest.approx(loop.loss.item(), rel=1e-10)
