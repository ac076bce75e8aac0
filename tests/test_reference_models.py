"""The committed sinusoid reference checkpoints reach the bars the article relies on."""

import json

import pytest

from app.meta.checkpoint import load_checkpoint
from app.meta.evaluation import evaluate_regression
from app.meta.nets import regression_mlp
from app.settings import ROOT

MODELS = ROOT / "models"


@pytest.fixture(scope="module", params=["maml", "pretrained"])
def reference(request):
    path = MODELS / f"sinusoid-{request.param}.pt"
    config, params, checkpoint = load_checkpoint(path)
    card = json.loads(path.with_suffix(".json").read_text())
    return request.param, config, params, checkpoint, card


def test_card_matches_a_fresh_evaluation(reference):
    _, config, params, checkpoint, card = reference
    assert checkpoint["step"] == config.steps == card["steps"] == 70_000
    assert (config.meta_batch, config.alpha, config.meta_lr, config.shots) == (25, 0.01, 1e-3, 10)
    fresh = evaluate_regression(
        regression_mlp(), params, shots=10, tasks=1000, alpha=0.01, seed=card["eval"]["seed"]
    )
    assert fresh["mse"] == pytest.approx(card["eval"]["mse"], rel=1e-4)


def test_maml_reference_reaches_the_published_bar():
    _, params, _ = load_checkpoint(MODELS / "sinusoid-maml.pt")
    maml = evaluate_regression(regression_mlp(), params, tasks=1000)
    _, params, _ = load_checkpoint(MODELS / "sinusoid-pretrained.pt")
    pretrained = evaluate_regression(regression_mlp(), params, tasks=1000)
    assert maml["mse"]["1"] <= 0.45
    assert maml["mse"]["10"] < maml["mse"]["1"]
    assert maml["mse"]["1"] <= 0.5 * pretrained["mse"]["1"]
