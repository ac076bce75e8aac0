"""The web application: ``create_app()`` wires settings, pages, API routers and static files.

Importing this module builds nothing; ``maml serve`` calls the factory (or, under plain
uvicorn, ``uvicorn --factory app.web.main:create_app``)."""

from __future__ import annotations

import logging
import threading
from contextlib import asynccontextmanager
from functools import partial

import torch
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError

from app.meta.config import TrainConfig
from app.meta.training import Training
from app.settings import Settings
from app.web import assets, docs, pages
from app.web.api import jobs as jobs_api
from app.web.api import landscape as landscape_api
from app.web.api import navigation as navigation_api
from app.web.api import omniglot as omniglot_api
from app.web.api import quiz as quiz_api
from app.web.api import race as race_api
from app.web.api import sinusoid as sinusoid_api
from app.web.api import updates as updates_api
from app.web.api.errors import validation_handler
from app.web.classifiers import Classifiers
from app.web.job_queue import JobManager
from app.web.middleware import BodyLimit, RequestLog, SecurityHeaders
from app.web.omniglot_source import OmniglotSource
from app.web.quiz_store import AnswerStore
from app.web.quiz_tasks import TaskTokens
from app.web.race import DEFAULT, race_configs, reference_landmarks
from app.web.ratelimit import RateLimiter
from app.web.streams import training_events

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def warm_up(jobs: JobManager, settings: Settings, warmed: threading.Event) -> None:
    """Pay PyTorch's one-time lazy imports (the optimisers pull in torch._dynamo, about 3 s)
    and the figures' first computations before the first reader asks, not after; then, with
    ``warm_race``, run the comparison page's default race into the jobs' cache, one job after
    the other outside the workers (it stops when the server does). ``warmed`` is set at the end."""
    Training(TrainConfig(steps=1, meta_batch=2)).meta_step()
    landscape_api.warm_up()
    updates_api.warm_up()
    if settings.warm_race:
        for config in race_configs(DEFAULT):
            if jobs.stopping.is_set():
                break
            jobs.warm(config)
    warmed.set()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    logging.basicConfig(level=settings.log_level.upper(), format=LOG_FORMAT)
    torch.set_num_threads(settings.torch_threads)
    omniglot = OmniglotSource(settings)
    manager = JobManager(
        partial(
            training_events,
            omniglot=omniglot.get,
            landmarks=partial(reference_landmarks, settings.models_dir),
        ),
        workers=settings.job_workers,
        queue_length=settings.job_queue,
        abandon_after=settings.job_abandon_seconds,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        warming = threading.Thread(
            target=warm_up, args=(manager, settings, app.state.warmed), name="warm-up", daemon=True
        )
        warming.start()
        app.state.omniglot.start()
        app.state.answers = AnswerStore(settings.database)
        app.state.tokens = TaskTokens.load(settings.quiz_key)
        manager.start()
        yield
        manager.stop()
        app.state.answers.close()
        warming.join()  # a thread still inside PyTorch at exit aborts the process
        app.state.omniglot.ready.wait()

    app = FastAPI(title="MAML, explained", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.settings = settings
    app.state.jobs = manager
    app.state.warmed = threading.Event()  # set when the warm-up is over
    app.state.omniglot = omniglot
    app.state.quiz_limiter = RateLimiter(settings.quiz_answers_per_minute)
    app.state.job_limiter = RateLimiter(settings.jobs_per_minute)
    app.state.classify_limiter = RateLimiter(settings.classify_per_minute)
    app.state.cost_limiter = RateLimiter(settings.cost_per_minute)
    app.state.classifiers = Classifiers(settings.models_dir)
    app.add_exception_handler(RequestValidationError, validation_handler)
    app.add_middleware(assets.GZipExceptAssets, minimum_size=1000)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(RequestLog)

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict:
        return {"status": "ok"}

    app.include_router(docs.router)  # /docs and /redoc, served from this server
    app.include_router(jobs_api.router)
    app.include_router(race_api.router)
    app.include_router(sinusoid_api.router)
    app.include_router(quiz_api.router)
    app.include_router(omniglot_api.router)
    app.include_router(landscape_api.router)
    app.include_router(updates_api.router)
    app.include_router(navigation_api.router)
    static = assets.catalogue(settings.cache_dir)  # hashed names, compressed once
    app.add_route("/static/{path:path}", static.endpoint, ["GET", "HEAD"], include_in_schema=False)
    app.include_router(pages.router(settings))
    return app
