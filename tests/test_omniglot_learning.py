"""Each Omniglot learner learns: on a small fixed budget, test accuracy well above chance.

Deterministic (fixed seeds), on the real background set (Lake et al. 2015), skipped where
it is absent: 5-way 1-shot, a Conv4 of 32 filters, a few hundred episodes, then 100 test
episodes from the held-out alphabets. Chance is 20%.
"""

import os
from pathlib import Path

import pytest
import torch

from app.cli.omniglot import omniglot_data
from app.meta.config import OmniglotConfig
from app.meta.training import Training

DATA = Path(
    os.environ.get(
        "MAML_OMNIGLOT_DIR", Path(__file__).resolve().parents[1] / ".." / "shared" / "omniglot"
    )
)
pytestmark = pytest.mark.skipif(
    not (DATA / "images_background.zip").is_file(), reason="Omniglot background set absent"
)

# algorithm: (hyperparameters, meta-iterations, accuracy to reach); chance is 0.2
BUDGETS = {
    "protonet": ({"meta_batch": 1}, 100, 0.5),
    "matching": ({"meta_batch": 1}, 100, 0.5),
    "siamese": ({"meta_batch": 1}, 100, 0.4),
    "mann": ({"meta_batch": 16}, 500, 0.3),
    "maml": ({"meta_batch": 2, "inner_steps": 1, "alpha": 0.4}, 100, 0.4),
    "fomaml": ({"meta_batch": 2, "inner_steps": 1, "alpha": 0.1, "eval_inner_steps": 3}, 200, 0.5),
    "reptile": ({"meta_batch": 2, "inner_steps": 5, "alpha": 0.1, "beta": 0.5}, 100, 0.5),
    "imaml": (
        {"meta_batch": 2, "inner_steps": 5, "alpha": 0.1, "lam": 2.0, "cg_steps": 3},
        100,
        0.5,
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("algo", sorted(BUDGETS))
def test_learns_well_above_chance(algo):
    torch.set_num_threads(1)
    hyper, steps, bar = BUDGETS[algo]
    config = OmniglotConfig(
        algo=algo, ways=5, shots=1, queries=5, channels=32, steps=steps, seed=0, **hyper
    )
    run = Training(config, data=omniglot_data())
    for _ in run.run():
        pass
    accuracy = run.evaluate(100, split="test")["accuracy"]
    assert accuracy >= bar, f"{algo}: {accuracy:.3f} after {steps} meta-iterations"
