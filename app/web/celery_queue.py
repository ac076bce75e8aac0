"""The Celery application that carries training jobs from the web replicas to ``maml worker``.

A message is only a job id (the job itself is a record in Redis, :mod:`app.web.job_records`),
sent to the Redis broker of ``MAML_REDIS_URL``. It is acknowledged only when the job has
finished (``task_acks_late``), and a worker takes one message at a time
(``worker_prefetch_multiplier=1``; a worker busy with a job takes none, so no message waits
in a worker that might die). Until it is acknowledged the broker keeps it aside (kombu's
``unacked`` hash); a worker that dies leaves it there. Every idle worker looks for such
messages every :data:`RESTORE_SECONDS` and puts back in the queue those delivered more than
:data:`VISIBILITY_SECONDS` ago, so a job whose worker died between taking its message and
starting it runs on another worker within about 35 seconds (kombu's defaults, an hour and a
look every 100 seconds, are far beyond the minute this promises). The worker that gets a
message runs the job only if it is still queued: a job that had started is never run twice
(its stream has ended with an ``error`` event by then, once its worker's lease lapsed). The
message of a job that runs longer than :data:`VISIBILITY_SECONDS` is handed out again too,
once; the idle worker that gets it skips it the same way and acknowledges it.
"""

from __future__ import annotations

from celery import Celery

from app.web.job_records import TIMEOUT

TASK = "maml.train"
VISIBILITY_SECONDS = 30
RESTORE_SECONDS = 5


def celery_app(redis_url: str) -> Celery:
    app = Celery("maml", broker=redis_url, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=TIMEOUT,
        broker_transport_options={
            "visibility_timeout": VISIBILITY_SECONDS,
            "unacked_restore_interval": RESTORE_SECONDS,
            "unacked_restore_throttle": 1,  # every look scans (kombu's default: every 10th)
            # A worker that dies while it looks holds kombu's lock for this long, not 5 min.
            "unacked_mutex_expire": 3 * RESTORE_SECONDS,
            "socket_timeout": TIMEOUT,
            "socket_connect_timeout": TIMEOUT,
        },
        task_publish_retry_policy={
            "max_retries": 1,
            "interval_start": 0,
            "interval_step": 0.5,
            "interval_max": 0.5,
        },
        worker_hijack_root_logger=False,
    )
    return app
