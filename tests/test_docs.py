"""The README documents what the code does, in the manner of datasette's ``test_docs``: its
settings table lists exactly the fields of ``Settings``, its route tables exactly the API's
routes."""

import re
from dataclasses import fields
from pathlib import Path

import pytest

from app.settings import Settings
from app.web.main import create_app

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def table(header: str) -> list[str]:
    """The first cells of every README table whose header row starts with ``header``."""
    cells, inside = [], False
    for line in README.splitlines():
        if line.startswith(f"| {header} |"):
            inside = True
        elif inside and line.startswith("|"):
            if not line.startswith("|---"):
                cells.append(line.split("|")[1].strip())
        else:
            inside = False
    return cells


def test_the_settings_table_lists_every_setting():
    documented = [re.fullmatch(r"`(MAML_\w+)`", cell).group(1) for cell in table("variable")]
    assert len(documented) == len(set(documented))
    assert set(documented) == {f"MAML_{f.name.upper()}" for f in fields(Settings)}


@pytest.fixture(scope="module")
def routes() -> set[tuple[str, str]]:
    schema = create_app(Settings()).openapi()
    return {(method.upper(), path) for path, ops in schema["paths"].items() for method in ops}


def test_the_route_tables_list_every_route(routes):
    documented = [re.fullmatch(r"`([A-Z]+) (/\S+)`", cell).groups() for cell in table("route")]
    assert len(documented) == len(set(documented))
    assert set(documented) == routes
