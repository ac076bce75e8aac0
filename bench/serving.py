"""Start the real app on a free loopback port for a bench, and stop it afterwards.

with serving() as base:        # "http://127.0.0.1:PORT", answering /healthz
    ...
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(timeout_s: float = 300.0) -> Iterator[str]:
    """The app under ``uvicorn --factory app.web.main:create_app``, once it answers /healthz."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "app.web.main:create_app",
         "--port", str(port), "--log-level", "warning"],
        env={**os.environ, "MAML_LOG_LEVEL": "warning"},
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                httpx.get(base + "/healthz", timeout=5).raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError(f"the app did not start on {base}") from None
                time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(10)
