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

    def like(self, reference: torch.Tensor) -> TaskBatch:
        """The batch on ``reference``'s device, inputs in its dtype (labels stay integers)."""
        device, dtype = reference.device, reference.dtype
        return TaskBatch(
            self.xs.to(device, dtype),
            self.ys.to(device),
            self.xq.to(device, dtype),
            self.yq.to(device),
        )
