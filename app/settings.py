"""Every knob of the server in one place, read from the environment (``MAML_*``).

Each setting is documented in the README's table; defaults suit one laptop.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "info"
    models_dir: Path = ROOT / "models"
    data_dir: Path = ROOT / "data"
    torch_threads: int = 1
    job_workers: int = 2
    job_queue: int = 8
    job_max_steps: int = 20_000
    job_abandon_seconds: float = 1.0

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        environ = os.environ if environ is None else environ
        values = {}
        for f in fields(cls):
            raw = environ.get("MAML_" + f.name.upper())
            if raw is None:
                continue
            kind = type(f.default)
            values[f.name] = Path(raw) if isinstance(f.default, Path) else kind(raw)
        return cls(**values)
