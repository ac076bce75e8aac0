"""The training configuration: one validated object shared by the CLI and the web API.

Every field has documented bounds; pydantic rejects anything outside them with a
message naming the field. ``inner_steps`` left unset takes the algorithm's own
default (MAML and FOMAML 1, Reptile 5, iMAML 10, pretrained 0; none for the
episodic learners). The Omniglot fields (``ways``, ``queries``, ``channels``,
``eval_inner_steps``, ``eval_alpha``, ``rotations``, ``pretrain_steps``) have defaults and
are ignored for sinusoids; the two ``eval_`` fields set how an optimisation-based learner
adapts at test time only, so a saved run may be resumed with them changed
(:data:`EVALUATION_FIELDS`); ``lr_drop_at`` only acts on the steps after it, so a resumed run
may set or move it to any step not yet taken (:data:`SCHEDULE_FIELDS`);
:class:`OmniglotConfig` widens ``algo`` to the episodic learners, which need Omniglot,
and defaults to 1-shot episodes, meta-batch 4 and α = 0.4 (Finn et al.'s 5-way α);
:class:`NavigationConfig` is the 2-D navigation run of :mod:`app.meta.rl` (MAML, FOMAML and
the pretrained policy, with trajectories per policy-gradient step instead of K);
:func:`config_from_dict` rebuilds any of them from a checkpoint's ``model_dump()``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.meta.algorithms import ALGORITHMS, OMNIGLOT_ALGORITHMS, REGISTRY, Hyper
from app.meta.heads import HeadName
from app.meta.rl import META_GRADIENTS as NAVIGATION_ALGORITHMS
from app.meta.tasks.omniglot import DRAWINGS

# The registry's names, as the literals that validate a configuration's ``algo``.
AlgoName = Literal[tuple(ALGORITHMS)]
OmniglotAlgoName = Literal[tuple(OMNIGLOT_ALGORITHMS)]
NavigationAlgoName = Literal[tuple(NAVIGATION_ALGORITHMS)]


class TrainConfig(BaseModel):
    """One training run, validated: what ``maml train``, a web job and a checkpoint record.

    It holds the run (task, algorithm, steps, seed, batch) beside the method's settings, with
    bounds and descriptions that the web form and the API's 422s are rendered from; the
    algorithms see only the :class:`~app.meta.algorithms.base.Hyper` that :meth:`hyper`
    derives from it. This class is the sinusoid's; :class:`OmniglotConfig` is Omniglot's.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    task: Literal["sinusoid", "omniglot"] = Field("sinusoid", description="task family")
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
    lr_drop_at: int | None = Field(
        None,
        ge=0,
        le=100_000,
        description="the outer step size (Adam's, or Reptile's β) ÷ 10 after this many "
        "meta-iterations (unset: constant)",
    )
    lam: float = Field(1.0, ge=0.01, le=100.0, description="λ: iMAML's proximal strength")
    cg_steps: int = Field(5, ge=1, le=50, description="iMAML: conjugate-gradient iterations")
    damping: float = Field(0.0, ge=0.0, le=10.0, description="μ: iMAML's Hessian damping")
    serial: bool = Field(False, description="Reptile: update after every task (Algorithm 1)")
    ways: int = Field(5, ge=2, le=60, description="Omniglot: N, classes per episode")
    queries: int = Field(15, ge=1, le=19, description="Omniglot: query images per class")
    channels: int = Field(64, ge=1, le=128, description="Omniglot: Conv4 filters per layer")
    eval_inner_steps: int | None = Field(
        None, ge=0, le=50, description="Omniglot: fine-tuning steps at test (unset: k)"
    )
    eval_alpha: float | None = Field(
        None, gt=0, le=1.0, description="Omniglot: α of the fine-tuning steps at test (unset: α)"
    )
    rotations: bool = Field(
        True, description="Omniglot: turn training characters by multiples of 90° (new classes)"
    )
    head: HeadName = Field(
        "learned",
        description="Omniglot, optimisation-based learners: where each inner loop starts the "
        "N-way head (learned: θ's; zero: 0; proto: from the support prototypes; scaled: "
        "the same divided by the prototypes' mean squared distance)",
    )
    pretrain_steps: int = Field(
        0,
        ge=0,
        le=50_000,
        description="Omniglot, learners with a Conv4 body (all but mann): steps of plain "
        "classification that pre-train the body before meta-training (0: none)",
    )

    @model_validator(mode="after")
    def _fits_the_task(self) -> TrainConfig:
        if self.task not in REGISTRY[self.algo].tasks:
            raise ValueError(f"algo {self.algo!r} does not run on task {self.task!r}")
        if self.task == "omniglot" and self.shots + self.queries > DRAWINGS:
            raise ValueError(
                f"shots + queries must be at most {DRAWINGS} (drawings per character), "
                f"got {self.shots} + {self.queries}"
            )
        if self.pretrain_steps and (
            self.task != "omniglot" or REGISTRY[self.algo].family == "model"
        ):
            raise ValueError(
                "pretrain_steps must be 0 except for a learner with a Conv4 body on omniglot"
            )
        if self.head != "learned" and (
            self.task != "omniglot" or REGISTRY[self.algo].family != "optimisation" or self.serial
        ):
            raise ValueError(
                "head must be 'learned' except for an optimisation-based learner on omniglot "
                "(and not with serial)"
            )
        return self

    def hyper(self, evaluation: bool = False) -> Hyper:
        """The algorithm's hyperparameters; ``evaluation`` uses ``eval_inner_steps`` and
        ``eval_alpha`` where set."""
        steps = self.inner_steps
        if steps is None:
            steps = REGISTRY[self.algo].default_inner_steps
        alpha = self.alpha
        if evaluation and self.eval_inner_steps is not None:
            steps = self.eval_inner_steps
        if evaluation and self.eval_alpha is not None:
            alpha = self.eval_alpha
        return Hyper(
            inner_steps=steps,
            alpha=alpha,
            beta=self.beta,
            lam=self.lam,
            cg_steps=self.cg_steps,
            damping=self.damping,
            serial=self.serial,
            head=self.head,
        )


EVALUATION_FIELDS = ("eval_inner_steps", "eval_alpha")  # test-time only: no effect on θ
SCHEDULE_FIELDS = ("lr_drop_at",)  # a step from which on training changes


class OmniglotConfig(TrainConfig):
    """A configuration for Omniglot: a class of its own because more algorithms are valid there
    (the metric- and model-based learners need episodes) and its defaults differ (a smaller
    meta-batch, K = 1, α = 0.4); a saved configuration says which it is by ``task``."""

    task: Literal["omniglot"] = Field("omniglot", description="task family")
    algo: OmniglotAlgoName = Field("protonet", description="meta-learning algorithm")
    meta_batch: int = Field(4, ge=1, le=100, description="tasks per meta-iteration")
    shots: int = Field(1, ge=1, le=50, description="K: support images per class")
    alpha: float = Field(0.4, gt=0, le=1.0, description="α: inner step size")


class NavigationConfig(BaseModel):
    """A 2-D navigation run (Finn et al. 2017, section 5.3; :mod:`app.meta.rl`), validated: what
    ``maml train-navigation``, a web job and a navigation checkpoint record. Its own class,
    as the policy-gradient inner loop has settings of its own (trajectories per step) and
    none of the supervised ones."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    task: Literal["navigation"] = Field("navigation", description="task family")
    algo: NavigationAlgoName = Field("maml", description="meta-learning algorithm")
    steps: int = Field(500, ge=1, le=100_000, description="meta-iterations")
    seed: int = Field(0, ge=0, le=2**31 - 1, description="random seed")
    meta_batch: int = Field(20, ge=1, le=100, description="T: goals per meta-iteration")
    trajectories: int = Field(
        20, ge=1, le=200, description="N: trajectories per policy-gradient step"
    )
    inner_steps: int = Field(1, ge=1, le=5, description="k: policy-gradient steps per goal")
    alpha: float = Field(0.1, gt=0, le=1.0, description="α: inner step size")
    meta_lr: float = Field(1e-3, gt=0, le=0.1, description="Adam step size of the outer loop")

    def hyper(self, evaluation: bool = False) -> Hyper:
        """The policy-gradient step the algorithms see; ``evaluation`` changes nothing."""
        return Hyper(inner_steps=self.inner_steps, alpha=self.alpha)


AnyConfig = TrainConfig | NavigationConfig


def config_from_dict(values: dict) -> AnyConfig:
    """The configuration a ``model_dump()`` came from: Omniglot's, navigation's or the general
    one."""
    kinds = {"omniglot": OmniglotConfig, "navigation": NavigationConfig}
    return kinds.get(values.get("task"), TrainConfig)(**values)
