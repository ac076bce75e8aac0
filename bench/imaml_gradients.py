"""iMAML's implicit gradient with θ's own head, against MAML's meta-gradient, from the
pre-trained body (docs/omniglot-models.md, "iMAML with θ's own head").

For a few 5-way 1-shot training episodes, with the body of ``models/bodies/`` and a zero
head (where meta-training starts), it prints the cosine of the first-order (FOMAML) and
implicit (iMAML, 5 and 50 CG steps) directions with MAML's second-order meta-gradient, their
length relative to it, and the largest eigenvalue of the support loss's Hessian at the inner
solution φ (power iteration on Hessian-vector products). iMAML's gradient (Rajeswaran et al.
2019, eq. 6) is exact only where φ minimises L^support(φ) + λ/2‖φ − θ‖².

    .venv/bin/python bench/imaml_gradients.py [--episodes 3]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.cli.omniglot import omniglot_data  # noqa: E402
from app.meta.algorithms import Hyper, fomaml, imaml, maml  # noqa: E402
from app.meta.config import OmniglotConfig  # noqa: E402
from app.meta.inner import gradients, task_losses  # noqa: E402
from app.meta.params import Params, detached, flatten, stack  # noqa: E402
from app.meta.training import build_model, episodes  # noqa: E402

BODY = "models/bodies/conv4-64-seed0-12000steps-turns-batch128-adam0.001-float32-cpu.pt"
WAYS = 5
SETTINGS = [(1, 0.4, 1.0), (1, 0.4, 10.0), (5, 0.1, 1.0), (5, 0.1, 10.0)]  # (k, α, λ)


def cosine(a: Params, b: Params) -> float:
    a, b = flatten(a), flatten(b)
    return (a @ b / (a.norm() * b.norm())).item()


def ratio(a: Params, b: Params) -> float:
    return (flatten(a).norm() / flatten(b).norm()).item()


def largest_eigenvalue(model, batch, phi: Params, generator, iterations: int = 30) -> float:
    """The top eigenvalue of ∇²L^support(φ), by power iteration on Hessian-vector products."""
    phi = {k: v.detach().requires_grad_(True) for k, v in phi.items()}
    with torch.enable_grad():
        g = gradients(task_losses(model, True), phi, batch.xs, batch.ys, create_graph=True)
    u = {k: torch.randn(v.shape, generator=generator) for k, v in phi.items()}
    value = 0.0
    for _ in range(iterations):
        norm = flatten(u).norm()
        u = {k: v / norm for k, v in u.items()}
        hu = torch.autograd.grad(
            list(g.values()), list(phi.values()), list(u.values()), retain_graph=True
        )
        hu = dict(zip(phi, hu, strict=True))
        value = (flatten(hu) @ flatten(u)).item()
        u = hu
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--episodes", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    saved = torch.load(BODY, weights_only=True)
    config = OmniglotConfig(algo="maml", ways=WAYS)
    model = build_model(config)
    start = {**saved["body"], "head_w": torch.zeros(WAYS, 64), "head_b": torch.zeros(WAYS)}
    theta = {k: v.clone().requires_grad_(True) for k, v in start.items()}
    tasks = episodes(config, "train", omniglot_data())
    generator = torch.Generator().manual_seed(0)
    print(
        "episode  k  α    λ   top eig H(φ)  cos(FO,MAML)  cos(iMAML,MAML) cg5/cg50  "
        "cos(iMAML,FO)  |iMAML|/|MAML|"
    )
    for episode in range(args.episodes):
        batch = tasks.sample(1, 1, 5, generator)
        for k, alpha, lam in SETTINGS:
            hp = Hyper(inner_steps=k, alpha=alpha, lam=lam, cg_steps=5, head="learned")
            exact = maml.meta_gradient(model, theta, batch, hp).direction
            first = fomaml.meta_gradient(model, theta, batch, hp).direction
            implicit = imaml.meta_gradient(model, theta, batch, hp).direction
            longer = imaml.meta_gradient(model, theta, batch, replace(hp, cg_steps=50)).direction
            losses = task_losses(model, True)
            phi = imaml.inner_solution(losses, stack(detached(theta), 1), batch, hp)
            top = largest_eigenvalue(model, batch, phi, generator)
            print(
                f"{episode:7d} {k:2d} {alpha:4.1f} {lam:4.0f} {top:13.2f} "
                f"{cosine(first, exact):13.3f} {cosine(implicit, exact):9.3f}/"
                f"{cosine(longer, exact):.3f} {cosine(implicit, first):14.3f} "
                f"{ratio(implicit, exact):15.3f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
