"""Shared fixtures: float64 toy problems small enough for exact Hessians, and a live server."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch
import uvicorn

from app.meta.nets import regression_mlp
from app.meta.params import leaves
from app.meta.tasks.omniglot import load_omniglot
from app.meta.tasks.sinusoid import SinusoidTasks
from app.settings import Settings
from app.web.main import create_app


@pytest.fixture(params=["tanh", "relu"])
def small_mlp(request):
    """A 1-6-6-1 network; tanh makes the loss smooth, ReLU is what the app trains."""
    return regression_mlp((1, 6, 6, 1), torch.tanh if request.param == "tanh" else torch.relu)


@pytest.fixture
def smooth_mlp():
    return regression_mlp((1, 6, 6, 1), torch.tanh)


@pytest.fixture
def theta64():
    return leaves(
        regression_mlp((1, 6, 6, 1)).init(torch.Generator().manual_seed(3), torch.float64)
    )


@pytest.fixture
def batch64():
    return SinusoidTasks(torch.float64).sample(4, 5, 7, torch.Generator().manual_seed(11))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(settings: Settings):
    """The real app under uvicorn in a background thread; yields its base URL."""
    app = create_app(settings)
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=settings.port, log_level="warning", lifespan="on"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 300  # seconds normally; generous for a busy machine
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    app.state.omniglot.ready.wait(300)  # a fresh checkout preprocesses Omniglot first
    try:
        yield f"http://127.0.0.1:{settings.port}", app
    finally:
        server.should_exit = True
        thread.join(10)


def server_settings(data_dir: Path, **changes) -> Settings:
    """Settings for a test server: its own port and database, the shared Omniglot cache; no
    default race trained at start-up unless asked (``warm_race=True``), since it would take a
    core from the tests for a minute or more."""
    return Settings(port=free_port(), data_dir=data_dir, **({"warm_race": False} | changes))


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    # Shared by every test that starts jobs from one address: the per-client job rate is
    # tested on servers of its own (test_hardening, test_api_race), not metered here.
    settings = server_settings(tmp_path_factory.mktemp("live"), jobs_per_minute=100_000)
    with serving(settings) as (url, _):
        yield url


CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright (``playwright install`` is never needed)."""
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail(
            "chromium is not installed: bash scripts/test installs it (apt-get install chromium)"
        )
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A fresh page whose console errors and page errors are collected in ``page.errors``."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    tab.errors = []
    tab.on("console", lambda m: tab.errors.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: tab.errors.append(str(e)))
    yield tab
    context.close()


@pytest.fixture(scope="session", autouse=True)
def omniglot_cache():
    """Preprocess Omniglot once before any test, so that no server waits for it mid-test."""
    settings = Settings.from_env()
    if (settings.omniglot_dir / "images_background.zip").is_file():
        load_omniglot(settings.omniglot_dir, settings.cache_dir, base_url=None)
