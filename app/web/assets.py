"""Static assets as a browser should get them: content-hashed names, compressed once.

Every file under ``static/`` (Plotly's too, ``vendor/plotly.min.js``: see :mod:`app.web.vendor`)
is read once and named by its content: ``css/site.css`` is served as
``/static/css/site.<hash>.css``, the hash being the first 12 hex digits of its SHA-256.
Each is compressed once with gzip (level 9) and brotli (quality 11). The compressed bytes
are kept under ``<MAML_CACHE_DIR>/assets/``, named by the content's hash, so the slow
brotli pass (seconds for Plotly) runs once per content, not once per start;
``python -m app.web.assets`` runs it ahead of time (the Docker build does). What is read back
from there is checked against the source before it is used, and what no current asset uses
any more (an older version's bytes) is deleted when the catalogue is built.

A request is answered from memory, never compressed again: brotli when the browser
accepts ``br``, else gzip, else the file itself (a stored encoding is kept only when it is
smaller), with ``Vary: Accept-Encoding`` and ``Cache-Control: public, max-age=31536000,
immutable``. Only hashed names exist: an old name (``/static/css/site.css``) or an old
hash is 404, so one URL never stands for two contents.

Pages use the same negotiation (:class:`Encoded`), with a short lifetime and an ETag; the API
documentation's assets (:mod:`app.web.docs`) are a catalogue of their own under ``/docs-assets/``.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import logging
import mimetypes
import os
import tempfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path, PurePosixPath

import brotli
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from app.settings import ROOT, Settings

log = logging.getLogger(__name__)

PREFIX = "/static/"
STATIC = ROOT / "static"
HASH_LENGTH = 12
IMMUTABLE = "public, max-age=31536000, immutable"
MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".html": "text/html; charset=utf-8",
}
ENCODINGS: dict[str, Callable[[bytes], bytes]] = {  # in order of preference on a tie
    "br": lambda data: brotli.compress(data, quality=11),
    "gzip": lambda data: gzip.compress(data, compresslevel=9, mtime=0),
}
DECODERS: dict[str, Callable[[bytes], bytes]] = {
    "br": brotli.decompress,
    "gzip": gzip.decompress,
}


def accepted_encodings(header: str) -> dict[str, float]:
    """``Accept-Encoding`` as {coding: q}: ``"br;q=0.5, gzip"`` → ``{"br": 0.5, "gzip": 1.0}``."""
    result = {}
    for part in header.split(","):
        coding, *params = part.split(";")
        coding, q = coding.strip().lower(), 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if coding:
            result[coding] = q
    return result


def choose_encoding(header: str, available) -> str | None:
    """The stored encoding the client wants most (q > 0), brotli first on a tie; None: identity."""
    accepted = accepted_encodings(header)
    wildcard = accepted.get("*", 0.0)
    best, best_q = None, 0.0
    for coding in ENCODINGS:
        q = accepted.get(coding, wildcard)
        if coding in available and q > best_q:
            best, best_q = coding, q
    return best


def etag_matches(header: str, etag: str) -> bool:
    """Whether an ``If-None-Match`` header names ``etag`` (weak comparison, as RFC 9110 asks)."""
    tags = [tag.strip().removeprefix("W/") for tag in header.split(",")]
    return "*" in tags or etag.removeprefix("W/") in tags


@dataclass(frozen=True)
class Encoded:
    """One response body and its stored compressed forms, answered by content negotiation.

    The ETag is weak (``W/"…"``): the encodings are different bytes of the same content.
    """

    body: bytes
    media_type: str
    cache_control: str
    digest: str  # SHA-256 of the body, hex
    compressed: dict[str, bytes] = field(default_factory=dict)

    @property
    def etag(self) -> str:
        return f'W/"{self.digest[:32]}"'

    @classmethod
    def of(cls, body: bytes, media_type: str, cache_control: str, compress=None) -> Encoded:
        """Compresses ``body`` now (with ``compress(coding, body)``, default: in memory)."""
        digest = hashlib.sha256(body).hexdigest()
        compress = compress or (lambda coding, data: ENCODINGS[coding](data))
        compressed = {}
        for coding in ENCODINGS:
            packed = compress(coding, body)
            if len(packed) < len(body):
                compressed[coding] = packed
        return cls(body, media_type, cache_control, digest, compressed)

    def response(self, request: Request) -> Response:
        headers = {
            "Cache-Control": self.cache_control,
            "ETag": self.etag,
            "Vary": "Accept-Encoding",
        }
        if etag_matches(request.headers.get("if-none-match", ""), self.etag):
            return Response(status_code=304, headers=headers)
        coding = choose_encoding(request.headers.get("accept-encoding", ""), self.compressed)
        body = self.body if coding is None else self.compressed[coding]
        if coding is not None:
            headers["Content-Encoding"] = coding
        return Response(body, media_type=self.media_type, headers=headers)


def media_type(name: str) -> str:
    suffix = PurePosixPath(name).suffix
    return MEDIA_TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"


def hashed_name(name: str, digest: str) -> str:
    """``js/quiz.js`` → ``js/quiz.<first 12 hex digits>.js``."""
    path = PurePosixPath(name)
    return str(path.with_name(f"{path.stem}.{digest[:HASH_LENGTH]}{path.suffix}"))


class DiskCache:
    """Compressed bytes kept in ``folder``, named by the source's SHA-256 and the coding.

    A file is used only when it decompresses to the source exactly; writing is best-effort
    (a read-only folder just means compressing at every start).
    """

    def __init__(self, folder: Path | None):
        self.folder = folder

    def __call__(self, coding: str, data: bytes) -> bytes:
        path = self.path(data, coding)
        if path is not None and path.is_file():
            packed = path.read_bytes()
            try:
                if DECODERS[coding](packed) == data:
                    return packed
            except (OSError, EOFError, zlib.error, brotli.error):
                pass
            log.warning("stored %s is stale or damaged; compressing again", path.name)
        packed = ENCODINGS[coding](data)
        if path is not None:
            self.store(path, packed)
        return packed

    def path(self, data: bytes, coding: str) -> Path | None:
        if self.folder is None:
            return None
        return self.folder / f"{hashlib.sha256(data).hexdigest()}.{coding}"

    def prune(self, digests: set[str]) -> None:
        """Delete the stored files of every content but ``digests`` (SHA-256, hex): what an
        older version of an asset left behind. Only names this cache writes are touched."""
        if self.folder is None or not self.folder.is_dir():
            return
        for path in self.folder.iterdir():
            digest, _, coding = path.name.partition(".")
            if coding in ENCODINGS and len(digest) == 64 and digest not in digests:
                try:
                    path.unlink()
                except OSError as error:
                    log.warning("cannot delete the stale %s: %s", path, error)

    def store(self, path: Path, packed: bytes) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as out:
                out.write(packed)
            os.chmod(out.name, 0o644)  # readable by whoever serves (the Docker image's user)
            os.replace(out.name, path)
        except OSError as error:
            log.warning("cannot keep compressed assets in %s: %s", path.parent, error)


def source_files(static: Path = STATIC) -> dict[str, Path]:
    """Logical name (``css/site.css``) → file, for every file under ``static/``."""
    return {
        path.relative_to(static).as_posix(): path
        for path in sorted(static.rglob("*"))
        if path.is_file() and not path.name.startswith(".")
    }


class Assets:
    """The served assets, by logical name and by URL under ``prefix``; an ASGI endpoint serves
    them. ``cache_folder`` keeps their compressed bytes, and only theirs."""

    def __init__(
        self, files: dict[str, Path], cache_folder: Path | None = None, prefix: str = PREFIX
    ):
        compress = DiskCache(cache_folder)
        self.by_name: dict[str, tuple[str, Encoded]] = {}
        self.by_url: dict[str, Encoded] = {}
        for name, path in files.items():
            encoded = Encoded.of(path.read_bytes(), media_type(name), IMMUTABLE, compress)
            url = prefix + hashed_name(name, encoded.digest)
            self.by_name[name] = (url, encoded)
            self.by_url[url] = encoded
        compress.prune({encoded.digest for encoded in self.by_url.values()})

    def url(self, name: str) -> str:
        """The hashed URL of an asset: ``url("css/site.css")`` → ``/static/css/site.<h>.css``."""
        return self.by_name[name][0]

    async def endpoint(self, request: Request) -> Response:
        encoded = self.by_url.get(request.url.path)
        if encoded is None:
            return Response("not found", status_code=404, media_type="text/plain")
        return encoded.response(request)


@cache
def catalogue(cache_dir: Path) -> Assets:
    """This process's assets (read and compressed once; the disk keeps the compressed bytes)."""
    return Assets(source_files(), cache_dir / "assets")


class GZipExceptAssets(GZipMiddleware):
    """Starlette's per-request gzip, for every response but the stored assets under the
    ``stored`` prefixes (compressed already; pages carry their stored encoding, which it
    leaves alone)."""

    def __init__(self, app, minimum_size: int = 500, stored: tuple[str, ...] = (PREFIX,)):
        super().__init__(app, minimum_size=minimum_size)
        self.stored = stored

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(self.stored):
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def main() -> None:
    """Compress every asset into the cache now (at install), and list them."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.parse_args()
    assets = catalogue(Settings.from_env().cache_dir)
    print(f"{'url':<52} {'bytes':>9} {'gzip':>9} {'br':>9}")
    for url, encoded in assets.by_url.items():
        sizes = [len(encoded.compressed[c]) if c in encoded.compressed else "-" for c in ENCODINGS]
        print(f"{url:<52} {len(encoded.body):>9} {sizes[1]:>9} {sizes[0]:>9}")


if __name__ == "__main__":
    main()
