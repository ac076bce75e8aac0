"""The training configuration: one validated object shared by the CLI and the web API.

Every field has documented bounds; pydantic rejects anything outside them with a
message naming the field. ``inner_steps`` left unset takes the algorithm's own
default (MAML and FOMAML 1, Reptile 5, iMAML 10, pretrained 0).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.meta.algorithms import ALGORITHMS, Hyper

AlgoName = Literal["pretrained", "maml", "fomaml", "reptile", "imaml"]


class TrainConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    task: Literal["sinusoid"] = Field("sinusoid", description="task family")
    algo: AlgoName = Field("maml", description="meta-learning algorithm")
    steps: int = Field(1000, ge=1, le=100_000, description="meta-iterations")
    seed: int = Field(0, ge=0, le=2**31 - 1, description="random seed")
    meta_batch: int = Field(25, ge=1, le=100, description="tasks per meta-iteration")
    shots: int = Field(10, ge=1, le=50, description="K: support (and query) points per task")
    inner_steps: int | None = Field(
        None, ge=0, le=50, description="k: inner gradient steps (unset: the algorithm's default)"
    )
    alpha: float = Field(0.01, gt=0, le=1.0, description="α: inner step size")
    meta_lr: float = Field(1e-3, gt=0, le=0.1, description="Adam step size of the outer loop")
    beta: float = Field(1.0, gt=0, le=1.0, description="β: Reptile's outer step size")
    lam: float = Field(1.0, ge=0.01, le=100.0, description="λ: iMAML's proximal strength")
    cg_steps: int = Field(5, ge=1, le=50, description="iMAML: conjugate-gradient iterations")
    damping: float = Field(0.0, ge=0.0, le=10.0, description="μ: iMAML's Hessian damping")
    serial: bool = Field(False, description="Reptile: update after every task (Algorithm 1)")

    def hyper(self) -> Hyper:
        steps = self.inner_steps
        if steps is None:
            steps = ALGORITHMS[self.algo].default_inner_steps
        return Hyper(
            inner_steps=steps,
            alpha=self.alpha,
            beta=self.beta,
            lam=self.lam,
            cg_steps=self.cg_steps,
            damping=self.damping,
            serial=self.serial,
        )
