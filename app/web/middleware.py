"""ASGI middleware: security headers, request body limits, one structured log line per request."""

from __future__ import annotations

import json
import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.web.vendor import plotly_style_hashes

log = logging.getLogger("app.requests")

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        # Plotly's own inline <style> elements, by hash (see app.web.vendor), and the style
        # attributes that position its SVG layers. No other style sheet or <style> content is
        # allowed (CSP level 3 treats elements and attributes separately).
        "style-src-elem 'self' " + " ".join(f"'{h}'" for h in plotly_style_hashes()),
        "style-src-attr 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]


async def send_detail(send: Send, status: int, detail: str) -> None:
    """A whole JSON error response, ``{"detail": …}`` as FastAPI's own errors are."""
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class HTTPMiddleware:
    """Passes everything but HTTP requests (lifespan, websockets) straight through."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.handle(scope, receive, send)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError


class SecurityHeaders(HTTPMiddleware):
    """Adds the Content-Security-Policy (only this server's scripts and styles) and friends; a
    response that sets its own policy (``/redoc``, :mod:`app.web.docs`) keeps it.

    An exception that escapes the app before it answered is answered here, as a plain 500
    with these headers too (and logged), instead of by Starlette's outermost error handler,
    which would send it without them."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", []))
                own_policy = any(k.lower() == b"content-security-policy" for k, _ in headers)
                message["headers"] = headers + [
                    (k, v)
                    for k, v in SECURITY_HEADERS
                    if not (own_policy and k == b"content-security-policy")
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            if started:
                raise
            log.exception("unhandled error in %s %s", scope["method"], scope["path"])
            await send_detail(send_with_headers, 500, "internal server error")


class BodyLimit(HTTPMiddleware):
    """Answers 413 when a request body is larger than ``limit`` bytes, declared or streamed.

    The body is read (at most ``limit`` bytes of it) before the route runs, then handed on.
    """

    def __init__(self, app: ASGIApp, limit: int):
        super().__init__(app)
        self.limit = limit

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await self.reject(send)
            return
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = message.get("more_body", False)
            if size > self.limit:
                await self.reject(send)
                return
        body, delivered = b"".join(chunks), False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def reject(self, send: Send) -> None:
        await send_detail(send, 413, f"request body: larger than {self.limit} bytes")


class RequestLog(HTTPMiddleware):
    """One line per request: method, path, status, milliseconds, client."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        start = time.perf_counter()
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            client = scope.get("client") or ("-", 0)
            log.info(
                "request method=%s path=%s status=%d ms=%.1f client=%s",
                scope["method"],
                scope["path"],
                status,
                (time.perf_counter() - start) * 1000,
                client[0],
            )
