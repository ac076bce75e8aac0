"""Time the landscape engine: one batched call per grid against a plain Python loop.

The loop evaluates the same values one grid point (and one task, one inner step)
at a time; it runs on an evenly strided subset of the grid, is checked against
the batched values there, and its time is extrapolated to the full grid.
Settings of the issue: 101×101 grid, accumulated meta-loss for m = 0…20, float32;
the update directions of MAML, FOMAML, Reptile and iMAML at one θ. Each timing is
repeated (another process may be using the CPU): the median and the best are shown.

    python bench/landscape.py [--repeats 20] [--threads 1 2] [--loop-points 300]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from app.meta import landscape, landscape_views, planes, toy
from app.meta.algorithms import ALGORITHMS, Hyper
from app.meta.nets import regression_mlp
from app.meta.params import flatten, leaves, unflatten
from app.meta.tasks.sinusoid import SinusoidTasks


def timings_ms(fn, repeats: int) -> tuple[float, float]:
    """(median, best) wall-clock milliseconds of ``fn()`` after two warm-up calls."""
    for _ in range(2):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), min(times)


def subset(total: int, count: int) -> list[int]:
    return list(range(0, total, max(1, total // count)))


def loop_meta_losses(model, w, batch, alpha, max_steps) -> torch.Tensor:
    """Σ_i L_τi(U^(m)(w)), m = 0…max_steps, for one point: plain autograd, task by task."""
    totals = torch.zeros(max_steps + 1)
    for i in range(len(batch)):
        phi = w.clone()
        for m in range(max_steps + 1):
            leaf = phi.detach().requires_grad_(True)
            loss = model.loss({"w": leaf}, batch.xq[i], batch.yq[i])
            totals[m] += loss.detach()
            if m < max_steps:
                grad = torch.autograd.grad(model.loss({"w": leaf}, batch.xs[i], batch.ys[i]), leaf)
                phi = (leaf - alpha * grad[0]).detach()
    return totals


def report(name: str, batched: tuple[float, float], loop_ms: float, error: float) -> None:
    median, best = batched
    print(
        f"  {name:<34} batched {median:8.1f} ms (best {best:7.1f})   "
        f"loop ≈ {loop_ms:9.0f} ms   ratio {loop_ms / median:7.0f}x   max |Δ| {error:.1e}"
    )


def bench_toy(n: int, max_steps: int, repeats: int, loop_points: int) -> None:
    model, batch = toy.neuron(), toy.two_tasks()
    grid = landscape.toy_landscape(model, batch, n=n, max_steps=max_steps)
    batched = timings_ms(
        lambda: landscape.toy_landscape(model, batch, n=n, max_steps=max_steps), repeats
    )
    points = landscape.grid_points(grid.xs, grid.ys)
    chosen = subset(len(points), loop_points)
    values = grid.meta_losses.flatten(1)
    start, error = time.perf_counter(), 0.0
    for g in chosen:
        expected = loop_meta_losses(model, points[g], batch, toy.ALPHA, max_steps)
        error = max(error, (values[:, g] - expected).abs().max().item())
    loop_ms = (time.perf_counter() - start) * 1000 * len(points) / len(chosen)
    report(f"toy {n}×{n}, m = 0…{max_steps}", batched, loop_ms, error)


def bench_quadratic(n: int, repeats: int, loop_points: int) -> None:
    a, b, c, alpha = 1.0, 0.5, 2.0, toy.QUADRATIC_ALPHA
    gap = landscape_views.quadratic_gap(a, b, c, alpha=alpha, n=n)
    batched = timings_ms(lambda: landscape_views.quadratic_gap(a, b, c, alpha=alpha, n=n), repeats)
    model, task = toy.quadratic(), toy.quadratic_task(a, b, c)
    points = landscape.grid_points(gap.xs, gap.ys)
    exact, first = gap.maml.reshape(-1, 2), gap.fomaml.reshape(-1, 2)
    hp = Hyper(inner_steps=1, alpha=alpha)
    chosen = subset(len(points), loop_points)
    start, error = time.perf_counter(), 0.0
    for g in chosen:
        theta = leaves({"w": points[g]})
        for name, grid in (("maml", exact), ("fomaml", first)):
            step = ALGORITHMS[name].meta_gradient(model, theta, task, hp, True)
            error = max(error, (flatten(step.direction) - grid[g]).abs().max().item())
    loop_ms = (time.perf_counter() - start) * 1000 * len(points) / len(chosen)
    report(f"quadratic MAML vs FOMAML {n}×{n}", batched, loop_ms, error)


def bench_plane(n: int, repeats: int, loop_points: int) -> None:
    generator = torch.Generator().manual_seed(0)
    model = regression_mlp()
    theta = model.init(generator, torch.float32)
    batch = SinusoidTasks().sample(25, 10, 10, generator)
    plane = planes.random_plane(theta, seed=0)
    xs = ys = torch.linspace(-1, 1, n)
    grid = planes.plane_losses(model, plane, batch, xs, ys).flatten()
    batched = timings_ms(lambda: planes.plane_losses(model, plane, batch, xs, ys), repeats)
    coords = landscape.grid_points(xs, ys)
    chosen = subset(len(coords), loop_points)
    start, error = time.perf_counter(), 0.0
    with torch.no_grad():
        for g in chosen:
            params = unflatten(plane.origin + coords[g] @ plane.directions, theta)
            losses = [model.loss(params, batch.xq[i], batch.yq[i]) for i in range(len(batch))]
            error = max(error, abs(sum(losses).item() / len(batch) - grid[g].item()))
    loop_ms = (time.perf_counter() - start) * 1000 * len(coords) / len(chosen)
    report(f"MLP 1-40-40-1 plane {n}×{n}, 25 tasks", batched, loop_ms, error)


def bench_directions(repeats: int) -> None:
    theta = toy.theta(*toy.START)
    for k in (1, 5, 10):
        hp = Hyper(inner_steps=k, alpha=toy.ALPHA, lam=1.0, cg_steps=5)
        median, best = timings_ms(lambda hp=hp: landscape.update_directions(theta, hp), repeats)
        print(f"  update directions (4 algorithms), k = {k:<2}  {median:6.1f} ms (best {best:.1f})")
    hp = Hyper(inner_steps=10, alpha=toy.ALPHA, lam=1.0, cg_steps=5)
    for name, fn in (
        ("inner paths (Reptile), k = 10", lambda: landscape.inner_paths(theta, hp)),
        ("iMAML view, k = 10, 5 CG steps", lambda: landscape.implicit_view(theta, hp)),
    ):
        median, best = timings_ms(fn, repeats)
        print(f"  {name:<40} {median:6.1f} ms (best {best:.1f})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--loop-points", type=int, default=300)
    parser.add_argument("--n", type=int, default=101)
    args = parser.parse_args()
    for threads in args.threads:
        torch.set_num_threads(threads)
        print(f"threads = {threads}")
        bench_toy(args.n, 20, args.repeats, args.loop_points)
        bench_toy(args.n, 0, args.repeats, args.loop_points)
        bench_quadratic(args.n, args.repeats, args.loop_points)
        bench_plane(25, max(3, args.repeats // 4), args.loop_points)
        bench_directions(args.repeats)


if __name__ == "__main__":
    main()
