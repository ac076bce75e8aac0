"""Published few-shot results the article compares against, and this app's own model cards.

Every published number is one :class:`Published` record: the method, the column it was
measured in (5-way or 20-way, 1-shot), the paper that reports it (its citation key), and how
it was measured: on which split of Omniglot and whether the test queries were classified
together (transductively, with batch-norm statistics of the whole test batch) or one by one.
The comparison table and the "why model-agnostic" chart are both built from this one list.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from app.article.typesetting import short_citation
from app.meta.config import config_from_dict

# Two ways of testing one-shot classification on Omniglot.
WITHIN_ALPHABET = "within-alphabet"  # Lake et al.'s task: 20 characters of one alphabet
ROTATED = "rotated"  # 1,200 characters for training (plus rotated copies), 423 for test
SPLITS = {
    WITHIN_ALPHABET: "Lake et al.'s within-alphabet 20-way task (background alphabets to train)",
    ROTATED: "the split of all characters into 1,200 for training, with rotated copies, and 423",
}
# How the test queries were classified.
INDUCTIVE = "one query at a time"
TRANSDUCTIVE = "transductive"  # batch-norm statistics of the whole batch of test queries
SEQUENTIAL = "sequential"  # MANN: labels arrive one step late, accuracy at a class's 2nd showing
NOT_STATED = "transduction not stated"
PROTOCOLS = (INDUCTIVE, TRANSDUCTIVE, SEQUENTIAL, NOT_STATED)


@dataclass(frozen=True)
class Published:
    method: str  # this app's algorithm name where it trains the method, else a name of its own
    title: str
    ways: int  # the column: 5-way or 20-way, 1-shot
    accuracy: float  # in %
    interval: float | None  # the paper's ± (95% confidence), None where it gives none
    cite: str  # the citation key of the paper that reports this number
    year: int  # that paper's year (the chart's x)
    split: str  # WITHIN_ALPHABET or ROTATED
    protocol: str  # one of PROTOCOLS
    where: str  # where in the paper the number is
    anchor: str  # the section of the "why model-agnostic" page about the method

    @property
    def text(self) -> str:
        """The number as the paper prints it: "95.8 ± 0.3"."""
        digits = len(repr(self.accuracy).split(".")[1]) if "." in repr(self.accuracy) else 0
        value = f"{self.accuracy:.{digits}f}"
        if self.interval is None:
            return value
        return f"{value} ± {self.interval:.{digits}f}"


P = Published
PUBLISHED: tuple[Published, ...] = (
    # The Bayesian models, on Lake et al.'s own task (HBPL 4.8% error, BPL 3.3%).
    P(
        "stroke",
        "Generative stroke model",
        20,
        54.9,
        None,
        "lake2011",
        2011,
        WITHIN_ALPHABET,
        INDUCTIVE,
        "one-shot classification experiment (not re-checked against the paper)",
        "bayesian",
    ),
    P(
        "hbpl",
        "Hierarchical Bayesian program learning",
        20,
        95.2,
        None,
        "lake2013",
        2013,
        WITHIN_ALPHABET,
        INDUCTIVE,
        "4.8% error on one-shot classification",
        "bayesian",
    ),
    P(
        "bpl",
        "Bayesian program learning",
        20,
        96.7,
        None,
        "lake2015",
        2015,
        WITHIN_ALPHABET,
        INDUCTIVE,
        "3.3% error on one-shot classification",
        "bayesian",
    ),
    # Siamese networks: Koch et al.'s own number on Lake's task, and Vinyals et al.'s re-run.
    P(
        "siamese",
        "Siamese networks",
        20,
        92.0,
        None,
        "koch2015",
        2015,
        WITHIN_ALPHABET,
        INDUCTIVE,
        "Table 2 (convolutional Siamese net)",
        "siamese",
    ),
    P(
        "siamese",
        "Siamese networks",
        5,
        97.3,
        None,
        "vinyals2016",
        2016,
        ROTATED,
        NOT_STATED,
        "Table 1, Koch et al.'s method re-run",
        "siamese",
    ),
    P(
        "siamese",
        "Siamese networks",
        20,
        88.1,
        None,
        "vinyals2016",
        2016,
        ROTATED,
        NOT_STATED,
        "Table 1, Koch et al.'s method re-run",
        "siamese",
    ),
    P(
        "matching",
        "Matching networks",
        5,
        98.1,
        None,
        "vinyals2016",
        2016,
        ROTATED,
        NOT_STATED,
        "Table 1",
        "matching",
    ),
    P(
        "matching",
        "Matching networks",
        20,
        93.8,
        None,
        "vinyals2016",
        2016,
        ROTATED,
        NOT_STATED,
        "Table 1",
        "matching",
    ),
    # Santoro et al. report 5-class episodes only: 82.8% at the second showing of a class.
    P(
        "mann",
        "Memory-augmented NN",
        5,
        82.8,
        None,
        "santoro2016",
        2016,
        ROTATED,
        SEQUENTIAL,
        "Table 1, 5 classes, 2nd instance",
        "mann",
    ),
    P(
        "metanet",
        "Meta networks",
        5,
        98.95,
        None,
        "munkhdalai2017",
        2017,
        ROTATED,
        NOT_STATED,
        "Table 1",
        "meta-networks",
    ),
    P(
        "metanet",
        "Meta networks",
        20,
        97.0,
        None,
        "munkhdalai2017",
        2017,
        ROTATED,
        NOT_STATED,
        "Table 1",
        "meta-networks",
    ),
    # Prototypical networks: the authors' code tests with model.eval(), the batch-norm
    # statistics of training, so each query on its own.
    P(
        "protonet",
        "Prototypical networks",
        5,
        98.8,
        None,
        "snell2017",
        2017,
        ROTATED,
        INDUCTIVE,
        "Table 1",
        "prototypical",
    ),
    P(
        "protonet",
        "Prototypical networks",
        20,
        96.0,
        None,
        "snell2017",
        2017,
        ROTATED,
        INDUCTIVE,
        "Table 1",
        "prototypical",
    ),
    # MAML's batch norm uses the statistics of the batch in hand; Nichol et al. (Tables 1-2)
    # label its rows and first-order MAML's "+ Transduction".
    P(
        "maml",
        "MAML",
        5,
        98.7,
        0.4,
        "finn2017",
        2017,
        ROTATED,
        TRANSDUCTIVE,
        "Table 1",
        "maml-family",
    ),
    P(
        "maml",
        "MAML",
        20,
        95.8,
        0.3,
        "finn2017",
        2017,
        ROTATED,
        TRANSDUCTIVE,
        "Table 1",
        "maml-family",
    ),
    # Finn et al. ran first-order MAML on Mini-ImageNet only; the Omniglot numbers are Nichol et
    # al.'s (Rajeswaran et al., Table 2 caption, say so).
    P(
        "fomaml",
        "First-order MAML",
        5,
        98.3,
        0.5,
        "nichol2018",
        2018,
        ROTATED,
        TRANSDUCTIVE,
        "Table 2",
        "maml-family",
    ),
    P(
        "fomaml",
        "First-order MAML",
        20,
        89.4,
        0.5,
        "nichol2018",
        2018,
        ROTATED,
        TRANSDUCTIVE,
        "Table 2",
        "maml-family",
    ),
    P(
        "reptile",
        "Reptile",
        5,
        95.39,
        0.09,
        "nichol2018",
        2018,
        ROTATED,
        INDUCTIVE,
        "Table 2",
        "maml-family",
    ),
    P(
        "reptile",
        "Reptile",
        20,
        88.14,
        0.15,
        "nichol2018",
        2018,
        ROTATED,
        INDUCTIVE,
        "Table 2",
        "maml-family",
    ),
    P(
        "reptile",
        "Reptile",
        5,
        97.68,
        0.04,
        "nichol2018",
        2018,
        ROTATED,
        TRANSDUCTIVE,
        "Table 2, + Transduction",
        "maml-family",
    ),
    P(
        "reptile",
        "Reptile",
        20,
        89.43,
        0.14,
        "nichol2018",
        2018,
        ROTATED,
        TRANSDUCTIVE,
        "Table 2, + Transduction",
        "maml-family",
    ),
    # iMAML with a gradient-descent inner solver (16 steps 5-way, 25 steps 20-way, λ = 2).
    P(
        "imaml",
        "iMAML",
        5,
        99.16,
        0.35,
        "rajeswaran2019",
        2019,
        ROTATED,
        NOT_STATED,
        "Table 2, iMAML GD",
        "maml-family",
    ),
    P(
        "imaml",
        "iMAML",
        20,
        94.46,
        0.42,
        "rajeswaran2019",
        2019,
        ROTATED,
        NOT_STATED,
        "Table 2, iMAML GD",
        "maml-family",
    ),
)
del P

# The methods this app trains, in the comparison table's order, with their titles.
TABLE_METHODS = {
    "maml": "MAML",
    "fomaml": "First-order MAML",
    "reptile": "Reptile",
    "imaml": "iMAML",
    "protonet": "Prototypical networks",
    "matching": "Matching networks",
    "siamese": "Siamese networks",
    "mann": "Memory-augmented NN",
}


def published(method: str, ways: int) -> list[Published]:
    """The published numbers of one method in one column, without the chart-only ones."""
    return [p for p in PUBLISHED if p.method == method and p.ways == ways and p.split == ROTATED]


# Short names for the chart's labels, by method.
LABELS = {
    "stroke": "Stroke model",
    "hbpl": "HBPL",
    "bpl": "BPL",
    "siamese": "Siamese",
    "matching": "Matching nets",
    "mann": "MANN",
    "metanet": "Meta networks",
    "protonet": "Prototypical nets",
    "maml": "MAML",
    "fomaml": "First-order MAML",
    "reptile": "Reptile",
    "imaml": "iMAML",
}
# People on Lake et al.'s within-alphabet task: 4.5% errors (Lake et al. 2013 and 2015).
PEOPLE = {"accuracy": 95.5, "cite": "lake2015", "split": WITHIN_ALPHABET}


def chart_points() -> dict:
    """The "why model-agnostic" chart's published data: every 20-way 1-shot number, oldest
    first, with its split, protocol, source and a short label; people's accuracy; the labels
    of this app's methods."""
    points = []
    for p in sorted(PUBLISHED, key=lambda p: (p.year, p.accuracy)):
        if p.ways != 20:
            continue
        label = LABELS[p.method]
        if p.method == "siamese":
            label += " (Koch et al.)" if p.cite == "koch2015" else " (re-run)"
        if p.method == "reptile" and p.protocol == TRANSDUCTIVE:
            label += ", transductive"
        points.append(
            dict(
                asdict(p),
                text=p.text,
                label=label,
                source=f"{short_citation(p.cite)}, {p.where}",
                split_text=SPLITS[p.split],
            )
        )
    people = dict(PEOPLE, source=short_citation(PEOPLE["cite"]))
    return {"points": points, "people": people, "labels": LABELS}


def omniglot_cards(models_dir: Path) -> list[dict]:
    """The model cards of this app's trained Omniglot models (``models/omniglot-*.json``)."""
    cards = []
    for path in sorted(models_dir.glob("omniglot-*.json")):
        card = json.loads(path.read_text())
        card["id"] = path.stem
        cards.append(card)
    return cards


def _kind(device: str) -> str:
    return "GPU" if device.startswith("cuda") else "CPU"


def hardware(sittings: list[dict]) -> str:
    """Where a model was trained, from its card's sittings: "CPU", "GPU" or "CPU + GPU"."""
    kinds = {_kind(s["device"]) for s in sittings} or {"CPU"}
    return " + ".join(sorted(kinds))


def devices(sittings: list[dict]) -> list[dict]:
    """Each device a model trained on, from its card's sittings, with its minutes there:
    ``[{"kind": "GPU", "name": "NVIDIA H200", "minutes": 6.2}]``, in the order first used."""
    out: dict[str, dict] = {}
    for sitting in sittings:
        device = sitting["device"]
        name = device[device.find("(") + 1 : device.rfind(")")] if "(" in device else ""
        entry = out.setdefault(device, {"kind": _kind(device), "name": name, "minutes": 0.0})
        entry["minutes"] += sitting.get("seconds", 0.0) / 60
    return list(out.values())


def adaptation_at_test(card: dict) -> dict | None:
    """How a fine-tuned model adapted to each test episode: its inner steps, α and where
    the head started (``app.meta.heads``)."""
    if card["family"] != "optimisation":
        return None
    hyper = config_from_dict(card["config"]).hyper(evaluation=True)
    return {"steps": hyper.inner_steps, "alpha": hyper.alpha, "head": hyper.head}


def measured(card: dict) -> dict:
    """What the comparison table shows of one model card: accuracy, start, budget, hardware."""
    budget = card["budget"]
    sittings = budget.get("sittings", [])
    pretrain_steps = card["config"].get("pretrain_steps", 0) or 0
    return {
        "id": card["id"],
        "accuracy": 100 * card["eval"]["accuracy"],
        "interval": 100 * card["eval"]["ci95"],
        "episodes": card["eval"]["episodes"],
        "steps": budget["steps_done"],
        "pretrained": pretrain_steps > 0,
        "pretrain_steps": pretrain_steps,
        "pretrain_minutes": budget.get("pretrain_seconds", 0.0) / 60 if pretrain_steps else 0.0,
        "minutes": budget["train_seconds"] / 60,
        "finished": budget["finished"],
        "hardware": hardware(sittings),
        "devices": devices(sittings),
        "adapted": adaptation_at_test(card),
    }


def body_measurements(models_dir: Path) -> dict[str, dict]:
    """What the kept pre-trained body scores alone with the nearest-prototype rule, by
    ``"{N}way-{split}"``, from its card (``models/bodies/*.json``, written by
    ``maml evaluate omniglot --body … --update-card``); empty without one."""
    found: dict[str, dict] = {}
    for path in sorted((models_dir / "bodies").glob("*.json")):
        found |= json.loads(path.read_text()).get("nearest_prototype", {})
    return found


def measured_table(models_dir: Path) -> list[dict]:
    """One row per method: published numbers (with their source and protocol) beside this
    app's measured ones (None where no model is trained)."""
    cards = {
        (c["algo"], c["config"]["ways"]): c
        for c in omniglot_cards(models_dir)
        if c["config"]["shots"] == 1
    }
    rows = []
    for method, title in TABLE_METHODS.items():
        numbers = {ways: published(method, ways) for ways in (5, 20)}
        cites = list(dict.fromkeys(p.cite for ways in (5, 20) for p in numbers[ways]))
        row = {"method": method, "title": title, "cites": cites, "published": numbers}
        for ways in (5, 20):
            card = cards.get((method, ways))
            row[ways] = None if card is None else measured(card)
        rows.append(row)
    return rows
