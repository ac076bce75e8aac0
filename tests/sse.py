"""A small Server-Sent Events reader for tests."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx


def read_events(lines: Iterator[str], stop_after: str | None = None) -> list[tuple[str, dict]]:
    """Parse ``event:``/``data:`` blocks until the stream ends (or after ``stop_after``)."""
    events, name, data = [], None, None
    for line in lines:
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            data = json.loads(line[6:])
        elif line == "" and name is not None:
            events.append((name, data))
            if name == stop_after:
                break
            name, data = None, None
    return events


def stream(base: str, path: str, stop_after: str | None = None) -> list[tuple[str, dict]]:
    with httpx.stream("GET", base + path, timeout=120) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        return read_events(response.iter_lines(), stop_after)
