"""SQLite storage of anonymous quiz answers (mode, correct or not, time taken).

WAL journal with ``synchronous=FULL``: once :meth:`AnswerStore.add` returns, the answer is
on disk and survives the process being killed. A task can be answered once: it is stored
under its canonical name ``"<ways>-<seed>"`` (see :mod:`app.web.quiz_tasks`), which is
unique. Rows written before tokens were signed may name a task in another spelling
(``5-0123``, Unicode digits); opening the store renames them, and moves a second answer to
the same task into ``duplicates``, which no statistic counts. A task whose answer was shown
before anyone answered it (the MAML page's figure marks the right candidate) is
:meth:`AnswerStore.reveal`-ed and takes no answer after that, so the readers' statistics
count only honest guesses.
"""

from __future__ import annotations

import math
import re
import sqlite3
import threading
import time
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    id INTEGER PRIMARY KEY,
    task TEXT NOT NULL UNIQUE,
    ways INTEGER NOT NULL,
    correct INTEGER NOT NULL,
    ms INTEGER NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS revealed (
    task TEXT PRIMARY KEY,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS duplicates (
    id INTEGER PRIMARY KEY,
    task TEXT NOT NULL,
    ways INTEGER NOT NULL,
    correct INTEGER NOT NULL,
    ms INTEGER NOT NULL,
    created REAL NOT NULL
);
"""
OLD_SPELLING = re.compile(r"(5|20)-(\d{1,16})")


def canonical(task: str) -> str | None:
    """``"<ways>-<seed>"`` of a task named in an old spelling, or None if it is none."""
    match = OLD_SPELLING.fullmatch(task)
    return f"{int(match.group(1))}-{int(match.group(2))}" if match else None


class AlreadyAnswered(Exception):
    """This task has been answered before."""


class AnswerShown(Exception):
    """This task's answer was shown before it was answered."""


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval for a proportion (Wilson 1927); (0, 1) when n = 0."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


STATS = "SELECT ways, COUNT(*), SUM(correct) FROM answers GROUP BY ways"


def summarise(rows) -> dict[str, dict]:
    """The statistics per mode from :data:`STATS`' rows ``(ways, answers, right)``."""
    counts = {ways: (n, right) for ways, n, right in rows}
    out = {}
    for ways in (5, 20):
        n, right = counts.get(ways, (0, 0))
        out[str(ways)] = {
            "answers": n,
            "accuracy": right / n if n else None,
            "interval": list(wilson_interval(right, n)) if n else None,
        }
    return out


class AnswerStore:
    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.connection.execute("PRAGMA journal_mode=WAL")
        self.connection.execute("PRAGMA synchronous=FULL")
        self.connection.executescript(SCHEMA)
        self.lock = threading.Lock()
        self.canonicalise()

    def canonicalise(self) -> None:
        """Rename tasks stored in another spelling; a second answer to one task moves to
        ``duplicates``."""
        rows = self.connection.execute("SELECT id, task FROM answers ORDER BY id").fetchall()
        renames = [(i, canonical(t)) for i, t in rows if canonical(t) not in (None, t)]
        if not renames:
            return
        with self.lock, self.connection:
            self.connection.execute("BEGIN IMMEDIATE")
            for row_id, task in renames:
                taken = self.connection.execute(
                    "SELECT 1 FROM answers WHERE task = ?", (task,)
                ).fetchone()
                if taken:
                    self.connection.execute(
                        "INSERT INTO duplicates SELECT * FROM answers WHERE id = ?", (row_id,)
                    )
                    self.connection.execute("DELETE FROM answers WHERE id = ?", (row_id,))
                else:
                    self.connection.execute(
                        "UPDATE answers SET task = ? WHERE id = ?", (task, row_id)
                    )

    def add(self, task: str, ways: int, correct: bool, ms: int) -> None:
        with self.lock:
            if self.connection.execute("SELECT 1 FROM revealed WHERE task = ?", (task,)).fetchone():
                raise AnswerShown(task)
            try:
                self.connection.execute(
                    "INSERT INTO answers (task, ways, correct, ms, created) VALUES (?, ?, ?, ?, ?)",
                    (task, ways, int(correct), ms, time.time()),
                )
            except sqlite3.IntegrityError:
                raise AlreadyAnswered(task) from None

    def reveal(self, task: str) -> None:
        """Record that this task's answer is being shown; unless it is answered already, no
        answer to it is taken from now on."""
        with self.lock:
            self.connection.execute(
                "INSERT OR IGNORE INTO revealed (task, created) SELECT ?, ?"
                " WHERE NOT EXISTS (SELECT 1 FROM answers WHERE task = ?)",
                (task, time.time(), task),
            )

    def answered(self, task: str) -> bool:
        with self.lock:
            row = self.connection.execute("SELECT 1 FROM answers WHERE task = ?", (task,))
            return row.fetchone() is not None

    def stats(self) -> dict[str, dict]:
        with self.lock:
            rows = self.connection.execute(STATS).fetchall()
        return summarise(rows)

    def close(self) -> None:
        with self.lock:
            self.connection.close()
