"""Omniglot over HTTP: this app's trained models (what is served, classification of new
episodes for the draw page and anyone's uploads, MAML adapting to a quiz task step by step for
the MAML page's figure) and the original drawings, addressed by character and drawing id only."""

from __future__ import annotations

import base64
import binascii
import io
import re
import warnings
from collections import Counter
from typing import Annotated

import torch
from fastapi import APIRouter, HTTPException, Path, Request, Response
from PIL import Image
from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator

from app.article.model_cards import omniglot_cards
from app.meta.tasks.drawings import MAX_SIDE, model_input
from app.web.api.errors import enforce_rate, invalid
from app.web.api.omniglot_access import drawing_url, issued_task, omniglot, task_key
from app.web.payloads import finite
from app.web.quiz_tasks import TOKEN, TOKEN_MAX_LENGTH

router = APIRouter(prefix="/api/omniglot", tags=["omniglot"])
MAX_IMAGE_CHARS = 300_000  # base64 characters of one image (about 220 kB of PNG)
Image64 = Annotated[str, Field(min_length=1, max_length=MAX_IMAGE_CHARS)]
FORMATS = ("PNG", "JPEG")
# Decoding is what costs: about 45 ms per million pixels here, so one request's images may
# hold at most 40 million pixels in all (about 2 s; ten 2048×2048 images, or 120 of 570×570),
# and each started million pixels counts as one more request against the client's rate.
MAX_REQUEST_PIXELS = 40_000_000
PIXELS_PER_TOKEN = 1_000_000
ADDRESS = re.compile(r"\s*<[^<>]*\bat 0x[0-9a-fA-F]+>")


@router.get("/models", summary="The served Omniglot models with their measured test accuracy")
def models(request: Request) -> list[dict]:
    return [
        {
            "id": card["id"],
            "method": card["algo"],
            "title": card["title"],
            "family": card["family"],
            "ways": card["config"]["ways"],
            "shots": card["config"]["shots"],
            "accuracy": card["eval"]["accuracy"],
            "interval": card["eval"]["ci95"],
            "episodes": card["eval"]["episodes"],
            "steps": card["budget"]["steps_done"],
            "finished": card["budget"]["finished"],
        }
        for card in omniglot_cards(request.app.state.settings.models_dir)
    ]


class Example(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str = Field(min_length=1, max_length=40, description="the class of this example")
    image: Image64 = Field(description="base64 PNG or JPEG, dark ink on a light background")


class ClassifyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(None, pattern=r"^omniglot-[a-z0-9-]{1,60}$", description="a model id")
    method: str | None = Field(None, max_length=20, description="or a method, with ways")
    ways: StrictInt | None = Field(None, ge=2, le=20, description="with method: the model's ways")
    support: list[Example] = Field(
        min_length=2, max_length=100, description="N = 2…20 labels, K = 1…5 examples each"
    )
    queries: list[Image64] = Field(min_length=1, max_length=20, description="images to classify")

    @model_validator(mode="after")
    def check_episode(self):
        if (self.id is None) == (self.method is None):
            raise ValueError("give either id, or method and ways")
        if self.method is not None and self.ways is None:
            raise ValueError("ways: required with method")
        counts = Counter(example.label for example in self.support)
        if not 2 <= len(counts) <= 20:
            raise ValueError(f"support: {len(counts)} distinct labels; allowed 2 to 20")
        if max(counts.values()) > 5:
            raise ValueError("support: at most 5 examples of each label")
        return self


class BadField(Exception):
    def __init__(self, loc: list, message: str):
        self.loc, self.message = loc, message


def open_image(image: str, field: list) -> tuple[bytes, int]:
    """The image's bytes and its pixel count, read from its header (nothing is decoded)."""
    try:
        data = base64.b64decode(image, validate=True)
    except binascii.Error:
        raise BadField(field, "not base64") from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=FORMATS) as header:
                width, height = header.size
    except Exception:  # PIL raises many kinds for bytes that are no image
        raise BadField(field, "not a PNG or JPEG image that can be read") from None
    if max(width, height) > MAX_SIDE:
        raise BadField(field, f"image is {width}×{height}; at most {MAX_SIDE} pixels a side")
    return data, width * height


def decode(data: bytes, field: list) -> torch.Tensor:
    try:
        return model_input(data)
    except ValueError as error:  # say what is wrong, never what Python printed
        raise BadField(field, ADDRESS.sub("", str(error)) or "not a readable image") from None


def read_images(body: ClassifyRequest, request: Request) -> tuple[torch.Tensor, torch.Tensor]:
    """Support and query images as model inputs, after checking what decoding them costs."""
    fields = [["body", "support", i, "image"] for i in range(len(body.support))]
    fields += [["body", "queries", i] for i in range(len(body.queries))]
    images = [e.image for e in body.support] + list(body.queries)
    opened = [open_image(image, field) for image, field in zip(images, fields, strict=True)]
    pixels = sum(n for _, n in opened)
    if pixels > MAX_REQUEST_PIXELS:
        raise BadField(
            ["body"],
            f"the images hold {pixels:,} pixels in all; at most {MAX_REQUEST_PIXELS:,}: "
            "send fewer or smaller images (105×105 is what the models see)",
        )
    enforce_rate(
        request,
        request.app.state.classify_limiter,
        "classification requests",
        cost=1 + pixels // PIXELS_PER_TOKEN,
    )
    inputs = [decode(data, field) for (data, _), field in zip(opened, fields, strict=True)]
    n = len(body.support)
    return torch.stack(inputs[:n]), torch.stack(inputs[n:])


@router.post("/classify", summary="Classify query images given a few labelled examples")
def classify(body: ClassifyRequest, request: Request):
    store = request.app.state.classifiers
    served = store.get(body.id) if body.id else store.find(body.method, body.ways)
    if served is None:
        raise HTTPException(404, "no such model: GET /api/omniglot/models lists them")
    labels = list(dict.fromkeys(example.label for example in body.support))
    if not served.accepts(len(labels)):
        return invalid(
            [
                {
                    "loc": ["body", "support"],
                    "type": "value_error",
                    "msg": f"{len(labels)} labels; the {served.title} model ({served.id}) "
                    f"answers at most {served.ways}",
                }
            ]
        )
    try:
        xs, xq = read_images(body, request)
    except BadField as error:
        return invalid([{"loc": error.loc, "msg": error.message, "type": "value_error"}])
    ys = torch.tensor([labels.index(e.label) for e in body.support])
    probabilities = served.probabilities(xs, ys, xq)
    return {
        "model": served.id,
        "predictions": [
            {
                "label": labels[int(p.argmax())],
                "probabilities": {
                    label: round(float(v), 5) for label, v in zip(labels, p, strict=True)
                },
            }
            for p in probabilities
        ],
    }


class AdaptRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    task: str = Field(
        pattern=TOKEN.pattern,
        max_length=TOKEN_MAX_LENGTH,
        description="a quiz task's token (GET /api/quiz/task)",
    )


@router.post("/adapt", summary="The MAML model fine-tuning on a quiz task, step by step")
def adapt(body: AdaptRequest, request: Request) -> dict:
    """The query's class probabilities and the support loss after each of the model's k inner
    steps, and the right answer: the task takes no quiz answer once this has shown it."""
    enforce_rate(request, request.app.state.classify_limiter, "classification requests")
    quiz = issued_task(request, body.task)
    store = request.app.state.classifiers
    served = store.find("maml", quiz.ways)
    if served is None or served.ways != quiz.ways:
        raise HTTPException(503, f"no {quiz.ways}-way MAML model on this server")
    classifier = served.classifier
    hyper = classifier.config.hyper(evaluation=True)
    episode = quiz.episode
    curves = classifier.adaptation(episode.xs[0], episode.ys[0], episode.xq[0])
    request.app.state.answers.reveal(task_key(quiz))
    return {
        "task": quiz.token,
        "ways": quiz.ways,
        "query": drawing_url(*quiz.query),
        "choices": [drawing_url(*c) for c in quiz.choices],
        "answer": quiz.answer,
        "model": {
            "id": served.id,
            "title": served.title,
            "accuracy": store.cards()[served.id]["eval"]["accuracy"],
            "alpha": hyper.alpha,
            "steps": hyper.inner_steps,
        },
        "probabilities": finite(curves.predictions[:, 0], significant=5),
        "support_losses": finite(curves.support_losses, significant=5),
    }


@router.get(
    "/drawings/{character}/{drawing}.png",
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
