"""The reference navigation policies: each card's returns are what its checkpoint measures."""

import json

import pytest
import torch

from app.meta.rl_train import evaluate, load_checkpoint
from app.settings import ROOT

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("name", ["maml", "pretrained"])
def test_the_card_is_the_checkpoint_s_evaluation(name):
    torch.set_num_threads(1)
    path = ROOT / "models" / f"navigation-{name}.pt"
    card = json.loads(path.with_suffix(".json").read_text())
    config, theta = load_checkpoint(path)
    assert card["config"]["algo"] == name == config.algo
    measured = evaluate(theta, card["eval"]["alpha"], goals=card["eval"]["goals"])
    for step in ("0", "1", "2", "3"):
        assert measured["return"][step] == pytest.approx(card["eval"]["return"][step], rel=1e-4)
        assert measured["ci95"][step] == pytest.approx(card["eval"]["ci95"][step], rel=1e-3)
