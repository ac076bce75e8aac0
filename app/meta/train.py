"""One training loop for every algorithm, yielding events as it goes.

The command line (``python -m app.train``) and the web streams both consume
:meth:`Training.run`. A :class:`Training` can be saved mid-run and resumed
bit-for-bit: the parameters, the outer optimiser and the task sampler's random
state are all in the checkpoint.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch

from app.meta.algorithms import ALGORITHMS
from app.meta.config import TrainConfig
from app.meta.evaluate import evaluate_regression
from app.meta.nets import Model, regression_mlp
from app.meta.params import Params, detached, leaves
from app.meta.tasks.sinusoid import SinusoidTasks

MODELS = {"sinusoid": regression_mlp}
SAMPLERS = {"sinusoid": SinusoidTasks}


class TrainingDiverged(RuntimeError):
    """The meta-loss became NaN or infinite."""


@dataclass(frozen=True)
class Progress:
    step: int
    loss: float
    step_ms: float
    seconds: float


@dataclass(frozen=True)
class Evaluation:
    step: int
    eval: dict


@dataclass(frozen=True)
class Snapshot:
    step: int
    params: Params


Event = Progress | Evaluation | Snapshot


class Training:
    """The state of one meta-training run: θ, the outer optimiser, the sampler's RNG."""

    def __init__(self, config: TrainConfig, dtype: torch.dtype = torch.float32):
        self.config = config
        self.model: Model = MODELS[config.task]()
        self.algorithm = ALGORITHMS[config.algo]
        self.hyper = config.hyper()
        self.sampler = SAMPLERS[config.task](dtype)
        self.generator = torch.Generator().manual_seed(config.seed)
        self.theta = leaves(self.model.init(self.generator, dtype))
        if self.algorithm.outer == "sgd":
            self.optimizer = torch.optim.SGD(self.theta.values(), lr=config.beta)
        else:
            self.optimizer = torch.optim.Adam(self.theta.values(), lr=config.meta_lr)
        self.step = 0
        self.seconds = 0.0

    def meta_step(self) -> float:
        """One meta-iteration: sample tasks, take the meta-step; returns the meta-loss."""
        c = self.config
        batch = self.sampler.sample(c.meta_batch, c.shots, c.shots, self.generator)
        result = self.algorithm.meta_gradient(self.model, self.theta, batch, self.hyper, True)
        loss = result.loss.item()
        if not math.isfinite(loss):
            raise TrainingDiverged(f"meta-loss became {loss} at step {self.step + 1}")
        for k, p in self.theta.items():
            p.grad = result.direction[k].detach()
        self.optimizer.step()
        self.step += 1
        return loss

    def evaluate(self, tasks: int) -> dict:
        return evaluate_regression(
            self.model, self.theta, shots=self.config.shots, tasks=tasks, alpha=self.config.alpha
        )

    def run(
        self, *, eval_every: int = 0, eval_tasks: int = 100, snapshot_every: int = 0
    ) -> Iterator[Event]:
        """Train to ``config.steps``, yielding a Progress per step, and Evaluation and
        Snapshot events every ``eval_every`` / ``snapshot_every`` steps and at the end."""
        total = self.config.steps
        if snapshot_every and self.step == 0:
            yield Snapshot(0, detached(self.theta))
        while self.step < total:
            start = time.perf_counter()
            loss = self.meta_step()
            elapsed = time.perf_counter() - start
            self.seconds += elapsed
            yield Progress(self.step, loss, elapsed * 1000, self.seconds)
            last = self.step == total
            if snapshot_every and (self.step % snapshot_every == 0 or last):
                yield Snapshot(self.step, detached(self.theta))
            if eval_every and (self.step % eval_every == 0 or last):
                yield Evaluation(self.step, self.evaluate(eval_tasks))

    def state_dict(self) -> dict:
        return {
            "config": self.config.model_dump(),
            "step": self.step,
            "seconds": self.seconds,
            "params": detached(self.theta),
            "optimizer": self.optimizer.state_dict(),
            "generator": self.generator.get_state(),
            "torch": str(torch.__version__),
        }

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        torch.save(self.state_dict(), tmp)
        tmp.replace(path)

    @classmethod
    def resume(cls, checkpoint: dict, config: TrainConfig) -> Training:
        """Continue a saved run, possibly with more steps; every other setting must match."""
        saved = TrainConfig(**checkpoint["config"])
        if saved.model_copy(update={"steps": config.steps}) != config:
            raise ValueError("the checkpoint was made with a different configuration")
        run = cls(config, next(iter(checkpoint["params"].values())).dtype)
        with torch.no_grad():
            for k, p in run.theta.items():
                p.copy_(checkpoint["params"][k])
        run.optimizer.load_state_dict(checkpoint["optimizer"])
        run.generator.set_state(checkpoint["generator"])
        run.step, run.seconds = checkpoint["step"], checkpoint["seconds"]
        return run


def load_checkpoint(path: Path) -> tuple[TrainConfig, Params, dict]:
    """A saved model's configuration, parameters and raw checkpoint."""
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    return TrainConfig(**checkpoint["config"]), checkpoint["params"], checkpoint
