"""Training jobs: a bounded pool of worker threads, a bounded queue, cancellation, a cache.

A job's events are an append-only list of ``(name, data)`` pairs that any number
of streams read from the start, so a late subscriber (or a reconnecting
``EventSource``) misses nothing. A job nobody watches is cancelled: one second
after its last watcher leaves, or ``connect_grace`` seconds after it was created
if nobody ever connected. Finished runs are cached by their configuration: the
same configuration is answered by replaying the same events. Several jobs can be admitted
together or not at all (:meth:`JobManager.submit_all`), and a configuration can be run into the
cache ahead of any request (:meth:`JobManager.warm`). Training runs at a lower CPU priority than
the threads that answer requests (:func:`yield_to_requests`), so pages stay quick while jobs
train. The runner does the training: the web app's
(:class:`app.web.process_runner.ProcessRunner`) computes it in child processes, so that the
workers only pass its events on and the interpreter lock stays with the requests.
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field

from app.meta.config import TrainConfig

log = logging.getLogger("app.web.job_queue")

Runner = Callable[[TrainConfig, Callable[[], bool]], Iterator[tuple[str, dict]]]
POLL_SECONDS = 0.05
TRAINING_NICENESS = 10  # added to a training thread's niceness: the requests come first


def yield_to_requests() -> None:
    """Lower the calling thread's CPU priority by :data:`TRAINING_NICENESS`. On Linux a
    thread has a niceness of its own (``setpriority`` on its thread id), so this leaves the
    event loop and the request threads of the same process at their priority. Elsewhere, or
    where it is not allowed, nothing changes."""
    try:
        thread = threading.get_native_id()
        niceness = os.getpriority(os.PRIO_PROCESS, thread)
        os.setpriority(os.PRIO_PROCESS, thread, niceness + TRAINING_NICENESS)
    except (AttributeError, OSError):
        pass


class QueueFull(Exception):
    """No room in the queue; try again later."""


class Cancelled(Exception):
    """The job was cancelled or abandoned while running."""


@dataclass
class Job:
    id: str
    config: TrainConfig
    events: list[tuple[str, dict]] = field(default_factory=list)
    status: str = "queued"  # queued, running, done, error, cancelled
    created: float = field(default_factory=time.monotonic)
    watchers: int = 0
    last_watched: float | None = None
    result: object = None  # whatever the runner leaves behind (the trained parameters)
    reason: str = "cancelled"  # the message of the error event that ends a cancelled job
    cancel: threading.Event = field(default_factory=threading.Event)

    @property
    def finished(self) -> bool:
        return self.status in ("done", "error", "cancelled")

    def emit(self, name: str, data: dict) -> None:
        self.events.append((name, data))


class JobManager:
    def __init__(
        self,
        runner: Runner,
        *,
        workers: int = 2,
        queue_length: int = 8,
        cache_size: int = 64,
        abandon_after: float = 1.0,
        connect_grace: float = 10.0,
        keep_finished: int = 256,
    ):
        self.runner = runner
        self.workers = workers
        self.queue: queue.Queue[Job] = queue.Queue(maxsize=queue_length)
        self.cache: OrderedDict[str, Job] = OrderedDict()
        self.cache_size = cache_size
        self.abandon_after = abandon_after
        self.connect_grace = connect_grace
        self.keep_finished = keep_finished
        self.jobs: OrderedDict[str, Job] = OrderedDict()
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []

    # lifecycle
    def start(self) -> None:
        for i in range(self.workers):
            thread = threading.Thread(target=self._work, name=f"job-worker-{i}", daemon=True)
            thread.start()
            self.threads.append(thread)

    def cancel_all(self, reason: str) -> None:
        """Take no more work and cancel every job; each stream ends with an ``error`` event."""
        self.stopping.set()
        with self.lock:
            jobs = [job for job in self.jobs.values() if not job.finished]
        for job in jobs:
            self.cancel(job, reason)

    def stop(self, timeout: float = 5.0) -> None:
        """Cancel everything and wait for the workers to finish."""
        self.cancel_all("the server is shutting down")
        for thread in self.threads:
            thread.join(timeout)
        with self.lock:
            for job in self.jobs.values():
                if not job.finished:
                    job.emit("error", {"message": "the server is shutting down"})
                    job.status = "cancelled"

    # requests
    def submit(self, config: TrainConfig) -> Job:
        with self.lock:
            return self._submit(config)

    def submit_all(self, configs: list[TrainConfig]) -> list[Job]:
        """Submit every configuration or none: :class:`QueueFull` unless the queue has room
        for all those the cache cannot answer at once (a race's jobs start together)."""
        with self.lock:
            needed = sum(c.model_dump_json() not in self.cache for c in configs)
            if needed > self.queue.maxsize - self.queue.qsize():
                self._release_abandoned()
            if needed > self.queue.maxsize - self.queue.qsize():
                raise QueueFull
            return [self._submit(config) for config in configs]

    def warm(self, config: TrainConfig) -> Job:
        """Run ``config`` in the calling thread, outside the workers, and cache it: the warm-up
        of a configuration the pages ask for first. It stops when the manager stops."""
        job = Job(uuid.uuid4().hex, config, watchers=1)  # the server itself watches it
        self._run(job)
        return job

    def get(self, job_id: str) -> Job | None:
        with self.lock:
            return self.jobs.get(job_id)

    def cancel(self, job: Job, reason: str = "cancelled") -> None:
        """Stop ``job``: a running one at its next step, a waiting one now, its place in the
        queue given back at once (not when a worker would have reached it)."""
        job.reason = reason
        job.cancel.set()
        if job.status == "queued":
            job.status = "cancelled"
            job.emit("error", {"message": reason})
            self._dequeue(job)

    def position(self, job: Job) -> int:
        """1-based place in the queue (0 once it runs)."""
        with self.queue.mutex:
            waiting = [j for j in self.queue.queue if not j.cancel.is_set()]
        return waiting.index(job) + 1 if job in waiting else 0

    async def events(
        self, job: Job, last_event_id: str | None, disconnected: Callable[[], Awaitable[bool]]
    ) -> AsyncIterator[tuple[int | None, str, dict]]:
        """The job's events as ``(id, name, data)`` after ``last_event_id`` (the index of an
        event; missing, negative or not a number: from the start) until the last one, with a
        ``queued`` event (id None) whenever its place in the queue changes."""
        try:
            sent = max(0, int(last_event_id or "-1") + 1)
        except ValueError:
            sent = 0
        self.attach(job)
        position = None
        try:
            while True:
                while sent < len(job.events):
                    name, data = job.events[sent]
                    yield sent, name, data
                    sent += 1
                if job.finished and sent >= len(job.events):
                    return
                if job.status == "queued":
                    now = self.position(job)
                    if now != position:
                        position = now
                        yield None, "queued", {"position": now}
                if await disconnected():
                    return
                await asyncio.sleep(POLL_SECONDS)
        finally:
            self.detach(job)

    def attach(self, job: Job) -> None:
        with self.lock:
            job.watchers += 1

    def detach(self, job: Job) -> None:
        with self.lock:
            job.watchers -= 1
            job.last_watched = time.monotonic()

    def abandoned(self, job: Job) -> bool:
        if job.watchers > 0:
            return False
        now = time.monotonic()
        if job.last_watched is None:
            return now - job.created > self.connect_grace
        return now - job.last_watched > self.abandon_after

    # internals
    def _dequeue(self, job: Job) -> None:
        with self.queue.mutex:
            if job in self.queue.queue:
                self.queue.queue.remove(job)
                self.queue.not_full.notify()

    def _release_abandoned(self) -> None:
        """Cancel the waiting jobs that nobody watches any more, freeing their places."""
        with self.queue.mutex:
            waiting = list(self.queue.queue)
        for job in waiting:
            if self.abandoned(job):
                self.cancel(job)

    def _submit(self, config: TrainConfig) -> Job:
        """:meth:`submit` under the lock: a replay of the cached run, or a new queued job."""
        key = config.model_dump_json()
        cached = self.cache.get(key)
        if cached is not None:
            self.cache.move_to_end(key)
            job = Job(uuid.uuid4().hex, config, list(cached.events), "done", result=cached.result)
            self._remember(job)
            return job
        job = Job(uuid.uuid4().hex, config)
        try:
            self.queue.put_nowait(job)
        except queue.Full:
            self._release_abandoned()
            try:
                self.queue.put_nowait(job)
            except queue.Full:
                raise QueueFull from None
        self._remember(job)
        return job

    def _remember(self, job: Job) -> None:
        self.jobs[job.id] = job
        finished = [j for j in self.jobs.values() if j.finished and j is not job]
        for old in finished[: max(0, len(self.jobs) - self.keep_finished)]:
            del self.jobs[old.id]

    def _work(self) -> None:
        yield_to_requests()
        while not self.stopping.is_set():
            try:
                job = self.queue.get(timeout=0.1)
            except queue.Empty:
                continue
            if job.cancel.is_set() or self.abandoned(job):
                if not job.finished:
                    self.cancel(job)
                continue
            self._run(job)

    def _run(self, job: Job) -> None:
        job.status = "running"
        started = time.monotonic()
        log.info("job %s started algo=%s steps=%d", job.id, job.config.algo, job.config.steps)

        def should_stop() -> bool:
            return job.cancel.is_set() or self.stopping.is_set() or self.abandoned(job)

        try:
            for name, data in self.runner(job.config, should_stop):
                if name == "result":
                    job.result = data["params"]
                    continue
                job.emit(name, data)
                if should_stop():
                    raise Cancelled
        except Cancelled:
            job.status = "cancelled"
            job.emit("error", {"message": job.reason})
        except Exception as error:  # a failing run must end its stream, whatever the cause
            log.exception("job %s failed", job.id)
            job.status = "error"
            job.emit("error", {"message": str(error) or type(error).__name__})
        else:
            job.status = "done"
            with self.lock:
                self.cache[job.config.model_dump_json()] = job
                while len(self.cache) > self.cache_size:
                    self.cache.popitem(last=False)
        log.info("job %s %s after %.2fs", job.id, job.status, time.monotonic() - started)
