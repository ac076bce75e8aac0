"""Validation errors as 422 answers whose message names the field and its allowed range."""

from __future__ import annotations

from fastapi import HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from app.web.unavailable import RETRY_SECONDS, Unavailable

# Where a body is one of several models chosen by a tag (POST /api/jobs: the task), pydantic
# puts the tag in the error's location; it names no field, so messages leave it out.
UNION_TAGS = {"sinusoid", "omniglot"}


def field_name(loc: tuple) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path")]
    if parts and parts[0] in UNION_TAGS:
        parts = parts[1:]
    return ".".join(parts) or "body"


def describe(errors: list[dict]) -> str:
    return "; ".join(f"{field_name(tuple(e['loc']))}: {e['msg']}" for e in errors)


def invalid(errors: list[dict]) -> JSONResponse:
    clean = [
        {"loc": list(e["loc"]), "msg": e["msg"], "type": e.get("type", "value_error")}
        for e in errors
    ]
    return JSONResponse({"message": describe(clean), "detail": clean}, status_code=422)


async def validation_handler(request: Request, error: RequestValidationError) -> JSONResponse:
    return invalid(list(error.errors()))


def enforce_rate(request: Request, limiter, what: str, cost: float = 1.0) -> None:
    """Count this request (as ``cost`` requests) against the client's budget; 429 with
    Retry-After when spent. The client is the connection's address, or the one a trusted
    proxy forwarded (``MAML_FORWARDED_ALLOW_IPS``, applied by uvicorn in :mod:`app.cli.serve`)."""
    wait = limiter.check(request.client.host if request.client else "unknown", cost)
    if wait:
        raise HTTPException(
            429,
            f"too many {what} from this address; wait a moment",
            headers={"Retry-After": limiter.retry_after(wait)},
        )


async def unavailable_handler(request: Request, error: Exception) -> JSONResponse:
    """503 with Retry-After when a shared service (Redis, PostgreSQL) is away: an
    :class:`Unavailable`, or a Redis client's connection error or timeout."""
    what = error.what if isinstance(error, Unavailable) else "the shared job store"
    return JSONResponse(
        {"detail": f"{what} is unavailable just now; try again shortly"},
        status_code=503,
        headers={"Retry-After": str(RETRY_SECONDS)},
    )
