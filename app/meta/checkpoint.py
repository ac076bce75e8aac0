"""Checkpoints of a training run: what is saved, how it is written, read and resumed.

A checkpoint holds everything a run needs to continue bit-for-bit: the configuration, θ,
the outer optimiser's state, the task sampler's random state, the validation history, the
pre-training state and the sittings (device, steps, seconds of each part of the run).
Checkpoints saved before pre-training or sittings existed are read with the defaults those
runs had. Files are written whole (a reader never sees half of one) and always for the CPU.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import torch

from app.meta.config import EVALUATION_FIELDS, SCHEDULE_FIELDS, TrainConfig, config_from_dict
from app.meta.params import Params

if TYPE_CHECKING:
    from app.meta.training import Training


def state_dict(run: Training) -> dict:
    """Everything :func:`restore` needs to continue ``run``, on the CPU."""
    return {
        "config": run.config.model_dump(),
        "step": run.step,
        "seconds": run.seconds,
        "params": {k: v.detach().cpu() for k, v in run.theta.items()},
        "optimizer": on_cpu(run.optimizer.state_dict()),
        "generator": run.generator.get_state(),
        "history": run.history,
        "pretrained": run.pretrained,
        "pretrain_seconds": run.pretrain_seconds,
        "sittings": run.sittings(),
        "torch": str(torch.__version__),
    }


def check_resumable(checkpoint: dict, config: TrainConfig) -> None:
    """Raise ``ValueError`` unless ``config`` may continue the saved run: possibly with more
    steps, other test-time settings (:data:`~app.meta.config.EVALUATION_FIELDS`), a schedule
    that only changes steps not yet taken (:data:`~app.meta.config.SCHEDULE_FIELDS`) and on
    another device; every setting that shaped θ so far must match, so the configuration
    reproduces the whole run from scratch."""
    saved = config_from_dict(checkpoint["config"])
    free = ["steps", *EVALUATION_FIELDS]
    for field in SCHEDULE_FIELDS:  # free while neither value has acted yet
        values = (getattr(saved, field), getattr(config, field))
        if all(v is None or v >= checkpoint["step"] for v in values):
            free.append(field)
    if saved.model_copy(update={k: getattr(config, k) for k in free}) != config:
        raise ValueError("the checkpoint was made with a different configuration")


def restore(run: Training, checkpoint: dict, cpu_batched: bool) -> None:
    """Put the saved state into a fresh ``run``; ``cpu_batched`` is how the run's tasks ran
    on a CPU, the one sitting of a checkpoint saved before sittings were recorded."""
    with torch.no_grad():
        for k, p in run.theta.items():
            p.copy_(checkpoint["params"][k])
    run.optimizer.load_state_dict(checkpoint["optimizer"])
    run.generator.set_state(checkpoint["generator"])
    run.step, run.seconds = checkpoint["step"], checkpoint["seconds"]
    run.history = list(checkpoint.get("history", []))
    run.pretrained = checkpoint.get("pretrained", True)  # saved before pre-training existed
    run.pretrain_seconds = checkpoint.get("pretrain_seconds", 0.0)
    run.earlier = checkpoint.get("sittings") or [  # saved before sittings were recorded
        {
            "device": "cpu",
            "torch": checkpoint.get("torch"),
            "batched": cpu_batched,
            "from_step": 0,
            "to_step": run.step,
            "seconds": round(run.seconds, 2),
        }
    ]
    run.started = (run.step, run.seconds)


def save_whole(value, path: Path) -> None:
    """``torch.save`` to a temporary file, then renamed: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(value, tmp)
    tmp.replace(path)


def on_cpu(value):
    """A copy of nested dicts and lists with every tensor moved to the CPU, so a checkpoint
    made on a GPU loads anywhere, ``map_location`` or not."""
    if isinstance(value, torch.Tensor):
        return value.cpu()
    if isinstance(value, dict):
        return {k: on_cpu(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(on_cpu(v) for v in value)
    return value


def load_checkpoint(path: Path) -> tuple[TrainConfig, Params, dict]:
    """A saved model's configuration, parameters and raw checkpoint."""
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    return config_from_dict(checkpoint["config"]), checkpoint["params"], checkpoint
