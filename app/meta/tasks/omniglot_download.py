"""Fetching a missing Omniglot zip from its official source, md5-checked.

The official files live at ``https://github.com/brendenlake/omniglot/raw/master/python``
(Lake, Salakhutdinov & Tenenbaum, 2015; MIT licence). A download goes to a temporary file
beside its destination, shows a tqdm progress bar on stderr, and takes the destination's
name only once its md5 matches. Offline, or when the md5 differs, the error says exactly
where to put a copy by hand. The base URL is a parameter, so tests can serve a file from
127.0.0.1.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO
from urllib.error import URLError

from tqdm import tqdm

OFFICIAL_BASE_URL = "https://github.com/brendenlake/omniglot/raw/master/python"
TIMEOUT_S = 60.0
CHUNK_BYTES = 1 << 16


class DownloadError(RuntimeError):
    """A needed file is missing and could not be fetched; the message says where to put it."""


class ChecksumError(DownloadError):
    """A downloaded file's md5 differs from the official one; nothing was kept."""


@contextmanager
def atomic_write(destination: Path) -> Iterator[BinaryIO]:
    """Write to a temporary file beside ``destination``, renamed to it if the block succeeds."""
    folder = destination.parent
    folder.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=folder, prefix=destination.name, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as file:
            yield file
        os.chmod(temporary, 0o644)  # mkstemp's 0o600 would hide the file from other users
        os.replace(temporary, destination)
    finally:
        Path(temporary).unlink(missing_ok=True)


def ensure_file(
    destination: Path, md5: str, base_url: str | None, timeout: float = TIMEOUT_S
) -> Path:
    """Return ``destination``, first downloading ``<base_url>/<its name>`` if it is missing.

    ``base_url=None`` forbids downloading: a missing file is then an error at once.
    """
    if destination.is_file():
        return destination
    if base_url is None:
        raise DownloadError(_put_it_there(destination, md5, "downloading is switched off"))
    url = f"{base_url.rstrip('/')}/{destination.name}"
    try:
        download(url, destination, md5, timeout)
    except ChecksumError as error:
        raise ChecksumError(_put_it_there(destination, md5, str(error))) from None
    except (URLError, TimeoutError, ConnectionError) as error:
        reason = f"could not download {url}: {error}"
        raise DownloadError(_put_it_there(destination, md5, reason)) from error
    return destination


def download(url: str, destination: Path, md5: str, timeout: float = TIMEOUT_S) -> None:
    """Stream ``url`` into ``destination``; raise :class:`ChecksumError` if its md5 differs."""
    with atomic_write(destination) as file, urllib.request.urlopen(url, timeout=timeout) as source:
        length = source.headers.get("Content-Length")
        digest = _copy(source, file, int(length) if length else None, destination.name)
        if digest != md5:
            raise ChecksumError(f"{url} has md5 {digest}, expected {md5}")


def _copy(source: BinaryIO, target: BinaryIO, total: int | None, label: str) -> str:
    """Copy all of ``source`` to ``target`` with a progress bar; return the md5 hex digest."""
    digest = hashlib.md5(usedforsecurity=False)
    with tqdm(
        total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=label, file=sys.stderr
    ) as bar:
        while chunk := source.read(CHUNK_BYTES):
            target.write(chunk)
            digest.update(chunk)
            bar.update(len(chunk))
    return digest.hexdigest()


def _put_it_there(destination: Path, md5: str, reason: str) -> str:
    return (
        f"Omniglot file {destination.name} is missing ({reason}). Download it where a network "
        f"is available, from {OFFICIAL_BASE_URL}/{destination.name} (md5 {md5}), and put it at "
        f"{destination.resolve()}"
    )
