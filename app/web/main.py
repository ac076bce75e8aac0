"""The web application: ``create_app()`` wires settings, pages, API routers and static files.

Importing this module builds nothing; ``maml serve`` calls the factory (or, under plain
uvicorn, ``uvicorn --factory app.web.main:create_app``)."""

from __future__ import annotations

import logging
import threading
from contextlib import asynccontextmanager

import torch
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError

from app.settings import Settings
from app.web import assets, backends, docs, figures, pages
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
from app.web.job_queue import yield_to_requests
from app.web.middleware import BodyLimit, RequestLog, SecurityHeaders
from app.web.omniglot_source import OmniglotSource
from app.web.process_runner import ProcessRunner
from app.web.quiz_tasks import TaskTokens
from app.web.race import DEFAULT, race_configs

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def warm_up_server(
    jobs, training: ProcessRunner, settings: Settings, warmed: threading.Event
) -> None:
    """The figures' first computations (:func:`app.web.figures.warm_up`; the web process
    trains nothing itself, so it pays no optimiser's lazy imports); then, unless the jobs are
    Redis' (``MAML_REDIS_URL``), start the training processes of the workers and, with
    ``warm_race``, run the comparison page's default race into the jobs' cache, one job after
    the other outside the workers (it stops when the server does; with Redis the first race
    asked for fills the shared cache instead). ``warmed`` is set at the end. It works beside
    the first readers, so it yields to them."""
    yield_to_requests()
    figures.warm_up()
    if not settings.redis_url and not jobs.stopping.is_set():
        training.prepare(settings.job_workers)
    if settings.warm_race and not settings.redis_url:
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
    training = ProcessRunner(settings, omniglot.get)  # starts no process until asked
    manager = backends.job_manager(settings, training)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if not settings.redis_url:
            training.start()
        warming = threading.Thread(
            target=warm_up_server,
            args=(manager, training, settings, app.state.warmed),
            name="warm-up",
            daemon=True,
        )
        warming.start()
        app.state.omniglot.start()
        app.state.answers = backends.answer_store(settings)
        app.state.tokens = TaskTokens.load(settings.quiz_key)
        manager.start()
        yield
        manager.stop()
        app.state.answers.close()
        warming.join()  # a thread still inside PyTorch at exit aborts the process
        training.close()
        app.state.omniglot.ready.wait()

    app = FastAPI(title="MAML, explained", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.settings = settings
    app.state.jobs = manager
    app.state.warmed = threading.Event()  # set when the warm-up is over
    app.state.omniglot = omniglot
    for name, limiter in backends.rate_limiters(settings).items():
        setattr(app.state, f"{name}_limiter", limiter)
    app.state.classifiers = Classifiers(settings.models_dir)
    app.add_exception_handler(RequestValidationError, validation_handler)
    backends.install(app, settings)
    app.add_middleware(
        assets.GZipExceptAssets, minimum_size=1000, stored=(assets.PREFIX, docs.PREFIX)
    )
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
