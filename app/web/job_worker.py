"""Running one shared training job in a ``maml worker`` process (the Celery task's body).

:meth:`JobWorker.run` claims the job (only a queued job can be claimed, once), then runs the
same event stream as the in-process queue (:func:`app.web.streams.training_events`) and
appends each event to the job's Redis Stream. A watcher thread renews the worker's lease
every :data:`app.web.job_records.RENEW_SECONDS` and, five times a second, looks for a
cancellation or for nobody watching; either stops the run after its current piece of work,
as in :class:`app.web.job_queue.JobManager`. A finished sinusoid run leaves its parameters
and a cache entry for its configuration.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable

import redis

from app.web import job_records as records
from app.web.job_queue import Cancelled, Runner
from app.web.shared_jobs import config_from_json

log = logging.getLogger("app.web.job_worker")
LOOK_SECONDS = 0.2


class Watch:
    """The lease and the stop signal of one running job."""

    def __init__(self, worker: JobWorker, job_id: str, token: str):
        self.worker, self.client, self.job_id, self.token = worker, worker.client, job_id, token
        self.stop = threading.Event()
        self.done = threading.Event()
        self.reason = "cancelled"
        self.thread = threading.Thread(target=self.loop, name=f"watch-{job_id}", daemon=True)

    def loop(self) -> None:
        renewed = time.monotonic()
        while not self.done.wait(LOOK_SECONDS):
            try:
                if time.monotonic() - renewed >= records.RENEW_SECONDS:
                    renewed = time.monotonic()
                    lease = records.job_key(self.job_id, "lease")
                    renew = self.worker.scripts.renew
                    if not renew(keys=[lease], args=[self.token, records.LEASE_MS]):
                        self.halt(records.WORKER_LOST)
                cancel = self.client.get(records.job_key(self.job_id, "cancel"))
                if cancel is not None:
                    self.halt(cancel.decode())
                elif self.worker.abandoned(self.job_id):
                    self.halt("cancelled")
            except (redis.ConnectionError, redis.TimeoutError):
                log.warning("job %s: Redis did not answer; trying again", self.job_id)

    def halt(self, reason: str) -> None:
        if not self.stop.is_set():
            self.reason = reason
            self.stop.set()


class JobWorker:
    def __init__(self, redis_url: str, runner: Runner, abandon_after: float = 1.0):
        self.client = records.connect(redis_url)
        self.scripts = records.Scripts(self.client)
        self.runner = runner
        self.abandon_ms = int(abandon_after * 1000)

    def abandoned(self, job_id: str) -> bool:
        keys = [records.job_key(job_id, "watchers"), records.job_key(job_id)]
        return bool(self.scripts.abandoned(keys=keys, args=[self.abandon_ms]))

    def run(self, job_id: str) -> str:
        """Claim and run the job; what became of it (``not queued`` when it was not this
        worker's to run: cancelled, abandoned, or started before by a worker that died)."""
        key = records.job_key(job_id)
        if self.abandoned(job_id):
            self.scripts.cancel_job(job_id, "cancelled")
        token = uuid.uuid4().hex
        claim = [key, records.WAITING, records.job_key(job_id, "lease")]
        if not self.scripts.claim(keys=claim, args=[job_id, token, records.LEASE_MS]):
            log.info("job %s is not queued; skipped", job_id)
            return "not queued"
        config = config_from_json(self.client.hget(key, "config"))
        watch = Watch(self, job_id, token)
        watch.thread.start()
        started = time.monotonic()
        log.info("job %s started algo=%s steps=%d", job_id, config.algo, config.steps)
        try:
            status = self.stream(job_id, token, config, watch)
        finally:
            watch.done.set()
            watch.thread.join()
        log.info("job %s %s after %.2fs", job_id, status, time.monotonic() - started)
        return status

    def stream(self, job_id: str, token: str, config, watch: Watch) -> str:
        keys = [records.job_key(job_id, part) for part in ("", "events", "lease")]

        def emit(name: str, data: dict, final: str = "") -> bool:
            args = [token, *records.event_fields(name, data), records.STREAM_LENGTH, final]
            return self.scripts.emit(keys=keys, args=args + [records.KEEP_SECONDS]) is not None

        should_stop: Callable[[], bool] = watch.stop.is_set
        try:
            for name, data in self.runner(config, should_stop):
                if name == "result":
                    result = records.params_bytes(data["params"])
                    key = records.job_key(job_id, "result")
                    self.client.set(key, result, ex=records.KEEP_SECONDS)
                    continue
                if not emit(name, data, "done" if name == "done" else ""):
                    return "lost"  # another party ended the job (its lease lapsed)
                if name == "done":
                    cache = records.cache_key(config.model_dump_json())
                    self.client.set(cache, job_id, ex=records.KEEP_SECONDS)
                    return "done"
                if should_stop():
                    raise Cancelled
            raise RuntimeError("the run ended without a done event")
        except Cancelled:
            emit("error", {"message": watch.reason}, "cancelled")
            return "cancelled"
        except (redis.ConnectionError, redis.TimeoutError):
            log.exception("job %s: Redis went away; readers end it once its lease lapses", job_id)
            return "lost"
        except Exception as error:  # a failing run must end its stream, whatever the cause
            log.exception("job %s failed", job_id)
            emit("error", {"message": str(error) or type(error).__name__}, "error")
            return "error"
