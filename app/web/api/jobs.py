"""Training jobs over HTTP: start one, stream its events (Server-Sent Events), cancel it."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Literal

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import ConfigDict, Discriminator, Field, Tag
from starlette.concurrency import run_in_threadpool

from app.meta.config import NavigationConfig, OmniglotConfig, TrainConfig
from app.web.api.errors import enforce_rate, invalid
from app.web.job_limits import web_limits
from app.web.job_queue import Job, JobManager, QueueFull

if TYPE_CHECKING:
    from app.web.shared_jobs import SharedJob, SharedJobs

router = APIRouter(prefix="/api/jobs", tags=["training"])


def manager(request: Request) -> JobManager | SharedJobs:
    return request.app.state.jobs


def find(request: Request, job_id: str) -> Job | SharedJob:
    job = manager(request).get(job_id)
    if job is None:
        raise HTTPException(404, f"no job {job_id!r}")
    return job


def sse(index: int | str | None, name: str, data: dict) -> str:
    head = f"id: {index}\n" if index is not None else ""
    return f"{head}event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


# Strict types: JSON true is no integer (it would start a 1-step job), "3" no number.
STRICT = ConfigDict(extra="forbid", frozen=True, strict=True)


class SinusoidJob(TrainConfig):
    """A sinusoid job as JSON asks for it: :class:`TrainConfig` with strict JSON types and
    ``task`` fixed, the tag of the request's union; a class because the engine's own
    configuration must accept what Python code passes (and ``task="omniglot"``)."""

    model_config = STRICT

    task: Literal["sinusoid"] = Field("sinusoid", description="task family")


class OmniglotJob(OmniglotConfig):
    """An Omniglot job as JSON asks for it: :class:`OmniglotConfig` with strict JSON types."""

    model_config = STRICT


class NavigationJob(NavigationConfig):
    """A 2-D navigation job as JSON asks for it: :class:`NavigationConfig` with strict JSON
    types."""

    model_config = STRICT


def task_of(value) -> str | None:
    """The union's tag; None (pydantic's "not an object" error, a 422) for anything that is
    neither a JSON object nor a configuration."""
    if isinstance(value, dict):
        return value.get("task", "sinusoid")
    return getattr(value, "task", None)


JobRequest = Annotated[
    Annotated[SinusoidJob, Tag("sinusoid")]
    | Annotated[OmniglotJob, Tag("omniglot")]
    | Annotated[NavigationJob, Tag("navigation")],
    Discriminator(
        task_of,
        custom_error_type="job_request",
        custom_error_message="Input should be a JSON object whose task is one of "
        "'sinusoid', 'omniglot', 'navigation' (default 'sinusoid')",
    ),
]


@router.post("", status_code=202, summary="Start meta-training a model")
def start(config: JobRequest, request: Request):
    enforce_rate(request, request.app.state.job_limiter, "training jobs")
    problem = web_limits(config, request.app.state.settings)
    if problem:
        return invalid([problem])
    try:
        job = manager(request).submit(config)
    except QueueFull:
        raise HTTPException(
            429,
            "too many training jobs are waiting; try again shortly",
            headers={"Retry-After": "5"},
        ) from None
    return JSONResponse({"id": job.id, "events": f"/api/jobs/{job.id}/events"}, status_code=202)


@router.get("/{job_id}/events", summary="The job's events as a Server-Sent Events stream")
async def events(job_id: str, request: Request):
    jobs = manager(request)
    job = await run_in_threadpool(find, request, job_id)
    last_event_id = request.headers.get("last-event-id")

    async def stream():
        async for index, name, data in jobs.events(job, last_event_id, request.is_disconnected):
            yield sse(index, name, data)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.delete("/{job_id}", summary="Cancel a job")
def cancel(job_id: str, request: Request) -> dict:
    job = find(request, job_id)
    manager(request).cancel(job)
    return {"id": job.id, "status": "cancelling" if not job.finished else job.status}
