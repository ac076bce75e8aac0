"""Several processes on loopback, as ``docker-compose.scale.yml`` runs them: two web replicas and
two ``maml worker`` processes sharing a real Redis and a real PostgreSQL.

A job posted to one replica streams from the other and resumes there exactly, also when the
replica it streamed from shuts down; a worker killed mid-job ends its stream with an
``error`` event, and a job whose worker died before starting it runs on another; quiz
answers and rate limits are shared, and an acknowledged answer survives a crash of
PostgreSQL; and with Redis or PostgreSQL gone their routes answer 503 with Retry-After while
the pages still answer.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from app.web.job_records import WORKER_LOST
from app.web.quiz_tasks import TaskTokens
from tests.conftest import free_port
from tests.services import Process, postgres_server, redis_server

pytestmark = pytest.mark.slow

JOB = {"task": "sinusoid", "algo": "fomaml", "steps": 200, "meta_batch": 4, "seed": 3}
QUIZ_PER_MINUTE = 4  # one answer per client at once, then one every 15 s
TIMEOUT = 120  # for any one answer: generous for a busy machine; a hang fails the test


class Cluster:
    def __init__(self, stack: ExitStack, folder: Path):
        self.stack = stack
        self.redis = stack.enter_context(redis_server())
        self.postgres = stack.enter_context(postgres_server())
        self.env = {
            "MAML_REDIS_URL": self.redis.url,
            "MAML_DATABASE_URL": self.postgres.url,
            "MAML_DATA_DIR": str(folder),  # shared, as a volume: one quiz key
            "MAML_QUIZ_ANSWERS_PER_MINUTE": str(QUIZ_PER_MINUTE),
            "MAML_FORWARDED_ALLOW_IPS": "127.0.0.1",  # each test poses as its own clients
            "MAML_LOG_LEVEL": "info",
        }
        self.webs, self.workers = [], []
        for i in range(2):
            self.webs.append(self.add_web(free_port(), folder / f"web{i}.log"))
            self.add_worker(folder / f"worker{i}.log")
        for web in self.webs:
            web.wait_for("Application startup complete")
        for worker in self.workers:
            worker.wait_for(r"ready\.")
        self.tokens = TaskTokens.load(folder / "quiz.key")

    def add_web(self, port: int, log: Path) -> Process:
        web = Process("serve", dict(self.env, MAML_PORT=str(port)), log)
        web.base = f"http://127.0.0.1:{port}"
        self.stack.callback(web.stop)
        return web

    def add_worker(self, log: Path) -> Process:
        worker = Process("worker", self.env, log)
        self.workers.append(worker)
        self.stack.callback(worker.stop)
        return worker


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    with ExitStack() as stack:
        yield Cluster(stack, tmp_path_factory.mktemp("cluster"))


def events(response) -> list[tuple[str | None, str, dict]]:
    """``(id, name, data)`` of each event of an open SSE response, until it ends."""
    out, entry = [], {}
    for line in response.iter_lines():
        if line.startswith(("id: ", "event: ", "data: ")):
            field, value = line.split(": ", 1)
            entry[field] = value
        elif line == "" and "event" in entry:
            out.append((entry.get("id"), entry["event"], json.loads(entry["data"])))
            entry = {}
            yield out[-1]


def start(base: str, config: dict) -> dict:
    response = httpx.post(base + "/api/jobs", json=config, timeout=TIMEOUT)
    assert response.status_code == 202, response.text
    return response.json()


def test_a_job_posted_to_one_replica_streams_from_the_other_and_resumes(cluster):
    a, b = (web.base for web in cluster.webs)
    job = start(a, JOB)
    with httpx.stream("GET", b + job["events"], timeout=TIMEOUT) as whole:
        with httpx.stream("GET", a + job["events"], timeout=TIMEOUT) as first:
            head = []
            for event in events(first):
                head.append(event)
                if event[1] == "progress":
                    break
        last_id = head[-1][0]
        with httpx.stream(
            "GET", b + job["events"], headers={"Last-Event-ID": last_id}, timeout=TIMEOUT
        ) as resumed:
            tail = list(events(resumed))
        everything = list(events(whole))
    assert head + tail == everything
    ids = [entry_id for entry_id, name, _ in everything if name != "queued"]
    assert len(set(ids)) == len(ids) and all(re.fullmatch(r"\d+-\d+", i) for i in ids)
    assert ids == sorted(ids, key=lambda i: tuple(map(int, i.split("-"))))
    assert everything[-1][1] == "done" and everything[0][1] == "start"
    # the same configuration again, from the other replica: replayed from the shared cache
    again = start(b, JOB)
    with httpx.stream("GET", a + again["events"], timeout=TIMEOUT) as replay:
        replayed = [(name, data) for _, name, data in events(replay)]
    assert replayed == [(name, data) for _, name, data in everything if name != "queued"]
    finetune = httpx.post(
        a + "/api/sinusoid/finetune",
        json={"amplitude": 2.0, "phase": 1.0, "xs": [0.5, 1.5], "models": [again["id"]]},
        timeout=TIMEOUT,
    )
    assert finetune.status_code == 200, finetune.text
    assert finetune.json()["models"][0]["title"] == "Your fomaml model"


def test_a_worker_killed_mid_job_ends_the_stream_with_an_error(cluster):
    a, b = (web.base for web in cluster.webs)
    job = start(a, dict(JOB, steps=20000, seed=4))
    with httpx.stream("GET", b + job["events"], timeout=TIMEOUT) as response:
        seen, stream = [], events(response)
        for event in stream:
            seen.append(event)
            if event[1] == "progress":
                break
        running = [w for w in cluster.workers if f"job {job['id']} started" in w.output()]
        assert len(running) == 1
        running[0].process.send_signal(signal.SIGKILL)
        seen += list(stream)
    assert seen[-1][1:] == ("error", {"message": WORKER_LOST})
    ids = [entry_id for entry_id, name, _ in seen if name != "queued"]
    assert len(set(ids)) == len(ids)
    cluster.workers.remove(running[0])
    replacement = cluster.add_worker(running[0].log.with_suffix(".2.log"))
    replacement.wait_for(r"ready\.")


# What a worker does with a message before it starts the job, and then it dies: it takes the
# job's message from the broker, as Celery's consumer does, and is killed before running it
# (messages handed out again for jobs that had started, which a worker skips, it acknowledges).
TAKE_AND_DIE = """
import os, signal, sys
from app.web.celery_queue import celery_app

with celery_app(sys.argv[1]).connection_for_read() as connection:
    queue = connection.SimpleQueue("celery")
    while True:
        message = queue.get(timeout=60)
        if message.payload[0][0] == sys.argv[2]:  # Celery's message: (args, kwargs, embed)
            break
        message.ack()
    print("took", sys.argv[2], flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_job_whose_worker_died_before_starting_it_runs_on_another(cluster):
    a, b = (web.base for web in cluster.webs)
    with ExitStack() as streams:

        def watch(job: dict):  # the stream stays open while its events are referenced
            response = httpx.stream("GET", b + job["events"], timeout=TIMEOUT)
            return events(streams.enter_context(response))

        busy = [start(a, dict(JOB, steps=20000, seed=seed)) for seed in (7, 8)]
        watching = [watch(other) for other in busy]
        for stream in watching:  # both workers run one: neither takes another message
            next(event for event in stream if event[1] == "progress")
        job = start(a, dict(JOB, seed=9))
        stream = watch(job)
        taker = subprocess.run(
            [sys.executable, "-c", TAKE_AND_DIE, cluster.redis.url, job["id"]],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
        assert taker.returncode == -signal.SIGKILL and taker.stdout == f"took {job['id']}\n"
        for other in busy:
            assert httpx.delete(a + "/api/jobs/" + other["id"], timeout=TIMEOUT).status_code == 200
        seen = list(stream)
    assert seen[-1][1] == "done", seen[-1]
    assert [name for _, name, _ in seen].count("start") == 1
    assert sum(f"job {job['id']} started" in w.output() for w in cluster.workers) == 1


def test_a_replica_that_stops_leaves_its_streams_to_the_others(cluster):
    a, b = cluster.webs
    job = start(b.base, dict(JOB, steps=1000, seed=6))
    with httpx.stream("GET", a.base + job["events"], timeout=TIMEOUT) as response:
        head, stream = [], events(response)
        for event in stream:
            head.append(event)
            if event[1] == "progress":
                break
        a.process.send_signal(signal.SIGTERM)
        head += list(stream)  # the stream just ends: the job goes on
    assert a.process.wait(TIMEOUT) in (0, -signal.SIGTERM)
    assert head[-1][1] not in ("done", "error")
    resumed = {"Last-Event-ID": head[-1][0]}
    with httpx.stream("GET", b.base + job["events"], headers=resumed, timeout=TIMEOUT) as response:
        tail = list(events(response))
    assert tail[-1][1] == "done"
    ids = [entry_id for entry_id, name, _ in head + tail if name != "queued"]
    assert len(set(ids)) == len(ids)
    port = a.base.rsplit(":", 1)[1]
    cluster.webs[0] = cluster.add_web(int(port), a.log.with_suffix(".2.log"))
    cluster.webs[0].wait_for("Application startup complete")


def answer(base: str, token: str, client: str) -> httpx.Response:
    return httpx.post(
        base + "/api/quiz/answer",
        json={"task": token, "choice": 0, "ms": 1000},
        headers={"X-Forwarded-For": client},
        timeout=TIMEOUT,
    )


def test_quiz_answers_through_both_replicas_count_in_either(cluster):
    before = httpx.get(cluster.webs[0].base + "/api/quiz/stats", timeout=TIMEOUT).json()
    for i, web in enumerate(cluster.webs):
        for seed in (100 + 2 * i, 101 + 2 * i):
            token = cluster.tokens.sign(5, seed)
            assert answer(web.base, token, f"10.0.1.{seed}").status_code == 200
    taken = cluster.tokens.sign(5, 100)
    assert answer(cluster.webs[1].base, taken, "10.0.1.9").status_code == 409
    for web in cluster.webs:
        stats = httpx.get(web.base + "/api/quiz/stats", timeout=TIMEOUT).json()
        assert stats["5"]["answers"] == before["5"]["answers"] + 4


def test_an_acknowledged_quiz_answer_survives_a_crash_of_postgres(cluster):
    a, b = (web.base for web in cluster.webs)

    def answers(base: str) -> int:  # a broken connection answers 503 once, then reconnects
        for _ in range(TIMEOUT * 10):
            response = httpx.get(base + "/api/quiz/stats", timeout=TIMEOUT)
            if response.status_code != 503:
                break
            time.sleep(0.1)
        assert response.status_code == 200, response.text
        return response.json()["5"]["answers"]

    before = answers(a)
    token = cluster.tokens.sign(5, 300)
    assert answer(a, token, "10.0.3.1").status_code == 200  # acknowledged
    cluster.postgres.crash()
    cluster.postgres.start()
    assert [answers(a), answers(b)] == [before + 1] * 2
    assert answer(b, token, "10.0.3.2").status_code == 409  # the task is answered


def test_the_rate_limit_holds_across_replicas(cluster):
    a, b = (web.base for web in cluster.webs)
    seeds = iter(range(1000, 2000))
    codes = []
    while not codes or codes[-1] == 200:
        codes.append(answer(a, cluster.tokens.sign(5, next(seeds)), "10.0.2.1").status_code)
    assert codes[0] == 200 and codes[-1] == 429
    # the other replica counts the same budget: no answer from this client there either
    refused = answer(b, cluster.tokens.sign(5, next(seeds)), "10.0.2.1")
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
    assert answer(b, cluster.tokens.sign(5, next(seeds)), "10.0.2.2").status_code == 200


def test_without_redis_or_postgres_the_routes_answer_503_and_the_pages_200(cluster):
    a, b = (web.base for web in cluster.webs)
    cluster.redis.stop()
    response = httpx.post(a + "/api/jobs", json=JOB, timeout=TIMEOUT)
    assert response.status_code == 503 and int(response.headers["retry-after"]) > 0
    assert "unavailable" in response.json()["detail"]
    assert httpx.get(b + "/api/jobs/" + "0" * 32 + "/events", timeout=TIMEOUT).status_code == 503
    assert httpx.get(a + "/", timeout=TIMEOUT).status_code == 200
    assert httpx.get(b + "/api/quiz/stats", timeout=TIMEOUT).status_code == 200
    cluster.postgres.stop()
    stats = httpx.get(b + "/api/quiz/stats", timeout=TIMEOUT)
    assert stats.status_code == 503 and int(stats.headers["retry-after"]) > 0
    assert httpx.get(b + "/maml", timeout=TIMEOUT).status_code == 200
    cluster.redis.start()  # the same port: the replicas reconnect by themselves
    assert start(b, dict(JOB, seed=5))["id"]
