"""The race through the real app: five jobs on one task stream, admitted together or refused,
and the default race trained by the warm-up and replayed from the cache."""

import json
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import httpx
import pytest
import torch
from fastapi.testclient import TestClient

from app.meta.checkpoint import load_checkpoint
from app.meta.config import TrainConfig
from app.meta.training import Training
from app.settings import Settings
from app.web.job_queue import JobManager
from app.web.main import create_app
from app.web.race import DEFAULT, METHODS, SEED, RaceRequest, race_configs, reference_file
from app.web.streams import training_events
from tests.conftest import server_settings, serving
from tests.sse import stream


def test_the_race_seed_is_the_reference_models_seed():
    models = Settings().models_dir
    for name in ("maml", "pretrained"):
        config, _, _ = load_checkpoint(reference_file(models, name))
        assert config.seed == SEED
        assert (config.meta_batch, config.shots, config.alpha) == (25, 10, DEFAULT.alpha)


def test_race_configs_share_the_stream_and_keep_each_methods_own_settings():
    configs = race_configs(RaceRequest(steps=40, inner_steps=2, alpha=0.02))
    assert [c.algo for c in configs] == list(METHODS)
    assert {(c.seed, c.meta_batch, c.shots, c.steps, c.alpha) for c in configs} == {
        (SEED, 25, 10, 40, 0.02)
    }
    k = {c.algo: c.hyper().inner_steps for c in configs}
    assert k == {"maml": 2, "fomaml": 2, "reptile": 2, "imaml": 2, "pretrained": 0}
    own = {c.algo: c.hyper().inner_steps for c in race_configs(DEFAULT)}
    assert own == {"maml": 1, "fomaml": 1, "reptile": 5, "imaml": 10, "pretrained": 0}


def test_every_method_draws_the_same_tasks_in_the_same_order():
    runs = [Training(c) for c in race_configs(RaceRequest(steps=10))]
    for _ in range(3):
        peeked = [run.peek() for run in runs]
        batches = [run.sample() for run in runs]
        for batch, peek in zip(batches, peeked, strict=True):
            for name in ("xs", "ys", "xq", "yq"):
                assert torch.equal(getattr(batch, name), getattr(batches[0], name))
                assert torch.equal(getattr(peek, name), getattr(batch, name))


@pytest.mark.slow
def test_a_warm_run_is_cached_and_a_stopped_manager_stops_it():
    manager = JobManager(partial(training_events, omniglot=None))
    small = TrainConfig(steps=2, meta_batch=2, seed=7)
    job = manager.warm(small)
    assert job.status == "done" and manager.cache[small.model_dump_json()] is job
    long = TrainConfig(steps=20_000, meta_batch=2, seed=8)
    manager.stop()
    stopped = manager.warm(long)
    assert stopped.status == "cancelled" and long.model_dump_json() not in manager.cache


def post(client, body):
    return client.post("/api/race", json=body)


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"task": "omniglot"}, "task", "only first-order MAML on Omniglot"),
        ({"steps": 5}, "steps", "greater than or equal to 10"),
        ({"steps": 10**6}, "steps", "less than or equal to 2000"),
        ({"inner_steps": 11}, "inner_steps", "less than or equal to 10"),
        ({"alpha": 0.5}, "alpha", "less than or equal to 0.1"),
        ({"steps": "20"}, "steps", "valid integer"),
        ({"seed": 3}, "seed", "Extra inputs are not permitted"),
    ],
)
def test_bad_races_are_refused_naming_the_field(tmp_path, body, field, message):
    client = TestClient(create_app(Settings(data_dir=tmp_path)))
    response = post(client, body)
    assert response.status_code == 422
    assert f"{field}: " in response.json()["message"] and message in response.json()["message"]


def test_a_race_is_held_to_the_job_limits(tmp_path):
    client = TestClient(create_app(Settings(data_dir=tmp_path, job_max_steps=100)))
    response = post(client, {"steps": 200})
    assert response.status_code == 422
    assert "steps: Input should be less than or equal to 100" in response.json()["message"]


def test_a_busy_queue_refuses_the_whole_race(tmp_path):
    """Without its lifespan the app's workers never start, so queued jobs stay queued."""
    app = create_app(Settings(data_dir=tmp_path, jobs_per_minute=600))
    client = TestClient(app)
    for seed in range(4):
        single = {"algo": "maml", "steps": 10, "meta_batch": 2, "seed": 100 + seed}
        assert client.post("/api/jobs", json=single).status_code == 202
    response = post(client, {"steps": 10})
    assert response.status_code == 429
    assert response.headers["retry-after"] == "10"
    assert "starts its 5 jobs together" in response.json()["detail"]
    assert app.state.jobs.queue.qsize() == 4  # none of the five was queued


def test_a_race_counts_as_five_jobs_against_the_rate(tmp_path):
    client = TestClient(create_app(Settings(data_dir=tmp_path, jobs_per_minute=24)))  # burst 6
    assert post(client, {"steps": 10}).status_code == 202
    refused = post(client, {"steps": 10})
    assert refused.status_code == 429 and "too many training jobs" in refused.json()["detail"]


def first_events(base, job):
    """The job's events up to its ``start``; the stream then closes (the job is abandoned)."""
    return stream(base, job["events"], stop_after="start")


@pytest.mark.slow
def test_the_five_jobs_of_a_race_see_the_same_task_stream(tmp_path):
    with serving(server_settings(tmp_path)) as (base, _):
        response = httpx.post(base + "/api/race", json={"steps": 10}, timeout=120)
        assert response.status_code == 202, response.text
        race = response.json()
        assert [j["algo"] for j in race["jobs"]] == list(METHODS) and race["seed"] == SEED
        with ThreadPoolExecutor(len(METHODS)) as pool:
            streams = list(pool.map(lambda job: first_events(base, job), race["jobs"]))
    starts = [dict(events)["start"] for events in streams]
    assert [s["config"]["algo"] for s in starts] == list(METHODS)
    assert {
        (s["config"]["seed"], s["config"]["meta_batch"], s["config"]["shots"]) for s in starts
    } == {(SEED, 25, 10)}
    assert len({s["first_batch"] for s in starts}) == 1
    memory = {s["config"]["algo"]: s["memory_mb"] for s in starts}
    assert all(m > 0 for m in memory.values()) and memory["maml"] > memory["fomaml"]


@pytest.mark.slow
def test_the_warm_up_trains_the_default_race_and_it_replays_from_the_cache(tmp_path):
    with serving(server_settings(tmp_path, warm_race=True)) as (base, app):
        jobs = app.state.jobs
        keys = [c.model_dump_json() for c in race_configs(DEFAULT)]
        assert app.state.warmed.wait(3600)  # a few minutes; generous for a busy machine
        assert all(key in jobs.cache for key in keys)
        response = httpx.post(base + "/api/race", json={}, timeout=120)
        assert response.status_code == 202
        race = response.json()["jobs"]
        assert all(job["cached"] for job in race)
        for job, key in zip(race, keys, strict=True):
            events = stream(base, job["events"])
            assert [list(e) for e in events] == json.loads(json.dumps(jobs.cache[key].events))
            assert events[-1][0] == "done" and events[-1][1]["steps"] == DEFAULT.steps


@pytest.mark.slow
def test_a_race_nobody_watches_is_cancelled(tmp_path):
    with serving(server_settings(tmp_path)) as (base, app):
        race = httpx.post(base + "/api/race", json={"steps": 2000}, timeout=120).json()["jobs"]
        with ThreadPoolExecutor(
            len(METHODS)
        ) as pool:  # each watched for its first event, then left
            list(pool.map(lambda job: stream(base, job["events"], stop_after="queued"), race[2:]))
            list(pool.map(lambda job: stream(base, job["events"], stop_after="start"), race[:2]))
        records = [app.state.jobs.get(job["id"]) for job in race]
        deadline = time.monotonic() + 300  # seconds normally; generous for a busy machine
        while not all(r.finished for r in records) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [r.status for r in records] == ["cancelled"] * len(METHODS)
