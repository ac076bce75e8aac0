"""The batch of tasks every algorithm consumes."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class TaskBatch:
    """Support (``xs``, ``ys``) and query (``xq``, ``yq``) sets, task dimension first."""

    xs: torch.Tensor
    ys: torch.Tensor
    xq: torch.Tensor
    yq: torch.Tensor

    def __len__(self) -> int:
        return self.xs.shape[0]

    def slice(self, start: int, stop: int) -> TaskBatch:
        return TaskBatch(
            self.xs[start:stop], self.ys[start:stop], self.xq[start:stop], self.yq[start:stop]
        )
