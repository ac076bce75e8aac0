"""Load on loopback: page loads, training streams and classification calls, at once.

Starts the real server (``python -m app.serve``) on a free loopback port with a
temporary data folder and generous rate limits, then, with asyncio and httpx:

1. 100 concurrent page loads on the idle server (GET of every page in turn);
2. 50 concurrent classification calls (5-way 1-shot episodes of real Omniglot
   drawings, fetched through the quiz, cycling through the served models);
3. 20 concurrent training streams (POST /api/jobs, distinct seeds, each SSE stream
   read to its ``done`` or ``error`` event), and, once training has started,
   100 concurrent page loads again: the pages' latency while training runs.

Prints per group: count, errors, refusals (429), p50 and p95 latency in ms, and the
ratio of the pages' p95 under training to their idle p95. Everything is bounded:
each request has a timeout and the whole run ``--budget`` seconds (default 300).

    .venv/bin/python bench/load.py [--steps 300] [--meta-batch 10] [--budget 300]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.pages import PAGES  # noqa: E402

PAGE_LOADS = 100
CLASSIFY_CALLS = 50
TRAINING_STREAMS = 20
REQUEST_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
STREAM_TIMEOUT = httpx.Timeout(connect=10.0, read=120.0, write=10.0, pool=60.0)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0…100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, round(q / 100 * len(ordered) + 0.5 - 1e-9))
    return ordered[min(rank, len(ordered)) - 1]


@dataclass
class Group:
    name: str
    ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    refused: int = 0  # 429: the server said "not now", as designed
    note: str = ""

    @property
    def count(self) -> int:
        return len(self.ms) + len(self.errors) + self.refused

    def line(self) -> str:
        p50 = f"{percentile(self.ms, 50):8.0f}" if self.ms else "       -"
        p95 = f"{percentile(self.ms, 95):8.0f}" if self.ms else "       -"
        return (
            f"{self.name:<28} {self.count:>5} {len(self.errors):>6} {self.refused:>7} "
            f"{p50} {p95}  {self.note}"
        ).rstrip()


async def timed(group: Group, call) -> None:
    start = time.perf_counter()
    try:
        response = await call()
    except (httpx.HTTPError, OSError) as error:
        group.errors.append(f"{type(error).__name__}: {error}")
        return
    if response.status_code == 429:
        group.refused += 1
    elif response.status_code >= 400:
        group.errors.append(f"{response.status_code} {response.text[:200]}")
    else:
        group.ms.append((time.perf_counter() - start) * 1000)


async def page_loads(client: httpx.AsyncClient, group: Group, n: int = PAGE_LOADS) -> None:
    paths = itertools.islice(itertools.cycle(page.path for page in PAGES), n)
    await asyncio.gather(*(timed(group, lambda p=p: client.get(p)) for p in paths))


async def episodes(client: httpx.AsyncClient, count: int = 5) -> list[tuple[list[str], str]]:
    """``count`` 5-way 1-shot episodes: the quiz's five candidates as support, its query."""
    found = []
    for _ in range(count):
        task = (await client.get("/api/quiz/task", params={"ways": 5})).raise_for_status().json()
        images = []
        for url in [*task["choices"], task["query"]]:
            png = (await client.get(url)).raise_for_status().content
            images.append(base64.b64encode(png).decode())
        found.append((images[:-1], images[-1]))
    return found


async def classify(client: httpx.AsyncClient, group: Group, n: int = CLASSIFY_CALLS) -> None:
    models = [m["id"] for m in (await client.get("/api/omniglot/models")).json() if m["ways"] >= 5]
    if not models:
        group.errors.append("no Omniglot models are served")
        return
    bodies = []
    for i, (support, query) in zip(range(n), itertools.cycle(await episodes(client)), strict=False):
        bodies.append(
            {
                "id": models[i % len(models)],
                "support": [{"label": f"c{j}", "image": image} for j, image in enumerate(support)],
                "queries": [query],
            }
        )
    await asyncio.gather(
        *(timed(group, lambda b=b: client.post("/api/omniglot/classify", json=b)) for b in bodies)
    )


async def train(
    client: httpx.AsyncClient,
    group: Group,
    config: dict,
    started: asyncio.Event,
    first_event: Group,
) -> None:
    """POST one job and read its stream to ``done`` or ``error``; the latency is the whole run."""
    begin = time.perf_counter()
    try:
        response = await client.post("/api/jobs", json=config, timeout=REQUEST_TIMEOUT)
        if response.status_code == 429:
            group.refused += 1
            return
        if response.status_code != 202:
            group.errors.append(f"POST {response.status_code} {response.text[:200]}")
            return
        url = response.json()["events"]
        last, seen_first = None, False
        async with client.stream("GET", url, timeout=STREAM_TIMEOUT) as stream:
            async for line in stream.aiter_lines():
                if line.startswith("event: "):
                    last = line[7:]
                    if not seen_first:
                        seen_first = True
                        first_event.ms.append((time.perf_counter() - begin) * 1000)
                    if last == "start":
                        started.set()
                    if last in ("done", "error"):
                        break
                elif line.startswith("data: ") and last == "error":
                    group.errors.append("error event: " + json.loads(line[6:]).get("message", ""))
                    return
    except (httpx.HTTPError, OSError) as error:
        group.errors.append(f"{type(error).__name__}: {error}")
        return
    if last == "done":
        group.ms.append((time.perf_counter() - begin) * 1000)
    elif last != "error":
        group.errors.append(f"stream ended after {last!r}")


def client(base: str) -> httpx.AsyncClient:
    """A fresh client (its own connections) per group, as separate readers would have: a
    pooled connection left idle past uvicorn's keep-alive (5 s) may be closed as it is reused."""
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    return httpx.AsyncClient(base_url=base, timeout=REQUEST_TIMEOUT, limits=limits)


async def run(base: str, steps: int, meta_batch: int, groups: list[Group]) -> None:
    """Fills ``groups`` as it goes, so that a run cut short by the budget still reports."""
    async with client(base) as http:
        for page in PAGES:  # each page is rendered once and kept: do not time the first render
            (await http.get(page.path)).raise_for_status()
        idle = Group("pages, idle")
        groups.append(idle)
        await page_loads(http, idle)
    async with client(base) as http:
        classified = Group("classify (5-way 1-shot)")
        groups.append(classified)
        await classify(http, classified)

    async with client(base) as http, client(base) as pages:
        busy = Group("pages, while training")
        streams, first_event = Group("training streams (to done)"), Group("training: first event")
        groups.extend([busy, streams, first_event])
        started = asyncio.Event()
        seed = int(time.time()) % 1_000_000 * 100  # fresh seeds: nothing answered from the cache
        configs = [
            {
                "task": "sinusoid",
                "algo": "maml",
                "steps": steps,
                "meta_batch": meta_batch,
                "seed": seed + i,
            }
            for i in range(TRAINING_STREAMS)
        ]
        training = [
            asyncio.create_task(train(http, streams, c, started, first_event)) for c in configs
        ]
        try:
            await asyncio.wait_for(started.wait(), 60)
            await page_loads(pages, busy)
            still_training = sum(not t.done() for t in training)
            busy.note = f"{still_training}/{TRAINING_STREAMS} streams still open at its end"
            await asyncio.gather(*training)
        finally:
            unfinished = sum(not t.done() for t in training)
            for task in training:
                task.cancel()
            streams.errors += ["unfinished within the budget"] * unfinished


def start_server(data_dir: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = dict(
        os.environ,
        MAML_HOST="127.0.0.1",
        MAML_PORT=str(port),
        MAML_DATA_DIR=data_dir,
        MAML_LOG_LEVEL="warning",
        MAML_JOB_QUEUE=str(TRAINING_STREAMS),  # all 20 fit: 2 run, the rest wait their turn
        MAML_JOBS_PER_MINUTE="10000",
        MAML_CLASSIFY_PER_MINUTE="10000",
        MAML_QUIZ_ANSWERS_PER_MINUTE="10000",
        MAML_OMNIGLOT_DOWNLOAD="false",
    )
    log = open(Path(data_dir) / "server.log", "wb")  # noqa: SIM115 (closed with the process)
    server = subprocess.Popen(
        [sys.executable, "-m", "app.serve"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with {server.returncode}; see {log.name}")
        try:
            # ready when Omniglot is loaded (503 until then)
            if httpx.get(base + "/api/quiz/task", timeout=5).status_code == 200:
                return server, base
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    server.kill()
    raise RuntimeError("the server did not become ready within 120 s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=300, help="meta-iterations per job")
    parser.add_argument("--meta-batch", type=int, default=10)
    parser.add_argument("--budget", type=float, default=300, help="seconds for the whole run")
    args = parser.parse_args()
    groups: list[Group] = []
    with tempfile.TemporaryDirectory(prefix="maml-load-") as data_dir:
        began = time.monotonic()
        server, base = start_server(data_dir)
        try:
            left = args.budget - (time.monotonic() - began)
            asyncio.run(asyncio.wait_for(run(base, args.steps, args.meta_batch, groups), left))
        except TimeoutError:
            print(f"stopped at the budget of {args.budget:.0f} s; partial results")
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(5)
            log = (Path(data_dir) / "server.log").read_text(errors="replace")
        if any(group.errors for group in groups) and log.strip():
            print("server log (last 3000 characters):\n" + log[-3000:])
    print(f"{'group':<28} {'count':>5} {'errors':>6} {'refused':>7} {'p50 ms':>8} {'p95 ms':>8}")
    for group in groups:
        print(group.line())
    idle, busy = (groups + [Group("-")] * 3)[0], (groups + [Group("-")] * 3)[2]
    if idle.ms and busy.ms:
        ratio = percentile(busy.ms, 95) / percentile(idle.ms, 95)
        print(f"page p95 while training / idle p95: {ratio:.2f}")
    for group in groups:
        for error in group.errors[:5]:
            print(f"  {group.name}: {error}")
    print(f"total {time.monotonic() - began:.0f} s")
    if any(group.errors for group in groups):
        sys.exit(1)


if __name__ == "__main__":
    main()
