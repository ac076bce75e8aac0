"""Start the server with the settings' host, port and log level: ``python -m app.serve``.

On SIGINT or SIGTERM, running training jobs are cancelled first, so that every
open stream ends with an ``error`` event and closes, and then uvicorn shuts down.
"""

import uvicorn

from app.main import create_app
from app.settings import Settings


class Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, app):
        super().__init__(config)
        self.web_app = app

    def handle_exit(self, sig, frame) -> None:
        self.web_app.state.jobs.cancel_all("the server is shutting down")
        super().handle_exit(sig, frame)


def main() -> None:
    settings = Settings.from_env()
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=False,
        timeout_graceful_shutdown=10,
    )
    Server(config, app).run()


if __name__ == "__main__":
    main()
