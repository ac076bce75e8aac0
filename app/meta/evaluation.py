"""Few-shot evaluation: regression (sinusoids) and N-way K-shot classification (Omniglot).

Regression, the protocol of Finn et al. (2017), section 5.1: for each of T test
tasks, take K support points, run plain gradient descent with step size α from
the learned θ, and measure the mean-squared error on the task's query points
after each step. Reported per step count as the mean over tasks with a 95% interval
(1.96 standard errors).

Classification: E episodes from held-out alphabets (characters drawn uniformly from
the split, as Vinyals et al. 2016 and Finn et al. 2017 do), each scored by the
fraction of its N·Q queries classified correctly; reported as the mean over
episodes with the same 95% interval, 1.96 · s/√E.
"""

from __future__ import annotations

import math

import torch

from app.meta.algorithms.base import Algorithm, Hyper
from app.meta.inner import sgd_adapt, task_losses
from app.meta.nets import Model
from app.meta.params import Params, detached, stack
from app.meta.tasks.base import TaskBatch
from app.meta.tasks.omniglot_episodes import OmniglotTasks
from app.meta.tasks.sinusoid import SinusoidTasks

EVAL_SEED = 2017
QUERY_POINTS = 100
REPORTED_STEPS = (0, 1, 10)


def finetune_losses(
    model: Model, theta: Params, tasks: TaskBatch, alpha: float, steps: int
) -> torch.Tensor:
    """Query MSE of every task after 0 … ``steps`` inner steps, shape (steps + 1, tasks)."""
    losses = task_losses(model)
    iterates = sgd_adapt(
        losses, stack(detached(theta), len(tasks)), tasks.xs, tasks.ys, alpha, steps
    )
    with torch.no_grad():
        return torch.stack([losses(phi, tasks.xq, tasks.yq) for phi in iterates])


def mean_and_interval(values: torch.Tensor) -> tuple[float | None, float | None]:
    """Mean and 95% half-width; ``None`` for both when any value is not finite (diverged)."""
    if not values.isfinite().all():
        return None, None
    n = values.numel()
    std = values.std().item() if n > 1 else 0.0
    return values.mean().item(), 1.96 * std / math.sqrt(n)


def evaluate_regression(
    model: Model,
    theta: Params,
    *,
    shots: int = 10,
    tasks: int = 1000,
    alpha: float = 0.01,
    seed: int = EVAL_SEED,
    steps: tuple[int, ...] = REPORTED_STEPS,
) -> dict:
    """The ``eval`` block of a model card: MSE and its 95% interval after each step count.

    Fine-tuning can diverge on a few tasks; ``diverged`` counts them per step count,
    and the mean over all tasks is then ``None`` rather than a misleading number.
    """
    dtype = next(iter(theta.values())).dtype
    generator = torch.Generator().manual_seed(seed)
    batch = SinusoidTasks(dtype).sample(tasks, shots, QUERY_POINTS, generator)
    curve = finetune_losses(model, theta, batch, alpha, max(steps))
    stats = {str(s): mean_and_interval(curve[s]) for s in steps}
    return {
        "tasks": tasks,
        "shots": shots,
        "alpha": alpha,
        "seed": seed,
        "query_points": QUERY_POINTS,
        "mse": {s: m for s, (m, _) in stats.items()},
        "ci95": {s: c for s, (_, c) in stats.items()},
        "diverged": {str(s): int((~curve[s].isfinite()).sum()) for s in steps},
    }


def episode_accuracies(
    algorithm: Algorithm,
    model: Model,
    theta: Params,
    hp: Hyper,
    batch: TaskBatch,
    batched: bool = False,
) -> torch.Tensor:
    """Fraction of each episode's queries classified correctly, shape (tasks,)."""
    batch = batch.like(next(iter(theta.values())))
    with torch.no_grad():
        scores = algorithm.predict(model, detached(theta), batch, hp, batched)
    return (scores.argmax(-1) == batch.yq).to(torch.float64).mean(1)


def evaluate_classification(
    algorithm: Algorithm,
    model: Model,
    theta: Params,
    hp: Hyper,
    tasks: OmniglotTasks,
    *,
    shots: int = 1,
    queries: int = 15,
    episodes: int = 1000,
    seed: int = EVAL_SEED,
    chunk: int = 50,
    batched: bool = False,
) -> dict:
    """The ``eval`` block of an Omniglot model card: accuracy and its 95% interval
    (``batched``: each chunk's episodes at once, as training on a GPU runs them)."""
    generator = torch.Generator().manual_seed(seed)
    accuracies = torch.cat(
        [
            episode_accuracies(
                algorithm,
                model,
                theta,
                hp,
                tasks.sample(min(chunk, episodes - start), shots, queries, generator),
                batched,
            )
            for start in range(0, episodes, chunk)
        ]
    )
    accuracy, interval = mean_and_interval(accuracies)
    return {
        "split": tasks.split,
        "alphabets": [
            tasks.data.alphabets[a] for a in tasks.data.split_alphabets(tasks.split).tolist()
        ],
        "episodes": episodes,
        "ways": tasks.n_way,
        "shots": shots,
        "queries": queries,
        "seed": seed,
        "inner_steps": hp.inner_steps,
        "alpha": hp.alpha if hp.inner_steps else None,
        "accuracy": accuracy,
        "ci95": interval,
    }
