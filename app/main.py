"""The web application: ``create_app()`` wires settings, pages, API routers and static files."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from app.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    app = FastAPI(title="MAML, explained")
    app.state.settings = settings

    @app.get("/healthz")
    def healthz() -> dict:
        return {"status": "ok"}

    @app.get("/", response_class=HTMLResponse)
    def home() -> str:
        return "<!doctype html><title>MAML, explained</title><h1>MAML, explained</h1>"

    return app


app = create_app()
