"""What a training job streams: engine events turned into JSON-ready ``(name, data)`` pairs.

``progress`` about 200 times per run (step, meta-loss, and the evaluation MSE
every tenth of the run), ``snapshot`` about 50 times (the probe task's
prediction before and after fine-tuning, and the parameter trajectory so far
projected to 2-D), ``landscape`` about 6 times (the meta-loss around the
current parameters on two planes, with the path), then ``done`` with a summary.
The trained parameters are passed on as a ``result`` pair, which the job keeps
and never sends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch

from app.jobs import Cancelled
from app.meta.config import TrainConfig
from app.meta.finetune import finetune_curves
from app.meta.landscape import pca_plane, project, trajectory_matrix
from app.meta.live import live_landscape
from app.meta.params import Params, copied
from app.meta.tasks.omniglot import Omniglot
from app.meta.tasks.sinusoid import PROBE, grid, probe_task, sinusoid
from app.meta.train import Evaluation, Progress, Snapshot, Training

PROGRESS_EVENTS = 200
SNAPSHOT_EVENTS = 50
EVALUATIONS = 10
EVAL_TASKS = 100
FINAL_EVAL_TASKS = 1000
PROBE_STEPS = (0, 1, 10)
GRID_POINTS = 100
LANDSCAPE_EVERY = 10  # snapshots between two landscape events (each costs about 0.2 s)
LANDSCAPE_TASKS = 10
OMNIGLOT_EVALUATIONS = 5
OMNIGLOT_EVAL_EPISODES = 30
OMNIGLOT_FINAL_EPISODES = 100
LANDSCAPE_SEED = 11


def rounded(values: torch.Tensor, digits: int = 4) -> list:
    return [round(v, digits) for v in values.tolist()]


def landscape_event(run: Training, path: list[Params], tasks, step: int) -> dict:
    """The meta-loss around θ on two planes (random directions and the path's PCA)."""
    event = {"step": step, "inner_steps": run.hyper.inner_steps}
    for kind in ("random", "pca"):
        view = live_landscape(
            run.model,
            path,
            tasks,
            run.config.alpha,
            run.hyper.inner_steps,
            kind,
            seed=run.config.seed,
        )
        event[kind] = {
            "x": rounded(view.xs),
            "y": rounded(view.ys),
            "z": [rounded(row) for row in view.losses],
            "path": [rounded(p) for p in view.path],
        }
    return event


def training_events(
    config: TrainConfig, should_stop: Callable[[], bool], omniglot: Callable[[], Omniglot]
) -> Iterator[tuple[str, dict]]:
    """The stream of a sinusoid run, or of an Omniglot run on ``omniglot()``'s data."""
    if config.task == "omniglot":
        yield from omniglot_events(config, should_stop, omniglot())
    else:
        yield from sinusoid_events(config, should_stop)


def run_events(
    run: Training,
    should_stop: Callable[[], bool],
    evaluations: int,
    eval_tasks: int,
    evaluation_fields: Callable[[dict], dict],
    snapshot_events: Callable[[Snapshot, list, list[Params]], Iterator[tuple[str, dict]]],
) -> Iterator[tuple[str, dict]]:
    """The events every run shares; returns the last meta-loss. ``evaluation_fields`` turns
    an evaluation into ``progress`` fields; ``snapshot_events`` gives the events of a
    snapshot, with the trajectory so far projected on its PCA plane."""
    steps = run.config.steps
    every = max(1, steps // PROGRESS_EVENTS)
    path: list[Params] = []
    loss = None
    events = run.run(
        eval_every=max(1, steps // evaluations),
        eval_tasks=eval_tasks,
        snapshot_every=max(1, steps // SNAPSHOT_EVENTS),
    )
    for event in events:
        if should_stop():
            raise Cancelled
        if isinstance(event, Progress):
            loss = event.loss
            if event.step % every == 0 or event.step == steps:
                yield (
                    "progress",
                    {
                        "step": event.step,
                        "steps": steps,
                        "loss": round(loss, 5),
                        "step_ms": round(event.step_ms, 3),
                    },
                )
        elif isinstance(event, Evaluation):
            yield (
                "progress",
                {
                    "step": event.step,
                    "steps": steps,
                    "loss": round(loss, 5),
                    **evaluation_fields(event.eval),
                },
            )
        elif isinstance(event, Snapshot):
            path.append(event.params)
            trajectory = [rounded(p) for p in project(trajectory_matrix(path), pca_plane(path))]
            yield from snapshot_events(event, trajectory, path)
    return loss


def omniglot_events(
    config: TrainConfig, should_stop: Callable[[], bool], data: Omniglot
) -> Iterator[tuple[str, dict]]:
    """``progress`` with the meta-loss, and with the accuracy on validation episodes five
    times per run; ``snapshot`` with the 2-D trajectory; ``done`` with the final validation
    accuracy over more episodes."""
    yield "start", {"config": config.model_dump(), "steps": config.steps, "probe": None}
    run = Training(config, data=data)

    def snapshot(event: Snapshot, trajectory: list, path: list[Params]):
        yield "snapshot", {"step": event.step, "trajectory": trajectory}

    loss = yield from run_events(
        run,
        should_stop,
        OMNIGLOT_EVALUATIONS,
        OMNIGLOT_EVAL_EPISODES,
        lambda e: {"accuracy": e["accuracy"], "ci95": e["ci95"]},
        snapshot,
    )
    yield (
        "done",
        {
            "steps": config.steps,
            "seconds": round(run.seconds, 3),
            "loss": loss,
            "eval": run.evaluate(OMNIGLOT_FINAL_EPISODES),
        },
    )


def sinusoid_events(
    config: TrainConfig, should_stop: Callable[[], bool]
) -> Iterator[tuple[str, dict]]:
    """``snapshot`` adds the probe task's predictions, and ``landscape`` events follow."""
    xs, ys = probe_task(config.shots)
    x = grid(GRID_POINTS)
    probe = {
        "x": rounded(x[:, 0]),
        "target": rounded(sinusoid(x[:, 0], *PROBE)),
        "support": {"x": rounded(xs[:, 0]), "y": rounded(ys[:, 0])},
    }
    yield "start", {"config": config.model_dump(), "steps": config.steps, "probe": probe}
    run = Training(config)
    tasks = run.sampler.sample(
        LANDSCAPE_TASKS, config.shots, config.shots, torch.Generator().manual_seed(LANDSCAPE_SEED)
    )

    def snapshot(event: Snapshot, trajectory: list, path: list[Params]):
        curves = finetune_curves(run.model, event.params, xs, ys, config.alpha, max(PROBE_STEPS), x)
        yield (
            "snapshot",
            {
                "step": event.step,
                "predictions": {str(k): rounded(curves.predictions[k]) for k in PROBE_STEPS},
                "trajectory": trajectory,
            },
        )
        if len(path) % LANDSCAPE_EVERY == 1 or event.step == config.steps:
            yield "landscape", landscape_event(run, path, tasks, event.step)

    loss = yield from run_events(
        run, should_stop, EVALUATIONS, EVAL_TASKS, lambda e: {"mse": e["mse"]}, snapshot
    )
    evaluation = run.evaluate(FINAL_EVAL_TASKS)
    yield "result", {"params": copied(run.theta)}
    yield (
        "done",
        {"steps": config.steps, "seconds": round(run.seconds, 3), "loss": loss, "eval": evaluation},
    )
