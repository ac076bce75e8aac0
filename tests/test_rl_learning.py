"""A small-budget learning test: after one policy-gradient step on held-out goals, a MAML
initialisation earns more return than a policy pretrained on all goals (Finn et al. 2017, §5.3)."""

import math

import pytest
import torch

from app.meta.config import NavigationConfig
from app.meta.rl_train import goal_returns, run

pytestmark = pytest.mark.slow

BUDGET = {"steps": 120, "seed": 0, "meta_batch": 10, "trajectories": 10}


def trained(algo: str):
    return run(NavigationConfig(algo=algo, **BUDGET), lambda progress: None)


def test_maml_after_one_step_beats_the_pretrained_policy_after_one_step():
    """Both are adapted to the same 40 held-out goals with the same noise; the per-goal
    difference of their returns after one step must be positive by two standard errors."""
    torch.set_num_threads(1)
    maml = goal_returns(trained("maml"), 0.1, goals=40, steps=1, seed=99)[1]
    pretrained = goal_returns(trained("pretrained"), 0.1, goals=40, steps=1, seed=99)[1]
    gap = maml - pretrained
    error = float(gap.std()) / math.sqrt(gap.numel())
    assert float(gap.mean()) > 2 * error, (maml.mean(), pretrained.mean(), error)


def test_training_is_deterministic_under_a_seed():
    config = NavigationConfig(algo="maml", steps=3, seed=4, meta_batch=3, trajectories=4)
    first, second = run(config, lambda p: None), run(config, lambda p: None)
    assert all(torch.equal(first[k], second[k]) for k in first)
