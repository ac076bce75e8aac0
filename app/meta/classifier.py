"""A trained Omniglot model, loaded from its checkpoint, that classifies one episode.

The web layer's classifiers (the draw page, the quiz's model answers, the MAML page's figure)
are :class:`FewShotClassifier` objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from app.meta.adaptation_curves import Curves, episode_curves
from app.meta.algorithms import REGISTRY
from app.meta.checkpoint import load_checkpoint
from app.meta.config import TrainConfig
from app.meta.nets import Model
from app.meta.params import Params
from app.meta.tasks.base import TaskBatch
from app.meta.training import build_model


@dataclass(frozen=True)
class FewShotClassifier:
    """A trained Omniglot model, ready to classify one episode (for the web layer).

    ``probabilities(xs, ys, xq)`` takes support images (N·K, 1, 28, 28), float, ink = 1, their
    labels (N·K,) in 0..N-1 and query images (Q, 1, 28, 28), and returns (Q, N) class
    probabilities, the softmax of the method's scores. Batch norm uses the statistics of
    this one episode (support and queries together), as in training; the optimisation- and
    model-based networks have a fixed head of ``config.ways`` classes, the metric ones take
    any N.
    """

    config: TrainConfig
    model: Model
    params: Params

    @classmethod
    def load(cls, path: Path) -> FewShotClassifier:
        config, params, _ = load_checkpoint(path)
        if config.task != "omniglot":
            raise ValueError(f"{path} is a {config.task} model, not an Omniglot one")
        return cls(config, build_model(config), params)

    def probabilities(self, xs: torch.Tensor, ys: torch.Tensor, xq: torch.Tensor) -> torch.Tensor:
        queries = torch.zeros(len(xq), dtype=torch.int64)
        episode = TaskBatch(xs[None], ys[None], xq[None], queries[None])
        episode = episode.like(next(iter(self.params.values())))
        algorithm = REGISTRY[self.config.algo]
        with torch.no_grad():
            scores = algorithm.predict(
                self.model, self.params, episode, self.config.hyper(evaluation=True), False
            )
        return scores[0].softmax(-1)

    def adaptation(self, xs: torch.Tensor, ys: torch.Tensor, xq: torch.Tensor) -> Curves:
        """An optimisation-based model's query probabilities and support loss after each of
        its k test-time steps on one episode (:func:`episode_curves`)."""
        hp = self.config.hyper(evaluation=True)
        return episode_curves(self.model, self.params, xs, ys, xq, hp.alpha, hp.inner_steps)
