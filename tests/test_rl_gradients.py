"""Policy gradients and their meta-gradient against a problem with a closed-form return.

A 1-D linear-Gaussian system: x_0 = 0, a_t ∼ N(m + k x_t, σ²), x_{t+1} = x_t + a_t and
r_t = −(x_{t+1} − g)². Each x_t is Gaussian with mean μ_t and variance v_t,

    μ_{t+1} = (1 + k) μ_t + m,   v_{t+1} = (1 + k)² v_t + σ²,   E r_t = −((μ_{t+1} − g)² + v_{t+1}),

so J(θ) = Σ_t E r_t is exact, and so are ∇J (autograd of that formula) and the post-update
return J(θ + α∇J(θ)). Many independent replicates run as the "tasks" of one batch, so the
estimators' means come with standard errors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from app.meta import rl
from app.meta.tasks.navigation import RLBatch

HORIZON = 3
GOAL = 1.0
THETA = {"m": 0.3, "k": -0.2, "log_std": math.log(0.5)}
ALPHA = 0.05


@dataclass(frozen=True)
class LinearGaussian:
    obs_dim: int = 1
    act_dim: int = 1

    def start(self, goals, n):
        return goals.new_zeros(goals.shape[0], n, 1)

    def step(self, obs, action, goals):
        x = obs + action
        return x, -((x - goals[:, None, :]) ** 2).sum(-1), torch.zeros(x.shape[:2], dtype=bool)


def linear_mean(params, obs):
    return params["m"][:, None, :] + params["k"][:, None, :] * obs


POLICY = rl.GaussianPolicy("linear", lambda g, d: {}, linear_mean)


def exact_return(theta: dict) -> torch.Tensor:
    m, k, var = theta["m"], theta["k"], torch.exp(2 * theta["log_std"])
    mu, v, total = torch.zeros(()), torch.zeros(()), torch.zeros(())
    for _ in range(HORIZON):
        mu, v = (1 + k) * mu + m, (1 + k) ** 2 * v + var
        total = total - ((mu - GOAL) ** 2 + v)
    return total


def exact_theta(requires_grad=False) -> dict:
    return {
        k: torch.tensor(v, dtype=torch.float64, requires_grad=requires_grad)
        for k, v in THETA.items()
    }


def exact_gradient(theta: dict) -> dict:
    grads = torch.autograd.grad(exact_return(theta), list(theta.values()), create_graph=True)
    return dict(zip(theta, grads, strict=True))


def post_update_return(theta: dict) -> torch.Tensor:
    """J(θ + α∇J(θ)), the exact objective MAML's meta-gradient estimates."""
    with torch.enable_grad():
        leaf = {k: v.detach().requires_grad_(True) for k, v in theta.items()}
        grads = exact_gradient(leaf)
        return exact_return({k: leaf[k] + ALPHA * grads[k] for k in leaf}).detach()


def finite_difference(eps=1e-5) -> dict:
    theta = exact_theta()
    out = {}
    for key in theta:
        up = {k: v + (eps if k == key else 0) for k, v in theta.items()}
        down = {k: v - (eps if k == key else 0) for k, v in theta.items()}
        out[key] = float((post_update_return(up) - post_update_return(down)) / (2 * eps))
    return out


def replicates(n_rep: int, trajectories: int, rounds: int, seed: int):
    generator = torch.Generator().manual_seed(seed)
    goals = torch.full((n_rep, 1), GOAL, dtype=torch.float64)
    noise = torch.randn(
        n_rep, rounds, trajectories, HORIZON, 1, generator=generator, dtype=torch.float64
    )
    theta = {
        k: torch.full((n_rep, 1), v, dtype=torch.float64, requires_grad=True)
        for k, v in THETA.items()
    }
    return RLBatch(LinearGaussian(), goals, noise), theta


def mean_and_error(per_replicate: dict) -> dict:
    return {
        k: (float(v.mean()), float(v.std()) / math.sqrt(v.numel()))
        for k, v in per_replicate.items()
    }


def test_the_closed_form_matches_a_monte_carlo_return():
    batch, theta = replicates(50, 200, 1, seed=1)
    returns = rl.rollout(POLICY, theta, batch, batch.noise[:, 0]).returns
    exact = float(exact_return(exact_theta()))
    assert abs(float(returns.mean()) - exact) < 4 * float(returns.std()) / math.sqrt(
        returns.numel()
    )


def test_policy_gradient_agrees_with_the_exact_gradient():
    batch, theta = replicates(400, 50, 1, seed=2)
    sampled = rl.rollout(POLICY, theta, batch, batch.noise[:, 0])
    gain = rl.objective(POLICY, theta, batch, sampled, normalise=False).sum()
    grads = torch.autograd.grad(gain, list(theta.values()))
    estimate = mean_and_error({k: g[:, 0] for k, g in zip(theta, grads, strict=True)})
    exact = {k: float(v.detach()) for k, v in exact_gradient(exact_theta(True)).items()}
    for key, (mean, error) in estimate.items():
        assert error < 0.05 * abs(exact[key]) + 1e-3, key  # a precise enough test to mean something
        assert abs(mean - exact[key]) < 4 * error, (key, mean, exact[key], error)


def meta_gradients(surrogate_hessian: bool, seed: int):
    """Per-replicate meta-gradients ∇_θ Ĵ(φ), φ = θ + α∇Ĵ_inner(θ), each on its own samples.

    φ is itself random and shares its samples with the Hessian estimate, which biases a
    replicate by O(1/N); with N = 8,000 trajectories that is well inside the standard error."""
    batch, theta = replicates(50, 8000, 2, seed=seed)
    inner = rl.rollout(POLICY, theta, batch, batch.noise[:, 0])
    if surrogate_hessian:
        gain = rl.objective(POLICY, theta, batch, inner, normalise=False).sum()
    else:  # the plain surrogate Σ log π (G − b): right gradient, Hessian without ∇log π ∇log πᵀ
        baseline = rl.linear_baseline(inner, rl.returns_to_go(inner.rewards))
        advantages = rl.returns_to_go(inner.rewards) - baseline
        logp = rl.log_prob(POLICY, theta, inner)
        gain = (logp * advantages).sum((1, 2)).sum() / inner.rewards.shape[1]
    grads = torch.autograd.grad(gain, list(theta.values()), create_graph=True)
    phi = {k: theta[k] + ALPHA * g for k, g in zip(theta, grads, strict=True)}
    post = rl.rollout(POLICY, phi, batch, batch.noise[:, 1])
    outer = rl.objective(POLICY, phi, batch, post, normalise=False).sum()
    meta = torch.autograd.grad(outer, list(theta.values()))
    return mean_and_error({k: g[:, 0] for k, g in zip(theta, meta, strict=True)})


def test_dice_meta_gradient_agrees_with_a_finite_difference_of_the_post_update_return():
    exact = finite_difference()
    estimate = meta_gradients(surrogate_hessian=True, seed=3)
    for key, (mean, error) in estimate.items():
        assert abs(mean - exact[key]) < 4 * error, (key, mean, exact[key], error)


def test_the_plain_surrogate_gets_the_second_order_term_wrong():
    """Differentiating Σ log π · Â twice drops E[∇log π ∇log πᵀ r]: the same check fails."""
    exact = finite_difference()
    estimate = meta_gradients(surrogate_hessian=False, seed=3)
    assert any(abs(mean - exact[key]) > 6 * error for key, (mean, error) in estimate.items())
