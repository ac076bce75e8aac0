"""Published few-shot results the article compares against, one record per number.

Every published number is one :class:`Published` record: the method, the column it was
measured in (5-way or 20-way, 1-shot), the paper that reports it (its citation key), and how
it was measured: on which split of Omniglot and whether the test queries were classified
together (transductively, with batch-norm statistics of the whole test batch) or one by one.
The comparison table and the "why model-agnostic" chart are both built from this one list
(:mod:`app.article.comparison`).
"""

from __future__ import annotations

from dataclasses import dataclass

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


def published(method: str, ways: int) -> list[Published]:
    """The published numbers of one method in one column, without the chart-only ones."""
    return [p for p in PUBLISHED if p.method == method and p.ways == ways and p.split == ROTATED]
