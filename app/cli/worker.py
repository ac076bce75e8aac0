"""``maml worker``: a training worker for web replicas that share a Redis (``MAML_REDIS_URL``).

It takes training jobs from the Celery queue one at a time (Celery's ``solo`` pool: the job
runs in this process, on ``MAML_TORCH_THREADS`` threads) and streams their events to Redis,
where any web replica reads them. Run as many as the machines have cores to spare, on any
machine that reaches the Redis; each needs the app's code, its models and Omniglot, as
``maml serve`` does. SIGTERM lets the running job finish first; a worker that dies mid-job
(SIGKILL, a lost machine) ends that job with an ``error`` event within about ten seconds.
"""

import argparse
import logging
import os
import socket
import sys

import torch

from app.meta.config import TrainConfig
from app.meta.training import Training
from app.settings import Settings
from app.web.celery_queue import TASK, celery_app
from app.web.job_worker import JobWorker
from app.web.main import LOG_FORMAT
from app.web.omniglot_source import OmniglotSource
from app.web.streams import job_runner


def warm_up() -> None:
    """Pay PyTorch's one-time lazy imports (the optimisers pull in torch._dynamo, about 3 s)
    before the first job rather than during it."""
    Training(TrainConfig(steps=1, meta_batch=2)).meta_step()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="maml worker",
        description=__doc__.split("\n")[0],
        epilog="Every setting is an environment variable MAML_*: see the README's table.",
    )
    parser.add_argument(
        "--name",
        default=f"maml-{os.getpid()}@{socket.gethostname()}",
        help="the worker's name in Celery's logs (default: maml-PID@HOST)",
    )
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    if not settings.redis_url:
        print("maml worker: set MAML_REDIS_URL to the web replicas' Redis", file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.log_level.upper(), format=LOG_FORMAT)
    torch.set_num_threads(settings.torch_threads)
    omniglot = OmniglotSource(settings)
    omniglot.start()
    warm_up()
    worker = JobWorker(
        settings.redis_url, job_runner(settings, omniglot.get), settings.job_abandon_seconds
    )
    app = celery_app(settings.redis_url)
    app.task(name=TASK)(worker.run)
    app.worker_main(
        [
            "worker",
            "--pool=solo",
            "--concurrency=1",
            f"--hostname={args.name}",
            f"--loglevel={settings.log_level.upper()}",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
    )
    return 0
