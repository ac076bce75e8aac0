"""Jobs per minute and page latency with 1 or 2 workers and 1 or 3 web replicas, on loopback.

Starts a real Redis and PostgreSQL (``tests/services.py``: Debian's ``redis-server`` and
``postgresql``), three web replicas (``maml serve``) and one worker (``maml worker``), a
second one before the layouts with two; for each layout (workers × replicas), at once:

- posts ``--jobs`` sinusoid jobs (distinct seeds; ``--steps``, ``--meta-batch``) round robin
  over the replicas and reads each stream to its end from the next replica;
- has ``--readers`` readers load pages as a browser does (``bench/load.py``'s ``visit``: the
  HTML, then every asset at once), round robin over the replicas, until the jobs are done.

A client-side round robin stands in for the load balancer. Prints per layout the finished
jobs per minute (from the first post to the last ``done``), the pages' p50 and p95 and the
errors, each against the first layout (1 worker, 1 replica) measured in the same run. On a
machine with few cores the point is the shape: jobs per minute rising with workers until
the cores run out, not the absolute numbers.

    .venv/bin/python bench/scale.py [--jobs 8] [--steps 300] [--meta-batch 10] [--readers 4]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.web.pages import PAGES  # noqa: E402
from bench.load import STREAM_TIMEOUT, Group, origin_of, percentile, timed_visit  # noqa: E402
from bench.page_visits import Kept  # noqa: E402
from tests.conftest import free_port  # noqa: E402
from tests.services import Process, postgres_server, redis_server  # noqa: E402

LAYOUTS = [(1, 1), (1, 3), (2, 1), (2, 3)]  # (workers, replicas), in order of workers


async def run_job(client: httpx.AsyncClient, post: str, read: str, config: dict) -> str:
    """The last event's name of one job posted to ``post`` and streamed from ``read``."""
    response = await client.post(post + "/api/jobs", json=config)
    response.raise_for_status()
    last = "none"
    async with client.stream("GET", read + response.json()["events"]) as stream:
        async for line in stream.aiter_lines():
            if line.startswith("event: ") and line != "event: queued":
                last = line[7:]
    return last


async def measure(bases: list[str], args, seed0: int) -> dict:
    jobs = [
        {"algo": "maml", "steps": args.steps, "meta_batch": args.meta_batch, "seed": seed0 + i}
        for i in range(args.jobs)
    ]
    pages = Group("pages")
    async with httpx.AsyncClient(timeout=STREAM_TIMEOUT) as client:
        started = time.perf_counter()
        running = asyncio.gather(
            *(
                run_job(client, bases[i % len(bases)], bases[(i + 1) % len(bases)], job)
                for i, job in enumerate(jobs)
            )
        )
        paths = itertools.cycle(page.path for page in PAGES)
        turn = itertools.count()

        async def reader() -> None:
            while not running.done():
                base = bases[next(turn) % len(bases)]
                await timed_visit(pages, origin_of(base), next(paths), Kept())

        readers = [asyncio.create_task(reader()) for _ in range(args.readers)]
        endings = await running
        minutes = (time.perf_counter() - started) / 60
        await asyncio.gather(*readers)
    return {
        "done": endings.count("done"),
        "per_minute": endings.count("done") / minutes,
        "p50": percentile(pages.ms, 50) if pages.ms else float("nan"),
        "p95": percentile(pages.ms, 95) if pages.ms else float("nan"),
        "visits": len(pages.ms),
        "errors": len(pages.errors) + sum(e != "done" for e in endings),
    }


def start(stack: ExitStack, command: str, env: dict, log: Path) -> Process:
    process = Process(command, env, log)
    stack.callback(process.stop)
    return process


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=8)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--meta-batch", type=int, default=10)
    parser.add_argument("--readers", type=int, default=4)
    args = parser.parse_args()
    print(f"{args.jobs} jobs of {args.steps} MAML steps, {args.readers} page readers")
    print(
        f"{'workers':>7} {'replicas':>8} {'jobs/min':>9} {'ratio':>6} {'p50 ms':>8} "
        f"{'p95 ms':>8} {'ratio':>6} {'visits':>6} {'errors':>6}"
    )
    base_line = None
    with ExitStack() as services, tempfile.TemporaryDirectory() as folder:
        redis = services.enter_context(redis_server())
        postgres = services.enter_context(postgres_server())
        env = {
            "MAML_REDIS_URL": redis.url,
            "MAML_DATABASE_URL": postgres.url,
            "MAML_DATA_DIR": folder,
            "MAML_JOB_QUEUE": str(args.jobs),
            "MAML_JOBS_PER_MINUTE": "100000",
            "MAML_LOG_LEVEL": "info",  # the processes say "ready" at this level
        }
        with ExitStack() as stack:
            webs, ports = [], [free_port() for _ in range(max(r for _, r in LAYOUTS))]
            for i, port in enumerate(ports):
                web_env = dict(env, MAML_PORT=str(port))
                webs.append(start(stack, "serve", web_env, Path(folder) / f"web{i}.log"))
            for web in webs:
                web.wait_for("Application startup complete")
            workers = []
            for n, (count, replicas) in enumerate(LAYOUTS):
                while len(workers) < count:  # the layouts are in order of workers
                    log = Path(folder) / f"worker{len(workers)}.log"
                    workers.append(start(stack, "worker", env, log))
                    workers[-1].wait_for(r"ready\.")
                bases = [f"http://127.0.0.1:{port}" for port in ports[:replicas]]
                result = asyncio.run(measure(bases, args, seed0=1000 * (n + 1)))
                base_line = base_line or result
                print(
                    f"{count:>7} {replicas:>8} {result['per_minute']:>9.2f} "
                    f"{result['per_minute'] / base_line['per_minute']:>6.2f} "
                    f"{result['p50']:>8.0f} {result['p95']:>8.0f} "
                    f"{result['p95'] / base_line['p95']:>6.2f} "
                    f"{result['visits']:>6} {result['errors']:>6}",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
