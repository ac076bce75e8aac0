"""This app's own Omniglot model cards (``models/omniglot-*.json``) as the article shows them.

Each card records how a model was trained and measured (``maml train`` writes it); these
functions read the cards and the pre-trained bodies' cards and say what the comparison
table shows of them: accuracy, budget, hardware, how the model adapts at test time.
"""

from __future__ import annotations

import json
from pathlib import Path

from app.meta.config import config_from_dict


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
