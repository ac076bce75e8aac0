"""Pre-training the Conv4 body by plain classification before meta-training (app.meta.pretrain).

On the real background set (Lake et al. 2015), skipped where it is absent; tiny networks.
"""

import json

import pytest
import torch
from pydantic import ValidationError

from app.cli import train
from app.cli.omniglot import omniglot_data
from app.meta.checkpoint import load_checkpoint
from app.meta.config import OmniglotConfig, TrainConfig
from app.meta.params import copied
from app.meta.pretrain import is_body, pretrain_body
from app.meta.tasks.omniglot import ROTATIONS
from app.meta.tasks.omniglot_episodes import OmniglotTasks
from app.meta.training import Progress, Training
from tests.test_omniglot_training import cli, needs_data


def test_only_omniglot_learners_with_a_conv4_body_pretrain():
    for algo in ("maml", "fomaml", "reptile", "imaml", "protonet", "matching", "siamese"):
        assert OmniglotConfig(algo=algo, pretrain_steps=10).pretrain_steps == 10
    for bad in (
        lambda: OmniglotConfig(algo="mann", pretrain_steps=10),
        lambda: TrainConfig(algo="maml", pretrain_steps=10),
    ):
        with pytest.raises(ValidationError, match="pretrain_steps must be 0"):
            bad()
    with pytest.raises(ValidationError, match="pretrain_steps"):
        OmniglotConfig(algo="maml", pretrain_steps=-1)


@needs_data
def test_sampled_images_carry_their_class_and_turn():
    data = omniglot_data()
    tasks = OmniglotTasks(data, "train", 5, rotations=True)
    characters = data.split_characters("train")
    assert tasks.classes == len(characters) * ROTATIONS
    x, labels = tasks.sample_images(64, torch.Generator().manual_seed(0))
    assert x.shape == (64, 1, 28, 28) and x.dtype == torch.float32
    assert labels.min() >= 0 and labels.max() < tasks.classes
    again = tasks.sample_images(64, torch.Generator().manual_seed(0))
    assert torch.equal(again[0], x) and torch.equal(again[1], labels)
    drawings = data.images[characters[labels // ROTATIONS]].float() / 255  # (64, 20, 28, 28)
    for image, stack, turn in zip(x[:, 0], drawings, labels % ROTATIONS, strict=True):
        turned = torch.rot90(image, -int(turn), dims=(0, 1))  # undo the turn
        assert any(torch.equal(turned, drawing) for drawing in stack)
    plain = OmniglotTasks(data, "train", 5)
    assert plain.classes == len(characters)
    assert plain.sample_images(8, torch.Generator().manual_seed(0))[1].max() < len(characters)


@needs_data
def test_pretraining_lowers_the_classification_loss():
    tasks = OmniglotTasks(omniglot_data(), "train", 5, rotations=False)
    theta = Training(OmniglotConfig(algo="maml", channels=8), data=omniglot_data()).theta
    body = {k: v for k, v in theta.items() if is_body(k)}
    before = copied(body)
    losses = [loss for _, loss in pretrain_body(body, tasks, 60, torch.Generator().manual_seed(0))]
    assert sum(losses[-10:]) / 10 < sum(losses[:10]) / 10
    assert all(not torch.equal(before[k], body[k]) for k in ("conv0_w", "bn3_w"))
    assert set(body) == {k for k in theta if k.startswith(("conv", "bn"))}


@needs_data
def test_a_run_pretrains_once_then_meta_trains_as_without(tmp_path):
    config = OmniglotConfig(algo="fomaml", ways=5, queries=3, channels=8, meta_batch=2, steps=3)
    data = omniglot_data()
    plain = Training(config, data=data)
    run = Training(config.model_copy(update={"pretrain_steps": 5}), data=data)
    initial = copied(run.theta)
    assert [e.step for e in run.pretrain()] == [1, 2, 3, 4, 5]
    assert not torch.equal(initial["conv0_w"], run.theta["conv0_w"])
    assert not run.theta["head_w"].any() and not run.theta["head_b"].any()  # a zero head
    assert [type(e) for e in run.run()] == [Progress] * 3  # pre-trained once only
    assert run.pretrain_seconds > 0 and run.seconds > run.pretrain_seconds
    list(plain.run())  # pre-training has a generator of its own: the episodes are a plain run's
    assert torch.equal(run.sample().xs, plain.sample().xs)
    run.save(tmp_path / "m.pt")
    resumed = Training.resume(
        load_checkpoint(tmp_path / "m.pt")[2], run.config.model_copy(update={"steps": 4}), data
    )
    assert resumed.pretrained and resumed.pretrain_seconds == run.pretrain_seconds
    assert [type(e) for e in resumed.run()] == [Progress]


@needs_data
@pytest.mark.parametrize("learner", ["reptile", "siamese"])
def test_other_learners_reuse_a_kept_body(tmp_path, learner):
    """The body depends on the seed, steps, width and turns only: FOMAML's serves a 20-way
    run of Reptile or of a metric learner, bit for bit what pre-training would have made,
    with its time."""
    config = OmniglotConfig(algo="fomaml", ways=5, queries=3, channels=8, pretrain_steps=3)
    first = Training(config, data=omniglot_data(), bodies=tmp_path)
    assert [e.reused for e in first.pretrain()] == [False] * 3
    assert len(list(tmp_path.glob("conv4-8-seed0-3steps-turns-*.pt"))) == 1
    other = config.model_copy(update={"algo": learner, "ways": 20})
    fresh = Training(other, data=omniglot_data())
    kept = Training(other, data=omniglot_data(), bodies=tmp_path)
    list(fresh.pretrain())
    assert [(e.step, e.reused) for e in kept.pretrain()] == [(3, True)]
    for k, v in fresh.theta.items():
        assert torch.equal(v, kept.theta[k]) and v.shape == kept.theta[k].shape
    assert kept.pretrain_seconds == first.pretrain_seconds
    unlike = Training(config.model_copy(update={"seed": 1}), data=omniglot_data(), bodies=tmp_path)
    assert [e.reused for e in unlike.pretrain()] == [False] * 3


@needs_data
@pytest.mark.slow
def test_the_card_says_how_long_pretraining_took(tmp_path, capsys):
    bodies = ("--bodies", str(tmp_path / "bodies"))
    assert train.main(cli(tmp_path, "fomaml", 2, "--pretrain-steps", "3", *bodies)) == 0
    assert "pre-training step 3/3" in capsys.readouterr().out
    card = json.loads((tmp_path / "m.json").read_text())
    assert card["config"]["pretrain_steps"] == 3
    assert 0 < card["budget"]["pretrain_seconds"] < card["budget"]["train_seconds"]
    assert train.main(cli(tmp_path / "maml", "maml", 2, "--pretrain-steps", "3", *bodies)) == 0
    assert "reused the body that 3 steps made" in capsys.readouterr().out
    again = json.loads((tmp_path / "maml" / "m.json").read_text())
    assert again["budget"]["pretrain_seconds"] == card["budget"]["pretrain_seconds"]
