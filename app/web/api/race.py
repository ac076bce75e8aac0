"""The race over HTTP: start the five jobs of :mod:`app.web.race` together.

Each job is then an ordinary one: its events stream from ``GET /api/jobs/{id}/events``,
``DELETE /api/jobs/{id}`` cancels it, and a job nobody watches is cancelled.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse

from app.web.api.errors import enforce_rate, invalid
from app.web.job_limits import web_limits
from app.web.job_queue import QueueFull
from app.web.race import METHODS, SEED, RaceRequest, race_configs

router = APIRouter(prefix="/api/race", tags=["training"])
RETRY_SECONDS = 10


@router.post("", status_code=202, summary="Start MAML, FOMAML, Reptile, iMAML and the baseline")
def start(race: RaceRequest, request: Request):
    """Five training jobs on one task stream → ``202 {"seed", "jobs": [{"algo", "id",
    "events", "cached"}]}``; counts as five jobs against the client's rate; ``429`` when the
    queue has no room for all five."""
    enforce_rate(request, request.app.state.job_limiter, "training jobs", cost=len(METHODS))
    settings = request.app.state.settings
    configs = race_configs(race)
    for config in configs:
        problem = web_limits(config, settings)
        if problem:
            return invalid([problem])
    try:
        jobs = request.app.state.jobs.submit_all(configs)
    except QueueFull:
        raise HTTPException(
            429,
            f"the server is busy: a race starts its {len(METHODS)} jobs together and the "
            f"training queue (at most {settings.job_queue} waiting) has no room for them now; "
            f"try again in {RETRY_SECONDS} seconds",
            headers={"Retry-After": str(RETRY_SECONDS)},
        ) from None
    return JSONResponse(
        {
            "seed": SEED,
            "jobs": [
                {
                    "algo": job.config.algo,
                    "id": job.id,
                    "events": f"/api/jobs/{job.id}/events",
                    "cached": job.finished,
                }
                for job in jobs
            ],
        },
        status_code=202,
    )
