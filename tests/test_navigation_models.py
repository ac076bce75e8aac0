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


def test_maml_is_well_above_the_pretrained_policy_after_one_step():
    """Finn et al. (2017), section 5.3: after one policy-gradient step on a new goal the MAML
    policy earns far more than the pretrained one; here the two cards' 95% intervals are apart."""
    cards = {
        name: json.loads((ROOT / "models" / f"navigation-{name}.json").read_text())["eval"]
        for name in ("maml", "pretrained")
    }
    maml, pretrained = cards["maml"], cards["pretrained"]
    assert maml["return"]["1"] - maml["ci95"]["1"] > (
        pretrained["return"]["1"] + pretrained["ci95"]["1"]
    )
