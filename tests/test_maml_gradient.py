"""MAML's second-order meta-gradient against central finite differences (float64)."""

import pytest
import torch

from app.meta.algorithms import Hyper, maml
from app.meta.algorithms.maml import adapted_query_loss
from app.meta.params import flatten, unflatten


def finite_difference(f, theta, eps=1e-6):
    vector = flatten(theta).detach()
    grad = torch.zeros_like(vector)
    for i in range(vector.numel()):
        bump = torch.zeros_like(vector)
        bump[i] = eps
        grad[i] = (f(unflatten(vector + bump, theta)) - f(unflatten(vector - bump, theta))) / (
            2 * eps
        )
    return grad


@pytest.mark.parametrize("k", [1, 3])
def test_maml_meta_gradient_matches_finite_differences(small_mlp, theta64, batch64, k):
    hp = Hyper(inner_steps=k, alpha=0.05)
    step = maml.meta_gradient(small_mlp, theta64, batch64, hp)

    def meta_loss(params):
        return adapted_query_loss(small_mlp, params, batch64, hp, True, True).item()

    numeric = finite_difference(meta_loss, theta64)
    analytic = flatten(step.direction)
    assert torch.allclose(analytic, numeric, rtol=1e-5, atol=1e-7)
    assert step.loss.item() == pytest.approx(meta_loss(theta64))


def test_second_order_term_matters(small_mlp, theta64, batch64):
    """The check above must be able to fail: FOMAML's gradient is measurably different."""
    from app.meta.algorithms import fomaml

    hp = Hyper(inner_steps=3, alpha=0.05)
    second = flatten(maml.meta_gradient(small_mlp, theta64, batch64, hp).direction)
    first = flatten(fomaml.meta_gradient(small_mlp, theta64, batch64, hp).direction)
    assert (second - first).norm() > 1e-3 * second.norm()
