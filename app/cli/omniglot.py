"""Omniglot for the command line: the background set, loaded once from the settings' folders.

The zips are read from ``MAML_OMNIGLOT_DIR`` and preprocessed once into ``MAML_CACHE_DIR``,
the same folders and cache as the web app's (:mod:`app.settings`); never downloaded here.
"""

from __future__ import annotations

import functools

from app.meta.tasks.omniglot import Omniglot, load_omniglot
from app.settings import Settings


@functools.lru_cache(maxsize=1)
def omniglot_data() -> Omniglot:
    """The background set of the settings' Omniglot folder, preprocessed into their cache."""
    settings = Settings.from_env()
    return load_omniglot(settings.omniglot_dir, settings.cache_dir, base_url=None)
