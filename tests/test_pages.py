"""Pages through the real app: the figures they place by name, and what they show that comes
from the engine itself."""

import inspect
import re
from html import escape

import pytest
from fastapi.testclient import TestClient
from jinja2 import TemplateNotFound

from app.web.assets import STATIC
from app.web.main import create_app
from app.web.pages import PAGES, SOURCE, TEMPLATES, environment


@pytest.fixture(scope="module")
def client():
    return TestClient(create_app())


def test_the_maml_page_shows_the_engine_code_it_runs(client):
    html = client.get("/maml").text
    for name, function in SOURCE.items():
        signature = inspect.getsource(function).split(":\n", 1)[0]  # up to the first ":\n"
        assert escape(signature, quote=False) in html, name


FIGURE_CALL = re.compile(r'\{\{ figure\("([a-z-]+)"\) \}\}')
SCRIPT = re.compile(r'<script src="/static/js/([a-z-]+)\.[0-9a-f]{12}\.js" defer></script>')


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.slug)
def test_a_page_loads_the_script_of_each_of_its_figures_once(client, page):
    source = (TEMPLATES / "pages" / f"{page.slug}.html").read_text()
    names = list(dict.fromkeys(FIGURE_CALL.findall(source)))
    expected = [name for name in names if (STATIC / "js" / f"{name}.js").is_file()]
    html = client.get(page.path).text
    assert SCRIPT.findall(html) == (["common"] + expected if expected else [])
    assert ("plotly.min" in html) == (page.plotly and bool(expected))


def test_a_missing_partial_fails_loudly():
    with pytest.raises(TemplateNotFound):
        environment.from_string('{{ figure("no-such-figure") }}').render(figure_scripts=[])


def test_no_template_includes_anything_optionally():
    for path in TEMPLATES.rglob("*.html"):
        assert "ignore missing" not in path.read_text(), path


def test_the_comparison_table_says_where_each_model_starts_its_head(client):
    html = client.get("/comparison").text
    for head in ("a prototype head", "a scaled prototype head", "a zero head"):
        assert f'from {head[:2]}<a href="#heads">{head[2:]}</a>' in html, head
