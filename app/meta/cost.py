"""What one meta-gradient costs: wall-clock time and the memory autograd holds, against k.

The meta-gradient page predicts that second-order MAML needs memory in proportion
to the number of inner steps k (reverse mode keeps every inner step's graph until
the outer backward pass), while FOMAML and iMAML need a fixed amount. This module
measures both on the sinusoid regressor of Finn et al. (2017): one meta-gradient
of the registered algorithm (``ALGORITHMS[name].meta_gradient``, batched) on a
meta-batch of 25 tasks with K = 10 support and 10 query points.

What is measured:

* **time**: ``time.perf_counter`` around one whole call (forward, inner loop and
  backward), after one untimed warm-up call; the median of ``repeats`` calls.
* **memory**: the peak, over the call, of the bytes of tensors that autograd
  keeps alive for a backward pass. A :func:`torch.autograd.graph.saved_tensors_hooks`
  pair sees every tensor a graph node saves; each distinct storage is counted
  once (by its size, ``untyped_storage().nbytes()``) while any node holds it,
  and is released when the last node holding it is freed (after its backward, or
  when the graph is dropped). The running total's maximum is the peak. This is the
  memory the graphs of the inner loop occupy, the quantity that grows with k; it
  leaves out the parameters and data themselves (unless a node saves them) and
  short-lived temporaries that no node saves, and it is the same on any machine,
  unlike the process's resident size.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch.autograd.graph import saved_tensors_hooks

from app.meta.algorithms import ALGORITHMS, Hyper
from app.meta.nets import Model, regression_mlp
from app.meta.params import Params, leaves
from app.meta.tasks.base import TaskBatch
from app.meta.tasks.sinusoid import SinusoidTasks

# Second order through k steps, first order, implicit: the three ways a meta-gradient is kept
# (Reptile's cost is FOMAML's): a choice among the registry's names, not a list of them.
COST_ALGORITHMS = ("maml", "fomaml", "imaml")
INNER_STEPS = (1, 2, 4, 8, 16)
TASKS, SHOTS, ALPHA = 25, 10, 0.01  # Finn et al. (2017), section 5.1
MB = 1024 * 1024


class SavedTensorMeter:
    """Peak bytes of the distinct storages that autograd graphs hold, while active.

    Use as a context manager around code that builds graphs; ``peak`` and
    ``current`` are in bytes. Not re-entrant, one thread.
    """

    def __init__(self) -> None:
        self.current = 0
        self.peak = 0
        self._held: dict[int, list[int]] = {}  # storage pointer → [holders, bytes]
        self._hooks = saved_tensors_hooks(self._pack, self._unpack)

    class _Held:
        __slots__ = ("key", "meter", "tensor")

        def __init__(self, meter: SavedTensorMeter, key: int, tensor: torch.Tensor) -> None:
            self.meter, self.key, self.tensor = meter, key, tensor

        def __del__(self) -> None:
            self.meter._release(self.key)

    def _pack(self, tensor: torch.Tensor) -> SavedTensorMeter._Held:
        storage = tensor.untyped_storage()
        key = storage.data_ptr()
        entry = self._held.get(key)
        if entry is None:
            self._held[key] = [1, storage.nbytes()]
            self.current += storage.nbytes()
            self.peak = max(self.peak, self.current)
        else:
            entry[0] += 1
        return SavedTensorMeter._Held(self, key, tensor)

    @staticmethod
    def _unpack(held: SavedTensorMeter._Held) -> torch.Tensor:
        return held.tensor

    def _release(self, key: int) -> None:
        entry = self._held.get(key)
        if entry is None:
            return
        entry[0] -= 1
        if entry[0] == 0:
            self.current -= entry[1]
            del self._held[key]

    def __enter__(self) -> SavedTensorMeter:
        self._hooks.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._hooks.__exit__(*exc)


@dataclass(frozen=True)
class Cost:
    """One algorithm at one k: median time and peak saved-tensor memory of a meta-gradient."""

    algorithm: str
    inner_steps: int
    ms: float  # median wall-clock milliseconds
    times_ms: tuple[float, ...]  # every timed repeat
    peak_mb: float  # peak saved-tensor memory, MiB (2^20 bytes)


@dataclass(frozen=True)
class Problem:
    model: Model
    theta: Params
    batch: TaskBatch


def sinusoid_problem(
    tasks: int = TASKS, shots: int = SHOTS, seed: int = 0, dtype: torch.dtype = torch.float32
) -> Problem:
    """A fresh 1-40-40-1 ReLU regressor and a meta-batch of sinusoid tasks, fixed by ``seed``."""
    generator = torch.Generator().manual_seed(seed)
    model = regression_mlp()
    theta = model.init(generator, dtype)
    batch = SinusoidTasks(dtype).sample(tasks, shots, shots, generator)
    return Problem(model, theta, batch)


def hyper_for(inner_steps: int, alpha: float = ALPHA, lam: float = 1.0, cg_steps: int = 5) -> Hyper:
    """The hyperparameters of a measurement: k inner steps of size α; iMAML's λ and CG steps."""
    return Hyper(inner_steps=inner_steps, alpha=alpha, lam=lam, cg_steps=cg_steps)


def peak_saved_bytes(name: str, problem: Problem, hp: Hyper) -> int:
    """Peak bytes autograd holds during one meta-gradient (see the module docstring)."""
    theta = leaves(problem.theta)
    with SavedTensorMeter() as meter:
        step = ALGORITHMS[name].meta_gradient(problem.model, theta, problem.batch, hp, True)
        del step
    return meter.peak


def measure(name: str, problem: Problem, hp: Hyper, repeats: int = 3) -> Cost:
    """Median time of ``repeats`` meta-gradients (after one warm-up) and the peak memory."""
    algorithm = ALGORITHMS[name]
    theta = leaves(problem.theta)
    algorithm.meta_gradient(problem.model, theta, problem.batch, hp, True)  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        algorithm.meta_gradient(problem.model, theta, problem.batch, hp, True)
        times.append((time.perf_counter() - start) * 1000)
    peak = peak_saved_bytes(name, problem, hp)
    return Cost(name, hp.inner_steps, statistics.median(times), tuple(times), peak / MB)


def cost_table(
    names: Sequence[str] = COST_ALGORITHMS,
    inner_steps: Sequence[int] = INNER_STEPS,
    repeats: int = 3,
    problem: Problem | None = None,
) -> list[Cost]:
    """:func:`measure` for every algorithm and every k, algorithm-major."""
    problem = problem or sinusoid_problem()
    return [measure(n, problem, hyper_for(k), repeats) for n in names for k in inner_steps]
