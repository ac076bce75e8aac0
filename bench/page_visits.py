"""Page visits as a browser makes them, on bare asyncio streams, for ``bench/load.py``.

A Python HTTP client such as httpx spends milliseconds of CPU per request. A load test of
100 concurrent first visits (the HTML and some twenty assets each) on a 2-core machine then
measures mostly its own CPU: 2,000 requests cost it about 6 s, the server under half a
second. This client sends the same requests (HTTP/1.1, kept-alive connections, up to
``CONNECTIONS`` per visit as a browser opens per host, ``Accept-Encoding: gzip, deflate,
br``) with a tenth of that cost: it reads the status line, the headers and
``Content-Length`` bytes, and decodes only an HTML page, to find its assets.
"""

from __future__ import annotations

import asyncio
import gzip
import re

import brotli

CONNECTIONS = 6  # a browser's connections per host over HTTP/1.1
BROWSER = {"Accept-Encoding": "gzip, deflate, br"}  # what Chromium sends
ASSET = re.compile(r'<(?:script[^>]+src|link[^>]+href)="(/[^"]+)"')
KEEP = re.compile(r"immutable|max-age=(\d+)")
DECODE = {"br": brotli.decompress, "gzip": gzip.decompress, "": bytes}


class Refused(Exception):
    """An answer of 400 or more."""

    def __init__(self, status: int, path: str):
        super().__init__(f"{status} for {path}")
        self.status = status


class Connection:
    """One kept-alive HTTP/1.1 connection; requests on it go one after another."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def get(self, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        """(status, headers with lower-case names, body as sent)."""
        if self.streams is None:
            self.streams = await asyncio.open_connection(self.host, self.port)
        reader, writer = self.streams
        lines = [f"GET {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{k}: {v}" for k, v in {**BROWSER, **headers}.items()]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(head[0].split()[1])
        fields = dict(line.split(": ", 1) for line in head[1:] if ": " in line)
        fields = {k.lower(): v for k, v in fields.items()}
        body = await reader.readexactly(int(fields.get("content-length", 0)))
        if status >= 400:
            raise Refused(status, path)
        return status, fields, body

    def close(self) -> None:
        if self.streams is not None:
            self.streams[1].close()


def html_of(fields: dict[str, str], body: bytes) -> str:
    return DECODE[fields.get("content-encoding", "")](body).decode()


class Kept(dict):
    """What a browser keeps from a first visit: URL → the headers it may revalidate with, or
    None for a response it may reuse without asking (immutable, or fresh for a day or more)."""

    def remember(self, url: str, fields: dict[str, str]) -> None:
        lifetime = KEEP.search(fields.get("cache-control", ""))
        if lifetime and (lifetime[0] == "immutable" or int(lifetime[1]) >= 86400):
            self[url] = None
        else:
            validators = {
                "If-None-Match": fields.get("etag"),
                "If-Modified-Since": fields.get("last-modified"),
            }
            self[url] = {k: v for k, v in validators.items() if v}


async def visit(host: str, port: int, path: str, kept: Kept) -> int:
    """One page load, the bytes received: the page, then its assets on up to
    ``CONNECTIONS`` connections at once. ``kept`` empty: a first visit, which fills it;
    ``kept`` filled: a repeat visit, asking only for what it must, conditionally."""
    repeat = bool(kept)
    if repeat and kept.get(path, {}) is None:
        return 0
    connections = [Connection(host, port) for _ in range(CONNECTIONS)]
    try:
        status, fields, page = await connections[0].get(path, kept.get(path) or {})
        if not repeat:
            kept.remember(path, fields)
        if status == 200:
            assets = ASSET.findall(html_of(fields, page))
        else:  # 304: the page as kept, and so its assets
            assets = [url for url in kept if url != path]
        wanted = [url for url in assets if not repeat or kept.get(url, {}) is not None]

        async def share(connection: Connection, urls: list[str]) -> int:
            received = 0
            for url in urls:
                _, answer, body = await connection.get(url, kept.get(url) or {})
                if not repeat:
                    kept.remember(url, answer)
                received += len(body)
            return received

        shares = [wanted[i::CONNECTIONS] for i in range(CONNECTIONS)]
        sizes = await asyncio.gather(
            *(share(c, urls) for c, urls in zip(connections, shares, strict=True))
        )
        return len(page) + sum(sizes)
    finally:
        for connection in connections:
            connection.close()
