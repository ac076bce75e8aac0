"""Interactive API documentation at ``/docs`` (Swagger UI) and ``/redoc`` (ReDoc), offline.

FastAPI's own pages load both from a CDN and start them with an inline script, which the
app's Content-Security-Policy blocks (and offline there is no CDN). Here the assets come
from the ``fastapi-offline`` package and the start-up scripts from ``app/web/docs_assets``,
all served by this server under ``/docs-assets/`` as :mod:`app.web.assets` serves
``/static/``: content-hashed names, compressed once, cacheable for a year. Swagger UI runs
under the app's CSP as it is. ReDoc writes its styles into ``<style>`` elements, so
``/redoc`` sends the same CSP with one addition: style elements carrying that response's
random nonce (``redoc-prelude.js`` gives it to each). ReDoc's footer shows Redocly's logo
from its CDN; the CSP blocks that image, as it blocks anything from outside.
"""

from __future__ import annotations

import html
import secrets
from functools import cache
from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from app.web.assets import Assets
from app.web.middleware import CONTENT_SECURITY_POLICY

PACKAGE_ASSETS = Path(fastapi_offline.__file__).parent / "static"
OWN_ASSETS = Path(__file__).parent / "docs_assets"
ASSETS = {
    "swagger-ui-bundle.js": PACKAGE_ASSETS,
    "swagger-ui.css": PACKAGE_ASSETS,
    "redoc.standalone.js": PACKAGE_ASSETS,
    "favicon.png": PACKAGE_ASSETS,
    "swagger-init.js": OWN_ASSETS,
    "redoc-init.js": OWN_ASSETS,
    "redoc-prelude.js": OWN_ASSETS,
}
PREFIX = "/docs-assets/"

router = APIRouter(include_in_schema=False)


@cache
def catalogue(cache_dir: Path) -> Assets:
    """The documentation's assets, read and compressed once (kept in ``cache_dir``)."""
    files = {name: folder / name for name, folder in ASSETS.items()}
    return Assets(files, cache_dir / "docs-assets", prefix=PREFIX)


def url(request: Request, name: str) -> str:
    return catalogue(request.app.state.settings.cache_dir).url(name)


def page(request: Request, head: str, body: str) -> str:
    return (
        "<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(request.app.title)}: API</title>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<link rel='icon' href='{url(request, 'favicon.png')}'>{head}</head>"
        f"<body>{body}</body></html>"
    )


@router.get("/docs")
def swagger(request: Request) -> HTMLResponse:
    openapi = html.escape(request.app.openapi_url or "/openapi.json")
    return HTMLResponse(
        page(
            request,
            f"<link rel='stylesheet' href='{url(request, 'swagger-ui.css')}'>"
            f"<script src='{url(request, 'swagger-ui-bundle.js')}'></script>"
            f"<script src='{url(request, 'swagger-init.js')}'></script>",
            f"<div id='swagger-ui' data-openapi='{openapi}'></div>",
        )
    )


@router.get("/redoc")
def redoc(request: Request) -> HTMLResponse:
    openapi = html.escape(request.app.openapi_url or "/openapi.json")
    nonce = secrets.token_urlsafe(16)
    policy = CONTENT_SECURITY_POLICY.replace(
        "style-src-elem 'self'", f"style-src-elem 'self' 'nonce-{nonce}'"
    )
    return HTMLResponse(
        page(
            request,
            f"<script src='{url(request, 'redoc-prelude.js')}' data-nonce='{nonce}'></script>"
            f"<script src='{url(request, 'redoc.standalone.js')}'></script>"
            f"<script src='{url(request, 'redoc-init.js')}'></script>",
            f"<div id='redoc' data-openapi='{openapi}' data-nonce='{nonce}'></div>",
        ),
        headers={"Content-Security-Policy": policy},
    )


@router.get(PREFIX + "{name}")
async def asset(request: Request, name: str) -> Response:
    """A hashed name of :data:`ASSETS` (``swagger-ui.<hash>.css``); anything else is 404."""
    return await catalogue(request.app.state.settings.cache_dir).endpoint(request)
