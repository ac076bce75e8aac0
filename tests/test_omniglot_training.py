"""Omniglot training end to end: configuration, command line, resume, model card, classifier.

Runs on the real background set (Lake et al. 2015), skipped where it is absent; tiny
networks (8 filters) and a handful of steps keep it quick.
"""

import json
import os
from pathlib import Path

import pytest
import torch
from pydantic import ValidationError

from app.cli import evaluate, train
from app.cli.omniglot import omniglot_data
from app.meta.classifier import FewShotClassifier
from app.meta.config import OmniglotConfig, TrainConfig, config_from_dict
from app.meta.training import Training, build_model

DATA = Path(
    os.environ.get(
        "MAML_OMNIGLOT_DIR", Path(__file__).resolve().parents[1] / ".." / "shared" / "omniglot"
    )
)
needs_data = pytest.mark.skipif(
    not (DATA / "images_background.zip").is_file(), reason="Omniglot background set absent"
)


def test_configurations_are_validated():
    assert TrainConfig().task == "sinusoid"
    assert config_from_dict(OmniglotConfig(algo="mann").model_dump()) == OmniglotConfig(algo="mann")
    with pytest.raises(ValidationError, match="shots \\+ queries"):
        OmniglotConfig(shots=10, queries=15)
    with pytest.raises(ValidationError, match="does not run on task"):
        TrainConfig(task="omniglot", algo="pretrained")
    with pytest.raises(ValidationError, match="algo"):
        TrainConfig(algo="protonet")


def cli(tmp_path, algo, steps, *extra):
    return [
        "omniglot",
        "--algo",
        algo,
        "--ways",
        "5",
        "--queries",
        "3",
        "--channels",
        "8",
        "--steps",
        str(steps),
        "--meta-batch",
        "2",
        "--val-every",
        "2",
        "--val-episodes",
        "4",
        "--test-episodes",
        "20",
        "--save",
        str(tmp_path / "m.pt"),
        *extra,
    ]


@needs_data
@pytest.mark.slow
def test_train_resume_card_and_evaluate(tmp_path, capsys):
    assert train.main(cli(tmp_path, "protonet", 3)) == 0
    assert train.main(cli(tmp_path, "protonet", 4)) == 0
    assert "resuming" in capsys.readouterr().err
    card = json.loads((tmp_path / "m.json").read_text())
    assert card["budget"]["steps_done"] == 4 and card["budget"]["finished"]
    assert card["eval"]["split"] == "test" and card["eval"]["episodes"] == 20
    assert card["eval"]["alphabets"] == card["split"]["test"]
    assert 0 <= card["eval"]["accuracy"] <= 1 and card["eval"]["ci95"] > 0
    assert [v["step"] for v in card["validation"]] == [2, 3, 4]
    assert card["command"].startswith("maml train omniglot --algo protonet")
    out = tmp_path / "e.json"
    argv = ["omniglot", "--checkpoint", str(tmp_path / "m.pt"), "--tasks", "20", "--out", str(out)]
    assert evaluate.main(argv) == 0
    assert json.loads(out.read_text())["eval"]["accuracy"] == card["eval"]["accuracy"]


@needs_data
@pytest.mark.slow
def test_a_resumed_run_can_be_tested_with_other_inner_steps(tmp_path):
    """The card says how each validation and the test were measured."""
    assert train.main(cli(tmp_path, "fomaml", 2)) == 0
    extra = ("--eval-inner-steps", "3", "--eval-alpha", "0.05")
    assert train.main(cli(tmp_path, "fomaml", 4, *extra)) == 0
    card = json.loads((tmp_path / "m.json").read_text())
    assert (card["config"]["eval_inner_steps"], card["config"]["eval_alpha"]) == (3, 0.05)
    measured = [(v["step"], v["inner_steps"], v["alpha"]) for v in card["validation"]]
    assert measured == [(2, 1, 0.4), (4, 3, 0.05)]
    assert (card["eval"]["inner_steps"], card["eval"]["alpha"]) == (3, 0.05)


@needs_data
@pytest.mark.slow
def test_a_time_budget_stops_early_and_says_so(tmp_path):
    assert train.main(cli(tmp_path, "fomaml", 1000, "--minutes", "0.0001")) == 0
    card = json.loads((tmp_path / "m.json").read_text())
    assert card["budget"]["steps_done"] < 1000 and not card["budget"]["finished"]
    assert (
        Training.resume(
            torch.load(tmp_path / "m.pt", weights_only=True),
            config_from_dict(card["config"]),
            omniglot_data(),
        ).step
        == card["budget"]["steps_done"]
    )


@pytest.mark.parametrize("algo", ["maml", "imaml", "protonet", "matching", "siamese", "mann"])
def test_classifier_gives_probabilities_for_one_episode(tmp_path, algo):
    """What the web layer calls: a checkpoint in, class probabilities of the queries out."""
    config = OmniglotConfig(algo=algo, ways=5, channels=8, inner_steps=1)
    model = build_model(config)
    params = model.init(torch.Generator().manual_seed(0), torch.float32)
    torch.save({"config": config.model_dump(), "params": params}, tmp_path / "m.pt")
    classifier = FewShotClassifier.load(tmp_path / "m.pt")
    g = torch.Generator().manual_seed(1)
    xs, xq = torch.rand(5, 1, 28, 28, generator=g), torch.rand(10, 1, 28, 28, generator=g)
    p = classifier.probabilities(xs, torch.arange(5), xq)
    assert p.shape == (10, 5)
    assert torch.allclose(p.sum(-1), torch.ones(10))


@needs_data
@pytest.mark.slow
def test_progress_is_kept_apart_from_the_served_checkpoint(tmp_path, capsys):
    """Mid-sitting checkpoints go to NAME.resume.pt and a later run resumes from there;
    NAME.pt and its card are written together at the end, so they always agree."""
    assert train.main(cli(tmp_path, "protonet", 3, "--checkpoint-every", "2")) == 0
    assert not (tmp_path / "m.resume.pt").exists()
    card = json.loads((tmp_path / "m.json").read_text())
    served = torch.load(tmp_path / "m.pt", weights_only=True)
    assert served["step"] == card["budget"]["steps_done"] == 3

    config = config_from_dict({**card["config"], "steps": 5})
    interrupted = Training.resume(
        served, config, omniglot_data()
    )  # a sitting that stopped before its card
    interrupted.meta_step()
    interrupted.save(train.progress_path(tmp_path / "m.pt"))
    assert torch.load(tmp_path / "m.pt", weights_only=True)["step"] == 3

    assert train.main(cli(tmp_path, "protonet", 5)) == 0
    assert "m.resume.pt from step 4" in capsys.readouterr().err
    assert not (tmp_path / "m.resume.pt").exists()
    card = json.loads((tmp_path / "m.json").read_text())
    assert torch.load(tmp_path / "m.pt", weights_only=True)["step"] == 5
    sittings = [(s["device"], s["from_step"], s["to_step"]) for s in card["budget"]["sittings"]]
    assert sittings == [("cpu", 0, 3), ("cpu", 3, 4), ("cpu", 4, 5)]


@needs_data
@pytest.mark.parametrize("algo", ["maml", "protonet"])
def test_batched_evaluation_equals_the_loop(algo):
    """A GPU evaluates a chunk of episodes at once; the accuracy is the CPU loop's."""
    run = Training(
        OmniglotConfig(algo=algo, ways=5, channels=8, queries=3, inner_steps=1),
        data=omniglot_data(),
    )
    loop = run.evaluate(20)
    run.batched = True
    assert run.evaluate(20)["accuracy"] == pytest.approx(loop["accuracy"], abs=1e-12)


@needs_data
@pytest.mark.slow
@pytest.mark.parametrize("algo", ["fomaml", "reptile", "imaml"])
def test_a_run_with_prototype_heads_resumes_where_a_straight_run_ends(tmp_path, algo):
    """``--head proto`` is part of the configuration: the card records it, and a run
    interrupted after 2 steps ends with the parameters of one that was not."""
    head = ("--head", "proto", "--inner-steps", "2")
    assert train.main(cli(tmp_path / "straight", algo, 4, *head)) == 0
    assert train.main(cli(tmp_path / "resumed", algo, 2, *head)) == 0
    assert train.main(cli(tmp_path / "resumed", algo, 4, *head)) == 0
    card = json.loads((tmp_path / "resumed" / "m.json").read_text())
    assert card["config"]["head"] == "proto" and "--head proto" in card["command"]
    straight = torch.load(tmp_path / "straight" / "m.pt", weights_only=True)["params"]
    resumed = torch.load(tmp_path / "resumed" / "m.pt", weights_only=True)["params"]
    assert all(torch.equal(straight[k], resumed[k]) for k in straight)
