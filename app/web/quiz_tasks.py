"""The few-shot quiz: one query drawing, N candidates, one drawing of each, from held-out alphabets.

A task is named by a token ``"<ways>-<seed>-<signature>"``: the server rebuilds the same
episode from it (so it needs no session state) and knows the right answer.
The characters come from the meta-test alphabets, which no model here trains on.

A token has one spelling only (ASCII digits, no leading zeros, lowercase hex), and its
signature is an HMAC of ``"<ways>-<seed>"`` under a key kept in the data directory
(:class:`TaskTokens`), so the server accepts only tokens it issued itself, before and after a
restart, and a task stored under its token is stored once.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

import torch

from app.meta.tasks.base import TaskBatch
from app.meta.tasks.omniglot import Omniglot
from app.meta.tasks.omniglot_episodes import OmniglotTasks

WAYS = (5, 20)
SPLIT = "test"
SIGNATURE_HEX = 24  # 96 bits of HMAC-SHA256
# ASCII digits only ([0-9], not \d, which matches every Unicode digit), no leading zeros.
TOKEN = re.compile(rf"^(5|20)-(0|[1-9][0-9]{{0,15}})-([0-9a-f]{{{SIGNATURE_HEX}}})$")
TOKEN_MAX_LENGTH = 2 + 1 + 16 + 1 + SIGNATURE_HEX
MAX_SEED = 2**53
UNSIGNED = re.compile(r"^(5|20)-(0|[1-9][0-9]{0,15})(?:-[0-9a-f]+)?$")


class BadToken(ValueError):
    """Not a quiz task this server could have made."""


@dataclass(frozen=True)
class QuizTask:
    token: str
    ways: int
    query: tuple[int, int]  # (character id, drawing id)
    choices: list[tuple[int, int]]
    answer: int  # index into choices
    episode: TaskBatch  # the same task as model input: N support images, the one query


class TaskTokens:
    """Issues and checks signed task tokens; the key lives in ``path`` (made on first use,
    readable by the server's user only), so tokens stay valid across restarts."""

    def __init__(self, key: bytes):
        self.key = key

    @classmethod
    def load(cls, path: Path) -> TaskTokens:
        """The key in ``path``; the first server to start writes a new one (whole, then linked
        into place, so a second server starting at once reads the same key)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(secrets.token_bytes(32))
                out.flush()
                os.fsync(out.fileno())
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass
            finally:
                tmp.unlink()
        key = path.read_bytes()
        if len(key) < 32:
            raise RuntimeError(f"{path}: the quiz key is damaged; delete it to make a new one")
        return cls(key)

    def sign(self, ways: int, seed: int) -> str:
        mac = hmac.new(self.key, f"{ways}-{seed}".encode(), hashlib.sha256).hexdigest()
        return f"{ways}-{seed}-{mac[:SIGNATURE_HEX]}"

    def issue(self, ways: int) -> str:
        return self.sign(ways, secrets.randbelow(MAX_SEED))

    def verify(self, token: str) -> tuple[int, int]:
        """(ways, seed) of a token this server issued; :class:`BadToken` for anything else."""
        match = TOKEN.fullmatch(token)
        if match and int(match.group(2)) < MAX_SEED:
            ways, seed = int(match.group(1)), int(match.group(2))
            if hmac.compare_digest(self.sign(ways, seed), token):
                return ways, seed
        raise BadToken(
            f"{token[:40]!r} is not a task this server issued; draw one with GET /api/quiz/task"
        )


def split_token(token: str) -> tuple[int, int]:
    """Ways and seed of a token, signed or not (the signature does not change the task;
    :meth:`TaskTokens.verify` is what checks it)."""
    match = UNSIGNED.fullmatch(token)
    if not match or int(match.group(2)) >= MAX_SEED:
        raise BadToken(f"{token[:40]!r} is not a quiz task token")
    return int(match.group(1)), int(match.group(2))


def make_task(data: Omniglot, token: str) -> QuizTask:
    ways, seed = split_token(token)
    generator = torch.Generator().manual_seed(seed)
    batch, ids = OmniglotTasks(data, split=SPLIT, n_way=ways).sample_with_ids(1, 1, 1, generator)
    answer = int(torch.randint(ways, (1,), generator=generator))
    support = ids.support[0, :, 1:3].tolist()  # one row per label 0..N-1
    query = ids.query[0, answer, 1:3].tolist()
    episode = TaskBatch(
        batch.xs, batch.ys, batch.xq[:, answer : answer + 1], batch.yq[:, answer : answer + 1]
    )
    return QuizTask(token, ways, tuple(query), [tuple(c) for c in support], answer, episode)
