"""Each figure's request model, by the figure's name: the one place its defaults and bounds live.

A figure's sliders are rendered from its request model's JSON schema (minimum, maximum,
default; the ``x-slider`` key where a slider shows less than the API accepts, a UI choice
written beside the model), its script starts from the same defaults (rendered into the
figure's ``data-defaults``), and :func:`warm_up` computes exactly those defaults, so the first
request a page makes is answered from the cache. A figure that draws on a loss surface it
asks for separately names that request too (``data-surface``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pydantic import BaseModel

from app.meta.config import TrainConfig
from app.web.api import landscape
from app.web.api.navigation import AdaptRequest
from app.web.api.sinusoid import FinetuneRequest
from app.web.api.updates import UpdatesRequest, updates_json
from app.web.race import RaceRequest


@dataclass(frozen=True)
class Figure:
    request: type[BaseModel]  # the model whose fields the figure's controls set
    compute: Callable[[BaseModel], bytes] | None = None  # its cached answer (see warm_up)
    surface: landscape.ToyRequest | None = None  # the surface it draws on, asked for first

    def context(self) -> dict:
        """What the figure's partial is rendered with: ``fields`` (the schema's properties),
        ``defaults`` (each field's default, where it has one) and ``surface``."""
        fields = self.request.model_json_schema()["properties"]
        defaults = {name: spec["default"] for name, spec in fields.items() if "default" in spec}
        return {
            "fields": fields,
            "defaults": defaults,
            "surface": self.surface.model_dump(mode="json") if self.surface else None,
        }


FIGURES: dict[str, Figure] = {
    "accumulated-landscape": Figure(landscape.ToyRequest, landscape.toy_json),
    "two-tasks": Figure(landscape.TwoTasksRequest, landscape.two_tasks_json, landscape.SURFACE),
    "reptile-path": Figure(landscape.ReptileRequest, landscape.reptile_json, landscape.SURFACE),
    "update-directions": Figure(UpdatesRequest, updates_json, landscape.SURFACE),
    "imaml-landscape": Figure(
        landscape.ImamlRequest, landscape.imaml_json, landscape.IMAML_SURFACE
    ),
    "imaml-cg": Figure(landscape.ImamlCGRequest, landscape.imaml_cg_json),
    "fomaml-quadratic": Figure(landscape.QuadraticRequest, landscape.quadratic_json),
    "sinusoid-finetune": Figure(FinetuneRequest),  # answers depend on models: not cached
    "navigation-adapt": Figure(AdaptRequest),  # cached, but only once the reader asks
    "race": Figure(RaceRequest),  # its default race is trained at start-up (app.web.main)
    "train-panel": Figure(TrainConfig),
}


def context(name: str) -> dict:
    """The partial's context for figure ``name``; empty for a figure without a request model."""
    figure = FIGURES.get(name)
    return figure.context() if figure else {}


def first_requests() -> list[tuple[Callable[[BaseModel], bytes], BaseModel]]:
    """What the figures ask first, with the function that answers it: each figure's surface
    and its request model's defaults."""
    requests = []
    for figure in FIGURES.values():
        if figure.surface is not None:
            requests.append((landscape.toy_json, figure.surface))
        if figure.compute is not None:
            requests.append((figure.compute, figure.request()))
    return requests


def warm_up() -> None:
    """Pay the first calls' one-time costs (torch.func and autograd, about 0.5 s each) and fill
    the caches with the figures' first requests, so the first reader's page is answered at
    once. About 2 s on one thread; call it once at startup, in a background thread."""
    for compute, body in first_requests():
        compute(body)
