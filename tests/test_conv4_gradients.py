"""Conv4 meta-gradients against a per-task reference (float64, 4 filters, random images).

The trap of the issue: ``torch.func.vmap`` over a Conv4 with batch norm can give a wrong
second-order MAML gradient. This engine's batched mode maps only the forward pass and
takes gradients with plain autograd; these tests pin it to the per-task loop for every
algorithm, check MAML's second-order gradient against finite differences, and check that
the conv biases before batch norm get (numerically) zero gradient, as they must.
"""

import pytest
import torch

from app.meta.algorithms import OMNIGLOT_ALGORITHMS, Hyper, fomaml, maml, per_task_loop
from app.meta.algorithms.maml import adapted_query_loss
from app.meta.nets import conv4_classifier, conv4_features, conv4_init
from app.meta.params import flatten, leaves, unflatten
from app.meta.tasks.base import TaskBatch

WAYS, CHANNELS = 3, 4


def random_episodes(tasks=3, ways=WAYS, shots=1, queries=2, size=28, seed=0) -> TaskBatch:
    g = torch.Generator().manual_seed(seed)

    def images(per_class):
        return torch.rand(tasks, ways * per_class, 1, size, size, generator=g, dtype=torch.float64)

    def labels(per_class):
        return torch.arange(ways).repeat_interleave(per_class).repeat(tasks, 1)

    return TaskBatch(images(shots), labels(shots), images(queries), labels(queries))


def theta_for(name, seed=1):
    model = OMNIGLOT_ALGORITHMS[name].network(WAYS, CHANNELS)
    return model, leaves(model.init(torch.Generator().manual_seed(seed), torch.float64))


HP = Hyper(inner_steps=2, alpha=0.3, lam=2.0, cg_steps=3, beta=0.5)


def test_conv4_shapes():
    params = conv4_init(torch.Generator().manual_seed(0), channels=8)
    assert conv4_features(params, torch.rand(7, 1, 28, 28)).shape == (7, 8)
    assert conv4_classifier(5, 8).forward(
        params | {"head_w": torch.zeros(5, 8), "head_b": torch.zeros(5)}, torch.rand(7, 1, 28, 28)
    ).shape == (7, 5)


@pytest.mark.parametrize("name", sorted(OMNIGLOT_ALGORITHMS))
def test_batched_equals_per_task_reference(name):
    algorithm = OMNIGLOT_ALGORITHMS[name]
    model, theta = theta_for(name)
    batch = random_episodes()
    batched = algorithm.meta_gradient(model, theta, batch, HP, True)
    loop = per_task_loop(algorithm.meta_gradient, model, theta, batch, HP)
    assert torch.allclose(flatten(batched.direction), flatten(loop.direction), atol=1e-12)
    assert batched.loss.item() == pytest.approx(loop.loss.item(), rel=1e-10)
    scale = flatten(loop.direction).abs().max()
    assert scale > 0
    biases = [k for k in theta if k.startswith("conv") and k.endswith("_b")]
    assert len(biases) == (0 if name == "mann" else 4)  # the memory network has no Conv4
    for k in biases:
        assert loop.direction[k].abs().max() <= 1e-10 * scale
        assert batched.direction[k].abs().max() <= 1e-10 * scale


@pytest.mark.parametrize("name", sorted(OMNIGLOT_ALGORITHMS))
def test_batched_predictions_equal_the_loop(name):
    algorithm = OMNIGLOT_ALGORITHMS[name]
    model, theta = theta_for(name)
    batch = random_episodes()
    batched = algorithm.predict(model, theta, batch, HP, True)
    loop = algorithm.predict(model, theta, batch, HP, False)
    assert batched.shape == (3, WAYS * 2, WAYS)
    assert torch.allclose(batched, loop, atol=1e-12)


def directional_derivatives(model, theta, batch, hp, seed, eps, directions=3):
    """(u, (L(θ + εu) − L(θ − εu)) / 2ε) for random u, L the MAML meta-loss of ``batch``
    (the mean over its tasks, as the meta-gradient is)."""
    vector = flatten(theta).detach()

    def meta_loss(v):
        params = unflatten(v, theta)
        tasks = [batch.slice(i, i + 1) for i in range(len(batch))]
        return sum(adapted_query_loss(model, params, t, hp, False, True).item() for t in tasks)

    g = torch.Generator().manual_seed(seed)
    for _ in range(directions):
        u = torch.randn(vector.shape, generator=g, dtype=torch.float64)
        difference = meta_loss(vector + eps * u) - meta_loss(vector - eps * u)
        yield u, difference / (2 * eps * len(batch))


def test_conv4_maml_second_order_matches_finite_differences():
    """Directional derivatives of the meta-loss along random directions, central differences.

    A small α keeps the meta-loss smooth within ε (ReLU, max-pool and batch norm over three
    images make it kinked at larger steps); FOMAML's first-order direction must fail it."""
    model, theta = theta_for("maml")
    batch = random_episodes(tasks=2)
    hp = Hyper(inner_steps=2, alpha=0.01)
    second = flatten(per_task_loop(maml.meta_gradient, model, theta, batch, hp).direction)
    first = flatten(per_task_loop(fomaml.meta_gradient, model, theta, batch, hp).direction)
    for u, numeric in directional_derivatives(model, theta, batch, hp, seed=5, eps=1e-6):
        assert (second @ u).item() == pytest.approx(numeric, rel=1e-6, abs=1e-8)
        assert (first @ u).item() != pytest.approx(numeric, rel=1e-3)
