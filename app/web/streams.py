"""What a training job streams: engine events turned into JSON-ready ``(name, data)`` pairs.

``start`` with the configuration, the probe task and what the job measured before its first
step (a fingerprint of its first meta-batch, and the memory autograd holds for one
meta-gradient), ``progress`` about 200 times per run (step, meta-loss, seconds of training so
far, and the evaluation MSE every tenth of the run), ``snapshot`` about 50 times (the probe
task's prediction before and after fine-tuning, the parameter trajectory so far projected to
2-D, and θ's place on the plane of the reference models when the server has them),
``landscape`` about 6 times (the meta-loss around the current parameters on two planes, with
the path), then ``done`` with a summary. The trained parameters are passed on as a ``result``
pair, which the job keeps and never sends.

A slow run also sends ``progress`` whenever a second has passed since the last one, and
every long computation between two meta-iterations (a landscape, the final evaluation) is
done in pieces with ``should_stop`` asked between them, so a cancelled job frees its worker
after at most one piece: one meta-iteration, one row of a landscape grid or one slice of the
final evaluation's tasks (:mod:`app.web.job_cost` bounds what each may cost).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from functools import partial

import torch

from app.meta.adaptation_curves import finetune_curves
from app.meta.config import AnyConfig, TrainConfig
from app.meta.cost import MB, Problem, peak_saved_bytes
from app.meta.evaluation import (
    EVAL_SEED,
    QUERY_POINTS,
    REPORTED_STEPS,
    episode_accuracies,
    finetune_losses,
    mean_and_interval,
)
from app.meta.landscape import grid_axes
from app.meta.params import Params, copied
from app.meta.planes import (
    Plane,
    landmark_plane,
    pca_plane,
    plane_box,
    plane_losses,
    project,
    random_plane,
    trajectory_matrix,
)
from app.meta.tasks.base import TaskBatch
from app.meta.tasks.omniglot import Omniglot
from app.meta.tasks.sinusoid import PROBE, SinusoidTasks, grid, probe_task, sinusoid
from app.meta.training import Progress, Snapshot, Training, episodes
from app.settings import Settings
from app.web.job_queue import Cancelled
from app.web.navigation_stream import navigation_events
from app.web.payloads import grid as rounded
from app.web.race import reference_landmarks

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
LANDSCAPE_POINTS = 15  # the grid is LANDSCAPE_POINTS × LANDSCAPE_POINTS, computed row by row
PROGRESS_SECONDS = 1.0  # at most this long without a progress event while training
EVAL_SLICE = 100  # tasks of the final evaluation between two looks at should_stop

# The reference MAML and baseline θ for a run's configuration, or None (app.web.race)
Landmarks = Callable[[TrainConfig], tuple[Params, Params] | None]


def stopping(should_stop: Callable[[], bool]) -> None:
    if should_stop():
        raise Cancelled


def landscape_event(
    run: Training, path: list[Params], tasks, step: int, should_stop: Callable[[], bool]
) -> dict:
    """The meta-loss around θ on two planes (random directions and the path's PCA), as
    :func:`app.meta.live.live_landscape` computes it, one grid row at a time."""
    event = {"step": step, "inner_steps": run.hyper.inner_steps}
    for kind in ("random", "pca"):
        plane = pca_plane(path) if kind == "pca" else random_plane(path[-1], run.config.seed)
        coords = project(trajectory_matrix(path), plane)
        if kind == "random":
            coords = coords - coords[-1]
        box = plane_box(coords) if kind == "pca" else (-1.0, 1.0, -1.0, 1.0)
        xs, ys = grid_axes(box, LANDSCAPE_POINTS, plane.origin.dtype)
        rows = []
        for i in range(len(ys)):
            stopping(should_stop)
            rows.append(
                plane_losses(
                    run.model,
                    plane,
                    tasks,
                    xs,
                    ys[i : i + 1],
                    run.config.alpha,
                    run.hyper.inner_steps,
                )[0]
            )
        event[kind] = {
            "x": rounded(xs),
            "y": rounded(ys),
            "z": [rounded(row) for row in rows],
            "path": [rounded(p) for p in coords],
        }
    return event


def final_evaluation(run: Training, should_stop: Callable[[], bool]) -> dict:
    """:func:`app.meta.evaluation.evaluate_regression` on ``FINAL_EVAL_TASKS`` tasks, the same
    tasks and numbers, fine-tuned a slice of tasks at a time."""
    config, theta = run.config, run.theta
    dtype = next(iter(theta.values())).dtype
    generator = torch.Generator().manual_seed(EVAL_SEED)
    batch = SinusoidTasks(dtype).sample(FINAL_EVAL_TASKS, config.shots, QUERY_POINTS, generator)
    curves = []
    for start in range(0, FINAL_EVAL_TASKS, EVAL_SLICE):
        stopping(should_stop)
        part = batch.slice(start, min(start + EVAL_SLICE, FINAL_EVAL_TASKS))
        curves.append(finetune_losses(run.model, theta, part, config.alpha, max(REPORTED_STEPS)))
    curve = torch.cat(curves, dim=1)
    stats = {str(s): mean_and_interval(curve[s]) for s in REPORTED_STEPS}
    return {
        "tasks": FINAL_EVAL_TASKS,
        "shots": config.shots,
        "alpha": config.alpha,
        "seed": EVAL_SEED,
        "query_points": QUERY_POINTS,
        "mse": {s: m for s, (m, _) in stats.items()},
        "ci95": {s: c for s, (_, c) in stats.items()},
        "diverged": {str(s): int((~curve[s].isfinite()).sum()) for s in REPORTED_STEPS},
    }


def validation(run: Training, count: int, should_stop: Callable[[], bool]) -> dict:
    """Accuracy on ``count`` validation episodes, as :meth:`Training.evaluate` measures it
    (the evaluation's α and inner steps, the same seed), one episode at a time."""
    config = run.config
    hyper = config.hyper(evaluation=True)
    tasks = episodes(config, "val", run.data)
    generator = torch.Generator().manual_seed(EVAL_SEED)
    accuracies = []
    for _ in range(count):
        stopping(should_stop)
        batch = tasks.sample(1, config.shots, config.queries, generator)
        accuracies.append(
            episode_accuracies(run.algorithm, run.model, run.theta, hyper, batch, run.batched)
        )
    accuracy, interval = mean_and_interval(torch.cat(accuracies))
    return {
        "split": "val",
        "episodes": count,
        "ways": config.ways,
        "shots": config.shots,
        "queries": config.queries,
        "seed": EVAL_SEED,
        "inner_steps": hyper.inner_steps,
        "alpha": hyper.alpha if hyper.inner_steps else None,
        "accuracy": accuracy,
        "ci95": interval,
    }


def fingerprint(batch: TaskBatch) -> str:
    """A short SHA-256 of a meta-batch's numbers: equal for equal batches, so two jobs can
    show that they train on the same tasks."""
    digest = hashlib.sha256()
    for tensor in (batch.xs, batch.ys, batch.xq, batch.yq):
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


def first_batch(run: Training) -> dict:
    """What a run measures before its first meta-iteration, on the batch it will draw first:
    its fingerprint, and the peak memory autograd holds for one meta-gradient of the run's
    algorithm there (:func:`app.meta.cost.peak_saved_bytes`, the cost figure's measure)."""
    batch = run.peek()
    problem = Problem(run.model, run.theta, batch)
    return {
        "first_batch": fingerprint(batch),
        "memory_mb": round(peak_saved_bytes(run.config.algo, problem, run.hyper) / MB, 4),
    }


def training_events(
    config: AnyConfig,
    should_stop: Callable[[], bool],
    omniglot: Callable[[], Omniglot],
    landmarks: Landmarks = lambda config: None,
) -> Iterator[tuple[str, dict]]:
    """The stream of a sinusoid run (with θ placed on the plane of ``landmarks(config)`` when
    it gives two reference models), of an Omniglot run on ``omniglot()``'s data, or of a
    navigation run (:mod:`app.web.navigation_stream`)."""
    if config.task == "navigation":
        yield from navigation_events(config, should_stop)
    elif config.task == "omniglot":
        yield from omniglot_events(config, should_stop, omniglot())
    else:
        yield from sinusoid_events(config, should_stop, landmarks(config))


def run_events(
    run: Training,
    should_stop: Callable[[], bool],
    evaluations: int,
    evaluate: Callable[[], dict],
    evaluation_fields: Callable[[dict], dict],
    snapshot_events: Callable[[Snapshot, list, list[Params]], Iterator[tuple[str, dict]]],
) -> Iterator[tuple[str, dict]]:
    """The events every run shares; returns the last meta-loss. ``evaluate`` is run
    ``evaluations`` times (and at the end), right after that step's progress event;
    ``evaluation_fields`` turns its result into ``progress`` fields; ``snapshot_events``
    gives the events of a snapshot, with the trajectory so far projected on its PCA plane."""
    steps = run.config.steps
    every = max(1, steps // PROGRESS_EVENTS)
    eval_every = max(1, steps // evaluations)
    path: list[Params] = []
    loss = None
    last_sent = time.monotonic()
    events = run.run(snapshot_every=max(1, steps // SNAPSHOT_EVENTS))
    for event in events:
        if should_stop():
            raise Cancelled
        if isinstance(event, Progress):
            loss = event.loss
            due = time.monotonic() - last_sent >= PROGRESS_SECONDS
            if event.step % every == 0 or event.step == steps or due:
                last_sent = time.monotonic()
                yield (
                    "progress",
                    {
                        "step": event.step,
                        "steps": steps,
                        "loss": round(loss, 5),
                        "step_ms": round(event.step_ms, 3),
                        "seconds": round(event.seconds, 4),
                    },
                )
            if event.step % eval_every == 0 or event.step == steps:
                yield (
                    "progress",
                    {
                        "step": event.step,
                        "steps": steps,
                        "loss": round(loss, 5),
                        **evaluation_fields(evaluate()),
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
        lambda: validation(run, OMNIGLOT_EVAL_EPISODES, should_stop),
        lambda e: {"accuracy": e["accuracy"], "ci95": e["ci95"]},
        snapshot,
    )
    yield (
        "done",
        {
            "steps": config.steps,
            "seconds": round(run.seconds, 3),
            "loss": loss,
            "eval": validation(run, OMNIGLOT_FINAL_EPISODES, should_stop),
        },
    )


def sinusoid_events(
    config: TrainConfig,
    should_stop: Callable[[], bool],
    landmarks: tuple[Params, Params] | None = None,
) -> Iterator[tuple[str, dict]]:
    """``snapshot`` adds the probe task's predictions and, given the reference models'
    parameters, θ's coordinates on :func:`app.meta.planes.landmark_plane` through the run's
    start and those two (``plane``); ``landscape`` events follow."""
    xs, ys = probe_task(config.shots)
    x = grid(GRID_POINTS)
    probe = {
        "x": rounded(x[:, 0]),
        "target": rounded(sinusoid(x[:, 0], *PROBE)),
        "support": {"x": rounded(xs[:, 0]), "y": rounded(ys[:, 0])},
    }
    run = Training(config)
    plane: Plane | None = landmark_plane(run.theta, *landmarks) if landmarks else None
    yield (
        "start",
        {"config": config.model_dump(), "steps": config.steps, "probe": probe} | first_batch(run),
    )
    tasks = run.sampler.sample(
        LANDSCAPE_TASKS, config.shots, config.shots, torch.Generator().manual_seed(LANDSCAPE_SEED)
    )

    def snapshot(event: Snapshot, trajectory: list, path: list[Params]):
        curves = finetune_curves(run.model, event.params, xs, ys, config.alpha, max(PROBE_STEPS), x)
        data = {
            "step": event.step,
            "predictions": {str(k): rounded(curves.predictions[k]) for k in PROBE_STEPS},
            "trajectory": trajectory,
        }
        if plane:
            data["plane"] = rounded(project(trajectory_matrix([event.params]), plane)[0], 6)
        yield "snapshot", data
        if len(path) % LANDSCAPE_EVERY == 1 or event.step == config.steps:
            yield "landscape", landscape_event(run, path, tasks, event.step, should_stop)

    loss = yield from run_events(
        run,
        should_stop,
        EVALUATIONS,
        lambda: run.evaluate(EVAL_TASKS),
        lambda e: {"mse": e["mse"]},
        snapshot,
    )
    evaluation = final_evaluation(run, should_stop)
    yield "result", {"params": copied(run.theta)}
    yield (
        "done",
        {"steps": config.steps, "seconds": round(run.seconds, 3), "loss": loss, "eval": evaluation},
    )


def job_runner(settings: Settings, omniglot: Callable[[], Omniglot]) -> Callable:
    """:func:`training_events` as the job queue (or a worker) runs it: Omniglot data from
    ``omniglot``, the race's shared plane from the reference models in ``settings.models_dir``."""
    return partial(
        training_events,
        omniglot=omniglot,
        landmarks=partial(reference_landmarks, settings.models_dir),
    )
