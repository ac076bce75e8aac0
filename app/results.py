"""Published few-shot results the article compares against, and this app's own model cards.

Numbers as collected in the papers named; Omniglot 20-way 1-shot by year for the
"why model-agnostic" chart, and the optimisation-based methods' table of
Rajeswaran et al. (2019, table 2) for the comparison page.
"""

from __future__ import annotations

import json
from pathlib import Path

from app.meta.config import config_from_dict

# (method, year, accuracy %, citation key, anchor on the why-model-agnostic page,
#  where the chart puts the label so that neighbours do not collide)
OMNIGLOT_20WAY_1SHOT = [
    ("Generative stroke model", 2011, 54.9, "lake2011", "bayesian", "top right"),
    ("Hierarchical Bayesian program learning", 2013, 96.2, "lake2013", "bayesian", "bottom center"),
    ("Siamese networks", 2015, 88.1, "koch2015", "siamese", "bottom center"),
    ("Matching networks", 2016, 93.8, "vinyals2016", "matching", "middle left"),
    ("Memory-augmented NN", 2016, 82.8, "santoro2016", "mann", "bottom center"),
    ("Meta networks", 2017, 97.0, "munkhdalai2017", "meta-networks", "top center"),
    ("Prototypical networks", 2017, 96.0, "snell2017", "prototypical", "middle right"),
    ("MAML", 2017, 95.8, "finn2017", "maml-family", "bottom right"),
]

# method → (title, citation key, published Omniglot 5-way 1-shot, 20-way 1-shot, in %): the
# optimisation-based four as collected by Rajeswaran et al. (2019, table 2), the others from
# their papers (Siamese networks as re-run by Vinyals et al. 2016, table 1).
PUBLISHED_OMNIGLOT = {
    "maml": ("MAML", "finn2017", "98.7 ± 0.4", "95.8 ± 0.3"),
    "fomaml": ("First-order MAML", "finn2017", "98.3 ± 0.5", "89.4 ± 0.5"),
    "reptile": ("Reptile", "nichol2018", "97.68 ± 0.04", "89.43 ± 0.14"),
    "imaml": ("iMAML", "rajeswaran2019", "99.16 ± 0.35", "94.46 ± 0.42"),
    "protonet": ("Prototypical networks", "snell2017", "98.8", "96.0"),
    "matching": ("Matching networks", "vinyals2016", "98.1", "93.8"),
    "siamese": ("Siamese networks", "vinyals2016", "97.3", "88.1"),
    "mann": ("Memory-augmented NN", "santoro2016", "—", "82.8"),
}


def omniglot_cards(models_dir: Path) -> list[dict]:
    """The model cards of this app's trained Omniglot models (``models/omniglot-*.json``)."""
    cards = []
    for path in sorted(models_dir.glob("omniglot-*.json")):
        card = json.loads(path.read_text())
        card["id"] = path.stem
        cards.append(card)
    return cards


def hardware(sittings: list[dict]) -> str:
    """Where a model was trained, from its card's sittings: "CPU", "GPU" or "CPU + GPU"."""
    kinds = {"GPU" if s["device"].startswith("cuda") else "CPU" for s in sittings} or {"CPU"}
    return " + ".join(sorted(kinds))


def adaptation_at_test(card: dict) -> dict | None:
    """How a fine-tuned model adapted to each test episode: its inner steps and α."""
    if card["family"] != "optimisation":
        return None
    hyper = config_from_dict(card["config"]).hyper(evaluation=True)
    return {"steps": hyper.inner_steps, "alpha": hyper.alpha}


def measured_table(models_dir: Path) -> list[dict]:
    """One row per method: published numbers beside this app's measured ones (or None)."""
    cards = {
        (c["algo"], c["config"]["ways"]): c
        for c in omniglot_cards(models_dir)
        if c["config"]["shots"] == 1
    }
    rows = []
    for method, (title, key, five, twenty) in PUBLISHED_OMNIGLOT.items():
        row = {"method": method, "title": title, "cite": key, "published": {5: five, 20: twenty}}
        for ways in (5, 20):
            card = cards.get((method, ways))
            row[ways] = (
                None
                if card is None
                else {
                    "accuracy": 100 * card["eval"]["accuracy"],
                    "interval": 100 * card["eval"]["ci95"],
                    "episodes": card["eval"]["episodes"],
                    "steps": card["budget"]["steps_done"],
                    "pretrain_steps": card["config"].get("pretrain_steps", 0),
                    "minutes": card["budget"]["train_seconds"] / 60,
                    "finished": card["budget"]["finished"],
                    "hardware": hardware(card["budget"].get("sittings", [])),
                    "adapted": adaptation_at_test(card),
                }
            )
        rows.append(row)
    return rows
