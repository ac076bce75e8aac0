"""The sinusoid fine-tuning figure: a reader's K points, each model's adaptation step by step."""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path
from typing import Annotated

import torch
from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field

from app.meta.adaptation_curves import finetune_curves
from app.meta.checkpoint import load_checkpoint
from app.meta.nets import regression_mlp
from app.meta.params import Params
from app.meta.tasks.sinusoid import AMPLITUDE, PHASE, X_RANGE, grid, sinusoid

router = APIRouter(prefix="/api/sinusoid", tags=["sinusoid"])
REFERENCE = {"pretrained": "Pretrained baseline", "maml": "MAML"}
GRID_POINTS = 200

X = Annotated[float, Field(ge=X_RANGE[0], le=X_RANGE[1])]


class FinetuneRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amplitude: float = Field(3.0, ge=AMPLITUDE[0], le=AMPLITUDE[1], description="A of A·sin(x − φ)")
    phase: float = Field(1.0, ge=PHASE[0], le=round(PHASE[1], 6), description="φ of A·sin(x − φ)")
    xs: list[X] = Field(min_length=1, max_length=10, description="K support inputs in [−5, 5]")
    models: list[str] = Field(
        ["pretrained", "maml"],
        min_length=1,
        max_length=4,
        description="'pretrained', 'maml' or a finished job's id",
    )
    steps: int = Field(10, ge=0, le=20, description="inner steps to show")
    alpha: float | None = Field(None, gt=0, le=0.1, description="step size (default: the model's)")


@lru_cache(maxsize=8)
def reference_model(path: Path) -> tuple[float, Params]:
    config, params, _ = load_checkpoint(path)
    return config.alpha, params


def resolve(request: Request, name: str) -> tuple[str, float, Params]:
    """The title, step size and parameters of a reference model or a finished training job."""
    if name in REFERENCE:
        path = request.app.state.settings.models_dir / f"sinusoid-{name}.pt"
        if not path.is_file():
            raise HTTPException(503, f"the reference model {path.name} is missing on this server")
        alpha, params = reference_model(path)
        return REFERENCE[name], alpha, params
    job = request.app.state.jobs.get(name)
    if job is None or job.result is None or job.config.task != "sinusoid":
        raise HTTPException(
            404,
            f"models: {name!r} is neither 'pretrained', 'maml' nor a finished sinusoid "
            "training job",
        )
    return f"Your {job.config.algo} model", job.config.alpha, job.result


@router.post("/finetune", summary="Fine-tune models on K points of a sinusoid, step by step")
def finetune(body: FinetuneRequest, request: Request) -> dict:
    x = grid(GRID_POINTS)
    xs = torch.tensor(body.xs)[:, None]
    ys = sinusoid(xs, body.amplitude, body.phase)
    result = {
        "x": x[:, 0].tolist(),
        "target": sinusoid(x[:, 0], body.amplitude, body.phase).tolist(),
        "support": {"x": body.xs, "y": ys[:, 0].tolist()},
        "models": [],
    }
    for name in body.models:
        title, alpha, params = resolve(request, name)
        curves = finetune_curves(
            regression_mlp(), params, xs, ys, body.alpha or alpha, body.steps, x
        )
        finite = bool(curves.predictions.isfinite().all())
        result["models"].append(
            {
                "id": name,
                "title": title,
                "alpha": body.alpha or alpha,
                "diverged": not finite,
                "predictions": torch.nan_to_num(curves.predictions, 0.0, 1e6, -1e6).tolist(),
                "losses": [v if math.isfinite(v) else None for v in curves.support_losses.tolist()],
            }
        )
    return result
