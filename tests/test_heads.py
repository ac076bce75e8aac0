"""Where each inner loop starts the N-way head: learned, zero or from the prototypes.

Float64, a four-filter Conv4 and random images, as in ``test_conv4_gradients``.
"""

import pytest
import torch
from pydantic import ValidationError

from app.meta.algorithms import OMNIGLOT_ALGORITHMS, Hyper, maml, per_task_loop
from app.meta.config import OmniglotConfig, TrainConfig
from app.meta.heads import SPREAD_FLOOR, prototype_head, pull_back, task_start
from app.meta.nets import conv4_features
from app.meta.params import flatten, stack
from tests.test_conv4_gradients import WAYS, directional_derivatives, random_episodes, theta_for

FINE_TUNED = ("maml", "fomaml", "reptile", "imaml")


def test_the_prototype_head_scores_as_a_prototypical_network():
    """softmax(W f + b) with W = 2c, b = −‖c‖² is softmax(−‖f − c‖²) (Triantafillou et al.)."""
    _, theta = theta_for("maml")
    batch = random_episodes(tasks=1, shots=3)
    xs, ys = batch.xs[0], batch.ys[0]
    head = prototype_head(theta, xs, ys, WAYS)
    features = conv4_features(theta, xs)
    prototypes = torch.stack([features[ys == n].mean(0) for n in range(WAYS)])
    expected = (-(torch.cdist(features, prototypes) ** 2)).softmax(-1)
    got = (features @ head["head_w"].T + head["head_b"]).softmax(-1)
    assert torch.allclose(got, expected, atol=1e-10)


def test_the_scaled_prototype_head_is_the_prototype_head_at_a_temperature():
    """W = 2c/τ, b = −‖c‖²/τ with τ the mean squared distance of two distinct prototypes."""
    _, theta = theta_for("maml")
    batch = random_episodes(tasks=1, shots=3)
    xs, ys = batch.xs[0], batch.ys[0]
    plain, scaled = (prototype_head(theta, xs, ys, WAYS, scaled=s) for s in (False, True))
    prototypes = plain["head_w"] / 2
    distances = torch.cdist(prototypes, prototypes) ** 2
    tau = distances[~torch.eye(WAYS, dtype=torch.bool)].mean()
    for k in ("head_w", "head_b"):
        assert torch.allclose(scaled[k], plain[k] / tau, atol=1e-12)
    features = conv4_features(theta, xs)
    logits = features @ scaled["head_w"].T + scaled["head_b"]
    expected = -(torch.cdist(features, prototypes) ** 2) / tau
    assert torch.allclose(logits.softmax(-1), expected.softmax(-1), atol=1e-10)


def test_the_scaled_head_of_identical_prototypes_stays_finite():
    _, theta = theta_for("maml")
    xs = torch.zeros(WAYS, *random_episodes(tasks=1).xs.shape[2:], dtype=torch.float64)
    head = prototype_head(theta, xs, torch.arange(WAYS), WAYS, scaled=True)
    assert all(torch.isfinite(v).all() for v in head.values())
    plain = prototype_head(theta, xs, torch.arange(WAYS), WAYS)
    assert torch.allclose(head["head_b"], plain["head_b"] / SPREAD_FLOOR)


@pytest.mark.parametrize("head", ["zero", "proto", "scaled"])
def test_task_start_replaces_only_the_head(head):
    _, theta = theta_for("maml")
    batch = random_episodes(tasks=2)
    start = task_start(theta, batch, head)
    assert set(start) == set(theta)
    for k, v in theta.items():
        assert start[k].shape == (2, *v.shape)
        if not k.startswith("head"):
            assert torch.equal(start[k][1], v)
    assert (start["head_w"] == 0).all() == (head == "zero")


@pytest.mark.parametrize("head", ["zero", "proto", "scaled"])
@pytest.mark.parametrize("name", FINE_TUNED)
def test_task_heads_batched_equal_the_loop_and_leave_theta_head_alone(name, head):
    algorithm = OMNIGLOT_ALGORITHMS[name]
    model, theta = theta_for(name)
    batch = random_episodes()
    hp = Hyper(inner_steps=2, alpha=0.3, lam=2.0, cg_steps=3, beta=0.5, head=head)
    batched = algorithm.meta_gradient(model, theta, batch, hp, True)
    loop = per_task_loop(algorithm.meta_gradient, model, theta, batch, hp)
    assert torch.allclose(flatten(batched.direction), flatten(loop.direction), atol=1e-12)
    assert batched.loss.item() == pytest.approx(loop.loss.item(), rel=1e-10)
    for k in ("head_w", "head_b"):  # θ's own head is never used
        assert (batched.direction[k] == 0).all()
    body = flatten({k: v for k, v in batched.direction.items() if not k.startswith("head")})
    assert body.abs().max() > 0
    predictions = algorithm.predict(model, theta, batch, hp, True)
    assert torch.allclose(predictions, algorithm.predict(model, theta, batch, hp, False))


@pytest.mark.parametrize("head", ["proto", "scaled"])
def test_proto_maml_second_order_matches_finite_differences(head):
    """The gradient flows into the body through the prototypes (and their spread τ) as well
    as through φ."""
    model, theta = theta_for("maml")
    batch = random_episodes(tasks=2)
    hp = Hyper(inner_steps=2, alpha=0.01, head=head)
    exact = flatten(per_task_loop(maml.meta_gradient, model, theta, batch, hp).direction)
    # a small ε: max-pool and ReLU make the meta-loss kinked
    for u, numeric in directional_derivatives(model, theta, batch, hp, seed=7, eps=1e-7):
        assert (exact @ u).item() == pytest.approx(numeric, rel=1e-5, abs=1e-7)


def test_pull_back_through_a_learned_head_is_the_mean_direction():
    _, theta = theta_for("maml")
    start = stack(theta, 3)
    g = torch.Generator().manual_seed(3)
    direction = {k: torch.randn(v.shape, generator=g, dtype=v.dtype) for k, v in start.items()}
    back = pull_back(theta, start, direction)
    for k in theta:
        assert torch.allclose(back[k], direction[k].mean(0), atol=1e-14)


def test_a_task_head_needs_a_fine_tuned_learner_on_omniglot():
    assert OmniglotConfig(algo="fomaml", head="proto").hyper().head == "proto"
    assert (
        OmniglotConfig(algo="reptile", head="zero", eval_inner_steps=5).hyper(True).head == "zero"
    )
    for bad in (
        {"algo": "protonet", "head": "proto"},
        {"algo": "reptile", "head": "proto", "serial": True},
        {"algo": "maml", "head": "other"},
    ):
        with pytest.raises(ValidationError, match="head"):
            OmniglotConfig(**bad)
    with pytest.raises(ValidationError, match="head"):
        TrainConfig(algo="maml", head="zero")


@pytest.mark.parametrize("head", ["zero", "proto"])
def test_a_task_head_has_one_row_per_class_of_the_episode(head):
    """A model trained for more classes than an episode has (the classify endpoint allows
    it) gets finite scores for the episode's classes only."""
    model, theta = theta_for("fomaml")  # WAYS = 3 rows
    batch = random_episodes(tasks=2, ways=2)
    hp = Hyper(inner_steps=2, alpha=0.1, head=head)
    scores = OMNIGLOT_ALGORITHMS["fomaml"].predict(model, theta, batch, hp, False)
    assert scores.shape == (2, 4, 2) and torch.isfinite(scores).all()
