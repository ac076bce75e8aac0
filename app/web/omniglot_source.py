"""Omniglot for the web app: loaded once in the background, then shared by every request.

Routes call :meth:`OmniglotSource.get`; until the data is ready they get a clear
``DataUnavailable`` (answered as 503) saying whether it is still loading or
where to put the files.
"""

from __future__ import annotations

import logging
import threading

from app.meta.tasks.omniglot import Omniglot, load_omniglot
from app.meta.tasks.omniglot_download import OFFICIAL_BASE_URL
from app.settings import Settings

log = logging.getLogger("app.web.omniglot_source")


class DataUnavailable(Exception):
    """Omniglot is not (yet) available; the message says why."""


class OmniglotSource:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.data: Omniglot | None = None
        self.error: str | None = None
        self.ready = threading.Event()

    def start(self) -> None:
        threading.Thread(target=self._load, name="omniglot-loader", daemon=True).start()

    def _load(self) -> None:
        s = self.settings
        try:
            self.data = load_omniglot(
                s.omniglot_dir,
                s.cache_dir,
                base_url=OFFICIAL_BASE_URL if s.omniglot_download else None,
            )
            log.info("Omniglot loaded from %s", s.omniglot_dir)
        except Exception as error:  # any failure becomes a message for the reader
            self.error = str(error)
            log.error("Omniglot is unavailable: %s", error)
        finally:
            self.ready.set()

    def get(self, wait: float = 30.0) -> Omniglot:
        if not self.ready.wait(wait):
            raise DataUnavailable(
                "Omniglot is still being prepared on the server; try again in a few seconds"
            )
        if self.data is None:
            raise DataUnavailable(f"Omniglot is unavailable on this server: {self.error}")
        return self.data
