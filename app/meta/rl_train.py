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
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from app.meta.algorithms.base import Hyper
from app.meta.params import Params, copied, leaves, stack
from app.meta.rl import META_GRADIENTS, GaussianPolicy, adapt, gaussian_mlp
from app.meta.tasks.navigation import navigation_batch, sample_goals

EVAL_SEED = 2017


@dataclass(frozen=True)
class RLConfig:
    """A navigation run, named as Finn et al. (2017) name its parts."""

    algo: str = "maml"  # maml, fomaml or pretrained
    steps: int = 500  # meta-iterations
    seed: int = 0
    meta_batch: int = 20  # T: goals per meta-iteration
    trajectories: int = 20  # N: trajectories per policy-gradient step
    inner_steps: int = 1  # k
    alpha: float = 0.1  # α: inner step size
    meta_lr: float = 1e-3  # Adam's step size

    def __post_init__(self) -> None:
        if self.algo not in META_GRADIENTS:
            raise ValueError(f"algo: one of {', '.join(META_GRADIENTS)}")

    @property
    def hyper(self) -> Hyper:
        return Hyper(inner_steps=self.inner_steps, alpha=self.alpha)


@dataclass(frozen=True)
class Progress:
    step: int
    loss: float  # −(mean return after adaptation) on this meta-batch
    seconds: float


def train(
    config: RLConfig, policy: GaussianPolicy | None = None, every: int = 1
) -> Iterator[Progress | Params]:
    """Yield a :class:`Progress` every ``every`` iterations, then the trained parameters."""
    policy = policy or gaussian_mlp()
    generator = torch.Generator().manual_seed(config.seed)
    theta = leaves(policy.init(generator, torch.float32))
    optimiser = torch.optim.Adam(theta.values(), lr=config.meta_lr)
    meta_gradient = META_GRADIENTS[config.algo]
    rounds = 1 if config.algo == "pretrained" else config.inner_steps + 1
    start = time.perf_counter()
    for step in range(1, config.steps + 1):
        goals = sample_goals(config.meta_batch, generator)
        batch = navigation_batch(goals, rounds, config.trajectories, generator)
        meta = meta_gradient(policy, theta, batch, config.hyper, True)
        optimiser.zero_grad(set_to_none=True)
        for k, v in theta.items():
            v.grad = meta.direction[k]
        optimiser.step()
        if step % every == 0 or step == config.steps:
            yield Progress(step, float(meta.loss), time.perf_counter() - start)
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
    trajectories: int = 20,
    seed: int = EVAL_SEED,
    policy: GaussianPolicy | None = None,
) -> torch.Tensor:
    """Each new goal's mean return after 0…``steps`` steps, shape (steps + 1, goals); the goals
    and the noise come from ``seed``, so two policies evaluated alike face the same goals."""
    policy = policy or gaussian_mlp()
    generator = torch.Generator().manual_seed(seed)
    targets = sample_goals(goals, generator)
    rollouts = adapted_returns(policy, theta, targets, alpha, steps, trajectories, generator)
    return torch.stack([sampled.returns.mean(1) for sampled in rollouts])


def evaluate(
    theta: Params,
    alpha: float,
    goals: int = 100,
    steps: int = 3,
    trajectories: int = 20,
    seed: int = EVAL_SEED,
    policy: GaussianPolicy | None = None,
) -> dict:
    """Mean return over ``goals`` new goals after 0…``steps`` steps, each with a 95% interval."""
    per_goal = goal_returns(theta, alpha, goals, steps, trajectories, seed, policy)
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


def save_checkpoint(path: Path, config: RLConfig, theta: Params, extra: dict) -> None:
    torch.save({"config": asdict(config), "params": theta, **extra}, path)


def load_checkpoint(path: Path) -> tuple[RLConfig, Params]:
    data = torch.load(path, map_location="cpu", weights_only=True)
    return RLConfig(**data["config"]), data["params"]


def run(config: RLConfig, report: Callable[[Progress], None], every: int = 50) -> Params:
    """Train to the end, reporting progress; the final parameters."""
    for item in train(config, every=every):
        if isinstance(item, Progress):
            report(item)
        else:
            return item
    raise RuntimeError("training ended without parameters")
