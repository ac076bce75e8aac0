"""The registry of meta-learning algorithms, all with one signature (see ``base``).

``ALGORITHMS`` holds those that run on every task family (the sinusoid page trains them);
``OMNIGLOT_ALGORITHMS`` those that classify Omniglot episodes: the optimisation-based four
on the Conv4 classifier, and the metric- and model-based learners, which need episodes.
"""

from app.meta.algorithms import (
    finetuned,
    fomaml,
    imaml,
    maml,
    mann,
    matching,
    pretrained,
    protonet,
    reptile,
    siamese,
)
from app.meta.algorithms.base import Algorithm, Hyper, MetaStep, per_task_loop

OPTIMISATION = {"network": finetuned.network, "predict": finetuned.predict}
EPISODIC = {"outer": "adam", "default_inner_steps": 0, "tasks": ("omniglot",)}

REGISTRY: dict[str, Algorithm] = {
    a.name: a
    for a in (
        Algorithm(
            "pretrained",
            "Pretrained baseline",
            "Finn et al. 2017, §5.1",
            pretrained.meta_gradient,
            "adam",
            0,
            tasks=("sinusoid",),
        ),
        Algorithm(
            "maml",
            "MAML",
            "Finn, Abbeel & Levine 2017",
            maml.meta_gradient,
            "adam",
            1,
            **OPTIMISATION,
        ),
        Algorithm(
            "fomaml",
            "First-order MAML",
            "Finn, Abbeel & Levine 2017, §5.2",
            fomaml.meta_gradient,
            "adam",
            1,
            **OPTIMISATION,
        ),
        Algorithm(
            "reptile",
            "Reptile",
            "Nichol, Achiam & Schulman 2018",
            reptile.meta_gradient,
            "sgd",
            5,
            **OPTIMISATION,
        ),
        Algorithm(
            "imaml",
            "iMAML",
            "Rajeswaran, Finn, Kakade & Levine 2019",
            imaml.meta_gradient,
            "adam",
            10,
            network=finetuned.network,
            predict=finetuned.predict_proximal,
        ),
        Algorithm(
            "protonet",
            "Prototypical networks",
            "Snell, Swersky & Zemel 2017",
            protonet.meta_gradient,
            family="metric",
            network=protonet.network,
            predict=protonet.predict,
            **EPISODIC,
        ),
        Algorithm(
            "matching",
            "Matching networks",
            "Vinyals, Blundell, Lillicrap, Kavukcuoglu & Wierstra 2016",
            matching.meta_gradient,
            family="metric",
            network=matching.network,
            predict=matching.predict,
            **EPISODIC,
        ),
        Algorithm(
            "siamese",
            "Siamese networks",
            "Koch, Zemel & Salakhutdinov 2015",
            siamese.meta_gradient,
            family="metric",
            network=siamese.network,
            predict=siamese.predict,
            calibrate=siamese.calibrate,
            **EPISODIC,
        ),
        Algorithm(
            "mann",
            "Memory-augmented neural network",
            "Santoro, Bartunov, Botvinick, Wierstra & Lillicrap 2016",
            mann.meta_gradient,
            family="model",
            network=mann.network,
            predict=mann.predict,
            **EPISODIC,
        ),
    )
}
ALGORITHMS: dict[str, Algorithm] = {n: a for n, a in REGISTRY.items() if "sinusoid" in a.tasks}
OMNIGLOT_ALGORITHMS: dict[str, Algorithm] = {
    n: a for n, a in REGISTRY.items() if "omniglot" in a.tasks
}

__all__ = [
    "ALGORITHMS",
    "OMNIGLOT_ALGORITHMS",
    "REGISTRY",
    "Algorithm",
    "Hyper",
    "MetaStep",
    "per_task_loop",
]
