"""The registry of meta-learning algorithms, all with one signature (see ``base``)."""

from app.meta.algorithms import fomaml, imaml, maml, pretrained, reptile
from app.meta.algorithms.base import Algorithm, Hyper, MetaStep, per_task_loop

ALGORITHMS: dict[str, Algorithm] = {
    a.name: a
    for a in (
        Algorithm(
            "pretrained",
            "Pretrained baseline",
            "Finn et al. 2017, §5.1",
            pretrained.meta_gradient,
            "adam",
            0,
        ),
        Algorithm("maml", "MAML", "Finn, Abbeel & Levine 2017", maml.meta_gradient, "adam", 1),
        Algorithm(
            "fomaml",
            "First-order MAML",
            "Finn, Abbeel & Levine 2017, §5.2",
            fomaml.meta_gradient,
            "adam",
            1,
        ),
        Algorithm(
            "reptile", "Reptile", "Nichol, Achiam & Schulman 2018", reptile.meta_gradient, "sgd", 5
        ),
        Algorithm(
            "imaml",
            "iMAML",
            "Rajeswaran, Finn, Kakade & Levine 2019",
            imaml.meta_gradient,
            "adam",
            10,
        ),
    )
}

__all__ = ["ALGORITHMS", "Algorithm", "Hyper", "MetaStep", "per_task_loop"]
