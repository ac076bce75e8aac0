"""2-D navigation, the reinforcement-learning task family of Finn et al. (2017), section 5.3.

A point agent starts at the origin; a task is a goal g drawn uniformly from the square
[−0.5, 0.5]². The observation is the position x_t ∈ R², the action a velocity, clipped to
[−0.1, 0.1]² before it moves the agent:

    x_{t+1} = x_t + clip(a_t, −0.1, 0.1),      r_t = −‖x_{t+1} − g‖²

for at most H = 100 steps; an episode ends early once ‖x_{t+1} − g‖ < 0.01.

Everything is vectorised: a :class:`NavigationEnv` steps every task (leading dimension T)
and every trajectory of it (N) at once, so one call of the policy serves T·N agents.
A :class:`RLBatch` carries the goals and all the Gaussian noise its rollouts will use, so a
meta-step is a deterministic function of the batch, and a slice of it (one task) draws the
same actions as the whole: the batched code and a per-task loop see identical trajectories.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import torch

GOAL_BOX = (-0.5, 0.5)  # goals are uniform on this square
MAX_SPEED = 0.1  # each action coordinate is clipped to [−0.1, 0.1]
HORIZON = 100  # H: steps per episode
DONE_RADIUS = 0.01  # an episode ends within this distance of the goal
PROBE_GOAL = (0.35, -0.3)  # a fixed goal for watching a policy train


class Environment(Protocol):
    """A batch of episodic environments: T tasks (one goal each) × N trajectories."""

    obs_dim: int
    act_dim: int

    def start(self, goals: torch.Tensor, n: int) -> torch.Tensor:
        """Initial observations, shape (T, N, obs_dim)."""

    def step(
        self, obs: torch.Tensor, action: torch.Tensor, goals: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(next observations, rewards (T, N), whether each episode ended (T, N))."""


@dataclass(frozen=True)
class NavigationEnv:
    """The point agent of Finn et al. (2017), section 5.3, on every task and trajectory."""

    obs_dim: int = 2
    act_dim: int = 2

    def start(self, goals: torch.Tensor, n: int) -> torch.Tensor:
        return goals.new_zeros(goals.shape[0], n, 2)

    def step(
        self, obs: torch.Tensor, action: torch.Tensor, goals: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        position = obs + action.clamp(-MAX_SPEED, MAX_SPEED)
        offset = position - goals[:, None, :]
        squared = (offset**2).sum(-1)  # ‖x_{t+1} − g‖²
        return position, -squared, squared < DONE_RADIUS**2


def sample_goals(n: int, generator: torch.Generator, dtype=torch.float32) -> torch.Tensor:
    """n goals uniform on [−0.5, 0.5]², shape (n, 2)."""
    low, high = GOAL_BOX
    return torch.rand(n, 2, generator=generator, dtype=dtype) * (high - low) + low


@dataclass(frozen=True)
class RLBatch:
    """T tasks and the standard-normal noise of every rollout a meta-step makes on them.

    ``noise`` has shape (T, R, N, H, act_dim): R rollout rounds (one per policy iterate
    φ_0 … φ_k, so R = k + 1), N trajectories each, H steps. The sampled action is
    a = μ_φ(x) + σ_φ ⊙ ε with ε taken from here.
    """

    env: Environment
    goals: torch.Tensor
    noise: torch.Tensor

    def __len__(self) -> int:
        return self.goals.shape[0]

    @property
    def trajectories(self) -> int:
        return self.noise.shape[2]

    @property
    def horizon(self) -> int:
        return self.noise.shape[3]

    def slice(self, start: int, stop: int) -> RLBatch:
        return RLBatch(self.env, self.goals[start:stop], self.noise[start:stop])


def navigation_batch(
    goals: torch.Tensor,
    rounds: int,
    trajectories: int,
    generator: torch.Generator,
    horizon: int = HORIZON,
) -> RLBatch:
    """A batch of navigation tasks for these goals with fresh noise for ``rounds`` rollouts."""
    noise = torch.randn(
        goals.shape[0], rounds, trajectories, horizon, 2, generator=generator, dtype=goals.dtype
    )
    return RLBatch(NavigationEnv(), goals, noise)
