"""The comparison table and the "why model-agnostic" chart: published numbers beside this app's.

Both are built from the one list of published records (:mod:`app.article.published`) and,
for the table, this app's model cards (:mod:`app.article.model_cards`).
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from app.article.model_cards import measured, omniglot_cards
from app.article.published import PUBLISHED, SPLITS, TRANSDUCTIVE, WITHIN_ALPHABET, published
from app.article.typesetting import short_citation

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
