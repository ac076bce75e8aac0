"""Real Redis and PostgreSQL servers on free loopback ports in temporary folders, and the
app's own processes (``python -m app serve|worker``), for tests and ``bench/scale.py``.

Debian's ``redis-server`` and ``postgresql`` (``bash scripts/test`` installs both when run as
root). A test that needs one is skipped, saying which, only when its binaries are missing.
PostgreSQL refuses to run as root, so as root its folder belongs to ``nobody`` and its
programs run as that user.
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import free_port

START_SECONDS = 600  # seconds normally; generous for a busy machine (imports, warm-up)


def postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def need(binary: str | None, package: str) -> None:
    if binary is None:
        pytest.skip(f"{package} is not installed (bash scripts/test installs it as root)")


def wait_for(check, what: str, process: subprocess.Popen | None) -> None:
    deadline = time.monotonic() + START_SECONDS
    while not check():
        if (process and process.poll() is not None) or time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start")
        time.sleep(0.1)


class RedisServer:
    """``redis-server`` without persistence; :meth:`stop` and :meth:`start` again on the same
    port (the tests take it away and bring it back)."""

    def __init__(self, folder: Path):
        self.folder, self.port = folder, free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        import redis

        self.process = subprocess.Popen(
            [shutil.which("redis-server"), "--port", str(self.port), "--bind", "127.0.0.1"]
            + ["--dir", str(self.folder), "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=1)

        def up() -> bool:
            try:
                return client.ping()
            except redis.ConnectionError:
                return False

        wait_for(up, "redis-server", self.process)
        client.close()

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(30)
            self.process = None


@contextmanager
def redis_server():
    need(shutil.which("redis-server"), "redis-server")
    with tempfile.TemporaryDirectory(prefix="maml-redis-") as folder:
        server = RedisServer(Path(folder))
        server.start()
        try:
            yield server
        finally:
            server.stop()


class PostgresServer:
    """A cluster's ``postgres`` server on a free port; :meth:`stop` takes it away (the tests
    do), :meth:`crash` kills it, and :meth:`start` brings it back on the same port."""

    def __init__(self, binaries: Path, folder: Path, user: str | None):
        self.binaries, self.folder, self.user = binaries, folder, user
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        import psycopg

        self.process = subprocess.Popen(
            [self.binaries / "postgres", "-D", self.folder / "data", "-p", str(self.port)]
            + ["-k", self.folder, "-c", "listen_addresses=127.0.0.1"],
            user=self.user,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        def up() -> bool:
            try:
                psycopg.connect(self.url, connect_timeout=2).close()
                return True
            except psycopg.OperationalError:
                return False

        wait_for(up, "postgres", self.process)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # fast shutdown: clients disconnected
            self.process.wait(60)

    def crash(self) -> None:
        """SIGKILL the server and every process it started, all at once: nothing of it gets
        to write or flush anything more, as when its machine loses power."""
        pids = [self.process.pid, *children(self.process.pid)]
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        self.process.wait(60)
        # Its shared memory is free once each is gone (or a zombie): then it can start again.
        wait_for(lambda: all(state(pid) in ("Z", None) for pid in pids), "the crash", None)


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if stat.read_text().rsplit(")", 1)[1].split()[1] == str(pid):
                found.append(int(stat.parent.name))
        except (OSError, IndexError):
            continue
    return found


def state(pid: int) -> str | None:
    """A process's state letter (``Z`` for a zombie), or None when it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


@contextmanager
def postgres_server():
    """A fresh cluster (user ``postgres``, trusted on loopback): its :class:`PostgresServer`."""
    binaries = postgres_bin()
    need(binaries, "postgresql")
    folder = Path(tempfile.mkdtemp(prefix="maml-pg-"))
    user = None
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        os.chown(folder, nobody.pw_uid, nobody.pw_gid)
        user = "nobody"
    try:
        subprocess.run(
            [binaries / "initdb", "-D", folder / "data", "-U", "postgres", "-A", "trust"]
            + ["--no-sync"],
            user=user,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        server = PostgresServer(binaries, folder, user)
        try:
            server.start()
            yield server
        finally:
            server.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


class Process:
    """``python -m app COMMAND`` with these settings, its output in a file."""

    def __init__(self, command: str, env: dict, log: Path):
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "app", command],
                env=dict(os.environ, **env),
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, pattern: str) -> None:
        deadline = time.monotonic() + START_SECONDS
        while not re.search(pattern, self.output()):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{self.log.name}: no {pattern!r}:\n{self.output()[-3000:]}")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(30)
