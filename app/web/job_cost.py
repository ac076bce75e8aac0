"""What a training job asked over HTTP may cost: an estimate of its longest uninterruptible piece.

A web job checks whether it was cancelled between pieces of work (:mod:`app.web.streams`): one
meta-iteration, one row of a landscape grid, one validation episode, one slice of the final
evaluation. The longest piece is how long a cancelled job may keep its worker, so a
configuration whose longest piece is estimated above :data:`PIECE_SECONDS` is refused up
front, with a message that names what to reduce.

The estimates are fitted to measurements on the 2-core machine this app is developed on,
single-threaded PyTorch, with two other training processes running (``bench``-style timings
of ``Training.meta_step``, ``app.web.streams.landscape_event`` and the evaluations): on an idle
machine a piece takes about half as long. They err on the slow side. The defaults and the
article's own runs are far inside the bound.
"""

from __future__ import annotations

from app.meta.config import AnyConfig, NavigationConfig, TrainConfig
from app.meta.rl_train import TRAJECTORIES
from app.web.navigation_stream import EVAL_PIECE, FINAL_STEPS

PIECE_SECONDS = 1.0
LANDSCAPE_ROW_POINTS = 15 * 10  # grid points of a row × the landscape's tasks (app.web.streams)


def sinusoid_step_seconds(config: TrainConfig) -> float:
    """One meta-iteration on sinusoids (measured: MAML, 25 tasks, K = 10, k = 1: 9 ms;
    iMAML, 100 tasks, K = 50, k = 50, 50 CG steps: 1.2 s; serial Reptile, 100 tasks, k = 50:
    9.8 s)."""
    hyper = config.hyper()
    k, batch, width = hyper.inner_steps, config.meta_batch, config.shots + 10
    if config.algo == "reptile":
        per_task_step = 2e-3 if hyper.serial else 1.2e-4
        return per_task_step * batch * max(k, 1) * (1 + config.shots / 50)
    sequential = {
        "pretrained": 1,
        "maml": 2 * k + 1,
        "fomaml": k + 1,
        "imaml": k + 2 * hyper.cg_steps + 1,
    }[config.algo]
    return 5e-3 + sequential * (3e-3 + 3e-6 * batch * width)


def landscape_row_seconds(config: TrainConfig) -> float:
    """One row of the live landscape: every point's tasks adapted with k inner steps
    (measured: K = 10, k = 1: 16 ms; K = 50, k = 50: 1.0 s)."""
    k = config.hyper().inner_steps
    return 2.7e-6 * LANDSCAPE_ROW_POINTS * (config.shots + 10) * (k + 1)


def omniglot_seconds(config: TrainConfig) -> tuple[float, float]:
    """One meta-iteration and one validation episode on Omniglot (measured: Prototypical
    networks, 5-way, 15 queries, 4 tasks: 1.2 s and 0.12 s; 20-way: 6.0 s and 0.9 s)."""
    images = config.ways * (config.shots + config.queries)
    scale = (config.channels / 64) ** 2
    if config.algo == "protonet":
        return 5e-3 * config.meta_batch * images * scale, 3e-3 * images * scale
    train_k = config.hyper().inner_steps
    eval_k = config.hyper(evaluation=True).inner_steps
    support = config.ways * config.shots
    step = 2.5e-3 * config.meta_batch * (support * train_k + images) * scale
    episode = 3e-3 * (2 * support * eval_k + images) * scale
    return step, episode


def navigation_seconds(config: NavigationConfig) -> tuple[float, float]:
    """One meta-iteration and one piece of an evaluation on 2-D navigation. Both are mostly
    rollouts of 100 steps: about 0.5 ms per trajectory and round of sampling (T goals × N
    trajectories × (k + 1) rounds), twice that for MAML, whose steps keep the graph for the
    second-order term (measured: MAML, 20 goals × 20 trajectories, k = 1: 0.6–1.3 s; FOMAML
    0.32 s; pretrained 0.19 s)."""
    per_rollout = 5e-4
    rounds = 1 if config.algo == "pretrained" else config.inner_steps + 1
    second_order = 2 if config.algo == "maml" else 1
    step = per_rollout * config.meta_batch * config.trajectories * rounds * second_order
    during = EVAL_PIECE * config.trajectories * (config.inner_steps + 1)
    final = EVAL_PIECE * TRAJECTORIES * (FINAL_STEPS + 1)
    return step, per_rollout * max(during, final)


def pieces(config: AnyConfig) -> dict[str, float]:
    """Estimated seconds of each kind of uninterruptible piece of this job."""
    if config.task == "navigation":
        step, evaluation = navigation_seconds(config)
        return {"meta-iteration": step, "piece of an evaluation": evaluation}
    if config.task == "omniglot":
        step, episode = omniglot_seconds(config)
        return {"meta-iteration": step, "validation episode": episode}
    return {
        "meta-iteration": sinusoid_step_seconds(config),
        "landscape row": landscape_row_seconds(config),
    }


def reduce_hint(config: AnyConfig) -> str:
    if config.task == "navigation":
        return "meta_batch, trajectories or inner_steps"
    if config.task == "omniglot":
        fields = "meta_batch, ways, queries, shots, channels"
        if config.algo != "protonet":
            fields += ", inner_steps or eval_inner_steps"
    elif config.algo == "reptile":
        fields = "meta_batch, inner_steps or shots" + (" (or leave serial off)" * config.serial)
    elif config.algo == "imaml":
        fields = "meta_batch, shots, inner_steps or cg_steps"
    else:
        fields = "meta_batch, shots or inner_steps"
    return fields


def cost_problem(config: AnyConfig) -> str | None:
    """None when every piece fits, else a message that says which piece is too long and what
    to reduce."""
    name, seconds = max(pieces(config).items(), key=lambda item: item[1])
    if seconds <= PIECE_SECONDS:
        return None
    return (
        f"this configuration is too heavy for this server: one {name} would take about "
        f"{seconds:.1f} s, and a job must be able to stop within {PIECE_SECONDS:g} s; "
        f"reduce {reduce_hint(config)}"
    )
