"""The training loop: determinism, resuming, events, divergence."""

import pytest
import torch

from app.meta.config import TrainConfig
from app.meta.params import flatten
from app.meta.training import Evaluation, Progress, Snapshot, Training, TrainingDiverged


def final_params(config):
    run = Training(config)
    for _ in run.run():
        pass
    return flatten(run.theta).detach()


@pytest.mark.parametrize("algo", ["pretrained", "maml", "fomaml", "reptile", "imaml"])
def test_same_seed_same_numbers(algo):
    config = TrainConfig(algo=algo, steps=5, meta_batch=4, seed=7)
    assert torch.equal(final_params(config), final_params(config))
    assert not torch.equal(
        final_params(config), final_params(config.model_copy(update={"seed": 8}))
    )


def checkpoint_after(config, steps, path):
    """The checkpoint a run of ``config`` saves after ``steps`` steps, as loaded again."""
    run = Training(config.model_copy(update={"steps": steps}))
    for _ in run.run():
        pass
    run.save(path)
    return torch.load(path, weights_only=True)


def resumed_params(checkpoint, config):
    resumed = Training.resume(checkpoint, config)
    for _ in resumed.run():
        pass
    return flatten(resumed.theta).detach()


def test_resume_is_bit_for_bit(tmp_path):
    config = TrainConfig(algo="maml", steps=12, meta_batch=4, seed=1)
    checkpoint = checkpoint_after(config, 6, tmp_path / "ckpt.pt")
    assert Training.resume(checkpoint, config).step == 6
    assert torch.equal(resumed_params(checkpoint, config), final_params(config))


def test_resume_may_change_only_how_the_model_is_tested(tmp_path):
    """Test-time settings do not touch θ: a run resumed with others ends where it would have."""
    config = TrainConfig(algo="maml", steps=6, meta_batch=2, seed=3)
    checkpoint = checkpoint_after(config, 3, tmp_path / "c.pt")
    retested = config.model_copy(update={"eval_inner_steps": 4, "eval_alpha": 0.05})
    assert torch.equal(resumed_params(checkpoint, retested), final_params(config))
    assert retested.hyper(evaluation=True).inner_steps == 4
    assert retested.hyper(evaluation=True).alpha == 0.05
    assert retested.hyper().alpha == config.alpha == 0.01


def test_the_outer_step_size_drops_tenfold_after_lr_drop_at(tmp_path):
    config = TrainConfig(algo="maml", steps=6, meta_batch=2, seed=5)
    dropped = config.model_copy(update={"lr_drop_at": 3})
    run = Training(dropped)
    sizes = []
    for _ in run.run():
        sizes.append(run.optimizer.param_groups[0]["lr"])
    assert sizes == pytest.approx([1e-3] * 3 + [1e-4] * 3)
    assert not torch.equal(flatten(run.theta).detach(), final_params(config))
    reptile = Training(TrainConfig(algo="reptile", beta=0.5, lr_drop_at=0))
    assert reptile.step_size() == pytest.approx(0.05)

    saved = checkpoint_after(config, 3, tmp_path / "c.pt")  # no drop planned yet
    # set where it has not acted yet: the same run as with it from the start
    assert torch.equal(resumed_params(saved, dropped), flatten(run.theta).detach())
    with pytest.raises(ValueError, match="different configuration"):
        Training.resume(saved, config.model_copy(update={"lr_drop_at": 2}))  # would rewrite


def test_resume_refuses_a_different_configuration(tmp_path):
    run = Training(TrainConfig(algo="maml", steps=2, meta_batch=2))
    run.save(tmp_path / "c.pt")
    with pytest.raises(ValueError, match="different configuration"):
        Training.resume(
            torch.load(tmp_path / "c.pt", weights_only=True),
            TrainConfig(algo="fomaml", steps=4, meta_batch=2),
        )


def test_events():
    run = Training(TrainConfig(algo="fomaml", steps=6, meta_batch=3))
    events = list(run.run(eval_every=3, eval_tasks=10, snapshot_every=2))
    progress = [e for e in events if isinstance(e, Progress)]
    assert [e.step for e in progress] == [1, 2, 3, 4, 5, 6]
    assert [e.step for e in events if isinstance(e, Snapshot)] == [0, 2, 4, 6]
    evaluations = [e for e in events if isinstance(e, Evaluation)]
    assert [e.step for e in evaluations] == [3, 6]
    assert set(evaluations[0].eval["mse"]) == {"0", "1", "10"}


def test_divergence_is_reported():
    run = Training(TrainConfig(algo="maml", steps=20, meta_batch=2, alpha=1.0, inner_steps=10))
    with pytest.raises(TrainingDiverged, match="meta-loss became"):
        for _ in run.run():
            pass


def test_snapshots_are_copies_that_later_steps_leave_alone():
    run = Training(TrainConfig(algo="maml", steps=4, meta_batch=2))
    snapshots = [e.params for e in run.run(snapshot_every=2) if isinstance(e, Snapshot)]
    assert len(snapshots) == 3
    assert not torch.equal(flatten(snapshots[0]), flatten(snapshots[1]))
    assert torch.equal(flatten(snapshots[-1]), flatten(run.theta).detach())
