"""What a probe of the running server found (issue 14), through the real app as
``maml serve`` configures it: non-object bodies, 500s without the security headers,
spoofed X-Forwarded-For, slow requests, non-integer integers and leaky image errors."""

from __future__ import annotations

import logging
import socket
import threading
import time
from contextlib import contextmanager

import httpx
import pytest
from fastapi.testclient import TestClient

from app.cli.serve import server_config
from app.settings import Settings
from app.web.main import create_app
from app.web.middleware import SECURITY_HEADERS
from tests.conftest import free_port

NOT_OBJECTS = [[], "x", 1, None, True, [{"task": "sinusoid"}], 2.5]


@contextmanager
def served(tmp_path, **changes):
    """The app under uvicorn with ``maml serve``'s configuration, in a thread; yields its URL."""
    settings = Settings(port=free_port(), data_dir=tmp_path, log_level="warning", **changes)
    app = create_app(settings)
    server = __import__("uvicorn").Server(server_config(settings, app))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        assert thread.is_alive(), "the server stopped"
        time.sleep(0.05)
    app.state.omniglot.ready.wait(300)
    try:
        yield f"http://127.0.0.1:{settings.port}", app
    finally:
        server.should_exit = True
        thread.join(30)


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    settings = Settings(data_dir=tmp_path_factory.mktemp("data"))
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        yield c


def post_operations(client) -> list[str]:
    paths = client.get("/openapi.json").json()["paths"]
    return [path for path, item in paths.items() if "post" in item]


@pytest.mark.parametrize("body", NOT_OBJECTS, ids=repr)
def test_every_post_route_answers_a_body_that_is_no_object_with_a_422(client, body):
    operations = post_operations(client)
    assert "/api/jobs" in operations and len(operations) >= 10
    for path in operations:
        response = client.post(path, json=body)
        assert response.status_code == 422, (path, body, response.text)
        assert response.json()["message"].startswith("body"), (path, response.text)


def test_a_500_carries_the_security_headers(tmp_path):
    with TestClient(create_app(Settings(data_dir=tmp_path)), raise_server_exceptions=False) as c:
        assert c.get("/api/quiz/stats").status_code == 200
        c.app.state.answers.connection.close()  # a real fault: the database went away
        response = c.get("/api/quiz/stats")
        assert response.status_code == 500
        assert response.json() == {"detail": "internal server error"}
        for name, value in SECURITY_HEADERS:
            assert response.headers[name.decode()] == value.decode()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"steps": True}, "steps"),
        ({"task": "omniglot", "steps": True}, "steps"),
        ({"steps": 5, "meta_batch": False}, "meta_batch"),
        ({"steps": 5.0}, "steps"),
        ({"steps": "5"}, "steps"),
        ({"steps": 5, "serial": 1}, "serial"),
    ],
)
def test_jobs_take_integers_only_as_integers(client, body, field):
    response = client.post("/api/jobs", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["message"].startswith(field + ":")


def test_classify_takes_ways_only_as_an_integer(client):
    body = {"method": "protonet", "ways": True, "support": [], "queries": []}
    response = client.post("/api/omniglot/classify", json=body)
    assert response.status_code == 422 and "ways" in response.json()["message"]


def quiz_answers(url: str, tasks: list[str], forwarded: bool) -> list[int]:
    codes = []
    with httpx.Client(base_url=url, timeout=60) as http:
        for i, task in enumerate(tasks):
            headers = {"X-Forwarded-For": f"203.0.113.{i + 1}"} if forwarded else {}
            body = {"task": task, "choice": 0, "ms": 2000}
            codes.append(http.post("/api/quiz/answer", json=body, headers=headers).status_code)
    return codes


def logged_clients(caplog) -> set[str]:
    """The client addresses in the request log's lines for quiz answers."""
    lines = [r.getMessage() for r in caplog.records if r.name == "app.requests"]
    return {line.rsplit("client=", 1)[1] for line in lines if "/api/quiz/answer" in line}


def test_forwarded_addresses_are_ignored_unless_the_proxy_is_trusted(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="app.requests")
    # one answer per minute and client, a burst of one: each client gets one answer in now
    with served(tmp_path / "a", quiz_answers_per_minute=1) as (url, _):
        with httpx.Client(base_url=url, timeout=60) as http:
            tasks = [http.get("/api/quiz/task").json()["task"] for _ in range(30)]
        codes = quiz_answers(url, tasks, forwarded=True)
    assert codes[0] == 200 and codes.count(200) <= 2 and codes.count(429) >= 28, codes
    assert logged_clients(caplog) == {"127.0.0.1"}  # the real address, not the made-up ones
    caplog.clear()
    with served(tmp_path / "b", quiz_answers_per_minute=1, forwarded_allow_ips="127.0.0.1") as (
        url,
        _,
    ):
        with httpx.Client(base_url=url, timeout=60) as http:
            tasks = [http.get("/api/quiz/task").json()["task"] for _ in range(30)]
        codes = quiz_answers(url, tasks, forwarded=True)
    assert codes == [200] * 30, codes  # behind a trusted proxy each reader counts alone
    assert logged_clients(caplog) == {f"203.0.113.{i + 1}" for i in range(30)}


def test_jobs_cannot_pass_the_client_limit_with_forwarded_addresses(tmp_path):
    with (
        served(tmp_path, jobs_per_minute=1) as (url, _),
        httpx.Client(base_url=url, timeout=60) as http,
    ):
        codes = [
            http.post(
                "/api/jobs",
                json={"steps": 1, "seed": i, "meta_batch": 1},
                headers={"X-Forwarded-For": f"198.51.100.{i + 1}"},
            ).status_code
            for i in range(6)
        ]
    assert codes[0] == 202 and codes.count(202) <= 2 and codes.count(429) >= 4, codes


def read_until_closed(sock: socket.socket, limit: float) -> bytes:
    """Everything the server sends until it closes the connection (at most ``limit`` s)."""
    sock.settimeout(limit)
    received = b""
    while chunk := sock.recv(4096):
        received += chunk
    return received


def dribble(sock: socket.socket, stop: threading.Event, line: bytes) -> None:
    while not stop.wait(0.5):
        try:
            sock.sendall(line)
        except OSError:
            return


@pytest.mark.parametrize("part", ["head", "body"])
def test_a_request_that_comes_too_slowly_is_cut_off(tmp_path, part):
    with served(tmp_path, header_timeout=2.0, body_timeout=3.0) as (url, _):
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port)) as sock:
            if part == "head":
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
                line = b"X-Slow: 1\r\n"
            else:
                sock.sendall(
                    b"POST /api/quiz/answer HTTP/1.1\r\nHost: x\r\n"
                    b"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"
                )
                line = b" "
            stop = threading.Event()
            sender = threading.Thread(target=dribble, args=(sock, stop, line), daemon=True)
            sender.start()
            try:
                answer = read_until_closed(sock, limit=120)
            finally:
                stop.set()
        assert answer.startswith(b"HTTP/1.1 408"), answer[:200]  # only the timeout says 408
        # requests at an ordinary pace still get through, on a kept-alive connection
        with httpx.Client(base_url=url, timeout=60) as http:
            for _ in range(3):
                assert http.get("/healthz").status_code == 200
