"""A trained Omniglot model adapting to one episode step by step: the math behind the MAML
page's figure, against a hand-written loop and the reference MAML checkpoint."""

import pytest
import torch

from app.meta.adaptation_curves import episode_curves
from app.meta.classifier import FewShotClassifier
from app.meta.nets import conv4_classifier
from app.meta.params import leaves
from app.meta.tasks.omniglot import load_omniglot
from app.settings import Settings
from app.web.quiz_tasks import make_task

WAYS, ALPHA, STEPS = 5, 0.3, 4


@pytest.fixture
def episode():
    """A small float64 Conv4 and one random 5-way episode: 5 support images, 3 queries."""
    generator = torch.Generator().manual_seed(5)
    model = conv4_classifier(WAYS, channels=8)
    theta = leaves(model.init(generator, torch.float64))
    xs = torch.rand(WAYS, 1, 28, 28, generator=generator, dtype=torch.float64)
    xq = torch.rand(3, 1, 28, 28, generator=generator, dtype=torch.float64)
    return model, theta, xs, torch.arange(WAYS), xq


def test_step_zero_is_the_plain_prediction_of_theta(episode):
    model, theta, xs, ys, xq = episode
    curves = episode_curves(model, theta, xs, ys, xq, ALPHA, STEPS)
    assert curves.predictions.shape == (STEPS + 1, 3, WAYS)
    assert curves.support_losses.shape == (STEPS + 1,)
    with torch.no_grad():
        plain = model.forward(theta, torch.cat([xs, xq]))[WAYS:].softmax(-1)
        loss = model.loss(theta, xs, ys)
    torch.testing.assert_close(curves.predictions[0], plain)
    torch.testing.assert_close(curves.support_losses[0], loss)
    torch.testing.assert_close(curves.predictions.sum(-1), torch.ones(STEPS + 1, 3, dtype=xs.dtype))


def test_every_step_matches_a_hand_written_loop(episode):
    model, theta, xs, ys, xq = episode
    curves = episode_curves(model, theta, xs, ys, xq, ALPHA, STEPS)
    phi = {k: v.detach().clone().requires_grad_(True) for k, v in theta.items()}
    for j in range(STEPS + 1):
        loss = model.loss(phi, xs, ys)
        with torch.no_grad():
            probabilities = model.forward(phi, torch.cat([xs, xq]))[WAYS:].softmax(-1)
        torch.testing.assert_close(curves.predictions[j], probabilities)
        torch.testing.assert_close(curves.support_losses[j], loss.detach())
        grads = torch.autograd.grad(loss, list(phi.values()))
        phi = {
            k: (v - ALPHA * g).detach().requires_grad_(True)
            for (k, v), g in zip(phi.items(), grads, strict=True)
        }


@pytest.fixture(scope="module")
def quiz_tasks():
    settings = Settings.from_env()
    path = settings.models_dir / "omniglot-maml-5way-1shot.pt"
    if not path.is_file():
        pytest.skip("no 5-way MAML model in models/")
    if not (settings.omniglot_dir / "images_background.zip").is_file():
        pytest.skip("Omniglot is not available")
    data = load_omniglot(settings.omniglot_dir, settings.cache_dir, base_url=None)
    return FewShotClassifier.load(path), [make_task(data, f"5-{seed}") for seed in range(20)]


def test_the_trained_model_fits_the_support_set_and_then_answers(quiz_tasks):
    classifier, tasks = quiz_tasks
    hyper = classifier.config.hyper(evaluation=True)
    right = [0] * (hyper.inner_steps + 1)
    for quiz in tasks:
        e = quiz.episode
        curves = classifier.adaptation(e.xs[0], e.ys[0], e.xq[0])
        losses = curves.support_losses
        assert (losses[1:] <= losses[:-1] * (1 + 1e-3) + 1e-6).all(), losses  # rounding aside
        assert losses[-1] < 0.1 * losses[0]
        for j, p in enumerate(curves.predictions[:, 0]):
            right[j] += int(p.argmax()) == quiz.answer
    # Before any step the outputs mean nothing for this episode's labels; after k steps the
    # model is right on most tasks (its card: about 90% on 5-way test episodes).
    assert right[0] <= 10 and right[-1] >= 14, right


def test_the_figure_and_the_quiz_classifier_agree(quiz_tasks):
    """The quiz lists the model's answer from ``FewShotClassifier``; the figure's last step
    must give the same probabilities, a lone query normalised with the support set."""
    classifier, tasks = quiz_tasks
    for quiz in tasks[:5]:
        e = quiz.episode
        curves = classifier.adaptation(e.xs[0], e.ys[0], e.xq[0])
        answered = classifier.probabilities(e.xs[0], e.ys[0], e.xq[0])
        torch.testing.assert_close(answered, curves.predictions[-1], rtol=1e-4, atol=1e-5)
