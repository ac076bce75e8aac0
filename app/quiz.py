"""The few-shot quiz: one query drawing, N candidates, one drawing of each, from held-out alphabets.

A task is named by a token ``"<ways>-<seed>"``: the server rebuilds the same
episode from it (so it needs no session state) and knows the right answer.
The characters come from the meta-test alphabets, which no model here trains on.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

import torch

from app.meta.tasks.base import TaskBatch
from app.meta.tasks.omniglot import Omniglot, OmniglotTasks

WAYS = (5, 20)
SPLIT = "test"
TOKEN = re.compile(r"^(5|20)-(\d{1,16})$")
MAX_SEED = 2**53


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


def new_token(ways: int) -> str:
    return f"{ways}-{secrets.randbelow(MAX_SEED)}"


def parse_token(token: str) -> tuple[int, int]:
    match = TOKEN.match(token)
    if not match or int(match.group(2)) >= MAX_SEED:
        raise BadToken(
            f"task: {token!r} is not a quiz task token; allowed: 5-<seed> or 20-<seed> "
            f"with 0 ≤ seed < {MAX_SEED}"
        )
    return int(match.group(1)), int(match.group(2))


def make_task(data: Omniglot, token: str) -> QuizTask:
    ways, seed = parse_token(token)
    generator = torch.Generator().manual_seed(seed)
    batch, ids = OmniglotTasks(data, split=SPLIT, n_way=ways).sample_with_ids(1, 1, 1, generator)
    answer = int(torch.randint(ways, (1,), generator=generator))
    support = ids.support[0, :, 1:3].tolist()  # one row per label 0..N-1
    query = ids.query[0, answer, 1:3].tolist()
    episode = TaskBatch(
        batch.xs, batch.ys, batch.xq[:, answer : answer + 1], batch.yq[:, answer : answer + 1]
    )
    return QuizTask(token, ways, tuple(query), [tuple(c) for c in support], answer, episode)
