"""In Chromium: compressed, hashed assets draw the figures offline under the CSP, and a
repeat visit asks the server for none of them."""

from __future__ import annotations

import logging
import re
from contextlib import contextmanager

import pytest

pytestmark = pytest.mark.browser

LOGGED_PATH = re.compile(r"path=(\S+)")


@contextmanager
def server_requests():
    """The paths the live server (same process) answers meanwhile, from its request log."""
    paths: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            match = LOGGED_PATH.search(record.getMessage())
            if match:
                paths.append(match[1])

    logger, handler = logging.getLogger("app.requests"), Collect(logging.INFO)
    level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    try:
        yield paths
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def test_figures_draw_offline_and_a_repeat_visit_fetches_no_asset(live_server, browser):
    # (no context.route here: Playwright turns the HTTP cache off for routed contexts)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(90_000)  # a busy machine: the figures' first computations
    outside: list[str] = []  # the app works offline: nothing but this server is asked
    page.on("request", lambda r: None if r.url.startswith(live_server) else outside.append(r.url))
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    assets = {}
    page.on(
        "response",
        lambda r: assets.__setitem__(r.url, r) if "/static/" in r.url else None,
    )

    with server_requests() as first:
        page.goto(live_server + "/maml", wait_until="load")
        # the two-task toy: a heatmap with a contour overlay, drawn by the cartesian build
        page.wait_for_selector("[data-figure=accumulated-landscape] .heatmaplayer image")
        page.wait_for_selector("[data-figure=accumulated-landscape] .contourlayer path")
    assert errors == [] and outside == []
    assert any("/vendor/plotly.min." in url for url in assets)
    for url, response in assets.items():
        assert response.status == 200, url
        headers = response.all_headers()
        assert headers["content-encoding"] in ("br", "gzip"), url
        assert headers["cache-control"] == "public, max-age=31536000, immutable", url
    fetched = {path for path in first if path.startswith("/static/")}
    assert fetched >= {url.removeprefix(live_server) for url in assets}

    with server_requests() as later:
        page.goto(live_server + "/fomaml", wait_until="load")
        page.wait_for_selector("[data-figure=fomaml-quadratic] .heatmaplayer image")
        page.goto(live_server + "/maml", wait_until="load")
        page.wait_for_selector("[data-figure=accumulated-landscape] .contourlayer path")
    again = {path for path in later if path.startswith("/static/")}
    assert again & fetched == set(), "a repeat visit asked for assets it already had"
    assert all("fomaml-quadratic." in path for path in again), again
    assert errors == [] and outside == []
    context.close()
