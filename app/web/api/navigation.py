"""The 2-D navigation figure: a reader's goal, each policy's trajectories step by step.

``POST /api/navigation/adapt`` adapts the reference policies (``models/navigation-*.pt``,
trained by ``maml train-navigation``) to one goal with 0…3 policy-gradient steps
(:mod:`app.meta.rl`) and answers, for each policy, the mean return of its 20 sampled
trajectories and the trajectories themselves before and after each step. The sampling noise
comes from ``seed``, the same for every policy, so the answer is a function of the request
and identical requests are answered from an ``lru_cache`` of the finished JSON.
Unknown fields and out-of-range numbers are 422s whose message names the field.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

import torch
from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.meta.config import NavigationConfig
from app.meta.params import Params
from app.meta.rl import gaussian_mlp
from app.meta.rl_train import TRAJECTORIES, adapted_returns, load_checkpoint
from app.meta.tasks.navigation import GOAL_BOX
from app.web.payloads import trajectory_paths

router = APIRouter(prefix="/api/navigation", tags=["navigation"])
REFERENCE = {"pretrained": "Pretrained policy", "maml": "MAML"}
MAX_STEPS = 3

Coordinate = Annotated[float, Field(ge=GOAL_BOX[0], le=GOAL_BOX[1])]


class AdaptRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)  # hashable: the cache's key

    goal: tuple[Coordinate, Coordinate] = Field(
        (0.35, -0.3), description="the goal (x, y) in [−0.5, 0.5]²"
    )
    models: tuple[Literal["pretrained", "maml"], ...] = Field(
        ("pretrained", "maml"), min_length=1, max_length=2, description="'pretrained', 'maml'"
    )
    steps: int = Field(MAX_STEPS, ge=0, le=MAX_STEPS, description="policy-gradient steps, 0…3")
    seed: int = Field(0, ge=0, le=2**31 - 1, description="the sampling noise, 0…2³¹−1")

    @field_validator("models")
    @classmethod
    def distinct(cls, models: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(models)) != len(models):
            raise ValueError("each model at most once")
        return models


@lru_cache(maxsize=4)
def reference_policy(path: Path) -> tuple[NavigationConfig, Params]:
    return load_checkpoint(path)


@lru_cache(maxsize=256)
def adapt_answer(body: AdaptRequest, models_dir: Path) -> dict:
    goal = torch.tensor([body.goal], dtype=torch.float32)
    result = {"goal": list(body.goal), "steps": body.steps, "seed": body.seed, "models": {}}
    for name in body.models:
        path = models_dir / f"navigation-{name}.pt"
        if not path.is_file():
            raise HTTPException(503, f"the reference model {path.name} is missing on this server")
        config, theta = reference_policy(path)
        generator = torch.Generator().manual_seed(body.seed)
        rollouts = adapted_returns(
            gaussian_mlp(), theta, goal, config.alpha, body.steps, TRAJECTORIES, generator
        )
        result["models"][name] = {
            "title": REFERENCE[name],
            "alpha": config.alpha,
            "returns": [float(r.returns.mean()) for r in rollouts],
            "trajectories": [trajectory_paths(r) for r in rollouts],
        }
    return result


@router.post("/adapt", summary="Adapt navigation policies to a goal, step by step")
def adapt(body: AdaptRequest, request: Request) -> dict:
    return adapt_answer(body, request.app.state.settings.models_dir)
