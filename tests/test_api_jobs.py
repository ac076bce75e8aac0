"""Training jobs through the real app over HTTP: streams, cancel, cache, validation, limits."""

import os
import threading
import time

import httpx
import pytest

from app.meta.config import TrainConfig
from app.web.job_queue import TRAINING_NICENESS, JobManager, QueueFull
from tests.conftest import server_settings, serving
from tests.sse import read_events, stream

SMALL = {"task": "sinusoid", "algo": "maml", "steps": 30, "meta_batch": 4, "seed": 5}


def start(base, config):
    response = httpx.post(base + "/api/jobs", json=config, timeout=120)
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["events"] == f"/api/jobs/{body['id']}/events"
    return body


def test_stream_parses_and_ends_with_done(live_server):
    events = stream(live_server, start(live_server, SMALL)["events"])
    names = [name for name, _ in events]
    assert names[0] == "start" and names[-1] == "done"
    assert {"progress", "snapshot"} <= set(names)
    progress = [d for n, d in events if n == "progress" and "mse" not in d]
    assert progress[-1]["step"] == 30 and all(p["loss"] > 0 for p in progress)
    snapshot = [d for n, d in events if n == "snapshot"][-1]
    assert len(snapshot["trajectory"]) == snapshot["step"] // 1 + 1 or snapshot["trajectory"]
    assert set(snapshot["predictions"]) == {"0", "1", "10"}
    assert set(events[-1][1]["eval"]["mse"]) == {"0", "1", "10"}


NAVIGATION = {"task": "navigation", "meta_batch": 2, "trajectories": 4}


@pytest.mark.parametrize(
    "config",
    [dict(SMALL, seed=11, algo="fomaml"), dict(NAVIGATION, algo="pretrained", steps=2, seed=3)],
    ids=["sinusoid", "navigation"],
)
def test_cached_config_replays_identical_events(live_server, config):
    first = stream(live_server, start(live_server, config)["events"])
    again = start(live_server, config)
    # answered from the cache: finished as it was created, nothing left to cancel
    cancelled = httpx.delete(f"{live_server}/api/jobs/{again['id']}", timeout=120).json()
    assert cancelled["status"] == "done"
    assert stream(live_server, again["events"]) == first


@pytest.mark.parametrize(
    "config",
    [dict(SMALL, steps=20000, seed=12), dict(NAVIGATION, algo="fomaml", steps=1000, seed=4)],
    ids=["sinusoid", "navigation"],
)
def test_cancel_ends_the_stream_with_an_error_event(live_server, config):
    job = start(live_server, config)
    with httpx.stream("GET", live_server + job["events"], timeout=60) as response:
        lines = response.iter_lines()
        for line in lines:
            if line == "event: progress":
                break
        assert httpx.delete(f"{live_server}/api/jobs/{job['id']}", timeout=120).status_code == 200
        rest = read_events(lines)
    assert rest[-1] == ("error", {"message": "cancelled"})


def test_abandoned_job_is_cancelled_within_a_second(tmp_path):
    with serving(server_settings(tmp_path)) as (base, app):
        job = start(base, dict(SMALL, steps=20000, seed=13))
        stream(base, job["events"], stop_after="progress")
        record = app.state.jobs.get(job["id"])
        deadline = time.monotonic() + 120  # a second normally; generous for a busy machine
        while not record.finished and time.monotonic() < deadline:
            time.sleep(0.05)
        assert record.status == "cancelled"
        assert record.events[-1] == ("error", {"message": "cancelled"})


@pytest.mark.parametrize(
    ("change", "field", "allowed"),
    [
        ({"steps": 0}, "steps", "greater than or equal to 1"),
        ({"steps": 10**9}, "steps", "less than or equal to"),
        ({"alpha": 3}, "alpha", "less than or equal to 1"),
        ({"algo": "sgd"}, "algo", "'pretrained', 'maml', 'fomaml', 'reptile' or 'imaml'"),
        ({"meta_batch": "many"}, "meta_batch", "valid integer"),
        ({"colour": "red"}, "colour", "Extra inputs are not permitted"),
        ({"task": "omniglot", "algo": "maml"}, "algo", "('protonet', 'fomaml')"),
        ({"task": "omniglot", "algo": "protonet", "steps": 10_000}, "steps", "500 for omniglot"),
        ({"task": "mars"}, "body", "'sinusoid', 'omniglot'"),
        ({"task": "omniglot", "algo": "fomaml", "pretrain_steps": 10}, "pretrain_steps", "be 0"),
        ({"pretrain_steps": 10}, "body", "pretrain_steps must be 0"),
    ],
)
def test_validation_names_the_field_and_range(live_server, change, field, allowed):
    response = httpx.post(live_server + "/api/jobs", json=dict(SMALL, **change), timeout=120)
    assert response.status_code == 422
    message = response.json()["message"]
    assert message.startswith(field + ":") and allowed in message


def test_full_queue_answers_429_with_retry_after(tmp_path):
    with serving(server_settings(tmp_path, job_workers=1, job_queue=1)) as (base, _):
        running = start(base, dict(SMALL, steps=20000, seed=21))
        waiting = start(base, dict(SMALL, steps=20000, seed=22))
        response = httpx.post(
            base + "/api/jobs", json=dict(SMALL, steps=20000, seed=23), timeout=120
        )
        assert response.status_code == 429
        assert int(response.headers["retry-after"]) > 0
        queued = stream(base, waiting["events"], stop_after="queued")
        assert queued[-1] == ("queued", {"position": 1})
        for job in (running, waiting):
            httpx.delete(f"{base}/api/jobs/{job['id']}", timeout=120)


def wait_for_status(app, job_id: str, status: str) -> None:
    deadline = time.monotonic() + 120  # at once normally; generous for a busy machine
    while app.state.jobs.get(job_id).status != status:
        assert time.monotonic() < deadline, f"job {job_id} never became {status}"
        time.sleep(0.02)


def test_a_cancelled_waiting_job_gives_its_place_back_at_once(tmp_path):
    with serving(server_settings(tmp_path, job_workers=1, job_queue=1)) as (base, app):
        running = start(base, dict(SMALL, steps=20000, seed=31))
        wait_for_status(app, running["id"], "running")
        waiting = start(base, dict(SMALL, steps=20000, seed=32))
        cancelled = httpx.delete(f"{base}/api/jobs/{waiting['id']}", timeout=120).json()
        assert cancelled["status"] == "cancelled"
        assert stream(base, waiting["events"])[-1] == ("error", {"message": "cancelled"})
        again = start(base, dict(SMALL, steps=20000, seed=33))  # its place, not a 429
        assert app.state.jobs.get(again["id"]).status == "queued"
        for job in (running, again):
            httpx.delete(f"{base}/api/jobs/{job['id']}", timeout=120)


def test_a_full_queue_first_drops_the_waiting_jobs_nobody_watches():
    manager = JobManager(lambda config, should_stop: iter(()), queue_length=1, connect_grace=0)
    unwatched = manager.submit(TrainConfig(steps=5, seed=1))  # no worker runs: it waits
    time.sleep(0.01)  # older than the (zero) grace for connecting to its stream
    watched = manager.submit(TrainConfig(steps=5, seed=2))
    assert unwatched.status == "cancelled" and watched.status == "queued"
    manager.attach(watched)
    with pytest.raises(QueueFull):
        manager.submit(TrainConfig(steps=5, seed=3))


def test_training_threads_yield_the_cpu_to_the_requests():
    niceness = []

    def runner(config, should_stop):
        niceness.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        yield "done", {}

    manager = JobManager(runner, workers=1)
    manager.start()
    try:
        job = manager.submit(TrainConfig(steps=1))
        manager.attach(job)
        deadline = time.monotonic() + 120
        while not job.finished:
            assert time.monotonic() < deadline, "the job never ran"
            time.sleep(0.02)
    finally:
        manager.stop()
    own = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())  # this thread's, unchanged
    assert niceness == [min(19, own + TRAINING_NICENESS)]


def test_unknown_job_is_404(live_server):
    assert httpx.get(live_server + "/api/jobs/nope/events").status_code == 404
    assert httpx.delete(live_server + "/api/jobs/nope").status_code == 404


@pytest.mark.parametrize("last_event_id", ["-5", "-1000"])
def test_negative_last_event_id_replays_the_whole_stream(live_server, last_event_id):
    """A negative Last-Event-ID once indexed the event list from its end (IndexError mid-stream,
    the connection cut); it now means 'from the start', like a missing one."""
    job = start(live_server, dict(SMALL, seed=21))
    headers = {"Last-Event-ID": last_event_id}
    with httpx.stream("GET", live_server + job["events"], headers=headers, timeout=60) as response:
        assert response.status_code == 200
        names = [name for name, _ in read_events(response.iter_lines())]
    assert names[0] in ("queued", "start") and names[-1] == "done"


def test_an_omniglot_job_streams_validation_accuracy(live_server):
    job = start(
        live_server,
        {
            "task": "omniglot",
            "algo": "protonet",
            "steps": 10,
            "meta_batch": 1,
            "queries": 5,
            "seed": 3,
        },
    )
    events = stream(live_server, job["events"])
    accuracies = [d["accuracy"] for n, d in events if n == "progress" and "accuracy" in d]
    assert len(accuracies) == 5 and all(0.2 <= a <= 1 for a in accuracies)
    assert events[-1][0] == "done" and events[-1][1]["eval"]["split"] == "val"


def test_a_diverging_job_ends_its_stream_with_an_error_event(live_server):
    job = start(live_server, dict(SMALL, alpha=1.0, inner_steps=10, seed=31))
    events = stream(live_server, job["events"])
    name, data = events[-1]
    assert name == "error" and "meta-loss became nan" in data["message"]
