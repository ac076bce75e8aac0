"""A memory-augmented neural network, Santoro, Bartunov, Botvinick, Wierstra & Lillicrap,
"Meta-Learning with Memory-Augmented Neural Networks" (ICML 2016).

An LSTM controller reads the episode as a sequence. Its input at step t is the image
x_t (its raw pixels, as in the paper), the one-hot label y_{t−1} of the previous image
(labels arrive one step late, so the network must bind an image to the label that follows
it) and the previous memory reads r_{t−1}. From the controller state h_t each of R heads
emits a read key k_t = tanh(W_k h_t + b_k), a gate
α_t, and a vector a_t = tanh(W_a h_t + b_a) to write. Least-recently-used access
(section 3.2):

    w^u_t  = γ w^u_{t−1} + w^r_t + w^w_t                            usage, decaying by γ
    w^lu_t = one-hot of argmin w^u_t                                least-used slot
    w^w_t  = σ(α_t) w^r_{t−1} + (1 − σ(α_t)) w^lu_{t−1}             write weights (eq. 8)
    M_t    = M_{t−1} ⊙ (1 − w^lu_{t−1}) + Σ_heads w^w_t a_tᵀ          (least-used slot cleared)
    w^r_t  = softmax_i β_t cos(k_t, M_t(i)),   r_t = Σ_i w^r_t(i) M_t(i)  read (eq. 2–4)

and the class scores are W_o [h_t, r_t] + b_o. For N-way K-shot episodes the support images
are fed in order with their labels one step late; each query then takes one step from the
state after the support (with the last support label as its previous label), independently
of the other queries, and the loss is the queries' cross-entropy. Sizes as in the paper:
200 LSTM units, 128 slots of width 40, 4 read heads, γ = 0.95. One addition: the key
strength β_t = softplus(W_β h_t + b_β) of the Neural Turing Machine's content addressing
(Graves, Wayne & Danihelka 2014, eq. 5), started near 10; without it the reads are spread
over 128 mostly empty slots and training stayed at chance for our short budgets.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F

from app.meta.algorithms.base import Hyper, MetaStep, gradient_step
from app.meta.algorithms.episode import query_cross_entropy
from app.meta.nets import Model, uniform_init
from app.meta.params import Params
from app.meta.tasks.base import TaskBatch
from app.meta.tasks.omniglot import IMAGE_SIZE

HIDDEN, SLOTS, WIDTH, READS, GAMMA = 200, 128, 40, 4, 0.95
STRENGTH = 10.0  # initial key strength β


def pixels(params: Params, x: torch.Tensor) -> torch.Tensor:
    """The controller's view of an image: its 28 × 28 pixels as one vector."""
    return x.flatten(-3)


def network(ways: int, channels: int = 64) -> Model:
    """The LSTM controller (gates i, f, g, o), the heads' key, write vector, gate and
    strength, the output layer; ``channels`` is unused (no convolutions)."""

    def init(generator: torch.Generator, dtype=torch.float32) -> Params:
        params: Params = {}
        inputs = IMAGE_SIZE**2 + ways + READS * WIDTH + HIDDEN
        shapes = {
            "lstm": (4 * HIDDEN, inputs),
            "key": (READS * WIDTH, HIDDEN),
            "add": (READS * WIDTH, HIDDEN),
            "gate": (READS, HIDDEN),
            "strength": (READS, HIDDEN),
            "out": (ways, HIDDEN + READS * WIDTH),
        }
        for name, (rows, cols) in shapes.items():
            params[f"{name}_w"] = uniform_init((rows, cols), cols, generator, dtype)
            params[f"{name}_b"] = torch.zeros(rows, dtype=dtype)
        params["lstm_b"][HIDDEN : 2 * HIDDEN] = 1.0  # forget gates open (Gers et al. 2000)
        params["strength_b"][:] = STRENGTH
        return params

    return Model(name=f"mann-lstm{HIDDEN}-{ways}way", init=init, forward=pixels)


class State(NamedTuple):
    h: torch.Tensor  # (…, HIDDEN) controller output
    c: torch.Tensor  # (…, HIDDEN) LSTM cell
    memory: torch.Tensor  # (…, SLOTS, WIDTH)
    usage: torch.Tensor  # (…, SLOTS) w^u
    weights: torch.Tensor  # (…, READS, SLOTS) w^r of the last step
    read: torch.Tensor  # (…, READS * WIDTH) r of the last step


def initial_state(batch: int, like: torch.Tensor) -> State:
    """Empty controller and memory (an empty slot has cosine 0 with every key)."""
    zeros = like.new_zeros
    return State(
        zeros(batch, HIDDEN),
        zeros(batch, HIDDEN),
        zeros(batch, SLOTS, WIDTH),
        zeros(batch, SLOTS),
        zeros(batch, READS, SLOTS),
        zeros(batch, READS * WIDTH),
    )


def step(
    theta: Params, state: State, z: torch.Tensor, previous: torch.Tensor
) -> tuple[State, torch.Tensor]:
    """One time step (the module docstring's equations); returns the new state and logits."""
    inputs = torch.cat([z, previous, state.read, state.h], dim=-1)
    i, f, g, o = F.linear(inputs, theta["lstm_w"], theta["lstm_b"]).chunk(4, dim=-1)
    c = torch.sigmoid(f) * state.c + torch.sigmoid(i) * torch.tanh(g)
    h = torch.sigmoid(o) * torch.tanh(c)
    keys = torch.tanh(F.linear(h, theta["key_w"], theta["key_b"])).unflatten(-1, (READS, WIDTH))
    adds = torch.tanh(F.linear(h, theta["add_w"], theta["add_b"])).unflatten(-1, (READS, WIDTH))
    alpha = torch.sigmoid(F.linear(h, theta["gate_w"], theta["gate_b"]))[..., None]
    least = F.one_hot(state.usage.argmin(-1), SLOTS).to(h.dtype)
    write = alpha * state.weights + (1 - alpha) * least[..., None, :]
    memory = state.memory * (1 - least[..., None]) + write.transpose(-1, -2) @ adds
    cosine = F.normalize(keys, dim=-1) @ F.normalize(memory, dim=-1).transpose(-1, -2)
    strength = F.softplus(F.linear(h, theta["strength_w"], theta["strength_b"]))[..., None]
    weights = (strength * cosine).softmax(dim=-1)
    read = (weights @ memory).flatten(-2)
    usage = GAMMA * state.usage + weights.sum(-2) + write.sum(-2)
    logits = F.linear(torch.cat([h, read], dim=-1), theta["out_w"], theta["out_b"])
    return State(h, c, memory, usage, weights, read), logits


def episode_logits(
    theta: Params, zs: torch.Tensor, ys: torch.Tensor, zq: torch.Tensor
) -> torch.Tensor:
    """Feed the support sequence, then one independent step per query: (T, N*Q, N)."""
    tasks, shots = ys.shape
    labels = F.one_hot(ys, theta["out_w"].shape[0]).to(zs.dtype)
    previous = torch.cat([labels.new_zeros(tasks, 1, labels.shape[-1]), labels[:, :-1]], dim=1)
    state = initial_state(tasks, zs)
    for t in range(shots):
        state, _ = step(theta, state, zs[:, t], previous[:, t])
    queries = zq.shape[1]
    state = State(*(s[:, None].expand(tasks, queries, *s.shape[1:]) for s in state))
    last = labels[:, -1:].expand(tasks, queries, labels.shape[-1])
    return step(theta, state, zq, last)[1]


def predict(model: Model, theta: Params, batch: TaskBatch, hp: Hyper, batched: bool = False):
    """The tasks run as one batch of sequences either way: nothing here needs ``vmap``."""
    return episode_logits(theta, pixels(theta, batch.xs), batch.ys, pixels(theta, batch.xq))


def meta_gradient(
    model: Model, theta: Params, batch: TaskBatch, hp: Hyper, batched: bool = True
) -> MetaStep:
    loss = query_cross_entropy(predict(model, theta, batch, hp, batched), batch.yq)
    return gradient_step(loss, theta)
