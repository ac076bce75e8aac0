"""Meta-training and evaluating navigation policies (Finn et al. 2017, section 5.3).

One loop serves MAML, FOMAML and the pretrained baseline (:mod:`app.meta.rl`): each iteration
draws T goals and the noise of their rollouts from one seeded generator, asks the algorithm
for its meta-step and lets Adam (Kingma & Ba 2015) take it, so a run is a deterministic
function of its configuration. :func:`evaluate` adapts a policy to new goals with k = 0…3
policy-gradient steps of size α on N trajectories each and reports the mean return over the
goals after each step with a 95% interval, mean ± 1.96·s/√n over the n goals.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import torch

from app.meta.config import NavigationConfig
from app.meta.params import Params, copied, leaves, stack
from app.meta.rl import META_GRADIENTS, GaussianPolicy, adapt, gaussian_mlp
from app.meta.tasks.navigation import navigation_batch, sample_goals

EVAL_SEED = 2017
TRAJECTORIES = 20  # per policy-gradient step when a policy is evaluated (the model cards')


@dataclass(frozen=True)
class Progress:
    step: int
    loss: float  # −(mean return after adaptation) on this meta-batch
    seconds: float
    theta: Params  # the parameters after this step (live: copy them to keep them)


def train(
    config: NavigationConfig, policy: GaussianPolicy | None = None, every: int = 1
) -> Iterator[Progress | Params]:
    """Yield a :class:`Progress` every ``every`` iterations, then the trained parameters."""
    policy = policy or gaussian_mlp()
    generator = torch.Generator().manual_seed(config.seed)
    theta = leaves(policy.init(generator, torch.float32))
    optimiser = torch.optim.Adam(theta.values(), lr=config.meta_lr)
    meta_gradient = META_GRADIENTS[config.algo]
    hyper = config.hyper()
    rounds = 1 if config.algo == "pretrained" else config.inner_steps + 1
    start = time.perf_counter()
    for step in range(1, config.steps + 1):
        goals = sample_goals(config.meta_batch, generator)
        batch = navigation_batch(goals, rounds, config.trajectories, generator)
        meta = meta_gradient(policy, theta, batch, hyper, True)
        optimiser.zero_grad(set_to_none=True)
        for k, v in theta.items():
            v.grad = meta.direction[k]
        optimiser.step()
        if step % every == 0 or step == config.steps:
            yield Progress(step, float(meta.loss), time.perf_counter() - start, theta)
    yield copied(theta)


def adapted_returns(
    policy: GaussianPolicy,
    theta: Params,
    goals: torch.Tensor,
    alpha: float,
    steps: int,
    trajectories: int,
    generator: torch.Generator,
):
    """Adapt θ to each goal with ``steps`` policy-gradient steps; the rollouts of φ_0 … φ_k.

    Each step samples N fresh trajectories of the current φ_j and ascends Ĵ; the trajectories
    of φ_j are also what its return is measured on (an unbiased estimate of J(φ_j))."""
    batch = navigation_batch(goals, steps + 1, trajectories, generator)
    return adapt(policy, stack(theta, len(goals)), batch, alpha, steps).rollouts


def goal_returns(
    theta: Params,
    alpha: float,
    goals: int = 100,
    steps: int = 3,
    trajectories: int = TRAJECTORIES,
    seed: int = EVAL_SEED,
    policy: GaussianPolicy | None = None,
    piece: int | None = None,
    between: Callable[[], None] = lambda: None,
) -> torch.Tensor:
    """Each new goal's mean return after 0…``steps`` steps, shape (steps + 1, goals); the goals
    and the noise come from ``seed``, so two policies evaluated alike face the same goals.
    ``piece`` goals are adapted at a time (all at once if None), with ``between()`` called
    before each piece; a slice of a batch draws the same actions as the whole
    (:class:`~app.meta.tasks.navigation.RLBatch`), so the answer does not depend on it."""
    policy = policy or gaussian_mlp()
    generator = torch.Generator().manual_seed(seed)
    batch = navigation_batch(sample_goals(goals, generator), steps + 1, trajectories, generator)
    piece = piece or goals
    parts = []
    for start in range(0, goals, piece):
        between()
        part = batch.slice(start, min(start + piece, goals))
        rollouts = adapt(policy, stack(theta, len(part)), part, alpha, steps).rollouts
        parts.append(torch.stack([sampled.returns.mean(1) for sampled in rollouts]))
    return torch.cat(parts, 1)


def evaluate(
    theta: Params,
    alpha: float,
    goals: int = 100,
    steps: int = 3,
    trajectories: int = TRAJECTORIES,
    seed: int = EVAL_SEED,
    policy: GaussianPolicy | None = None,
    piece: int | None = None,
    between: Callable[[], None] = lambda: None,
) -> dict:
    """Mean return over ``goals`` new goals after 0…``steps`` steps, each with a 95% interval
    (``piece`` and ``between`` as in :func:`goal_returns`)."""
    per_goal = goal_returns(theta, alpha, goals, steps, trajectories, seed, policy, piece, between)
    return {
        "goals": goals,
        "trajectories": trajectories,
        "alpha": alpha,
        "seed": seed,
        "return": {str(j): float(row.mean()) for j, row in enumerate(per_goal)},
        "ci95": {
            str(j): 1.96 * float(row.std()) / math.sqrt(goals) for j, row in enumerate(per_goal)
        },
    }


def save_checkpoint(path: Path, config: NavigationConfig, theta: Params, extra: dict) -> None:
    torch.save({"config": config.model_dump(), "params": theta, **extra}, path)


def load_checkpoint(path: Path) -> tuple[NavigationConfig, Params]:
    data = torch.load(path, map_location="cpu", weights_only=True)
    return NavigationConfig(**data["config"]), data["params"]


def run(config: NavigationConfig, report: Callable[[Progress], None], every: int = 50) -> Params:
    """Train to the end, reporting progress; the final parameters."""
    for item in train(config, every=every):
        if isinstance(item, Progress):
            report(item)
        else:
            return item
    raise RuntimeError("training ended without parameters")
