"""This app's trained Omniglot models: what is served, read from their model cards."""

from __future__ import annotations

from fastapi import APIRouter, Request

from app.results import omniglot_cards

router = APIRouter(prefix="/api/omniglot", tags=["omniglot"])


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
