"""The trained Omniglot models this server answers with, loaded once from ``models/``.

A model is named by its card's file stem (``omniglot-protonet-5way-1shot``); only
names listed from the models folder are ever turned into paths. Classification
with a head of more classes than the episode has uses the first N outputs,
renormalised.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import torch

from app.article.model_cards import omniglot_cards
from app.meta.classifier import FewShotClassifier


@dataclass(frozen=True)
class Served:
    id: str
    title: str
    method: str
    family: str
    ways: int
    classifier: FewShotClassifier

    def accepts(self, ways: int) -> bool:
        """Metric-based models take any N; the others have a head of ``self.ways`` classes."""
        return self.family == "metric" or ways <= self.ways

    def probabilities(self, xs: torch.Tensor, ys: torch.Tensor, xq: torch.Tensor) -> torch.Tensor:
        """(Q, N) class probabilities for an N-way episode."""
        n = int(ys.max()) + 1
        p = self.classifier.probabilities(xs, ys, xq)[:, :n]
        return p / p.sum(-1, keepdim=True)


class Classifiers:
    def __init__(self, models_dir: Path):
        self.models_dir = models_dir
        self.loaded: dict[str, Served] = {}
        self.lock = threading.Lock()

    def cards(self) -> dict[str, dict]:
        return {card["id"]: card for card in omniglot_cards(self.models_dir)}

    def get(self, model_id: str) -> Served | None:
        with self.lock:
            if model_id in self.loaded:
                return self.loaded[model_id]
            card = self.cards().get(model_id)
            if card is None:
                return None
            path = self.models_dir / f"{model_id}.pt"
            served = Served(
                model_id,
                card["title"],
                card["algo"],
                card["family"],
                card["config"]["ways"],
                FewShotClassifier.load(path),
            )
            self.loaded[model_id] = served
            return served

    def find(self, method: str, ways: int) -> Served | None:
        """The model of ``method`` trained for ``ways`` classes, else the smallest that fits."""
        fitting = sorted(
            (card["config"]["ways"], model_id)
            for model_id, card in self.cards().items()
            if card["algo"] == method and card["config"]["shots"] == 1
        )
        exact = [model_id for w, model_id in fitting if w == ways]
        larger = [model_id for w, model_id in fitting if w > ways]
        choice = exact or larger or [model_id for _, model_id in fitting]
        return self.get(choice[0]) if choice else None

    def all(self) -> list[Served]:
        return [served for model_id in sorted(self.cards()) if (served := self.get(model_id))]
