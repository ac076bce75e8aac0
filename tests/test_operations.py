"""Operations: security headers, body limits, graceful shutdown, and no acknowledged answer lost
to SIGKILL. The last two run the real server as a separate process."""

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import httpx
import pytest
from fastapi.testclient import TestClient

from app.settings import Settings
from app.web.main import create_app
from app.web.quiz_tasks import TaskTokens
from tests.conftest import free_port
from tests.sse import read_events


@pytest.fixture
def client(tmp_path):
    with TestClient(create_app(Settings(data_dir=tmp_path, max_body_bytes=10_000))) as c:
        yield c


@pytest.mark.parametrize("path", ["/", "/maml", "/api/quiz/stats", "/healthz", "/nope"])
def test_security_headers_on_every_response(client, path):
    headers = client.get(path).headers
    csp = headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp.split("style-src-attr")[0]
    assert "unsafe-eval" not in csp
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"


def test_oversized_bodies_are_refused(client):
    big = {"algo": "maml", "pad": "x" * 20_000}
    assert client.post("/api/jobs", json=big).status_code == 413

    def chunks():
        for _ in range(20):
            yield b"x" * 1000

    response = client.post(
        "/api/jobs", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert "larger than 10000 bytes" in response.json()["detail"]


def start_server(tmp_path, **env):
    port = free_port()
    environ = dict(os.environ, MAML_PORT=str(port), MAML_DATA_DIR=str(tmp_path), **env)
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "serve"],
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300  # far above the usual few seconds, for a busy machine
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/healthz").status_code == 200:
                return process, base
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("server did not start")


@pytest.mark.slow
def test_sigterm_ends_running_streams_with_an_error_event(tmp_path):
    process, base = start_server(tmp_path)
    try:
        job = httpx.post(base + "/api/jobs", json={"algo": "maml", "steps": 20000}).json()
        with httpx.stream("GET", base + job["events"], timeout=30) as response:
            lines = response.iter_lines()
            for line in lines:
                if line == "event: progress":
                    break
            process.send_signal(signal.SIGTERM)
            rest = read_events(lines)
        assert rest[-1] == ("error", {"message": "the server is shutting down"})
        assert process.wait(20) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal
    finally:
        process.kill()


@pytest.mark.slow
def test_sigkill_loses_no_acknowledged_answer(tmp_path):
    process, base = start_server(tmp_path, MAML_QUIZ_ANSWERS_PER_MINUTE="100000")
    tokens = TaskTokens.load(tmp_path / "quiz.key")  # the server's key: tokens it issued
    acknowledged, stop = [], threading.Event()

    def post_answers(worker):
        with httpx.Client(base_url=base, timeout=60) as http:
            i = 0
            while not stop.is_set():
                seed = worker * 1_000_000 + i
                i += 1
                try:
                    response = http.post(
                        "/api/quiz/answer",
                        json={"task": tokens.sign(5, seed), "choice": 0, "ms": 1000},
                    )
                except httpx.TransportError:
                    return
                if response.status_code == 200:
                    acknowledged.append(f"5-{seed}")  # stored under its canonical name

    threads = [threading.Thread(target=post_answers, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 300
    while len(acknowledged) < 40 and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(10)
    stop.set()
    for thread in threads:
        thread.join(10)
    assert len(acknowledged) >= 40
    stored = {
        row[0]
        for row in sqlite3.connect(tmp_path / "quiz.sqlite3").execute("SELECT task FROM answers")
    }
    assert set(acknowledged) <= stored
