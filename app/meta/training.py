"""One training loop for every algorithm and task family, yielding events as it goes.

The command line (``maml train``) and the web streams both consume
:meth:`Training.run`. A :class:`Training` can be saved mid-run and resumed
bit-for-bit: the parameters, the outer optimiser, the task sampler's random
state and the validation history are all in the checkpoint.

Sinusoids run every task of a meta-batch at once (``batched``). Omniglot's Conv4
runs them one at a time with :func:`per_task_loop`: measured on this engine
(``bench/omniglot_step.py``), the ``vmap`` forward is correct for Conv4 with batch
norm, second order included, but slower than the plain loop on a CPU. On a GPU
(``device="cuda"``) the tasks run batched by default, where one launch serves them
all. The memory-augmented network has no Conv4 and runs its tasks as one batch of sequences.
A checkpoint records its sittings (device, steps, seconds), so a run that moved
between machines says where each part of it was trained. An optimisation-based learner can
pre-train its Conv4 body first (``config.pretrain_steps``, :mod:`app.meta.pretrain`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch

from app.meta.algorithms import REGISTRY, per_task_loop
from app.meta.checkpoint import check_resumable, on_cpu, restore, save_whole, state_dict
from app.meta.config import TrainConfig
from app.meta.evaluation import evaluate_classification, evaluate_regression
from app.meta.nets import Model, regression_mlp
from app.meta.params import Params, copied, leaves
from app.meta.pretrain import body_file, is_body, pretrain_body
from app.meta.tasks.base import TaskBatch
from app.meta.tasks.omniglot import TRAIN, Omniglot
from app.meta.tasks.omniglot_episodes import OmniglotTasks
from app.meta.tasks.sinusoid import SinusoidTasks

BATCHED = {"sinusoid": True, "omniglot": False}  # chosen by measurement, see the docstring
CALIBRATION_EPISODES = 8  # training episodes an algorithm's ``calibrate`` sees
BATCHED_ALGORITHMS = {"mann"}  # no Conv4: its tasks are one batch of LSTM sequences


def runs_batched(config: TrainConfig, device: torch.device, batched: bool | None = None) -> bool:
    """Whether a meta-batch runs at once: as asked, else as measured for the task on a CPU
    and always on a GPU; the memory-augmented network's tasks run at once either way."""
    if batched is None:
        batched = BATCHED[config.task] or device.type != "cpu"
    return batched or config.algo in BATCHED_ALGORITHMS


def build_model(config: TrainConfig) -> Model:
    """The sinusoid MLP, or the algorithm's Omniglot network for ``config.ways`` classes."""
    if config.task == "sinusoid":
        return regression_mlp()
    return REGISTRY[config.algo].network(config.ways, config.channels)


def episodes(config: TrainConfig, split: str, data: Omniglot | None) -> OmniglotTasks:
    """N-way episodes of one split of ``data``; rotations augment the training split only."""
    if data is None:
        raise ValueError("Omniglot episodes need the data set (app.meta.tasks.omniglot)")
    return OmniglotTasks(
        data,
        split,
        config.ways,
        rotations=config.rotations and split == TRAIN,
    )


class TrainingDiverged(RuntimeError):
    """The meta-loss became NaN or infinite."""


@dataclass(frozen=True)
class Progress:
    step: int
    loss: float
    step_ms: float
    seconds: float


@dataclass(frozen=True)
class Pretraining:
    step: int
    loss: float
    seconds: float
    reused: bool = False  # the body of an earlier run, from ``Training.bodies``


@dataclass(frozen=True)
class Evaluation:
    step: int
    eval: dict


@dataclass(frozen=True)
class Snapshot:
    step: int
    params: Params


Event = Pretraining | Progress | Evaluation | Snapshot


class Training:
    """The state of one meta-training run: θ, the outer optimiser, the sampler's RNG."""

    def __init__(
        self,
        config: TrainConfig,
        dtype: torch.dtype = torch.float32,
        data: Omniglot | None = None,
        device: str = "cpu",
        batched: bool | None = None,
        bodies: Path | None = None,
    ):
        self.config = config
        self.bodies = bodies  # a folder of pre-trained bodies to reuse and add to
        self.device = torch.device(device)
        self.model: Model = build_model(config)
        self.algorithm = REGISTRY[config.algo]
        self.hyper = config.hyper()
        self.dtype = dtype
        self.data = data
        if config.task == "sinusoid":
            self.sampler = SinusoidTasks(dtype)
        else:
            self.sampler = episodes(config, TRAIN, data)
            self.data = self.sampler.data
        self.batched = runs_batched(config, self.device, batched)
        self.history: list[dict] = []
        self.generator = torch.Generator().manual_seed(config.seed)
        initial = self.model.init(self.generator, dtype)  # drawn on the CPU: same θ anywhere
        self.theta = leaves({k: v.to(self.device) for k, v in initial.items()})
        self.step = 0
        outer = torch.optim.SGD if self.algorithm.outer == "sgd" else torch.optim.Adam
        self.optimizer = outer(self.theta.values(), lr=self.step_size())
        self.seconds = 0.0
        self.pretrained = config.pretrain_steps == 0  # done, or nothing to do
        self.pretrain_seconds = 0.0
        self.earlier: list[dict] = []  # the sittings before this one, from the checkpoint
        self.started = (0, 0.0)  # (step, seconds) when this sitting began

    def meta_step(self) -> float:
        """One meta-iteration: sample tasks, take the meta-step; returns the meta-loss."""
        batch = self.sample()
        if self.batched or self.hyper.serial:
            result = self.algorithm.meta_gradient(
                self.model, self.theta, batch, self.hyper, self.batched
            )
        else:
            result = per_task_loop(
                self.algorithm.meta_gradient, self.model, self.theta, batch, self.hyper
            )
        loss = result.loss.item()
        if not math.isfinite(loss):
            raise TrainingDiverged(f"meta-loss became {loss} at step {self.step + 1}")
        for k, p in self.theta.items():
            p.grad = result.direction[k].detach()
        for group in self.optimizer.param_groups:
            group["lr"] = self.step_size()
        self.optimizer.step()
        self.step += 1
        return loss

    def step_size(self) -> float:
        """The outer step size of the next meta-iteration: ``meta_lr`` (Reptile: β), divided
        by 10 once ``config.lr_drop_at`` iterations are done. Letting the meta-optimiser's
        step size fall late in training is one of the remedies for MAML's training of
        Antoniou, Edwards & Storkey (ICLR 2019), who anneal it with a cosine."""
        c = self.config
        size = c.beta if self.algorithm.outer == "sgd" else c.meta_lr
        return size / 10 if c.lr_drop_at is not None and self.step >= c.lr_drop_at else size

    def sample(self) -> TaskBatch:
        """The next meta-batch: K support and K query points, or K shots and Q queries."""
        c = self.config
        if c.task == "sinusoid":
            return self.sampler.sample(c.meta_batch, c.shots, c.shots, self.generator)
        batch = self.sampler.sample(c.meta_batch, c.shots, c.queries, self.generator)
        return batch.like(next(iter(self.theta.values())))

    def peek(self) -> TaskBatch:
        """The meta-batch :meth:`sample` will draw next, without using it up: the generator's
        state is put back afterwards, so the run's own stream is untouched."""
        saved = self.generator.get_state()
        try:
            return self.sample()
        finally:
            self.generator.set_state(saved)

    def evaluate(self, tasks: int, split: str = "val") -> dict:
        """Sinusoids: MSE after fine-tuning. Omniglot: accuracy on ``tasks`` episodes of
        ``split`` (validation alphabets during training, ``test`` for the model card)."""
        c = self.config
        if c.task == "sinusoid":
            return evaluate_regression(
                self.model, self.theta, shots=c.shots, tasks=tasks, alpha=c.alpha
            )
        result = evaluate_classification(
            self.algorithm,
            self.model,
            self.theta,
            c.hyper(evaluation=True),
            episodes(c, split, self.data),
            shots=c.shots,
            queries=c.queries,
            episodes=tasks,
            batched=self.batched,
        )
        if split == "val":
            keys = ("accuracy", "ci95", "inner_steps", "alpha")
            self.history.append({"step": self.step} | {k: result[k] for k in keys})
        return result

    def run(
        self, *, eval_every: int = 0, eval_tasks: int = 100, snapshot_every: int = 0
    ) -> Iterator[Event]:
        """Train to ``config.steps``, yielding a Progress per step, and Evaluation and
        Snapshot events every ``eval_every`` / ``snapshot_every`` steps and at the end; a
        fresh run with ``config.pretrain_steps`` yields a Pretraining per step of that first."""
        total = self.config.steps
        if not self.pretrained:
            yield from self.pretrain()
        if self.step == 0:
            self.calibrate()
        if snapshot_every and self.step == 0:
            yield Snapshot(0, copied(self.theta))
        while self.step < total:
            start = time.perf_counter()
            loss = self.meta_step()
            elapsed = time.perf_counter() - start
            self.seconds += elapsed
            yield Progress(self.step, loss, elapsed * 1000, self.seconds)
            last = self.step == total
            if snapshot_every and (self.step % snapshot_every == 0 or last):
                yield Snapshot(self.step, copied(self.theta))
            if eval_every and (self.step % eval_every == 0 or last):
                yield Evaluation(self.step, self.evaluate(eval_tasks))

    def pretrain(self) -> Iterator[Pretraining]:
        """Pre-train θ's Conv4 body for ``config.pretrain_steps`` (:mod:`app.meta.pretrain`),
        with a generator of its own, so the episodes that follow are those of a run without.

        The N-way head then starts at zero. An episode's labels are a random permutation, so
        a head should favour none of them; a zero head treats every class alike, the property
        Ye & Chao (ICLR 2022) build into MAML by starting all N rows from one learned vector.
        Its first inner step gives W_k ∝ f(x_k) − mean_j f(x_j), a classifier made of the
        pre-trained features. Measured here, one step of α = 0.4 on 20-way validation
        episodes before any meta-training: 58% with a zero head, 24% with a drawn one.

        With ``bodies`` set, a body pre-trained there before with the same settings is
        reused (one event, ``reused``; its time still counts in the budget), and a new one
        is kept there.
        """
        c = self.config
        name = body_file(
            c.seed, c.pretrain_steps, c.channels, c.rotations, self.dtype, self.device.type
        )
        path = self.bodies / name if self.bodies else None
        body = {k: v for k, v in self.theta.items() if is_body(k)}
        if path and path.exists():
            saved = torch.load(path, map_location=self.device, weights_only=True)
            with torch.no_grad():
                for k, v in body.items():
                    v.copy_(saved["body"][k])
            seconds = saved["seconds"]
            yield Pretraining(c.pretrain_steps, saved["loss"], seconds, reused=True)
        else:
            start = time.perf_counter()
            generator = torch.Generator().manual_seed(c.seed)
            for step, loss in pretrain_body(body, self.sampler, c.pretrain_steps, generator):
                seconds = time.perf_counter() - start
                yield Pretraining(step, loss, seconds)
            if path:
                save_whole({"body": on_cpu(body), "loss": loss, "seconds": seconds}, path)
        with torch.no_grad():
            for k, v in self.theta.items():
                if k.startswith("head"):
                    v.zero_()
        self.pretrain_seconds = seconds
        self.seconds += self.pretrain_seconds
        self.pretrained = True

    def calibrate(self) -> None:
        """Set the parts of θ that the algorithm starts from data (a Siamese pair head), from
        training episodes drawn with a generator of their own, as :meth:`pretrain` does."""
        if self.algorithm.calibrate is None:
            return
        c = self.config
        generator = torch.Generator().manual_seed(c.seed)
        batch = self.sampler.sample(CALIBRATION_EPISODES, c.shots, c.queries, generator)
        like = next(iter(self.theta.values()))
        start = self.algorithm.calibrate(self.model, self.theta, batch.like(like))
        with torch.no_grad():
            for k, v in start.items():
                self.theta[k].copy_(v)

    def sittings(self) -> list[dict]:
        """Where the run was trained: one entry per sitting, this one last."""
        device = self.device.type
        if device == "cuda":
            device = f"cuda ({torch.cuda.get_device_name(self.device)})"
        current = {
            "device": device,
            "torch": str(torch.__version__),
            "batched": self.batched,
            "from_step": self.started[0],
            "to_step": self.step,
            "seconds": round(self.seconds - self.started[1], 2),
        }
        return [*self.earlier, current]

    def save(self, path: Path) -> None:
        save_whole(state_dict(self), path)

    @classmethod
    def resume(
        cls,
        checkpoint: dict,
        config: TrainConfig,
        data: Omniglot | None = None,
        device: str = "cpu",
        batched: bool | None = None,
    ) -> Training:
        """Continue a saved run (:func:`app.meta.checkpoint.check_resumable` says with what)."""
        check_resumable(checkpoint, config)
        dtype = next(iter(checkpoint["params"].values())).dtype
        run = cls(config, dtype, data, device, batched)
        restore(run, checkpoint, cpu_batched=runs_batched(config, torch.device("cpu")))
        return run
