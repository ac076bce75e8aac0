"""Time the landscape figures' routes over HTTP against plain Python loops run in the same process.

Starts the real app (``uvicorn --factory app.web.main:create_app``) on a free loopback port, then:

- **drag routes** (/api/updates, /api/landscape/two-tasks, /reptile, /imaml, /imaml-cg):
  the HTTP round trip of a fresh θ each time (never a cache hit), as a reader's drag
  sends them; median and 90th percentile, against the target of 150 ms from request to
  redrawn arrows (the redraw itself, and how the figures follow a drag in Chromium, is
  ``bench/drag_browser.py``);
- **grid routes** (/api/landscape/toy with m = 0…20 and m = 0, /quadratic, /imaml's
  61×61 surface): the round trip with a fresh α or θ (computed, not cached), and the
  cached answer;
- **baselines**: the same numbers computed by a plain Python loop, one grid point and one
  task at a time with plain autograd (timed on an evenly strided subset of the grid, checked
  against the app's values there, and extrapolated to the whole grid), in this process,
  in this run. Each route is reported with the ratio loop time / route time, so the
  figures do not depend on the machine; drag routes are compared with the loop over the
  same computation for one θ (each algorithm one task at a time: ``per_task_loop``).

The toy grid itself (101×101, m = 0…20) is also timed in-process (target ≤ 100 ms).

    python bench/drag.py [--repeats 15] [--loop-points 200]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import httpx
import torch
from serving import serving

from app.meta import landscape, landscape_views, toy
from app.meta.algorithms import ALGORITHMS, Hyper, per_task_loop
from app.meta.params import flatten, leaves

TARGET_DRAG_MS = 150
TARGET_GRID_MS = 100


def median_ms(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def subset(total: int, count: int) -> list[int]:
    return list(range(0, total, max(1, total // count)))


# ------------------------------------------------------------------ plain loops


def loop_meta_losses(w: torch.Tensor, max_steps: int) -> torch.Tensor:
    """Σ_i L_τi(U^(m)(w)) for m = 0…max_steps at one point: autograd, task by task, step by step."""
    model, batch = toy.neuron(), toy.two_tasks()
    totals = torch.zeros(max_steps + 1)
    for i in range(len(batch)):
        phi = w.clone()
        for m in range(max_steps + 1):
            leaf = phi.detach().requires_grad_(True)
            loss = model.loss({"w": leaf}, batch.xs[i], batch.ys[i])
            totals[m] += loss.detach()
            if m < max_steps:
                (grad,) = torch.autograd.grad(loss, leaf)
                phi = (leaf - toy.ALPHA * grad).detach()
    return totals


def loop_toy_ms(n: int, max_steps: int, count: int) -> float:
    """The toy grid, point by point; checked against the batched engine on the subset."""
    grid = landscape.toy_landscape(n=n, max_steps=max_steps)
    points = landscape.grid_points(grid.xs, grid.ys)
    chosen = subset(len(points), count)
    values = grid.meta_losses.flatten(1)
    start = time.perf_counter()
    for g in chosen:
        expected = loop_meta_losses(points[g], max_steps)
        assert torch.allclose(values[:, g], expected, atol=1e-5), g
    return (time.perf_counter() - start) * 1000 * len(points) / len(chosen)


def loop_quadratic_ms(n: int, heat_n: int, count: int) -> float:
    """MAML and FOMAML meta-gradients of the quadratic, one grid point at a time (both grids)."""
    model, task = toy.quadratic(), toy.quadratic_task(1.0, 0.5, 2.0)
    hp = Hyper(inner_steps=1, alpha=toy.QUADRATIC_ALPHA)
    gap = landscape_views.quadratic_gap(1.0, 0.5, 2.0, n=heat_n)
    points = landscape.grid_points(gap.xs, gap.ys)
    chosen = subset(len(points), count)
    start = time.perf_counter()
    for g in chosen:
        theta = leaves({"w": points[g]})
        for name, field in (("maml", gap.maml), ("fomaml", gap.fomaml)):
            step = ALGORITHMS[name].meta_gradient(model, theta, task, hp, False)
            assert torch.allclose(flatten(step.direction), field.reshape(-1, 2)[g], atol=1e-5)
    per_point = (time.perf_counter() - start) * 1000 / len(chosen)
    return per_point * (n * n + heat_n * heat_n)


def loop_proximal_ms(n: int, count: int) -> float:
    """L_τi(φ) + λ/2‖φ − θ‖² for both tasks, one grid point and one task at a time."""
    model, batch = toy.neuron(), toy.two_tasks()
    theta = toy.theta(-1.0, 2.0)
    surface = landscape_views.proximal_landscape(theta, 1.0, n=n)
    points = landscape.grid_points(surface.xs, surface.ys)
    chosen = subset(len(points), count)
    start = time.perf_counter()
    with torch.no_grad():
        for g in chosen:
            for i in range(len(batch)):
                value = model.loss({"w": points[g]}, batch.xs[i], batch.ys[i])
                value = value + 0.5 * (points[g] - theta["w"]).pow(2).sum()
                iy, ix = divmod(g, n)
                assert torch.allclose(value, surface.regularised[i, iy, ix], atol=1e-5)
    return (time.perf_counter() - start) * 1000 * len(points) / len(chosen)


def loop_directions_ms(theta: tuple[float, float], repeats: int) -> float:
    """The four update directions at one θ, each algorithm one task at a time (per_task_loop),
    with the comparison figure's defaults (k = 1, α = 0.1, λ = 10)."""
    model, batch = toy.neuron(), toy.two_tasks()
    hp = Hyper(inner_steps=1, alpha=toy.ALPHA)
    overrides = {"imaml": landscape_views.proximal_hyper(10.0)}

    def run() -> None:
        for name in landscape.DIRECTIONS:
            per_task_loop(
                ALGORITHMS[name].meta_gradient,
                model,
                leaves(toy.theta(*theta)),
                batch,
                overrides.get(name, hp),
            )

    run()
    return median_ms(run, repeats)


# ------------------------------------------------------------------ HTTP


def round_trips(client: httpx.Client, url: str, bodies: list[dict]) -> list[float]:
    times = []
    for body in bodies:
        start = time.perf_counter()
        response = client.post(url, json=body)
        response.raise_for_status()
        times.append((time.perf_counter() - start) * 1000)
    return times


def drag_bodies(extra: dict, count: int, start: int = 0) -> list[dict]:
    """θ along a drag path, never repeated, rounded as the figures round it."""
    return [
        dict(
            extra, theta=[round(-2.0 + 0.013 * (start + i), 3), round(1.5 - 0.007 * (start + i), 3)]
        )
        for i in range(count)
    ]


def report(name: str, times: list[float], loop_ms: float | None, target: float | None) -> None:
    median = statistics.median(times)
    p90 = sorted(times)[int(0.9 * (len(times) - 1))]
    ratio = f"{loop_ms / median:8.1f}x" if loop_ms else " " * 9
    loop = f"{loop_ms:9.1f} ms" if loop_ms else " " * 12
    verdict = "" if target is None else ("  ok" if p90 <= target else f"  over {target:.0f} ms")
    print(f"  {name:<44} {median:7.1f} ms  p90 {p90:7.1f} ms   loop {loop}  {ratio}{verdict}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--loop-points", type=int, default=200)
    args = parser.parse_args()
    torch.set_num_threads(1)

    print("in process (1 thread)")
    landscape.toy_landscape(n=101, max_steps=20)
    grid_ms = median_ms(lambda: landscape.toy_landscape(n=101, max_steps=20), args.repeats)
    grid0_ms = median_ms(lambda: landscape.toy_landscape(n=101, max_steps=0), args.repeats)
    print(
        f"  toy grid 101×101, m = 0…20: {grid_ms:.1f} ms; m = 0: {grid0_ms:.1f} ms "
        f"(target ≤ {TARGET_GRID_MS} ms)"
    )

    print("  the drag computations, uncached, in process (median ms):")
    from app.web.api import landscape as api
    from app.web.api import updates as updates_api

    drag_calls = {
        "updates (k = 1, λ = 10)": lambda i: updates_api.updates_json.__wrapped__(
            updates_api.UpdatesRequest(theta=(-1.0 + 0.01 * i, 1.5), lam=10.0)
        ),
        "updates (k = 1, λ = 1)": lambda i: updates_api.updates_json.__wrapped__(
            updates_api.UpdatesRequest(theta=(-1.0 + 0.01 * i, 1.5), lam=1.0)
        ),
        "two-tasks": lambda i: api.two_tasks_json.__wrapped__(
            api.TwoTasksRequest(theta=(0.5 + 0.01 * i, -0.5))
        ),
        "reptile (k = 10)": lambda i: api.reptile_json.__wrapped__(
            api.ReptileRequest(theta=(0.5 + 0.01 * i, -0.5), inner_steps=10)
        ),
        "imaml (61², λ = 1)": lambda i: api.imaml_json.__wrapped__(
            api.ImamlRequest(theta=(-1.0 + 0.01 * i, 2.0))
        ),
    }
    for name, call in drag_calls.items():
        call(0)
        counter = iter(range(1, 10_000))
        print(
            f"    {name:<28} {median_ms(lambda c=call, k=counter: c(next(k)), args.repeats):7.1f}"
        )

    print(f"plain Python loops (extrapolated from {args.loop_points} grid points, checked)")
    loops = {
        "toy20": loop_toy_ms(101, 20, args.loop_points),
        "toy0": loop_toy_ms(101, 0, args.loop_points),
        "quadratic": loop_quadratic_ms(15, 61, args.loop_points),
        "proximal": loop_proximal_ms(61, args.loop_points),
        "directions": loop_directions_ms((-1.0, 1.5), args.repeats),
    }
    for name, ms in loops.items():
        print(f"  {name:<12} {ms:10.1f} ms")

    with serving() as base, httpx.Client(base_url=base, timeout=60) as client:
        n = args.repeats
        # the first calls pay one-time costs (torch.func, autograd): the app's warm-up
        for url, body in (
            ("/api/updates", {"theta": [0, 0]}),
            ("/api/landscape/imaml", {"theta": [0, 0]}),
            ("/api/landscape/imaml-cg", {"theta": [0, 0]}),
            ("/api/landscape/reptile", {"theta": [0, 0]}),
            ("/api/landscape/toy", {"n": 11}),
        ):
            client.post(url, json=body).raise_for_status()

        print(
            f"HTTP drag routes, fresh θ each time (median of {n}; target ≤ "
            f"{TARGET_DRAG_MS} ms incl. redraw)"
        )
        for label, extra, start in (
            ("figure's defaults: k = 1, λ = 10", {"lam": 10.0}, 0),
            ("λ = 1", {"lam": 1.0}, 50),
            ("k = 10, λ = 10", {"inner_steps": 10, "lam": 10.0}, 100),
        ):
            report(
                f"POST /api/updates ({label})",
                round_trips(client, "/api/updates", drag_bodies(extra, n, start)),
                loops["directions"] if start == 0 else None,
                TARGET_DRAG_MS,
            )
        report(
            "POST /api/landscape/two-tasks",
            round_trips(client, "/api/landscape/two-tasks", drag_bodies({}, n)),
            None,
            TARGET_DRAG_MS,
        )
        report(
            "POST /api/landscape/reptile (k = 10)",
            round_trips(client, "/api/landscape/reptile", drag_bodies({"inner_steps": 10}, n)),
            None,
            TARGET_DRAG_MS,
        )
        for lam in (1.0, 0.1):
            report(
                f"POST /api/landscape/imaml (61², λ = {lam})",
                round_trips(client, "/api/landscape/imaml", drag_bodies({"lam": lam}, n)),
                loops["proximal"],
                TARGET_DRAG_MS,
            )
        report(
            "POST /api/landscape/imaml-cg (λ = 1)",
            round_trips(client, "/api/landscape/imaml-cg", drag_bodies({}, n)),
            None,
            TARGET_DRAG_MS,
        )

        print("HTTP grid routes, computed (fresh α or C) and cached")
        fresh = [{"n": 101, "max_steps": 20, "alpha": round(0.1 + 0.001 * i, 3)}
                 for i in range(1, 6)]  # fmt: skip
        report(
            "POST /api/landscape/toy 101², m = 0…20",
            round_trips(client, "/api/landscape/toy", fresh),
            loops["toy20"],
            None,
        )
        report(
            "  … cached",
            round_trips(client, "/api/landscape/toy", [fresh[0]] * n),
            loops["toy20"],
            None,
        )
        fresh0 = [dict(b, max_steps=0) for b in fresh]
        report(
            "POST /api/landscape/toy 101², m = 0",
            round_trips(client, "/api/landscape/toy", fresh0),
            loops["toy0"],
            None,
        )
        quads = [{"a": round(1 + 0.05 * i, 2), "b": 0.5, "c": 2.0} for i in range(1, n + 1)]
        report(
            "POST /api/landscape/quadratic 15² + 61²",
            round_trips(client, "/api/landscape/quadratic", quads),
            loops["quadratic"],
            TARGET_DRAG_MS,
        )


if __name__ == "__main__":
    main()
