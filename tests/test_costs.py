"""Valid requests that would run long are bounded (issue 14, item 4), through the real app:
training jobs whose pieces would be too long are refused naming what to reduce, slow jobs
report progress every second and stop between pieces, classification's images have a pixel
budget, and the quiz's model answers are computed once per task."""

from __future__ import annotations

import base64
import io

import httpx
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from app.settings import Settings
from app.web.api.omniglot import MAX_REQUEST_PIXELS
from app.web.main import create_app
from tests.conftest import server_settings, serving
from tests.sse import read_events

TOO_HEAVY = [
    # the probe's heaviest in-bounds job
    {"algo": "imaml", "steps": 20000, "meta_batch": 100, "shots": 50, "inner_steps": 50,
     "cg_steps": 50},
    {"algo": "reptile", "steps": 100, "meta_batch": 100, "inner_steps": 50, "serial": True},
    {"algo": "maml", "steps": 100, "meta_batch": 100, "shots": 50, "inner_steps": 50},
    {"algo": "maml", "steps": 100, "meta_batch": 1, "shots": 50, "inner_steps": 50},  # landscape
    {"task": "omniglot", "algo": "protonet", "steps": 10, "ways": 20, "meta_batch": 4,
     "queries": 15, "channels": 128},
]  # fmt: skip
ORDINARY = [
    {"steps": 10},
    *({"algo": algo, "steps": 10} for algo in ("pretrained", "maml", "fomaml", "reptile", "imaml")),
    {"algo": "imaml", "steps": 10, "inner_steps": 20, "cg_steps": 10},
    {"algo": "maml", "steps": 10, "meta_batch": 100, "inner_steps": 10},
    {"task": "omniglot", "algo": "protonet", "steps": 10, "ways": 5, "meta_batch": 1, "queries": 5},
    {
        "task": "omniglot",
        "algo": "protonet",
        "steps": 10,
        "ways": 20,
        "meta_batch": 1,
        "queries": 5,
    },
    {"task": "omniglot", "algo": "fomaml", "steps": 10, "ways": 20, "meta_batch": 1, "queries": 5},
]
# About a second a meta-iteration on the development machine, and allowed: 100 steps between
# two of the regular progress events.
SLOW = {"algo": "maml", "steps": 20000, "meta_batch": 100, "shots": 50, "inner_steps": 20}
# A long landscape (the first comes with the snapshot of step 0), allowed row by row.
SLOW_LANDSCAPE = {"algo": "maml", "steps": 20000, "meta_batch": 1, "shots": 30, "inner_steps": 50}


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("data"), jobs_per_minute=10_000, job_queue=100
    )
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.mark.parametrize("config", TOO_HEAVY)
def test_jobs_too_heavy_to_stop_quickly_are_refused_saying_what_to_reduce(client, config):
    response = client.post("/api/jobs", json=config)
    assert response.status_code == 422, response.text
    message = response.json()["message"]
    assert message.startswith("body: this configuration is too heavy"), message
    assert "reduce meta_batch" in message


@pytest.mark.parametrize("config", [*ORDINARY, SLOW, SLOW_LANDSCAPE])
def test_ordinary_jobs_are_accepted(client, config):
    response = client.post("/api/jobs", json=config)
    assert response.status_code == 202, response.text
    client.delete(f"/api/jobs/{response.json()['id']}")


def events_until(lines, name: str) -> list[tuple[str, dict]]:
    return read_events(lines, stop_after=name)


def test_a_slow_job_reports_progress_every_second(tmp_path):
    with serving(server_settings(tmp_path)) as (base, _):
        job = httpx.post(base + "/api/jobs", json=SLOW).json()
        with httpx.stream("GET", base + job["events"], timeout=600) as response:
            lines = response.iter_lines()
            events = events_until(lines, "progress")
            events += events_until(lines, "progress")
        httpx.delete(f"{base}/api/jobs/{job['id']}")
    steps = [data["step"] for name, data in events if name == "progress"]
    # the regular events come every 100 steps (20,000 / 200); these came after a second
    assert steps[0] < 100 and steps[1] < 100, steps


@pytest.mark.parametrize(
    ("config", "cancel_after"), [(SLOW, "progress"), (SLOW_LANDSCAPE, "start")]
)
def test_cancelling_a_running_job_frees_its_worker(tmp_path, config, cancel_after):
    with serving(server_settings(tmp_path, job_workers=1)) as (base, app):
        running = httpx.post(base + "/api/jobs", json=config).json()
        waiting = httpx.post(base + "/api/jobs", json={"steps": 5, "meta_batch": 2}).json()
        with (
            httpx.stream("GET", base + running["events"], timeout=600) as first,
            httpx.stream("GET", base + waiting["events"], timeout=600) as second,
        ):
            lines = first.iter_lines()
            events_until(lines, cancel_after)
            assert app.state.jobs.get(running["id"]).status == "running"
            assert httpx.delete(f"{base}/api/jobs/{running['id']}").status_code == 200
            assert read_events(lines)[-1] == ("error", {"message": "cancelled"})
            after = read_events(second.iter_lines())
    names = [name for name, _ in after]
    assert "start" in names and names[-1] == "done", names


def png(width: int, height: int) -> str:
    out = io.BytesIO()
    Image.new("L", (width, height), 255).save(out, format="PNG")
    return base64.b64encode(out.getvalue()).decode()


def classify_body(queries: list[str]) -> dict:
    support = [{"label": label, "image": png(105, 105)} for label in ("a", "b")]
    return {"method": "protonet", "ways": 5, "support": support, "queries": queries}


def test_classification_has_a_pixel_budget(client):
    big = png(2048, 2048)  # a white page compresses to a few kB
    count = MAX_REQUEST_PIXELS // (2048 * 2048) + 1
    response = client.post("/api/omniglot/classify", json=classify_body([big] * count))
    assert response.status_code == 422, response.text
    message = response.json()["message"]
    assert message.startswith("body: the images hold") and "send fewer or smaller" in message


def test_large_images_count_more_against_the_rate(tmp_path):
    settings = Settings(data_dir=tmp_path, classify_per_minute=40)  # a burst of 10
    with TestClient(create_app(settings)) as c:
        if not c.get("/api/omniglot/models").json():
            pytest.skip("no trained Omniglot model in models/")
        small = [c.post("/api/omniglot/classify", json=classify_body([png(105, 105)]))]
        heavy = [
            c.post("/api/omniglot/classify", json=classify_body([png(2000, 2000)] * 2))
            for _ in range(2)
        ]
    assert small[0].status_code == 200
    # each costs 1 + 8 (eight million pixels): the burst of 10 holds one small and one heavy,
    # and the next heavy one waits for 9 of the 40 a minute
    assert [r.status_code for r in heavy][:2] == [200, 429], [r.text for r in heavy]


def test_unreadable_images_say_what_is_wrong_without_python_internals(client):
    for data in (b"not an image", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, b"GIF89a" + b"\x00" * 40):
        body = classify_body([base64.b64encode(data).decode()])
        response = client.post("/api/omniglot/classify", json=body)
        assert response.status_code == 422, response.text
        message = response.json()["message"]
        assert message.startswith("queries.0: not a PNG or JPEG image"), message
        assert "0x" not in response.text and "BytesIO" not in response.text


def test_model_answers_are_computed_once_per_task_and_rate_limited(tmp_path):
    settings = Settings(data_dir=tmp_path, classify_per_minute=1)  # a burst of one
    with TestClient(create_app(settings)) as c:
        if not c.get("/api/omniglot/models").json():
            pytest.skip("no trained Omniglot model in models/")
        tasks = [c.get("/api/quiz/task?ways=20").json()["task"] for _ in range(2)]
        for task in tasks:
            body = {"task": task, "choice": 0, "ms": 2000}
            assert c.post("/api/quiz/answer", json=body).status_code == 200
        first = c.get("/api/quiz/models", params={"task": tasks[0]})
        again = [c.get("/api/quiz/models", params={"task": tasks[0]}) for _ in range(5)]
        other = c.get("/api/quiz/models", params={"task": tasks[1]})
    assert first.status_code == 200 and first.json()
    assert all(r.status_code == 200 and r.json() == first.json() for r in again)  # cached
    assert other.status_code == 429 and int(other.headers["retry-after"]) >= 1
