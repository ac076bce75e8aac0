"""MAML for reinforcement learning: a Gaussian policy, policy gradients, and their meta-gradient.

**Policy** (Finn et al. 2017, section 5.3). π_θ(a | x) = N(μ_θ(x), diag σ_θ²): an MLP with two
hidden layers of 100 ReLU units gives the mean, and log σ is a learned vector. Parameters are
a dict of tensors stacked along a leading task dimension, so every task's policy (its own
adapted φ_i) runs in one batched matrix product.

**Inner loss: the policy gradient** (Williams 1992). The expected return of a task,
J(θ) = E_{τ∼π_θ}[Σ_t r_t], has the gradient

    ∇J(θ) = E[ Σ_t ∇log π_θ(a_t | x_t) (G_t − b(x_t, t)) ],   G_t = Σ_{t'≥t} r_{t'}

(REINFORCE with reward-to-go). Any b that does not depend on the action leaves it unbiased;
we fit the linear feature baseline of Duan et al. (2016) to each task's trajectories,
b(x, t) = wᵀ[x, x², t/100, (t/100)², (t/100)³, 1], by ridge regression on G_t (leaving out
the trajectory it is used on, which keeps the estimate unbiased). The inner step
is gradient *ascent* on the return, φ = θ + α ∇Ĵ(θ), i.e. descent on the loss L = −Ĵ.
For training (``normalise=True``) the advantages are centred over the task's time steps and
divided by s + s₀, s their standard deviation and s₀ = :data:`ADVANTAGE_FLOOR`, and the
gradient is averaged over the steps (the divisor is a constant, part of the step size). rllab,
whose code Finn et al. used, divides by s alone. Then a step has the same length however
close the policy already is to its goal, and a policy that one step brought near the goal is
pushed past it by the next: on 100 held-out goals the pretrained policy's mean return went
from −4.9 after one step to −60 after two, a MAML policy's from −4.0 to −46. The floor keeps
rllab's step where the advantages vary by more than s₀ (early in training, when returns run
to the thousands, a plain centred gradient throws the policy off the map) and shrinks the step
as the policy closes in: with it the same two policies improve at each of three steps
(−17.7, −11.5, −5.8, −1.6 and −19.6, −8.0, −2.5, −1.1). With ``normalise=False``, Ĵ is an
unbiased estimate of J itself (the tests check this).

**Why the meta-gradient needs care.** MAML's objective is the post-update return
J(U(θ)), U(θ) = θ + α ∇J(θ), whose gradient is (I + α ∇²J(θ)) ∇J(φ). The Hessian of an
expectation over trajectories whose *distribution* depends on θ is

    ∇²J = E[ Σ_t r_t (∇²W_t + ∇W_t ∇W_tᵀ) ],   W_t = Σ_{t'≤t} log π_θ(a_{t'} | x_{t'})

and the second (score-times-score) term is lost if one simply differentiates the usual
surrogate Σ log π · Â twice, as the surrogate's value carries no trace of where the samples
came from (Foerster et al. 2018, section 4; Rothfuss et al. 2019). We use DiCE (Foerster et
al. 2018): with the "magic box" ⊡(w) = exp(w − ⊥(w)), whose value is 1 and whose derivative is
⊡(w)∇w, and W_t = Σ_{t'≤t} log π(a_{t'}|x_{t'}),

    Ĵ = (1/N) Σ_trajectories [ Σ_t ⊡(W_t) r_t + Σ_t ⊡(W_{t−1}) (1 − ⊡(log π_t)) b_t ]

The first sum's derivatives of every order are unbiased estimates of those of J; the second is
the baseline term of Mao et al. (2019): zero in value and in expectation at every order, it
turns the first derivative into Σ_t ∇log π_t (G_t − b_t) above and lowers the variance of the
second. Differentiating Ĵ with ``create_graph=True`` and then the post-update surrogate through
φ gives the correct second-order meta-gradient; FOMAML drops it by treating ∇Ĵ as a constant.
The outer step is Adam instead of Finn et al.'s TRPO. The "pretrained" baseline is the same
code with no inner step: one policy trained by the policy gradient on all goals at once.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from app.meta.algorithms.base import Hyper, MetaStep
from app.meta.nets import mlp_init
from app.meta.params import Params, stack
from app.meta.tasks.navigation import RLBatch

HIDDEN = (100, 100)
LOG_STD_INIT = math.log(0.1)  # σ = 0.1 at the start: a step's worth of exploration
OUTPUT_INIT_SCALE = 0.01  # the mean's last layer starts this much smaller (see gaussian_mlp)
RIDGE = 1e-5  # the baseline's ridge coefficient, as in rllab's LinearFeatureBaseline
LOG_2PI = math.log(2 * math.pi)
ADVANTAGE_FLOOR = 0.3  # s₀: a floor under the advantages' scale, in units of return


@dataclass(frozen=True)
class GaussianPolicy:
    """π(a | x) = N(mean(θ, x), diag exp(2 θ["log_std"])) for stacked parameters."""

    name: str
    init: Callable[[torch.Generator, torch.dtype], Params]
    mean: Callable[[Params, torch.Tensor], torch.Tensor]  # (T, …) params, (T, B, D) → (T, B, A)


def mlp_mean(params: Params, obs: torch.Tensor) -> torch.Tensor:
    """The MLP of stacked parameters: layer i is h ← h W_iᵀ + b_i, ReLU between layers."""
    layers = sum(1 for k in params if k.startswith("w"))
    h = obs
    for i in range(layers):
        h = torch.baddbmm(params[f"b{i}"].unsqueeze(1), h, params[f"w{i}"].transpose(1, 2))
        if i < layers - 1:
            h = F.relu(h)
    return h


def gaussian_mlp(obs_dim: int = 2, act_dim: int = 2, hidden: tuple[int, ...] = HIDDEN):
    """The navigation policy of Finn et al. (2017): obs → 100 → 100 → mean, learned log σ.

    The output layer starts 100 times smaller than the others and with zero bias, so the first
    policy stands near the start and explores with σ in every direction (Andrychowicz et al.
    2021, "What matters in on-policy reinforcement learning?", recommend this init). With the
    usual init its mean action is O(1), clipped to 0.1: the agent walks off at full speed,
    returns run to −6,000, and early meta-training spends its first thousand iterations
    recovering (measured: MAML, 120 iterations of 10 goals, Adam 1e-3, mean return after one
    step −6,696 with the usual init, −3.4 with this one)."""

    def init(generator: torch.Generator, dtype=torch.float32) -> Params:
        params = mlp_init((obs_dim, *hidden, act_dim), generator, dtype)
        last = len(hidden)
        params[f"w{last}"] = params[f"w{last}"] * OUTPUT_INIT_SCALE
        params[f"b{last}"] = torch.zeros_like(params[f"b{last}"])
        params["log_std"] = torch.full((act_dim,), LOG_STD_INIT, dtype=dtype)
        return params

    return GaussianPolicy("gaussian-mlp-" + "-".join(map(str, hidden)), init, mlp_mean)


@dataclass(frozen=True)
class Rollouts:
    """Sampled trajectories of T tasks × N agents × H steps (all detached)."""

    path: torch.Tensor  # (T, N, H + 1, D): the states x_0 … x_H (frozen once an episode ends)
    actions: torch.Tensor  # (T, N, H, A): the sampled actions, before clipping
    rewards: torch.Tensor  # (T, N, H): r_t, zero after the episode ended
    mask: torch.Tensor  # (T, N, H): 1 where step t happened

    @property
    def obs(self) -> torch.Tensor:
        return self.path[:, :, :-1]

    @property
    def returns(self) -> torch.Tensor:
        """Each trajectory's undiscounted return Σ_t r_t, shape (T, N)."""
        return self.rewards.sum(-1)


def rollout(
    policy: GaussianPolicy, params: Params, batch: RLBatch, noise: torch.Tensor
) -> Rollouts:
    """Run every task's policy (stacked ``params``) on its goal, all agents in lockstep;
    a_t = μ(x_t) + σ ⊙ ε_t with ε = ``noise`` (T, N, H, A)."""
    env, goals = batch.env, batch.goals
    with torch.no_grad():
        params = {k: v.detach() for k, v in params.items()}
        std = params["log_std"].exp()[:, None, :]
        x = env.start(goals, noise.shape[1])
        alive = torch.ones(x.shape[:2], dtype=x.dtype)
        path, actions, rewards, masks = [x], [], [], []
        for t in range(noise.shape[2]):
            action = policy.mean(params, x) + std * noise[:, :, t]
            moved, reward, done = env.step(x, action, goals)
            x = torch.where(alive[..., None] > 0, moved, x)
            actions.append(action)
            rewards.append(reward * alive)
            masks.append(alive)
            alive = alive * (~done).to(x.dtype)
            path.append(x)
    return Rollouts(
        torch.stack(path, 2),
        torch.stack(actions, 2),
        torch.stack(rewards, 2),
        torch.stack(masks, 2),
    )


def log_prob(policy: GaussianPolicy, params: Params, rollouts: Rollouts) -> torch.Tensor:
    """log π_φ(a_t | x_t) for every step, differentiable in φ, zero where no step happened:

    log N(a; μ, σ²) = Σ_j [ −(a_j − μ_j)² / (2σ_j²) − log σ_j − ½ log 2π ]
    """
    obs, actions = rollouts.obs, rollouts.actions
    t, n, h, d = obs.shape
    mean = policy.mean(params, obs.reshape(t, n * h, d)).reshape(actions.shape)
    log_std = params["log_std"][:, None, None, :]
    z = (actions - mean) * torch.exp(-log_std)
    return (-0.5 * z**2 - log_std - 0.5 * LOG_2PI).sum(-1) * rollouts.mask


def returns_to_go(rewards: torch.Tensor) -> torch.Tensor:
    """G_t = Σ_{t'≥t} r_{t'} along the last dimension."""
    return rewards.flip(-1).cumsum(-1).flip(-1)


def linear_baseline(rollouts: Rollouts, returns: torch.Tensor, ridge: float = RIDGE):
    """Duan et al. (2016)'s linear feature baseline, b(x, t) = wᵀ f(x, t) with features
    f = [x, x², t/100, (t/100)², (t/100)³, 1], fitted by ridge regression on the returns-to-go:
    w = (Σ f fᵀ + ridge·I)⁻¹ Σ f G_t.

    Each trajectory's baseline is fitted on the task's *other* trajectories (leave one out, by
    subtracting its own terms from the sums), so b_t never depends on the action it multiplies
    and the policy gradient stays unbiased. Fitting on the same trajectories, as rllab does,
    biases it by roughly (features)/(trajectories): 20% on the tests' problem with N = 50.
    Solved in float64; returns b, shape (T, N, H).
    """
    obs, mask = rollouts.obs.clamp(-10, 10), rollouts.mask
    t, n, h, _ = obs.shape
    time = (torch.arange(h, dtype=obs.dtype) / 100).view(1, 1, h, 1).expand(t, n, h, 1)
    features = torch.cat([obs, obs**2, time, time**2, time**3, torch.ones_like(time)], -1)
    f = (features * mask[..., None]).double()  # (T, N, H, F)
    y = (returns * mask).double()[..., None]  # (T, N, H, 1)
    own_gram = f.transpose(2, 3) @ f  # (T, N, F, F): one trajectory's Σ f fᵀ
    own_rhs = f.transpose(2, 3) @ y  # (T, N, F, 1)
    eye = ridge * torch.eye(f.shape[-1], dtype=f.dtype)
    gram = own_gram.sum(1, keepdim=True) - own_gram + eye
    w = torch.linalg.solve(gram, own_rhs.sum(1, keepdim=True) - own_rhs)  # (T, N, F, 1)
    return (features.double() @ w).squeeze(-1).to(obs.dtype) * mask


def magic_box(w: torch.Tensor) -> torch.Tensor:
    """DiCE's ⊡(w) = exp(w − ⊥(w)): 1 in value, ∇⊡(w) = ⊡(w) ∇w (Foerster et al. 2018)."""
    return torch.exp(w - w.detach())


def surrogate(
    logp: torch.Tensor, rollouts: Rollouts, baseline: torch.Tensor, normalise: bool
) -> torch.Tensor:
    """The DiCE objective Ĵ of each task, shape (T,), with Mao et al.'s baseline term.

    ``normalise=False``: Ĵ = (1/N) Σ_τ [Σ_t ⊡(W_t) r_t + Σ_t ⊡(W_{t−1})(1 − ⊡(ℓ_t)) b_t],
    whose derivatives estimate those of the expected return J without bias.
    ``normalise=True``: the baseline b_t is raised by the mean advantage m and the whole divided
    by (s + s₀)·M (s the advantages' standard deviation, s₀ = :data:`ADVANTAGE_FLOOR`, M the
    number of steps), so that ∇Ĵ is the mean over steps of ∇ℓ_t (G_t − b_t − m)/(s + s₀),
    rllab's centred policy gradient with a floor under its scale.
    """
    rewards, mask = rollouts.rewards, rollouts.mask
    n = rewards.shape[1]
    cumulative = logp.cumsum(-1)  # W_t
    scale = torch.full((rewards.shape[0],), float(n), dtype=rewards.dtype)
    offset = baseline
    if normalise:
        advantages = (returns_to_go(rewards) - baseline) * mask
        steps = mask.sum((1, 2))
        mean = advantages.sum((1, 2)) / steps
        var = (((advantages - mean[:, None, None]) * mask) ** 2).sum((1, 2)) / steps
        scale = steps * (var.sqrt() + ADVANTAGE_FLOOR)
        offset = (baseline + mean[:, None, None]) * mask
    reward_term = (magic_box(cumulative) * rewards).sum((1, 2))
    baseline_term = (magic_box(cumulative - logp) * (1 - magic_box(logp)) * offset * mask).sum(
        (1, 2)
    )
    return (reward_term + baseline_term) / scale.detach()


def objective(
    policy: GaussianPolicy, params: Params, batch: RLBatch, rollouts: Rollouts, normalise
):
    """Ĵ of each task on these rollouts, differentiable in ``params`` (the baseline is not)."""
    baseline = linear_baseline(rollouts, returns_to_go(rollouts.rewards))
    return surrogate(log_prob(policy, params, rollouts), rollouts, baseline, normalise)


@dataclass(frozen=True)
class Adaptation:
    iterates: list[Params]  # φ_0 … φ_k, stacked per task
    rollouts: list[Rollouts]  # the trajectories of φ_0 … φ_k (round j of the batch's noise)


def adapt(
    policy: GaussianPolicy,
    params: Params,
    batch: RLBatch,
    alpha: float,
    steps: int,
    second_order: bool = False,
    normalise: bool = True,
    final_rollout: bool = True,
) -> Adaptation:
    """k policy-gradient steps on every task at once, φ_{j+1} = φ_j + α ∇Ĵ(φ_j), each on fresh
    trajectories of φ_j (round j of ``batch.noise``); ``params`` is a stack (T, …). With
    ``second_order`` the steps stay differentiable through DiCE (MAML); otherwise each gradient
    is a constant (FOMAML). ``final_rollout`` also samples φ_k (round k)."""
    phi = params
    iterates, rollouts = [phi], []
    with torch.enable_grad():
        for j in range(steps):
            sampled = rollout(policy, phi, batch, batch.noise[:, j])
            rollouts.append(sampled)
            if not any(v.requires_grad for v in phi.values()):
                phi = {k: v.detach().requires_grad_(True) for k, v in phi.items()}
            gain = objective(policy, phi, batch, sampled, normalise).sum()
            grads = torch.autograd.grad(gain, list(phi.values()), create_graph=second_order)
            phi = {k: phi[k] + alpha * g for k, g in zip(phi, grads, strict=True)}
            if not second_order:
                phi = {k: v.detach() if not params[k].requires_grad else v for k, v in phi.items()}
            iterates.append(phi)
    if final_rollout:
        rollouts.append(rollout(policy, phi, batch, batch.noise[:, steps]))
    return Adaptation(iterates, rollouts)


def post_update_step(
    policy: GaussianPolicy,
    theta: Params,
    batch: RLBatch,
    hp: Hyper,
    second_order: bool,
    normalise: bool = True,
) -> MetaStep:
    """The meta-loss −(mean post-update return) and the gradient of −Ĵ(φ(θ)) in θ."""
    adaptation = adapt(
        policy, stack(theta, len(batch)), batch, hp.alpha, hp.inner_steps, second_order, normalise
    )
    phi, post = adaptation.iterates[-1], adaptation.rollouts[-1]
    loss = -objective(policy, phi, batch, post, normalise).mean()
    grads = torch.autograd.grad(loss, list(theta.values()))
    return MetaStep(-post.returns.mean(), dict(zip(theta, grads, strict=True)))


def maml_meta_gradient(
    model: GaussianPolicy, theta: Params, batch: RLBatch, hp: Hyper, batched: bool = True
) -> MetaStep:
    """MAML with the second-order term estimated by DiCE (Finn et al. 2017; Foerster et al. 2018).
    ``batched`` is accepted for the common signature: a slice of one task runs the same code."""
    return post_update_step(model, theta, batch, hp, second_order=True)


def fomaml_meta_gradient(
    model: GaussianPolicy, theta: Params, batch: RLBatch, hp: Hyper, batched: bool = True
) -> MetaStep:
    """First-order MAML: the post-update policy gradient, applied to θ (Finn et al. 2017, §5.2)."""
    return post_update_step(model, theta, batch, hp, second_order=False)


def pretrained_gradient(
    model: GaussianPolicy, theta: Params, batch: RLBatch, hp: Hyper, batched: bool = True
) -> MetaStep:
    """The "pretrained" baseline: no inner step, the policy gradient of θ on all goals at once."""
    return post_update_step(model, theta, batch, Hyper(inner_steps=0, alpha=hp.alpha), False)


META_GRADIENTS = {
    "maml": maml_meta_gradient,
    "fomaml": fomaml_meta_gradient,
    "pretrained": pretrained_gradient,
}
