"""Training in child processes (:mod:`app.web.process_runner`): the events of a run in a thread,
a failure's message, cancellation stopping the child, its priority, and a killed child replaced."""

import os
import signal
import time

import pytest
import torch

from app.meta.config import TrainConfig
from app.settings import Settings
from app.web.job_queue import TRAINING_NICENESS, JobManager
from app.web.omniglot_source import OmniglotSource
from app.web.process_runner import ChildTraceback, ProcessRunner, TrainingFailed
from app.web.streams import job_runner

SMALL = TrainConfig(steps=20, meta_batch=2, seed=4)
LONG = TrainConfig(steps=20_000, meta_batch=2, seed=6)
TIMES = ("seconds", "step_ms")  # how long the steps took: the only numbers a run may vary in


@pytest.fixture
def runner():
    settings = Settings()
    runner = ProcessRunner(settings, OmniglotSource(settings).get)  # sinusoids never ask
    yield runner
    runner.close()


@pytest.fixture
def jobs(runner):
    manager = JobManager(runner, workers=1)
    manager.start()
    yield manager
    manager.stop()


def timeless(events: list[tuple[str, dict]]) -> list[tuple[str, dict]]:
    """The events without their durations, the trained parameters as lists."""
    return [
        (name, {k: v.tolist() for k, v in data["params"].items()})
        if name == "result"
        else (name, {k: v for k, v in data.items() if k not in TIMES})
        for name, data in events
    ]


def wait_until(condition, what: str) -> None:
    deadline = time.monotonic() + 300  # seconds normally; generous for a busy machine
    while not condition():
        assert time.monotonic() < deadline, f"never {what}"
        time.sleep(0.02)


def running(jobs: JobManager, config: TrainConfig):
    job = jobs.submit(config)
    jobs.attach(job)
    wait_until(lambda: any(name == "progress" for name, _ in job.events), "trained")
    return job


def test_a_child_streams_the_events_of_the_same_run_in_a_thread(runner):
    threads = torch.get_num_threads()
    torch.set_num_threads(runner.settings.torch_threads)  # as the web process does
    try:
        here = list(job_runner(runner.settings, runner.omniglot)(SMALL, lambda: False))
    finally:
        torch.set_num_threads(threads)
    there = list(runner(SMALL, lambda: False))
    assert [name for name, _ in there] == [name for name, _ in here]
    assert timeless(there) == timeless(here)


def test_a_run_that_raises_in_the_child_raises_its_message_here(runner):
    diverging = TrainConfig(steps=30, meta_batch=4, alpha=1.0, inner_steps=10, seed=31)
    with pytest.raises(TrainingFailed, match="meta-loss became nan") as raised:
        list(runner(diverging, lambda: False))
    assert isinstance(raised.value.__cause__, ChildTraceback)
    assert "Traceback" in str(raised.value.__cause__)


def test_a_cancelled_job_stops_its_child_which_then_runs_the_next_job(jobs, runner):
    job = running(jobs, LONG)
    (child,) = runner.children
    jobs.cancel(job)
    wait_until(lambda: job.finished, "finished")
    assert job.status == "cancelled" and job.events[-1] == ("error", {"message": "cancelled"})
    after = jobs.submit(SMALL)
    jobs.attach(after)
    wait_until(lambda: after.finished, "finished")
    assert after.status == "done"
    assert runner.children == {child} and child.process.is_alive()  # it ended the run itself


def test_a_killed_child_ends_its_job_with_an_error_and_the_next_job_runs(jobs, runner):
    job = running(jobs, LONG)
    (child,) = runner.children
    own = os.getpriority(os.PRIO_PROCESS, 0)
    assert os.getpriority(os.PRIO_PROCESS, child.process.pid) == min(19, own + TRAINING_NICENESS)
    assert os.sched_getscheduler(child.process.pid) == os.SCHED_IDLE  # the requests come first
    os.kill(child.process.pid, signal.SIGKILL)
    wait_until(lambda: job.finished, "finished")
    name, data = job.events[-1]
    assert job.status == "error" and name == "error"
    assert "the training process ended unexpectedly (killed by SIGKILL)" in data["message"]
    after = jobs.submit(SMALL)
    jobs.attach(after)
    wait_until(lambda: after.finished, "finished")
    assert after.status == "done" and after.events[-1][0] == "done"
    assert child not in runner.children


def test_closing_ends_every_child(runner):
    runner.prepare(2)
    children = set(runner.children)
    assert len(children) == 2
    runner.close()
    assert not any(child.process.is_alive() for child in children)
