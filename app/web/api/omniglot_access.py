"""What the Omniglot and quiz routers share: the loaded data, issued quiz tasks, drawings' URLs.

Routes reach Omniglot through :func:`omniglot` (503 until the data is ready) and a quiz
task through :func:`issued_task` (422 naming ``task`` for a token this server did not issue).
"""

from __future__ import annotations

from fastapi import HTTPException, Request
from fastapi.exceptions import RequestValidationError

from app.web.omniglot_source import DataUnavailable
from app.web.quiz_tasks import BadToken, QuizTask, make_task


def omniglot(request: Request):
    try:
        return request.app.state.omniglot.get()
    except DataUnavailable as error:
        raise HTTPException(503, str(error)) from None


def drawing_url(character: int, drawing: int) -> str:
    return f"/api/omniglot/drawings/{character}/{drawing}.png"


def issued_task(request: Request, token: str, where: str = "body") -> QuizTask:
    """The task of a token this server issued (422 naming ``task`` for any other)."""
    try:
        request.app.state.tokens.verify(token)
    except BadToken as error:
        problem = {"loc": (where, "task"), "msg": str(error), "type": "value_error"}
        raise RequestValidationError([problem]) from None
    return make_task(omniglot(request), token)


def task_key(quiz: QuizTask) -> str:
    """The one name under which a task's answer and its revealing are stored."""
    ways, seed, _ = quiz.token.split("-")
    return f"{ways}-{seed}"
