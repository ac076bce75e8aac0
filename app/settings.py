"""Every knob of the server in one place, read from the environment (``MAML_*``).

Each setting is documented in the README's table; defaults suit one laptop: one process,
SQLite, no other service. ``MAML_REDIS_URL`` moves the training jobs (queue, events, result
cache) and the rate limits to Redis, and ``MAML_DATABASE_URL`` the quiz answers to
PostgreSQL, so that several web replicas and worker machines share them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def default_omniglot_dir() -> Path:
    """``data/omniglot`` when it holds the zip, else a sibling ``shared/omniglot`` checkout
    (the development machines' copy), else ``data/omniglot`` as the download target."""
    local = ROOT / "data" / "omniglot"
    shared = ROOT.parent / "shared" / "omniglot"
    if not (local / "images_background.zip").is_file() and shared.is_dir():
        return shared
    return local


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "info"
    models_dir: Path = ROOT / "models"
    data_dir: Path = ROOT / "data"
    cache_dir: Path = ROOT / "data" / "cache"
    torch_threads: int = 1
    job_workers: int = 2
    job_queue: int = 8
    job_max_steps: int = 20_000
    omniglot_job_max_steps: int = 500
    navigation_job_max_steps: int = 1000
    job_abandon_seconds: float = 1.0
    warm_race: bool = True
    omniglot_dir: Path = field(default_factory=default_omniglot_dir)
    omniglot_download: bool = True
    quiz_answers_per_minute: int = 60
    jobs_per_minute: int = 30
    classify_per_minute: int = 120
    cost_per_minute: int = 20
    max_body_bytes: int = 2_000_000
    forwarded_allow_ips: str = ""
    header_timeout: float = 10.0
    body_timeout: float = 60.0
    redis_url: str = ""
    database_url: str = ""

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        environ = os.environ if environ is None else environ
        values = {}
        for f in fields(cls):
            raw = environ.get("MAML_" + f.name.upper())
            if raw is None:
                continue
            try:
                values[f.name] = parse(raw, KINDS[f.type])
            except ValueError:
                raise ValueError(f"MAML_{f.name.upper()}={raw!r} is not a {f.type}") from None
        return cls(**values)

    @property
    def database(self) -> Path:
        return self.data_dir / "quiz.sqlite3"

    @property
    def quiz_key(self) -> Path:
        """The key that signs quiz task tokens (made on first start; keep it with the data)."""
        return self.data_dir / "quiz.key"


KINDS = {"str": str, "int": int, "float": float, "bool": bool, "Path": Path}


def parse(raw: str, kind: type):
    if kind is bool:
        return raw.strip().lower() in ("1", "true", "yes", "on")
    return kind(raw)
