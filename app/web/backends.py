"""Where the web app keeps what its replicas must share, chosen by the settings.

By default everything lives in this process: the job queue and its streams
(:class:`app.web.job_queue.JobManager`, training in this process's children), the rate
limits (:class:`app.web.ratelimit.RateLimiter`) and the quiz answers in SQLite
(:class:`app.web.quiz_store.AnswerStore`). ``MAML_REDIS_URL``
moves the jobs to Celery workers and Redis Streams (:class:`app.web.shared_jobs.SharedJobs`)
and the rate limits to Redis; ``MAML_DATABASE_URL`` moves the answers to PostgreSQL. The
drivers are imported only when a URL names them.
"""

from __future__ import annotations

from fastapi import FastAPI

from app.settings import Settings
from app.web.api.errors import unavailable_handler
from app.web.job_queue import JobManager, Runner
from app.web.quiz_store import AnswerStore
from app.web.ratelimit import RateLimiter
from app.web.unavailable import Unavailable


def job_manager(settings: Settings, runner: Runner):
    if not settings.redis_url:
        return JobManager(
            runner,
            workers=settings.job_workers,
            queue_length=settings.job_queue,
            abandon_after=settings.job_abandon_seconds,
        )
    from app.web.shared_jobs import SharedJobs

    return SharedJobs(
        settings.redis_url,
        queue_length=settings.job_queue,
        abandon_after=settings.job_abandon_seconds,
    )


def rate_limiters(settings: Settings) -> dict[str, RateLimiter]:
    """The limiters by name, each at its setting's rate per minute."""
    rates = {
        "quiz": settings.quiz_answers_per_minute,
        "job": settings.jobs_per_minute,
        "classify": settings.classify_per_minute,
        "cost": settings.cost_per_minute,
    }
    if not settings.redis_url:
        return {name: RateLimiter(rate) for name, rate in rates.items()}
    from app.web.job_records import connect
    from app.web.redis_ratelimit import RedisRateLimiter

    client = connect(settings.redis_url)
    return {name: RedisRateLimiter(client, name, rate) for name, rate in rates.items()}


def answer_store(settings: Settings):
    if not settings.database_url:
        return AnswerStore(settings.database)
    from app.web.quiz_store_postgres import PostgresAnswerStore

    return PostgresAnswerStore(settings.database_url)


def install(app: FastAPI, settings: Settings) -> None:
    """Answer a shared service that is away as 503 with Retry-After (Redis' own errors too:
    the rate limits and the job routes meet them first)."""
    app.add_exception_handler(Unavailable, unavailable_handler)
    if settings.redis_url:
        import redis

        app.add_exception_handler(redis.ConnectionError, unavailable_handler)
        app.add_exception_handler(redis.TimeoutError, unavailable_handler)
