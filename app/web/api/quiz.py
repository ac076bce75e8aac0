"""The quiz over HTTP: a task, an answer (stored anonymously), the trained models' answers,
everyone's statistics. The drawings it shows are served by :mod:`app.web.api.omniglot`."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from app.web.api.errors import enforce_rate
from app.web.api.omniglot_access import drawing_url, issued_task, omniglot, task_key
from app.web.quiz_store import AlreadyAnswered, AnswerShown
from app.web.quiz_tasks import TOKEN, TOKEN_MAX_LENGTH, QuizTask, make_task

router = APIRouter(prefix="/api/quiz", tags=["quiz"])
MIN_MS, MAX_MS = 150, 30 * 60 * 1000


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    task: str = Field(
        pattern=TOKEN.pattern,
        max_length=TOKEN_MAX_LENGTH,
        description="the task's token, as GET /api/quiz/task gave it",
    )
    choice: StrictInt = Field(ge=0, le=19, description="index of the chosen candidate")
    ms: StrictInt = Field(
        ge=MIN_MS, le=MAX_MS, description="milliseconds from showing to answering"
    )


@router.get("/task", summary="A new quiz task: a query drawing and N candidates")
def task(request: Request, ways: Annotated[int, Query(description="5 or 20")] = 5) -> dict:
    if ways not in (5, 20):
        raise HTTPException(422, "ways: must be 5 or 20")
    quiz = make_task(omniglot(request), request.app.state.tokens.issue(ways))
    return {
        "task": quiz.token,
        "ways": ways,
        "query": drawing_url(*quiz.query),
        "choices": [drawing_url(*c) for c in quiz.choices],
    }


@router.post("/answer", summary="Answer a quiz task; stored anonymously")
def answer(body: Answer, request: Request) -> dict:
    enforce_rate(request, request.app.state.quiz_limiter, "answers")
    quiz = issued_task(request, body.task)
    if body.choice >= quiz.ways:
        raise HTTPException(422, f"choice: must be between 0 and {quiz.ways - 1}")
    correct = body.choice == quiz.answer
    try:
        request.app.state.answers.add(task_key(quiz), quiz.ways, correct, body.ms)
    except AlreadyAnswered:
        raise HTTPException(409, "task: this task has already been answered") from None
    except AnswerShown:
        raise HTTPException(409, "task: its answer has been shown; draw a new task") from None
    return {"correct": correct, "answer": quiz.answer}


class ModelAnswers:
    """Every served model's answer to a task, computed once per task (the models do not
    change while the server runs) and one task at a time, so that readers asking at once
    neither wait on each other's copies nor multiply the memory."""

    def __init__(self, size: int = 512, wait_seconds: float = 6.0):
        self.cache: OrderedDict[str, list[dict]] = OrderedDict()
        self.size, self.wait_seconds = size, wait_seconds
        self.lock = threading.Lock()  # guards the cache
        self.computing = threading.Lock()  # one computation at a time

    def get(self, key: str) -> list[dict] | None:
        with self.lock:
            if key in self.cache:
                self.cache.move_to_end(key)
                return self.cache[key]
        return None

    def answer(self, request: Request, quiz: QuizTask) -> list[dict]:
        key = task_key(quiz)
        if (cached := self.get(key)) is not None:
            return cached
        enforce_rate(request, request.app.state.classify_limiter, "classification requests")
        if not self.computing.acquire(timeout=self.wait_seconds):
            raise HTTPException(
                429,
                "the models are busy answering other tasks; ask again in a moment",
                headers={"Retry-After": "2"},
            )
        try:
            if (cached := self.get(key)) is not None:
                return cached
            answers = compute_model_answers(request.app.state.classifiers, quiz)
        finally:
            self.computing.release()
        with self.lock:
            self.cache[key] = answers
            while len(self.cache) > self.size:
                self.cache.popitem(last=False)
        return answers


def compute_model_answers(store, quiz: QuizTask) -> list[dict]:
    episode = quiz.episode
    answers = []
    for method in sorted({served.method for served in store.all()}):
        served = store.find(method, quiz.ways)  # the model trained for this many ways if any
        if served is None or not served.accepts(quiz.ways):
            continue
        p = served.probabilities(episode.xs[0], episode.ys[0], episode.xq[0])[0]
        choice = int(p.argmax())
        answers.append(
            {
                "id": served.id,
                "title": served.title,
                "family": served.family,
                "ways": served.ways,
                "answer": choice,
                "confidence": round(float(p[choice]), 4),
                "correct": choice == quiz.answer,
            }
        )
    return answers


MODEL_ANSWERS_LOCK = threading.Lock()


def model_answers_of(app) -> ModelAnswers:
    with MODEL_ANSWERS_LOCK:
        if not hasattr(app.state, "model_answers"):
            app.state.model_answers = ModelAnswers()
        return app.state.model_answers


@router.get("/models", summary="How each trained model answered an answered task")
def model_answers(
    request: Request, task: Annotated[str, Query(max_length=TOKEN_MAX_LENGTH)]
) -> list[dict]:
    """Computed once per task and cached; rate-limited like classification."""
    quiz = issued_task(request, task, "query")
    if not request.app.state.answers.answered(task_key(quiz)):
        raise HTTPException(409, "task: answer it first")
    return model_answers_of(request.app).answer(request, quiz)


@router.get("/stats", summary="All readers' accuracy per mode, with a 95% interval")
def stats(request: Request) -> dict:
    return request.app.state.answers.stats()
