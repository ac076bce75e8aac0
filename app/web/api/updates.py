"""The comparison page's figure over HTTP: where MAML, FOMAML, Reptile and iMAML move θ.

``POST /api/updates`` answers the update directions of
:func:`app.meta.landscape.update_directions` on the toy two-task problem at the reader's θ,
from an ``lru_cache`` of the finished JSON (the request models are the landscape figures').
"""

from __future__ import annotations

from functools import lru_cache

from fastapi import APIRouter, Response
from pydantic import Field

from app.meta import landscape, landscape_views, toy
from app.meta.algorithms import Hyper
from app.web.api.landscape import (
    ALPHA_SLIDER,
    THETA_DESCRIPTION,
    Alpha,
    Lam,
    Strict,
    Theta,
    point,
)
from app.web.payloads import answer, dumps, vector

router = APIRouter(prefix="/api/updates", tags=["landscape"])


class UpdatesRequest(Strict):
    theta: Theta = Field((-1.0, 1.5), description=THETA_DESCRIPTION)
    alpha: Alpha = Field(toy.ALPHA, json_schema_extra=ALPHA_SLIDER)
    inner_steps: int = Field(1, ge=1, le=10, description="k: inner steps, 1…10")
    beta: float = Field(
        1.0, gt=0, le=1, description="β: Reptile's step; batched Reptile's φ̄ − θ ignores it"
    )
    lam: Lam = 10.0
    cg_steps: int = Field(5, ge=1, le=10, description="iMAML's conjugate-gradient steps, 1…10")
    baseline: bool = Field(
        True, description="also return 'pretrained': −∇ of the mean task loss, the baseline's step"
    )


def updates_hyper(body: UpdatesRequest) -> tuple[Hyper, dict[str, Hyper]]:
    """The shared Hyper, and iMAML's: its inner problem is solved (``proximal_hyper``)."""
    hp = Hyper(
        inner_steps=body.inner_steps,
        alpha=body.alpha,
        beta=body.beta,
        lam=body.lam,
        cg_steps=body.cg_steps,
    )
    return hp, {"imaml": landscape_views.proximal_hyper(body.lam, cg_steps=body.cg_steps)}


@lru_cache(maxsize=512)
def updates_json(body: UpdatesRequest) -> bytes:
    hp, overrides = updates_hyper(body)
    names = landscape.DIRECTIONS + (("pretrained",) if body.baseline else ())
    directions = landscape.update_directions(
        point(body.theta), hp, names=names, overrides=overrides
    )
    return dumps({name: vector(d) for name, d in directions.items()})


@router.post("", summary="Update directions of MAML, FOMAML, Reptile and iMAML at θ")
def updates(body: UpdatesRequest) -> Response:
    """``{maml: [dx, dy], fomaml, reptile, imaml}``: ``landscape.update_directions``, the step
    θ takes per unit outer step (−meta-gradient; Reptile φ̄ − θ). MAML, FOMAML and Reptile
    take ``inner_steps`` steps of size ``alpha``; iMAML solves its proximal problem with λ
    (``landscape_views.proximal_hyper``) and ``cg_steps`` CG iterations. With ``baseline``, also
    ``pretrained``: −∇ of the mean task loss at θ."""
    return answer(updates_json(body))
