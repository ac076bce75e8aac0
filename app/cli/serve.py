"""``maml serve``: start the web app with the settings' host, port and log level.

On SIGINT or SIGTERM, running training jobs are cancelled first, so that every
open stream ends with an ``error`` event and closes, and then uvicorn shuts down. With
``MAML_REDIS_URL`` the jobs belong to the workers and go on: the streams just close, and the
browsers resume them on another replica.

The client address that rate limits and the request log use is the connection's own:
``X-Forwarded-For`` and ``X-Forwarded-Proto`` are believed only from the proxies listed in
``MAML_FORWARDED_ALLOW_IPS`` (empty by default: from nobody). A request must arrive at a
steady pace (:mod:`app.web.timeouts`).
"""

import argparse

import uvicorn

from app.settings import Settings
from app.web.main import create_app
from app.web.timeouts import timed_protocol


class Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, app):
        super().__init__(config)
        self.web_app = app

    def handle_exit(self, sig, frame) -> None:
        self.web_app.state.jobs.cancel_all("the server is shutting down")
        super().handle_exit(sig, frame)


def server_config(settings: Settings, app) -> uvicorn.Config:
    """How uvicorn serves ``app``: address, proxies trusted, timeouts."""
    trusted = settings.forwarded_allow_ips.strip()
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=False,
        timeout_graceful_shutdown=10,
        http=timed_protocol(settings.header_timeout, settings.body_timeout),
        proxy_headers=bool(trusted),
        forwarded_allow_ips=trusted or "127.0.0.1",  # unused unless proxy_headers
        server_header=False,
    )


def main(argv: list[str]) -> int:
    argparse.ArgumentParser(
        prog="maml serve",
        description=__doc__.split("\n")[0],
        epilog="Every setting is an environment variable MAML_*: see the README's table.",
    ).parse_args(argv)
    settings = Settings.from_env()
    app = create_app(settings)
    Server(server_config(settings, app), app).run()
    return 0
