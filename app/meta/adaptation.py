"""A trained Omniglot classifier adapting to one episode, step by step (the MAML page's figure).

MAML learns an initialisation θ, and at test time fine-tunes it on the episode's N·K
labelled support images with the inner update of Finn, Abbeel & Levine (2017), eq. (1):

    φ_0 = θ,   φ_{j+1} = φ_j − α ∇_φ L^S(φ_j),   L^S(φ) = −(1/NK) Σ_i log softmax(f_φ(x_i))[y_i]

and classifies a query x_q by softmax(f_{φ_j}(x_q)). :func:`episode_curves` returns the
queries' class probabilities and L^S after every step j = 0 … k, not only the last.

Batch norm uses the statistics of the episode's images, never running averages: the support
set's for the steps and for L^S, exactly as in training (``app.meta.algorithms.maml``), and
the support set's together with the queries' for the prediction. Training normalises a batch
of N·Q queries, N classes mixed; one query on its own would be normalised by the statistics
of a single drawing, which its features were never trained for. With the support set beside
it, the statistics are again those of a mixture of the N classes.
"""

from __future__ import annotations

import torch

from app.meta.finetune import Curves, adaptation_curves
from app.meta.nets import Model
from app.meta.params import Params


def episode_curves(
    model: Model,
    theta: Params,
    xs: torch.Tensor,
    ys: torch.Tensor,
    xq: torch.Tensor,
    alpha: float,
    steps: int,
) -> Curves:
    """Query probabilities (steps + 1, Q, N) and support losses (steps + 1,) of φ_0 … φ_steps.

    ``xs`` (N·K, 1, 28, 28) with labels ``ys`` (N·K,) in 0 … N−1, ``xq`` (Q, 1, 28, 28); one
    episode, run without ``vmap`` (Conv4 is faster that way on a CPU, ``bench/omniglot_step.py``).
    """
    dtype = next(iter(theta.values())).dtype
    xs, xq = xs.to(dtype), xq.to(dtype)
    episode = torch.cat([xs, xq])

    def query_probabilities(phi: Params) -> torch.Tensor:
        return model.forward(phi, episode)[len(xs) :].softmax(-1)

    return adaptation_curves(model, theta, xs, ys, alpha, steps, query_probabilities, batched=False)
