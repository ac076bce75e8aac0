"""Training jobs shared by every web replica: queued on Celery, their events in Redis Streams.

:class:`SharedJobs` answers the routers as :class:`app.web.job_queue.JobManager` does
(``submit``, ``get``, ``cancel``, ``position``, ``events``, ``cancel_all``) when
``MAML_REDIS_URL`` is set, but runs nothing itself: a job is a record in Redis
(:mod:`app.web.job_records`) and a Celery message that one ``maml worker`` process takes
(:mod:`app.web.job_worker`). Any replica can therefore stream any job: it reads the job's
stream with ``XREAD`` from the entry after the ``Last-Event-ID`` it is given, so a
reconnecting ``EventSource`` resumes exactly, wherever the load balancer sends it. While a
stream is open it counts among the job's watchers; a second after the last one closes, the
worker cancels the job. A stream that finds the job running
without a live worker lease ends it with an ``error`` event that says the worker stopped.

When this replica shuts down, its streams simply end (no ``error`` event): the jobs go on,
and the browsers reconnect through the load balancer to another replica.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import anyio
import kombu.exceptions
import redis

from app.meta.config import AnyConfig, TrainConfig, config_from_dict
from app.meta.params import Params
from app.web import job_records as records
from app.web.celery_queue import TASK, celery_app
from app.web.job_queue import QueueFull
from app.web.unavailable import Unavailable

JOB_ID = re.compile(r"[0-9a-f]{32}")
ENTRY_ID = re.compile(r"\d{1,20}-\d{1,20}")
BLOCK_MS = 250  # one XREAD waits at most this long, then the stream looks around
READ_COUNT = 100


def config_from_json(text: str | bytes) -> AnyConfig:
    return config_from_dict(json.loads(text))


class SharedJob:
    """What the routers read of a job: its id, configuration, status when it was looked up,
    and (for a finished sinusoid run) its trained parameters, fetched when first asked for."""

    def __init__(self, jobs: SharedJobs, job_id: str, config: TrainConfig, status: str):
        self.jobs, self.id, self.config, self.status = jobs, job_id, config, status
        self.fetched, self.params = False, None

    @property
    def finished(self) -> bool:
        return self.status in records.FINISHED

    @property
    def result(self) -> Params | None:
        if not self.fetched:
            data = self.jobs.client.get(records.job_key(self.id, "result"))
            self.params = records.params_from(data) if data is not None else None
            self.fetched = True
        return self.params


class SharedJobs:
    def __init__(
        self,
        redis_url: str,
        *,
        queue_length: int = 8,
        abandon_after: float = 1.0,
    ):
        self.url = redis_url
        self.client = records.connect(redis_url)
        self.scripts = records.Scripts(self.client)
        self.celery = celery_app(redis_url)
        self.queue_length = queue_length
        self.abandon_ms = int(abandon_after * 1000)
        self.stopping = threading.Event()
        self.readers: dict[asyncio.AbstractEventLoop, tuple] = {}

    # lifecycle
    def start(self) -> None:
        """Nothing to start: the workers are other processes."""

    def cancel_all(self, reason: str) -> None:
        """End this replica's streams (the jobs go on; their readers reconnect elsewhere)."""
        self.stopping.set()

    def stop(self, timeout: float = 5.0) -> None:
        self.stopping.set()
        self.client.close()

    # requests
    def submit(self, config: TrainConfig) -> SharedJob:
        text = config.model_dump_json()
        job_id = uuid.uuid4().hex
        cached = self.client.get(records.cache_key(text))
        if cached is not None and self.replay(cached.decode(), job_id, text):
            return SharedJob(self, job_id, config, "done")
        keys = [records.job_key(job_id), records.WAITING, records.job_key(job_id, "watchers")]
        now_ms = int(time.time() * 1000)
        args = [job_id, text, now_ms, self.queue_length, records.CONNECT_GRACE_MS]
        if not self.scripts.submit(keys=keys, args=args + [records.KEEP_SECONDS]):
            raise QueueFull
        try:
            self.celery.send_task(TASK, args=[job_id])
        except kombu.exceptions.OperationalError:
            self.cancel(SharedJob(self, job_id, config, "queued"), "the job queue is unavailable")
            raise Unavailable("the job queue") from None
        return SharedJob(self, job_id, config, "queued")

    def submit_all(self, configs: list[TrainConfig]) -> list[SharedJob]:
        """Every configuration or none (a race's jobs): :class:`QueueFull` when the shared
        queue has no room for those the cache cannot answer; should other replicas fill it
        meanwhile, the jobs already queued are cancelled and the whole is refused."""
        texts = [config.model_dump_json() for config in configs]
        needed = sum(self.client.get(records.cache_key(text)) is None for text in texts)
        if needed > self.queue_length - self.client.zcard(records.WAITING):
            raise QueueFull
        jobs: list[SharedJob] = []
        try:
            for config in configs:
                jobs.append(self.submit(config))
        except QueueFull:
            for job in jobs:
                self.cancel(job)
            raise
        return jobs

    def replay(self, source: str, job_id: str, text: str) -> bool:
        """Copy the finished job ``source``'s events and result into a new finished job."""
        entries = self.client.xrange(records.job_key(source, "events"))
        if not entries or entries[-1][1][b"event"] != b"done":
            return False
        keep, events = records.KEEP_SECONDS, records.job_key(job_id, "events")
        with self.client.pipeline(transaction=True) as pipe:
            pipe.hset(
                records.job_key(job_id),
                mapping={"config": text, "status": "done", "created": int(time.time() * 1000)},
            )
            pipe.expire(records.job_key(job_id), keep)
            for _, fields in entries:
                pipe.xadd(events, fields, maxlen=records.STREAM_LENGTH, approximate=True)
            pipe.expire(events, keep)
            pipe.copy(records.job_key(source, "result"), records.job_key(job_id, "result"))
            pipe.expire(records.job_key(job_id, "result"), keep)
            pipe.execute()
        return True

    def get(self, job_id: str) -> SharedJob | None:
        if not JOB_ID.fullmatch(job_id):
            return None
        config, status = self.client.hmget(records.job_key(job_id), ["config", "status"])
        if config is None:
            return None
        return SharedJob(self, job_id, config_from_json(config), status.decode())

    def cancel(self, job: SharedJob, reason: str = "cancelled") -> None:
        if self.scripts.cancel_job(job.id, reason) == b"queued":
            job.status = "cancelled"

    def position(self, job: SharedJob) -> int:
        """1-based place in the queue of every replica (0 once it runs)."""
        rank = self.client.zrank(records.WAITING, job.id)
        return 0 if rank is None else rank + 1

    # streams
    def reader(self):
        """This event loop's asyncio client and its scripts."""
        loop = asyncio.get_running_loop()
        if loop not in self.readers:
            client = records.connect(self.url, asynchronous=True)
            self.readers[loop] = (client, records.Scripts(client))
        return self.readers[loop]

    async def events(
        self,
        job: SharedJob,
        last_event_id: str | None,
        disconnected: Callable[[], Awaitable[bool]],
    ) -> AsyncIterator[tuple[str | None, str, dict]]:
        """The job's events as ``(entry id, name, data)`` after ``last_event_id`` (an entry
        id; anything else: from the start) until ``done`` or ``error``, with a ``queued``
        event (id None) whenever its place in the queue changes. Redis going away ends the
        stream; the reconnecting client then gets 503 until it is back."""
        client, scripts = self.reader()
        last = last_event_id if last_event_id and ENTRY_ID.fullmatch(last_event_id) else "0-0"
        keys = {name: records.job_key(job.id, name) for name in ("events", "watchers", "lease")}
        watch = [keys["watchers"], records.job_key(job.id)]
        try:
            await scripts.watch(keys=watch, args=[1, records.WATCHERS_TTL_MS])
        except (redis.ConnectionError, redis.TimeoutError):
            return
        position = None
        try:
            while not self.stopping.is_set():
                await scripts.watch(keys=watch, args=[0, records.WATCHERS_TTL_MS])
                reply = await client.xread({keys["events"]: last}, count=READ_COUNT, block=BLOCK_MS)
                for _, entries in reply:
                    for entry_id, fields in entries:
                        last = entry_id.decode()
                        name = fields[b"event"].decode()
                        yield last, name, json.loads(fields[b"data"])
                        if name in ("done", "error"):
                            return
                if reply:
                    continue
                status = await client.hget(records.job_key(job.id), "status")
                status = status.decode() if status is not None else "error"
                if status in records.FINISHED:
                    more = await client.xread({keys["events"]: last}, count=1)
                    if not more:
                        return  # its end is behind this reader (or expired)
                elif status == "queued":
                    rank = await client.zrank(records.WAITING, job.id)
                    now = 0 if rank is None else rank + 1
                    if now != position:
                        position = now
                        yield None, "queued", {"position": now}
                else:
                    data = records.event_fields("error", {"message": records.WORKER_LOST})[1]
                    await scripts.reap(
                        keys=[records.job_key(job.id), keys["events"], keys["lease"]],
                        args=[data, records.STREAM_LENGTH, records.KEEP_SECONDS],
                    )
                if await disconnected():
                    return
        except (redis.ConnectionError, redis.TimeoutError):
            return
        finally:
            # A replica that shuts down leaves its streams counted (until the count lapses), so
            # that the job goes on while the browsers reconnect to another replica.
            if not self.stopping.is_set():
                with anyio.CancelScope(shield=True), contextlib.suppress(redis.RedisError):
                    await scripts.watch(keys=watch, args=[-1, records.WATCHERS_TTL_MS])
