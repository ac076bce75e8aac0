"""The race on the comparison page: the four methods and the baseline trained side by side.

A race is five ordinary training jobs (:mod:`app.web.job_queue`), MAML, FOMAML, Reptile, iMAML
and the pretrained baseline, with the jobs' limits, cache, cancellation and streams. The five
share the seed, the meta-batch and K, so :class:`app.meta.training.Training` draws the same
θ₀ and then the same tasks in the same order for each (its generator serves the
initialisation first, then every meta-batch). Everything else is each method's own default
(:class:`app.meta.config.TrainConfig`): the outer optimiser and its step (Adam 10⁻³; Reptile
plain steps of β = 1), iMAML's λ and conjugate-gradient steps, and the inner steps k unless
the reader sets one k for all. The baseline has no inner loop, so k never applies to it.

The seed is that of the reference models (``models/sinusoid-maml.pt`` and
``sinusoid-pretrained.pt``, 70,000 meta-iterations each), and the default race uses their
settings, so its MAML and baseline runs are the first iterations of those two runs. Every
job places θ on the plane through its start θ₀ and the two reference models
(:func:`reference_landmarks`, :func:`app.meta.planes.landmark_plane`), one plane for all five.

The five are admitted together or not at all (:meth:`JobManager.submit_all`): a race never
runs with a method missing. With the default 2 workers and 8 places in the queue, a race on a
quiet server fits (two run, three wait); on a busy one the request is refused with 429.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.meta.checkpoint import load_checkpoint
from app.meta.config import TrainConfig
from app.meta.params import Params

METHODS = ("maml", "fomaml", "reptile", "imaml", "pretrained")
SEED = 1  # the reference models' seed (their cards; tests/test_api_race.py checks it)
MAX_STEPS = 2000  # a race is five jobs; it stays a figure, not a training run
OMNIGLOT_REFUSED = (
    "a race on Omniglot is not offered on this server: of the five methods, its training jobs "
    "run only first-order MAML on Omniglot (app.web.job_limits), and the pretrained baseline "
    "is defined for sinusoids only"
)


def reference_file(models_dir: Path, name: str) -> Path:
    """Where a reference sinusoid model lives (``maml`` or ``pretrained``)."""
    return models_dir / f"sinusoid-{name}.pt"


@lru_cache(maxsize=4)
def reference_run(path: Path) -> tuple[TrainConfig, Params]:
    config, params, _ = load_checkpoint(path)
    return config, params


def reference_landmarks(models_dir: Path, config: TrainConfig) -> tuple[Params, Params] | None:
    """The reference MAML and baseline parameters, when both are on this server and a run
    with ``config`` starts where they started (same seed, sinusoids): the plane through that
    start and them is then one plane for every such run. None otherwise."""
    paths = [reference_file(models_dir, name) for name in ("maml", "pretrained")]
    if config.task != "sinusoid" or not all(p.is_file() for p in paths):
        return None
    runs = [reference_run(p) for p in paths]
    if any(c.seed != config.seed for c, _ in runs):
        return None
    return runs[0][1], runs[1][1]


class RaceRequest(BaseModel):
    """The settings the five methods share; each keeps its own for everything else."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    task: Literal["sinusoid", "omniglot"] = Field(
        "sinusoid", description="task family: sinusoid (Omniglot is refused, with the reason)"
    )
    steps: int = Field(500, ge=10, le=MAX_STEPS, description="meta-iterations of every method")
    inner_steps: int | None = Field(
        None,
        ge=1,
        le=10,
        description="k: inner steps of every method but the baseline (unset: each its own, "
        "MAML and FOMAML 1, Reptile 5, iMAML 10)",
    )
    alpha: float = Field(0.01, ge=0.001, le=0.1, description="α: inner step size of every method")

    @field_validator("task")
    @classmethod
    def _offered(cls, task: str) -> str:
        if task == "omniglot":
            raise ValueError(OMNIGLOT_REFUSED)
        return task


DEFAULT = RaceRequest()


def race_configs(race: RaceRequest) -> list[TrainConfig]:
    """The five jobs of a race, in :data:`METHODS` order, on the task stream of :data:`SEED`."""
    return [
        TrainConfig(
            algo=algo,
            steps=race.steps,
            seed=SEED,
            alpha=race.alpha,
            inner_steps=None if algo == "pretrained" else race.inner_steps,
        )
        for algo in METHODS
    ]
