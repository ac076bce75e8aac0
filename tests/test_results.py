"""The published numbers the article compares against, and the table built from the model cards.

Every published number is pinned here to the paper that reports it and to the column it was
measured in, so that none can drift into the wrong column or to the wrong paper again.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from app.article.bibliography import REFERENCES
from app.article.comparison import TABLE_METHODS, chart_points, measured_table
from app.article.model_cards import devices, hardware, omniglot_cards
from app.article.published import PUBLISHED, ROTATED, TRANSDUCTIVE, WITHIN_ALPHABET
from app.settings import Settings
from app.web.pages import render

MODELS = Path(__file__).resolve().parent.parent / "models"

# (method, column, citation key, split, transductive or not) → the number as the paper prints it.
# Sources: Finn et al. 2017 Table 1; Nichol et al. 2018 Table 2 (first-order MAML on Omniglot,
# and Reptile with and without transduction); Rajeswaran et al. 2019 Table 2 (iMAML, GD);
# Snell et al. 2017 Table 1; Vinyals et al. 2016 Table 1 (Matching networks, and Siamese
# networks re-run); Santoro et al. 2016 Table 1 (5 classes, 2nd instance); Munkhdalai & Yu 2017
# Table 1; Koch et al. 2015 Table 2; Lake et al. 2013 (4.8% error) and 2015 (3.3% error).
PINNED = {
    ("maml", 5, "finn2017", ROTATED, True): "98.7 ± 0.4",
    ("maml", 20, "finn2017", ROTATED, True): "95.8 ± 0.3",
    ("fomaml", 5, "nichol2018", ROTATED, True): "98.3 ± 0.5",
    ("fomaml", 20, "nichol2018", ROTATED, True): "89.4 ± 0.5",
    ("reptile", 5, "nichol2018", ROTATED, False): "95.39 ± 0.09",
    ("reptile", 20, "nichol2018", ROTATED, False): "88.14 ± 0.15",
    ("reptile", 5, "nichol2018", ROTATED, True): "97.68 ± 0.04",
    ("reptile", 20, "nichol2018", ROTATED, True): "89.43 ± 0.14",
    ("imaml", 5, "rajeswaran2019", ROTATED, False): "99.16 ± 0.35",
    ("imaml", 20, "rajeswaran2019", ROTATED, False): "94.46 ± 0.42",
    ("protonet", 5, "snell2017", ROTATED, False): "98.8",
    ("protonet", 20, "snell2017", ROTATED, False): "96.0",
    ("matching", 5, "vinyals2016", ROTATED, False): "98.1",
    ("matching", 20, "vinyals2016", ROTATED, False): "93.8",
    ("siamese", 5, "vinyals2016", ROTATED, False): "97.3",
    ("siamese", 20, "vinyals2016", ROTATED, False): "88.1",
    ("siamese", 20, "koch2015", WITHIN_ALPHABET, False): "92.0",
    ("mann", 5, "santoro2016", ROTATED, False): "82.8",
    ("metanet", 5, "munkhdalai2017", ROTATED, False): "98.95",
    ("metanet", 20, "munkhdalai2017", ROTATED, False): "97.0",
    ("stroke", 20, "lake2011", WITHIN_ALPHABET, False): "54.9",
    ("hbpl", 20, "lake2013", WITHIN_ALPHABET, False): "95.2",
    ("bpl", 20, "lake2015", WITHIN_ALPHABET, False): "96.7",
}


def key(p) -> tuple:
    return (p.method, p.ways, p.cite, p.split, p.protocol == TRANSDUCTIVE)


def test_every_published_number_is_pinned_to_its_paper_and_column():
    found = {key(p): p.text for p in PUBLISHED}
    assert len(found) == len(PUBLISHED), "two records share a paper, column and protocol"
    assert found == PINNED


def test_every_published_number_cites_a_known_paper_of_its_year():
    for p in PUBLISHED:
        assert p.cite in REFERENCES
        assert p.year == REFERENCES[p.cite]["year"], p
        assert p.ways in (5, 20)


def test_the_table_puts_each_number_in_its_column():
    rows = {row["method"]: row for row in measured_table(MODELS)}
    assert list(rows) == list(TABLE_METHODS)
    for row in rows.values():
        for ways in (5, 20):
            for p in row["published"][ways]:
                assert p.ways == ways and p.method == row["method"] and p.split == ROTATED
                assert p.cite in row["cites"]
    assert [p.text for p in rows["mann"]["published"][5]] == ["82.8"]
    assert rows["mann"]["published"][20] == []
    assert {p.cite for w in (5, 20) for p in rows["fomaml"]["published"][w]} == {"nichol2018"}
    assert rows["siamese"]["cites"] == ["vinyals2016"]  # Koch's own number is on Lake's task


def cells(html: str, method: str) -> dict[tuple[str, int], str]:
    """A table row's cells by ("published" or "measured", ways)."""
    row = re.search(rf'<tr data-method="{method}">(.*?)</tr>', html, re.S).group(1)
    found = re.findall(r'<td data-(\w+)="(\d+)">(.*?)</td>', row, re.S)
    return {(kind, int(ways)): text for kind, ways, text in found}


def test_the_comparison_page_shows_mann_in_the_5_way_column():
    html = render("comparison", Settings())
    mann = cells(html, "mann")
    assert "82.8" in mann[("published", 5)] and "82.8" not in mann[("published", 20)]
    assert mann[("published", 20)].strip() == "—"
    reptile = cells(html, "reptile")
    assert (
        "95.39 ± 0.09" in reptile[("published", 5)] and "97.68 ± 0.04" in reptile[("published", 5)]
    )
    assert "transductive" in reptile[("published", 20)]


def test_the_chart_has_only_20_way_numbers_each_with_its_split_and_protocol():
    data = chart_points()
    points = data["points"]
    assert {(p["method"], p["cite"], p["text"]) for p in points} == {
        (m, c, text) for (m, w, c, _, _), text in PINNED.items() if w == 20
    }
    assert all(p["ways"] == 20 and p["split_text"] and p["protocol"] for p in points)
    assert "mann" not in {p["method"] for p in points}
    years = [p["year"] for p in points]
    assert years == sorted(years)
    assert data["people"]["accuracy"] == 95.5
    assert set(TABLE_METHODS) <= set(data["labels"])


def test_bibliography_entries_of_the_review():
    kao = REFERENCES["kao2022"]
    assert kao["authors"] == ["Chia-Hsiang Kao", "Wei-Chen Chiu", "Pin-Yu Chen"]
    assert (kao["year"], kao["venue"]) == (2022, "ICLR")
    survey = REFERENCES["hospedales2021"]
    assert survey["year"] == 2022 and "44(9), 5149–5169" in survey["venue"]


def test_hardware_and_devices_come_from_the_sittings():
    sittings = [
        {"device": "cpu", "seconds": 600.0},
        {"device": "cuda (NVIDIA H200)", "seconds": 120.0},
        {"device": "cpu", "seconds": 60.0},
    ]
    assert hardware(sittings) == "CPU + GPU"
    assert hardware([]) == "CPU"
    assert devices(sittings) == [
        {"kind": "CPU", "name": "", "minutes": 11.0},
        {"kind": "GPU", "name": "NVIDIA H200", "minutes": 2.0},
    ]


def test_the_table_follows_the_cards(tmp_path):
    """Change a card and the table changes with it: nothing measured is written into a page."""
    source = next(
        c for c in omniglot_cards(MODELS) if c["algo"] == "maml" and c["config"]["ways"] == 5
    )
    card = json.loads((MODELS / f"{source['id']}.json").read_text())
    card["config"]["pretrain_steps"] = 3456
    card["eval"]["accuracy"], card["eval"]["ci95"] = 0.81234, 0.00567
    card["budget"].update(
        steps_done=4321,
        pretrain_seconds=600.0,
        train_seconds=3000.0,
        sittings=[
            {"device": "cpu", "seconds": 1800.0, "from_step": 0, "to_step": 2000},
            {"device": "cuda (NVIDIA H100)", "seconds": 1200.0, "from_step": 2000, "to_step": 4321},
        ],
    )
    (tmp_path / f"{source['id']}.json").write_text(json.dumps(card))
    html = render("comparison", Settings(models_dir=tmp_path))
    cell = cells(html, "maml")[("measured", 5)]
    assert "81.2 ± 0.6" in cell
    assert (
        "pre-trained body" in cell
        and "4,321 steps after 3,456 steps of pre-training (10 min)" in cell
    )
    assert "50 min on CPU + GPU (CPU 30 min, NVIDIA H100 20 min)" in cell
    assert "not trained yet" in cells(html, "maml")[("measured", 20)]
    scratch = cells(render("comparison", Settings()), "protonet")[("measured", 5)]
    assert "from scratch" in scratch


@pytest.mark.parametrize("path", sorted(MODELS.glob("omniglot-*.json")), ids=lambda p: p.stem)
def test_each_served_card_shows_its_start_minutes_and_hardware(path):
    card = json.loads(path.read_text())
    html = render("comparison", Settings())
    cell = cells(html, card["algo"])[("measured", card["config"]["ways"])]
    pretrained = (card["config"].get("pretrain_steps") or 0) > 0
    assert ("pre-trained body" in cell) == pretrained and ("from scratch" in cell) != pretrained
    minutes = card["budget"]["train_seconds"] / 60
    assert f"{minutes:.0f} min on {hardware(card['budget'].get('sittings', []))}" in cell


def test_the_published_table_of_the_comparison_page_agrees_with_the_records():
    """The four optimisation-based methods' table (with Mini-ImageNet) repeats numbers of
    app/article/published.py: each Omniglot number there must be a record of that method, column and
    protocol."""
    html = render("comparison", Settings())
    table = re.search(r'<h2 id="published">.*?<tbody>(.*?)</tbody>', html, re.S).group(1)
    titles = {title: method for method, title in TABLE_METHODS.items()}
    rows = re.findall(
        r"<tr><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td><td>.*?</td><td>(.*?)</td>", table
    )
    assert len(rows) == 5
    for title, five, twenty, protocol in rows:
        method = titles[title]
        for ways, text in ((5, five), (20, twenty)):
            (record,) = [
                p for p in PUBLISHED if p.method == method and p.ways == ways and p.text == text
            ]
            assert (record.protocol == TRANSDUCTIVE) == (protocol == "transductive"), text
