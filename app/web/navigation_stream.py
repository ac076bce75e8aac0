"""What a 2-D navigation training job streams (Finn et al. 2017, section 5.3; :mod:`app.meta.rl`).

``start`` with the configuration and the probe (a fixed goal, :data:`PROBE_GOAL`, and the
square goals are drawn from); ``progress`` about 200 times per run with the step, the
meta-loss (minus the meta-batch's mean return after adaptation) and the seconds of training so
far, and ten times per run with the mean return over :data:`EVAL_GOALS` held-out goals before
and after the run's k policy-gradient steps, with 95% intervals; ``snapshot`` about 20 times
with :data:`SNAPSHOT_TRAJECTORIES` sampled trajectories to the probe goal before and after
each step and their returns; then ``done`` with the model cards' evaluation
(:func:`app.meta.rl_train.evaluate`: 100 new goals, 0…3 steps, the cards' seed), so a run of
the reference configuration ends with the reference card's numbers. The trained parameters
pass as a ``result`` pair, which the job keeps and never sends.

Cancellation is looked at after every meta-iteration and between the evaluations' pieces of
:data:`EVAL_PIECE` goals, so a cancelled job frees its worker after at most one of either
(:mod:`app.web.job_cost` bounds both).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import torch

from app.meta.config import NavigationConfig
from app.meta.params import Params, copied
from app.meta.rl import gaussian_mlp
from app.meta.rl_train import EVAL_SEED, Progress, adapted_returns, evaluate, train
from app.meta.tasks.navigation import GOAL_BOX, PROBE_GOAL
from app.web.job_queue import Cancelled
from app.web.payloads import trajectory_paths

PROGRESS_EVENTS = 200
PROGRESS_SECONDS = 1.0  # at most this long without a progress event while training
EVALUATIONS = 10
EVAL_GOALS = 20  # held-out goals of each evaluation during training
VALIDATION_SEED = 7  # their goals and noise: not the cards' (EVAL_SEED)
FINAL_STEPS = 3  # the cards' policy-gradient steps
FINAL_GOALS = 100  # the cards' goals
EVAL_PIECE = 10  # goals adapted between two looks at should_stop
SNAPSHOT_EVENTS = 20
SNAPSHOT_TRAJECTORIES = 5
PROBE_SEED = 0


def returns_fields(evaluation: dict) -> dict:
    """An evaluation's mean returns and intervals, rounded, keyed by steps taken."""
    return {
        "returns": {j: round(r, 4) for j, r in evaluation["return"].items()},
        "ci95": {j: round(c, 4) for j, c in evaluation["ci95"].items()},
    }


def probe_snapshot(config: NavigationConfig, theta: Params, step: int) -> dict:
    """The probe goal's sampled trajectories before and after each of the run's k steps."""
    goal = torch.tensor([PROBE_GOAL], dtype=torch.float32)
    rollouts = adapted_returns(
        gaussian_mlp(),
        theta,
        goal,
        config.alpha,
        config.inner_steps,
        SNAPSHOT_TRAJECTORIES,
        torch.Generator().manual_seed(PROBE_SEED),
    )
    return {
        "step": step,
        "returns": [round(float(r.returns.mean()), 4) for r in rollouts],
        "trajectories": [trajectory_paths(r) for r in rollouts],
    }


def navigation_events(
    config: NavigationConfig, should_stop: Callable[[], bool]
) -> Iterator[tuple[str, dict]]:
    """The event stream of one navigation run; raises :class:`Cancelled` when told to stop."""

    def between() -> None:
        if should_stop():
            raise Cancelled

    yield (
        "start",
        {
            "config": config.model_dump(),
            "steps": config.steps,
            "probe": {"goal": list(PROBE_GOAL), "box": list(GOAL_BOX)},
        },
    )
    steps = config.steps
    every = max(1, steps // PROGRESS_EVENTS)
    eval_every = max(1, steps // EVALUATIONS)
    snapshot_every = max(1, steps // SNAPSHOT_EVENTS)
    last_sent, loss, seconds = time.monotonic(), None, 0.0
    theta = None
    for item in train(config):
        between()
        if not isinstance(item, Progress):
            theta = item
            continue
        loss, seconds = item.loss, item.seconds
        due = time.monotonic() - last_sent >= PROGRESS_SECONDS
        if item.step % every == 0 or item.step == steps or due:
            last_sent = time.monotonic()
            yield (
                "progress",
                {"step": item.step, "steps": steps, "loss": round(loss, 5), "seconds": seconds},
            )
        if item.step % eval_every == 0 or item.step == steps:
            held_out = evaluate(
                item.theta,
                config.alpha,
                EVAL_GOALS,
                config.inner_steps,
                config.trajectories,
                VALIDATION_SEED,
                piece=EVAL_PIECE,
                between=between,
            )
            yield "progress", {"step": item.step, "steps": steps} | returns_fields(held_out)
        if item.step % snapshot_every == 0 or item.step == steps:
            yield "snapshot", probe_snapshot(config, item.theta, item.step)
    final = evaluate(
        theta,
        config.alpha,
        FINAL_GOALS,
        FINAL_STEPS,
        seed=EVAL_SEED,
        piece=EVAL_PIECE,
        between=between,
    )
    yield "result", {"params": copied(theta)}
    yield (
        "done",
        {
            "steps": steps,
            "seconds": round(seconds, 3),
            "loss": loss,
            "eval": {
                "goals": FINAL_GOALS,
                "trajectories": final["trajectories"],
                "alpha": config.alpha,
                "seed": EVAL_SEED,
            }
            | returns_fields(final),
        },
    )
