"""Web measures: time from POST /api/jobs to the first streamed event, and page weight per page.

Starts the real app under uvicorn on a free loopback port, then:
- posts fresh training configurations (new seeds, so nothing is cached) and times
  how long until the first Server-Sent Event arrives (target ≤ 300 ms), and a
  cached replay of one of them for comparison;
- loads every page and adds up the bytes of the HTML and every script and style
  sheet it references, as sent (gzip) and uncompressed.

    python bench/web.py [--repeats 10]
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import httpx

from app.web.pages import PAGES


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def first_event_ms(base: str, config: dict) -> float:
    start = time.perf_counter()
    job = httpx.post(base + "/api/jobs", json=config).json()
    with httpx.stream("GET", base + job["events"], timeout=30) as response:
        for line in response.iter_lines():
            if line.startswith("event:"):
                elapsed = (time.perf_counter() - start) * 1000
                break
    httpx.delete(f"{base}/api/jobs/{job['id']}")
    return elapsed


def page_weight(base: str, path: str) -> tuple[int, int, int]:
    """(files, bytes sent with gzip, bytes uncompressed) for a page and its scripts and styles."""
    html = httpx.get(base + path).text
    assets = re.findall(r'<(?:script[^>]+src|link[^>]+href)="(/static/[^"]+)"', html)
    files, sent, raw = 1, 0, 0
    for url in [path, *assets]:
        with httpx.stream("GET", base + url, headers={"Accept-Encoding": "gzip"}) as response:
            raw += sum(len(chunk) for chunk in response.iter_bytes())
            sent += response.num_bytes_downloaded
        files += url != path
    return files, sent, raw


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory() as data:
        environment = dict(
            os.environ,
            MAML_PORT=str(port),
            MAML_DATA_DIR=data,
            MAML_LOG_LEVEL="warning",
            MAML_JOBS_PER_MINUTE="100000",
        )
        server = subprocess.Popen([sys.executable, "-m", "app", "serve"], env=environment)
        try:
            measure(f"http://127.0.0.1:{port}", args.repeats)
        finally:
            server.terminate()
            server.wait(10)


def measure(base: str, repeats: int) -> None:
    for _ in range(300):
        try:
            httpx.get(base + "/healthz")
            break
        except httpx.TransportError:
            time.sleep(0.1)
    config = {"algo": "maml", "steps": 2000, "meta_batch": 25}
    first_event_ms(base, dict(config, seed=10_000))  # warm-up
    times = [first_event_ms(base, dict(config, seed=20_000 + i)) for i in range(repeats)]
    print(
        f"POST /api/jobs → first event: median {statistics.median(times):.0f} ms, "
        f"max {max(times):.0f} ms over {len(times)} fresh jobs (target ≤ 300 ms)"
    )
    print(f"{'page':<22} {'files':>5} {'sent (gzip)':>12} {'uncompressed':>13}")
    for page in PAGES:
        files, sent, raw = page_weight(base, page.path)
        print(f"{page.slug:<22} {files:>5} {sent / 1024:>10.0f} kB {raw / 1024:>11.0f} kB")


if __name__ == "__main__":
    main()
