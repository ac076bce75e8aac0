"""Training jobs computed in child processes, so that the web process's interpreter answers pages.

A training thread in the web process holds Python's interpreter lock in turns with the event
loop, whatever its CPU priority: pages waited for it while jobs trained. :class:`ProcessRunner`
is a :data:`app.web.job_queue.Runner` whose events are those of
:func:`app.web.streams.training_events`, computed in a child process instead of the calling
thread; the job queue around it (its workers, queue, cache, cancellation and streams) is
unchanged.

- A child serves one job at a time and is kept for the next. There is one per caller at a time
  (the queue's workers, the warm-up), started on demand or ahead of time (:meth:`prepare`),
  never by forking the threaded web process: by a fork server that has imported PyTorch and the
  engine once (:data:`PRELOAD`), so a new child is ready in milliseconds, or by spawning where
  there is no fork server.
- A child runs under Linux's idle scheduling policy and
  :data:`app.web.job_queue.TRAINING_NICENESS` levels below the web process (:func:`yield_cpu`),
  with the settings' PyTorch threads.
- Events come back through a pipe, one at a time as they are made. Once ``should_stop()``
  turns true the child's stop event is set, and the run stops at its next look at it, as in a
  thread: after at most one piece of work (:mod:`app.web.streams`). A job left early by its
  caller is stopped the same way, and its child is ready again once the run has ended.
- A run that raises ends with :class:`TrainingFailed` carrying its message (the child's
  traceback is its cause, for the log); a child that dies ends its job with
  :class:`ChildDied`, and the next job gets a new child.
- Omniglot is loaded once, by the web process (:class:`app.web.omniglot_source.OmniglotSource`);
  a child receives the data with its first Omniglot job.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.forkserver
import os
import pickle
import signal
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection

import torch

from app.meta.config import TrainConfig
from app.meta.tasks.omniglot import Omniglot
from app.settings import Settings
from app.web.job_queue import TRAINING_NICENESS, Cancelled
from app.web.streams import job_runner

# What the fork server imports once for every child: this module (PyTorch, the engine) and
# the module the optimisers import at their first step (about 3 s; see app.cli.worker.warm_up).
PRELOAD = ["app.web.process_runner", "torch._dynamo"]
POLL_SECONDS = 0.05  # how often a waiting caller looks at should_stop() and at the child
STOP_SECONDS = 60.0  # a child that has not ended a stopped run by then is killed
CLOSE_SECONDS = 5.0


class TrainingFailed(Exception):
    """The run raised in the child; the message is its exception's."""


class ChildTraceback(Exception):
    """The traceback of the child's exception, as text: the cause of :class:`TrainingFailed`."""

    def __str__(self) -> str:
        return self.args[0]


class ChildDied(Exception):
    """The child process ended in the middle of a job."""


def send(connection: Connection, message: object) -> None:
    """Plain pickles: tensors travel as bytes, not as shared memory that outlives a child."""
    connection.send_bytes(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))


def receive(connection: Connection) -> object:
    return pickle.loads(connection.recv_bytes())


def start_method() -> multiprocessing.context.BaseContext:
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return context


# the child's side


def serve(connection: Connection, stop, settings: Settings, niceness: int) -> None:
    """A child's life: runs each ``(config, omniglot data or None)`` it receives, sending
    ``("event", name, data)`` pairs and then ``("end",)``, ``("stopped",)`` or ``("failed",
    message, traceback)``, until the web process closes its end of the pipe."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the web process's to handle
    yield_cpu(niceness)
    torch.set_num_threads(settings.torch_threads)
    omniglot: list[Omniglot] = []
    runner = job_runner(settings, lambda: omniglot[0])
    while True:
        try:
            config, data = receive(connection)
        except EOFError:
            return
        if data is not None:
            omniglot[:] = [data]
        send(connection, train(connection, runner(config, stop.is_set)))


def yield_cpu(niceness: int) -> None:
    """Lower this process's CPU priority to ``niceness`` and, where Linux offers it, to the
    idle policy: a thread that answers a request then takes the CPU from it as soon as it
    wakes, and the training has what nothing else wants (niceness alone is capped at 19, so a
    web process that runs niced keeps little of its advantage)."""
    os.nice(max(0, niceness - os.nice(0)))
    with contextlib.suppress(AttributeError, OSError):  # not Linux, or not allowed
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))


def train(connection: Connection, events: Iterator[tuple[str, dict]]) -> tuple:
    """Sends the run's events; its last message. A pipe that breaks is not the run's failure:
    it ends the child."""
    while True:
        try:
            name, data = next(events)
        except StopIteration:
            return ("end",)
        except Cancelled:
            return ("stopped",)
        except Exception as error:  # a failing run must end its stream, whatever the cause
            return ("failed", str(error) or type(error).__name__, traceback.format_exc())
        send(connection, ("event", name, data))


# the web process's side


class Child:
    """One child process, its pipe and its stop event."""

    def __init__(self, context, settings: Settings, niceness: int):
        self.connection, their_end = context.Pipe()
        self.stop = context.Event()
        self.process = context.Process(
            target=serve,
            args=(their_end, self.stop, settings, niceness),
            name="training",
            daemon=True,
        )
        self.process.start()
        their_end.close()
        self.has_omniglot = False
        self.busy = False  # a run was sent whose last message has not been read

    def run(
        self, config: TrainConfig, omniglot: Omniglot | None, should_stop: Callable[[], bool]
    ) -> Iterator[tuple[str, dict]]:
        self.stop.clear()
        try:
            send(self.connection, (config, None if self.has_omniglot else omniglot))
        except OSError:
            raise ChildDied(self.ended()) from None
        self.has_omniglot |= omniglot is not None
        self.busy = True
        while (message := self.next(should_stop))[0] == "event":
            yield message[1], message[2]
        self.busy = False
        if message[0] == "stopped":
            raise Cancelled
        if message[0] == "failed":
            raise TrainingFailed(message[1]) from ChildTraceback(message[2])

    def next(self, should_stop: Callable[[], bool]) -> tuple:
        """The child's next message; sets its stop event once ``should_stop()`` is true."""
        while not self.connection.poll(POLL_SECONDS):
            if should_stop():
                self.stop.set()
            if not self.process.is_alive() and not self.connection.poll(0):
                raise ChildDied(self.ended())
        try:
            return receive(self.connection)
        except (EOFError, OSError):
            raise ChildDied(self.ended()) from None

    def settle(self) -> bool:
        """Reads to the end of a run its caller left early (its stop event is set): True when
        the child is then ready for another, False when it died or did not stop in time."""
        deadline = time.monotonic() + STOP_SECONDS
        try:
            while self.busy:
                if time.monotonic() > deadline:
                    return False
                if self.connection.poll(POLL_SECONDS):
                    self.busy = receive(self.connection)[0] == "event"
                elif not self.process.is_alive():
                    return False
        except (EOFError, OSError):
            return False
        return self.process.is_alive()

    def ended(self) -> str:
        self.process.join(1.0)
        code = self.process.exitcode
        how = f"exit code {code}"
        if code is not None and code < 0:
            how = f"killed by {signal.Signals(-code).name}"
        return f"the training process ended unexpectedly ({how}); the job could not finish"

    def close(self, timeout: float = CLOSE_SECONDS) -> None:
        """Ends the child: at once when it waits for a job (its pipe closes), else killed."""
        self.stop.set()
        self.connection.close()
        self.process.join(timeout)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()


class ProcessRunner:
    """A :data:`app.web.job_queue.Runner` that trains in child processes (module docstring)."""

    def __init__(self, settings: Settings, omniglot: Callable[[], Omniglot]):
        self.settings = settings
        self.omniglot = omniglot
        self.context = start_method()
        # the children's niceness: this (the web process's main) thread's, lowered
        self.niceness = os.getpriority(os.PRIO_PROCESS, 0) + TRAINING_NICENESS
        self.lock = threading.Lock()
        self.idle: list[Child] = []
        self.children: set[Child] = set()
        self.closed = False

    def __call__(
        self, config: TrainConfig, should_stop: Callable[[], bool]
    ) -> Iterator[tuple[str, dict]]:
        if should_stop():
            raise Cancelled
        omniglot = self.omniglot() if config.task == "omniglot" else None
        child = self.take()
        try:
            yield from child.run(config, omniglot, should_stop)
        finally:
            self.give_back(child)

    def start(self) -> None:
        """Start the fork server, which imports PyTorch and the engine in the background. It
        keeps the calling thread's CPU priority (the children lower theirs): called from a
        niced thread, its imports would wait behind any other work, and so would the first job."""
        if self.context.get_start_method() == "forkserver":
            multiprocessing.forkserver.ensure_running()

    def prepare(self, count: int) -> None:
        """Start children until there are ``count``, so that the first jobs need not wait for
        one (the first start also starts the fork server)."""
        while True:
            with self.lock:
                if self.closed or len(self.children) >= count:
                    return
            try:
                child = self.start_child()
            except Cancelled:  # closed meanwhile
                return
            self.give_back(child)

    def close(self) -> None:
        """End every child: the idle ones at once, those still running a job are killed (their
        callers' jobs end with :class:`ChildDied`). No child starts after this."""
        with self.lock:
            self.closed = True
            idle, self.idle = self.idle, []
            running = self.children.difference(idle)
            self.children.clear()
        for child in running:
            child.process.kill()
        for child in idle:
            child.close()

    def take(self) -> Child:
        """An idle child, one whose last run has ended first, or a new one."""
        with self.lock:
            if self.closed:
                raise Cancelled
            self.idle.sort(key=lambda child: child.busy)
            child = self.idle.pop(0) if self.idle else None
        if child is not None and child.settle():
            return child
        if child is not None:
            self.discard(child)
        return self.start_child()

    def give_back(self, child: Child) -> None:
        if child.busy:  # its caller left before the run ended: stop it (settled when taken)
            child.stop.set()
        with self.lock:
            keep = not self.closed and child in self.children and child.process.is_alive()
            if keep:
                self.idle.append(child)
        if not keep:
            self.discard(child)

    def start_child(self) -> Child:
        child = Child(self.context, self.settings, self.niceness)
        with self.lock:
            self.children.add(child)
            closed = self.closed
        if closed:  # closed while it started
            self.discard(child)
            raise Cancelled
        return child

    def discard(self, child: Child) -> None:
        with self.lock:
            self.children.discard(child)
        child.close(timeout=0)
