"""Interactive API documentation at ``/docs`` (Swagger UI) and ``/redoc`` (ReDoc), offline.

FastAPI's own pages load both from a CDN and start them with an inline script, which the
app's Content-Security-Policy blocks (and offline there is no CDN). Here the assets come
from the ``fastapi-offline`` package and the start-up scripts from ``app/web/docs_assets``,
all served by this server under ``/docs-assets/``. Swagger UI runs under the app's CSP as
it is. ReDoc writes its styles into ``<style>`` elements, so ``/redoc`` sends the same CSP
with one addition: style elements carrying that response's random nonce (``redoc-prelude.js``
gives it to each). ReDoc's footer shows Redocly's logo from its CDN; the CSP blocks that
image, as it blocks anything from outside.
"""

from __future__ import annotations

import html
import secrets
from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse

from app.web.middleware import CONTENT_SECURITY_POLICY

PACKAGE_ASSETS = Path(fastapi_offline.__file__).parent / "static"
OWN_ASSETS = Path(__file__).parent / "docs_assets"
ASSETS = {
    "swagger-ui-bundle.js": (PACKAGE_ASSETS, "text/javascript"),
    "swagger-ui.css": (PACKAGE_ASSETS, "text/css"),
    "redoc.standalone.js": (PACKAGE_ASSETS, "text/javascript"),
    "favicon.png": (PACKAGE_ASSETS, "image/png"),
    "swagger-init.js": (OWN_ASSETS, "text/javascript"),
    "redoc-init.js": (OWN_ASSETS, "text/javascript"),
    "redoc-prelude.js": (OWN_ASSETS, "text/javascript"),
}
PREFIX = "/docs-assets"

router = APIRouter(include_in_schema=False)


def page(title: str, head: str, body: str) -> str:
    return (
        "<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<link rel='icon' href='{PREFIX}/favicon.png'>{head}</head><body>{body}</body></html>"
    )


@router.get("/docs")
def swagger(request: Request) -> HTMLResponse:
    openapi = html.escape(request.app.openapi_url or "/openapi.json")
    return HTMLResponse(
        page(
            f"{request.app.title}: API",
            f"<link rel='stylesheet' href='{PREFIX}/swagger-ui.css'>"
            f"<script src='{PREFIX}/swagger-ui-bundle.js'></script>"
            f"<script src='{PREFIX}/swagger-init.js'></script>",
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
            f"{request.app.title}: API",
            f"<script src='{PREFIX}/redoc-prelude.js' data-nonce='{nonce}'></script>"
            f"<script src='{PREFIX}/redoc.standalone.js'></script>"
            f"<script src='{PREFIX}/redoc-init.js'></script>",
            f"<div id='redoc' data-openapi='{openapi}' data-nonce='{nonce}'></div>",
        ),
        headers={"Content-Security-Policy": policy},
    )


@router.get(PREFIX + "/{name}")
def asset(name: str) -> FileResponse:
    if name not in ASSETS:  # only these names are ever turned into paths
        raise HTTPException(404, f"no documentation asset {name!r}")
    folder, media_type = ASSETS[name]
    return FileResponse(
        folder / name, media_type=media_type, headers={"Cache-Control": "public, max-age=86400"}
    )
