"""The quiz over HTTP: a task, an answer (stored anonymously), everyone's statistics,
and the Omniglot drawings themselves, addressed by character and drawing id only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from app.api.errors import enforce_rate
from app.datasets import DataUnavailable
from app.quiz import TOKEN, BadToken, make_task, new_token
from app.store import AlreadyAnswered, AnswerShown

router = APIRouter(tags=["quiz"])
MIN_MS, MAX_MS = 150, 30 * 60 * 1000


def omniglot(request: Request):
    try:
        return request.app.state.omniglot.get()
    except DataUnavailable as error:
        raise HTTPException(503, str(error)) from None


def drawing_url(character: int, drawing: int) -> str:
    return f"/api/omniglot/drawings/{character}/{drawing}.png"


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    task: str = Field(pattern=TOKEN.pattern, max_length=24, description="the task's token")
    choice: int = Field(ge=0, le=19, description="index of the chosen candidate")
    ms: int = Field(ge=MIN_MS, le=MAX_MS, description="milliseconds from showing to answering")


@router.get("/api/quiz/task", summary="A new quiz task: a query drawing and N candidates")
def task(request: Request, ways: Annotated[int, Query(description="5 or 20")] = 5) -> dict:
    if ways not in (5, 20):
        raise HTTPException(422, "ways: must be 5 or 20")
    quiz = make_task(omniglot(request), new_token(ways))
    return {
        "task": quiz.token,
        "ways": ways,
        "query": drawing_url(*quiz.query),
        "choices": [drawing_url(*c) for c in quiz.choices],
    }


@router.post("/api/quiz/answer", summary="Answer a quiz task; stored anonymously")
def answer(body: Answer, request: Request) -> dict:
    enforce_rate(request, request.app.state.quiz_limiter, "answers")
    try:
        quiz = make_task(omniglot(request), body.task)
    except BadToken as error:
        raise HTTPException(422, str(error)) from None
    if body.choice >= quiz.ways:
        raise HTTPException(422, f"choice: must be between 0 and {quiz.ways - 1}")
    correct = body.choice == quiz.answer
    try:
        request.app.state.answers.add(quiz.token, quiz.ways, correct, body.ms)
    except AlreadyAnswered:
        raise HTTPException(409, "task: this task has already been answered") from None
    except AnswerShown:
        raise HTTPException(409, "task: its answer has been shown; draw a new task") from None
    return {"correct": correct, "answer": quiz.answer}


@router.get("/api/quiz/models", summary="How each trained model answered an answered task")
def model_answers(request: Request, task: Annotated[str, Query(max_length=24)]) -> list[dict]:
    try:
        quiz = make_task(omniglot(request), task)
    except BadToken as error:
        raise HTTPException(422, str(error)) from None
    if not request.app.state.answers.answered(quiz.token):
        raise HTTPException(409, "task: answer it first")
    episode = quiz.episode
    store = request.app.state.classifiers
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


@router.get("/api/quiz/stats", summary="All readers' accuracy per mode, with a 95% interval")
def stats(request: Request) -> dict:
    return request.app.state.answers.stats()


@router.get(
    "/api/omniglot/drawings/{character}/{drawing}.png",
    summary="One original 105×105 Omniglot drawing (Lake et al. 2015)",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}},
)
def drawing(
    request: Request,
    character: Annotated[int, Path(ge=0, le=10_000)],
    drawing: Annotated[int, Path(ge=0, le=19)],
) -> Response:
    data = omniglot(request)
    if character >= len(data.character_names):
        raise HTTPException(404, f"character: no character {character}")
    return Response(
        data.original_png(character, drawing),
        media_type="image/png",
        headers={"Cache-Control": "public, max-age=604800, immutable"},
    )
