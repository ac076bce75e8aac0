"""Load on loopback: page loads, training streams and classification calls, at once.

Starts the real server (``maml serve``) on a free loopback port with a
temporary data folder, generous rate limits and no start-up race (so that only the bench's
jobs train), then, with asyncio (httpx for the API calls).
Pages are loaded as a browser loads them (:func:`bench.page_visits.visit`, on bare asyncio
streams, so that the bench's own CPU stays small beside the server's): the HTML, then every
script, style sheet and icon it names on up to six connections, with ``Accept-Encoding:
gzip, deflate, br``. A
*first* visit has nothing cached; a *repeat* visit asks only for what the first one's
``Cache-Control`` did not let it keep (``immutable`` or a lifetime of a day or more),
conditionally where it got an ETag or Last-Modified.

0. the server's CPU time (user + system, from ``/proc``, with its training processes') per
   first visit of each page,
   ``--visits`` visits of each one after another on the idle server;
1. 100 concurrent first visits on the idle server (every page in turn), then 100
   concurrent repeat visits;
2. 50 concurrent classification calls (5-way 1-shot episodes of real Omniglot
   drawings, fetched through the quiz, cycling through the served models);
3. 20 concurrent training streams (POST /api/jobs, distinct seeds, each SSE stream
   read to its ``done`` or ``error`` event), and, once training has started,
   100 concurrent first visits again: the pages' latency while training runs.

Prints per group: count, errors, refusals (429), p50 and p95 latency in ms and the bytes
received per visit, and the ratio of the first visits' p95 under training to their idle
p95. Everything is bounded: each request has a timeout and the whole run ``--budget``
seconds (default 300). ``--root`` serves another checkout of the app (a baseline).

    .venv/bin/python bench/load.py [--steps 300] [--meta-batch 10] [--budget 300] \
        [--visits 5] [--root DIR]
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

from app.settings import Settings  # noqa: E402
from app.web.pages import PAGES  # noqa: E402
from bench.page_visits import Kept, Refused, visit  # noqa: E402

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
    received: list[int] = field(default_factory=list)  # bytes per visit, as sent

    @property
    def count(self) -> int:
        return len(self.ms) + len(self.errors) + self.refused

    def line(self) -> str:
        p50 = f"{percentile(self.ms, 50):8.0f}" if self.ms else "       -"
        p95 = f"{percentile(self.ms, 95):8.0f}" if self.ms else "       -"
        kb = f"{sum(self.received) / len(self.received) / 1024:8.0f}" if self.received else " " * 8
        return (
            f"{self.name:<28} {self.count:>5} {len(self.errors):>6} {self.refused:>7} "
            f"{p50} {p95} {kb}  {self.note}"
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


async def timed_visit(group: Group, origin: tuple[str, int], path: str, kept: Kept) -> None:
    start = time.perf_counter()
    try:
        size = await visit(*origin, path, kept)
    except (OSError, EOFError, ValueError, Refused) as error:
        group.errors.append(f"{path}: {type(error).__name__}: {error}")
        return
    group.ms.append((time.perf_counter() - start) * 1000)
    group.received.append(size)


async def page_loads(
    origin: tuple[str, int],
    group: Group,
    n: int = PAGE_LOADS,
    kept: dict | None = None,
    pid: int | None = None,
) -> None:
    """``n`` concurrent visits, every page in turn: first visits, or repeat visits of what
    ``kept`` (path → Kept) holds. With the server's ``pid``, the note says how much CPU the
    server and this process spent meanwhile (the rest of the wall time is waiting for a core)."""
    paths = itertools.islice(itertools.cycle(page.path for page in PAGES), n)
    server, own, wall = cpu_seconds(pid) if pid else 0.0, time.process_time(), time.perf_counter()
    await asyncio.gather(
        *(timed_visit(group, origin, p, Kept() if kept is None else kept[p]) for p in paths)
    )
    if pid:
        group.note = (
            f"CPU s: server {cpu_seconds(pid) - server:.2f}, bench "
            f"{time.process_time() - own:.2f}, in {time.perf_counter() - wall:.1f} s"
        )


def stat(pid: int | str) -> list[str]:
    """The fields of ``/proc/PID/stat`` after the command's name: state, parent, …"""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def family(pid: int) -> list[int]:
    """``pid`` and its descendants alive now (the server's training processes)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                children.setdefault(int(stat(entry.name)[1]), []).append(int(entry.name))
            except (OSError, IndexError):  # it ended meanwhile
                continue
    members = [pid]
    for member in members:
        members.extend(children.get(member, []))
    return members


def cpu_seconds(pid: int) -> float:
    """A process's CPU time so far with its descendants', all their threads, user + system."""
    ticks = 0
    for member in family(pid):
        try:
            fields = stat(member)
        except OSError:  # it ended meanwhile
            continue
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


async def quiet(pid: int, limit: float = 60.0) -> None:
    """Waits (at most ``limit`` s) until the server uses under 1% of a core: its start-up
    work (warm-up, Omniglot) must not be counted as the pages'."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        before = cpu_seconds(pid)
        await asyncio.sleep(1.0)
        if cpu_seconds(pid) - before < 0.011:
            return


async def first_visit_cpu(base: str, pid: int, visits: int) -> dict[str, float]:
    """Server CPU ms per first visit of each page (``visits`` each, one after another, each
    from a fresh client: new connections, nothing cached)."""
    await quiet(pid)
    result = {}
    for page in PAGES:
        before = cpu_seconds(pid)
        for _ in range(visits):
            await visit(*origin_of(base), page.path, Kept())
        result[page.slug] = (cpu_seconds(pid) - before) * 1000 / visits
    return result


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


def origin_of(base: str) -> tuple[str, int]:
    """``http://127.0.0.1:8123`` → ``("127.0.0.1", 8123)``."""
    host, port = base.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


def client(base: str) -> httpx.AsyncClient:
    """A fresh client (its own connections) per group, as separate readers would have: a
    pooled connection left idle past uvicorn's keep-alive (5 s) may be closed as it is reused."""
    limits = httpx.Limits(max_connections=800, max_keepalive_connections=800)  # readers × 6-8
    return httpx.AsyncClient(base_url=base, timeout=REQUEST_TIMEOUT, limits=limits)


async def run(
    base: str, pid: int, args: argparse.Namespace, groups: list[Group], cpu: dict
) -> None:
    """Fills ``groups`` and ``cpu`` as it goes, so that a run cut short still reports."""
    steps, meta_batch = args.steps, args.meta_batch
    origin = origin_of(base)
    kept = {page.path: Kept() for page in PAGES}
    for page in PAGES:  # each page is rendered once and kept: do not time the first render
        await visit(*origin, page.path, kept[page.path])
    cpu.update(await first_visit_cpu(base, pid, args.visits))
    idle = Group("first visits, idle")
    groups.append(idle)
    await page_loads(origin, idle, pid=pid)
    repeat = Group("repeat visits, idle")
    groups.append(repeat)
    await page_loads(origin, repeat, kept=kept, pid=pid)
    async with client(base) as http:
        classified = Group("classify (5-way 1-shot)")
        groups.append(classified)
        await classify(http, classified)

    async with client(base) as http:
        busy = Group("first visits, training")
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
            await page_loads(origin, busy, pid=pid)
            still_training = sum(not t.done() for t in training)
            busy.note += f"; {still_training}/{TRAINING_STREAMS} streams still open at its end"
            await asyncio.gather(*training)
        finally:
            unfinished = sum(not t.done() for t in training)
            for task in training:
                task.cancel()
            streams.errors += ["unfinished within the budget"] * unfinished


def start_server(data_dir: str, root: Path = ROOT) -> tuple[subprocess.Popen, str]:
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
        MAML_WARM_RACE="false",  # no training but the bench's own: the idle pages are idle
    )
    if root != ROOT:  # another checkout: this one's data and models
        settings = Settings.from_env()
        env.setdefault("MAML_OMNIGLOT_DIR", str(settings.omniglot_dir))
        env.setdefault("MAML_CACHE_DIR", str(settings.cache_dir))
        env.setdefault("MAML_MODELS_DIR", str(settings.models_dir))
    log = open(Path(data_dir) / "server.log", "wb")  # noqa: SIM115 (closed with the process)
    server = subprocess.Popen(
        [sys.executable, "-m", "app", "serve"],
        cwd=root,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
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
    parser.add_argument("--visits", type=int, default=5, help="first visits per page for CPU")
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout to serve")
    args = parser.parse_args()
    groups: list[Group] = []
    cpu: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="maml-load-") as data_dir:
        began = time.monotonic()
        server, base = start_server(data_dir, args.root.resolve())
        try:
            left = args.budget - (time.monotonic() - began)
            asyncio.run(asyncio.wait_for(run(base, server.pid, args, groups, cpu), left))
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
    if cpu:
        print(f"server CPU per first visit (ms, mean of {args.visits}):")
        print("  " + ", ".join(f"{slug} {ms:.1f}" for slug, ms in cpu.items()))
        print(f"  max {max(cpu.values()):.1f}, mean {sum(cpu.values()) / len(cpu):.1f}")
    print(
        f"{'group':<28} {'count':>5} {'errors':>6} {'refused':>7} {'p50 ms':>8} {'p95 ms':>8}"
        f" {'kB/visit':>8}"
    )
    for group in groups:
        print(group.line())
    named = {group.name: group for group in groups}
    idle, busy = named.get("first visits, idle"), named.get("first visits, training")
    if idle and busy and idle.ms and busy.ms:
        ratio = percentile(busy.ms, 95) / percentile(idle.ms, 95)
        print(f"first-visit p95 while training / idle p95: {ratio:.2f}")
    for group in groups:
        for error in group.errors[:5]:
            print(f"  {group.name}: {error}")
    print(f"total {time.monotonic() - began:.0f} s")
    if any(group.errors for group in groups):
        sys.exit(1)


if __name__ == "__main__":
    main()
