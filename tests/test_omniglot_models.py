"""The committed Omniglot models: each card describes its checkpoint, and the best
methods of each family reach the accuracy the article relies on."""

import json

import pytest
import torch
from fastapi.testclient import TestClient

from app.cli import evaluate
from app.cli.omniglot import omniglot_data
from app.meta.checkpoint import load_checkpoint
from app.meta.config import config_from_dict
from app.meta.tasks.omniglot_episodes import OmniglotTasks
from app.settings import ROOT
from app.web.classifiers import Classifiers
from app.web.main import create_app
from tests.test_omniglot_training import needs_data

MODELS = ROOT / "models"
CARDS = sorted(MODELS.glob("omniglot-*.json"))


def card(path):
    return json.loads(path.read_text())


@pytest.mark.parametrize("path", CARDS, ids=lambda p: p.stem)
def test_card_describes_its_checkpoint(path):
    config, _, checkpoint = load_checkpoint(path.with_suffix(".pt"))
    info = card(path)
    assert config == config_from_dict(info["config"])
    assert checkpoint["step"] == info["budget"]["steps_done"]
    assert info["eval"]["split"] == "test" and info["eval"]["episodes"] >= 1000
    torch.load(path.with_suffix(".pt"), weights_only=True)  # saved for the CPU, GPU-made too


def best(family, ways):
    cards = [card(p) for p in CARDS]
    return max(
        c["eval"]["accuracy"] for c in cards if (c["family"], c["config"]["ways"]) == (family, ways)
    )


def test_the_best_methods_reach_the_targets():
    """Targets of 1-shot Omniglot on the held-out alphabets (published: Prototypical
    networks 98.8% / 96.0%, MAML 98.7% / 95.8%)."""
    assert best("metric", 5) >= 0.97
    assert best("metric", 20) >= 0.93
    assert best("optimisation", 5) >= 0.97
    assert best("optimisation", 20) >= 0.93


# Every method's served model within 2 (5-way) or 4 (20-way) points of its published
# accuracy (issue 13); MANN's 20-way has no published number, so it has no row.
TARGETS = {
    ("maml", 5): 0.967,
    ("maml", 20): 0.918,
    ("fomaml", 5): 0.963,
    ("fomaml", 20): 0.854,
    ("reptile", 5): 0.957,
    ("reptile", 20): 0.854,
    ("imaml", 5): 0.972,
    ("imaml", 20): 0.905,
    ("protonet", 5): 0.968,
    ("protonet", 20): 0.920,
    ("matching", 5): 0.961,
    ("matching", 20): 0.898,
    ("siamese", 5): 0.953,
    ("siamese", 20): 0.841,
    ("mann", 5): 0.808,
}


@pytest.mark.parametrize("method, ways", list(TARGETS), ids=lambda v: str(v))
def test_each_method_reaches_its_published_level(method, ways):
    info = card(MODELS / f"omniglot-{method}-{ways}way-1shot.json")
    assert info["eval"]["accuracy"] >= TARGETS[method, ways]


@needs_data
@pytest.mark.slow
@pytest.mark.timeout(1800)
@pytest.mark.parametrize("path", CARDS, ids=lambda p: p.stem)
def test_served_model_agrees_with_its_card_on_other_episodes(path):
    """Episodes the card never saw (another seed), through the classifier the classify
    endpoint serves: within twice the card's interval plus a point, or the checkpoint is not
    the model its card measured."""
    info = card(path)
    ways = info["config"]["ways"]
    served = Classifiers(MODELS).get(path.stem)
    tasks = OmniglotTasks(omniglot_data(), "test", ways, rotations=False)
    queries = info["eval"]["queries"]
    batch = tasks.sample(200 if ways == 5 else 100, 1, queries, torch.Generator().manual_seed(4242))
    right = [
        (served.probabilities(batch.xs[i], batch.ys[i], batch.xq[i]).argmax(-1) == batch.yq[i])
        .float()
        .mean()
        for i in range(len(batch))
    ]
    fresh = torch.stack(right).mean().item()
    assert fresh == pytest.approx(info["eval"]["accuracy"], abs=2 * info["eval"]["ci95"] + 0.01)


@needs_data
@pytest.mark.slow
@pytest.mark.parametrize("name", ["protonet-5way", "maml-5way"])
def test_card_matches_a_fresh_evaluation_on_this_cpu(name, tmp_path):
    """The cards of the GPU-trained models were measured there, batched; the CPU, one
    episode at a time, must agree to within a few of the 5,000 test queries."""
    path = MODELS / f"omniglot-{name}-1shot.pt"
    out = tmp_path / "eval.json"
    assert evaluate.main(["omniglot", "--checkpoint", str(path), "--out", str(out)]) == 0
    fresh = json.loads(out.read_text())["eval"]
    assert fresh["accuracy"] == pytest.approx(
        card(path.with_suffix(".json"))["eval"]["accuracy"], abs=0.002
    )


def test_the_comparison_table_shows_each_card_and_where_it_was_trained():
    with TestClient(create_app()) as client:
        html = client.get("/comparison").text
    protonet = card(MODELS / "omniglot-protonet-5way-1shot.json")
    accuracy = 100 * protonet["eval"]["accuracy"]
    assert f"{accuracy:.1f} ± {100 * protonet['eval']['ci95']:.1f}" in html
    assert f"{protonet['budget']['steps_done']:,} steps" in html
    assert "min on CPU + GPU" in html and "min on CPU;" in html
    for path in CARDS:
        info = card(path)
        if info["config"].get("pretrain_steps"):
            steps, pretrain = info["budget"]["steps_done"], info["config"]["pretrain_steps"]
            assert f"{steps:,} steps after {pretrain:,} steps of" in html
            assert 0 < info["budget"]["pretrain_seconds"] < info["budget"]["train_seconds"]
        if info["family"] == "optimisation":
            hyper = config_from_dict(info["config"]).hyper(evaluation=True)
            k, alpha = hyper.inner_steps, hyper.alpha
            assert info["eval"]["inner_steps"] == k
            assert f"tested after {k} inner step{'s' if k != 1 else ''} of α = {alpha}" in html
