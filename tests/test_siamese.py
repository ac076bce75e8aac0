"""The Siamese pair head set from data before the first meta-step (``siamese.calibrate``)."""

import torch

from app.cli.omniglot import omniglot_data
from app.meta.algorithms import REGISTRY, siamese
from app.meta.algorithms.episode import embed
from app.meta.config import OmniglotConfig
from app.meta.training import Training
from tests.test_conv4_gradients import random_episodes, theta_for
from tests.test_omniglot_training import needs_data


def test_the_calibrated_head_scores_same_pairs_plus_one_and_others_minus_one():
    model, theta = theta_for("siamese")
    batch = random_episodes(tasks=4, queries=3)  # random weights: d₋ > d₊ for these
    start = siamese.calibrate(model, theta, batch)
    assert set(start) == {"pair_w", "pair_b"}
    weights = start["pair_w"]
    assert (weights < 0).all() and torch.allclose(weights, weights[0].expand_as(weights))
    zs, zq = embed(model, theta | start, batch, False)
    logits = siamese.pair_logits(theta | start, zs, zq)
    same = batch.yq[:, :, None] == batch.ys[:, None]
    assert torch.allclose(logits[same].mean(), torch.tensor(1.0, dtype=logits.dtype))
    assert torch.allclose(logits[~same].mean(), torch.tensor(-1.0, dtype=logits.dtype))


def test_the_calibrated_head_predicts_the_nearest_support_image_in_l1():
    model, theta = theta_for("siamese")
    batch = random_episodes(tasks=2, queries=3)
    theta = theta | siamese.calibrate(model, theta, batch)
    zs, zq = embed(model, theta, batch, False)
    nearest = batch.ys.gather(1, torch.cdist(zq, zs, p=1).argmin(-1))
    hp = OmniglotConfig(algo="siamese").hyper(evaluation=True)
    assert torch.equal(siamese.predict(model, theta, batch, hp).argmax(-1), nearest)


@needs_data
def test_training_calibrates_before_the_first_step_without_drawing_from_its_episodes():
    config = OmniglotConfig(algo="siamese", ways=5, channels=8, steps=1)
    run = Training(config, data=omniglot_data())
    drawn = run.generator.get_state()
    run.calibrate()
    assert torch.equal(run.generator.get_state(), drawn)
    weights = run.theta["pair_w"].detach()
    assert (weights < 0).all() and torch.allclose(weights, weights[0].expand_as(weights))
    fresh = Training(config, data=omniglot_data())
    assert fresh.theta["pair_b"].item() == 0.0  # as drawn: eq. (1)'s bias starts at zero
    list(fresh.run())
    assert fresh.step == 1 and fresh.theta["pair_b"].item() > 0.5  # calibrated, then one step
    assert REGISTRY["protonet"].calibrate is None
