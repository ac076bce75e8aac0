"""A figure's defaults and bounds are written once, in its request model: the pages' sliders
show the schema's minimum, maximum and default, the figures' data-defaults are the schema's
defaults, and a value outside a slider's field is refused with a 422 that names the field."""

import json
import math
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

from app.settings import Settings
from app.web.figures import FIGURES
from app.web.main import create_app
from app.web.pages import PAGES

# the sliders each figure renders from its request model (a figure losing one fails here)
SLIDERS = {
    "two-tasks": {"alpha"},
    "reptile-path": {"inner_steps", "beta", "alpha"},
    "update-directions": {"inner_steps", "alpha", "lam"},
    "imaml-landscape": {"lam"},
    "imaml-cg": {"lam", "damping"},
    "fomaml-quadratic": {"a", "b", "c"},
    "sinusoid-finetune": {"amplitude", "phase"},
}


class Controls(HTMLParser):
    """The range inputs of each [data-figure] element and its data-defaults."""

    def __init__(self):
        super().__init__()
        self.figure = None
        self.sliders: dict[str, dict[str, dict]] = {}
        self.defaults: dict[str, dict] = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "figure" and "data-figure" in attrs:
            self.figure = attrs["data-figure"]
            self.sliders.setdefault(self.figure, {})
            if "data-defaults" in attrs:
                self.defaults[self.figure] = json.loads(attrs["data-defaults"])
        elif tag == "input" and self.figure and attrs.get("type") == "range":
            self.sliders[self.figure][attrs["name"]] = attrs

    def handle_endtag(self, tag):
        if tag == "figure":
            self.figure = None


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    with TestClient(create_app(Settings(data_dir=tmp_path_factory.mktemp("data")))) as c:
        yield c


@pytest.fixture(scope="module")
def controls(client) -> Controls:
    parser = Controls()
    for page in PAGES:
        parser.feed(client.get(page.path).text)
    return parser


def bounds(spec: dict) -> tuple[float, float]:
    """What the slider of a field must span: the schema's bounds, or its x-slider where the
    model narrows them."""
    ui = spec.get("x-slider", {})
    low = ui.get("min", spec.get("minimum", spec.get("exclusiveMinimum")))
    return low, ui.get("max", spec["maximum"])


def test_every_slider_shows_its_request_models_bounds_and_default(controls):
    for name, expected in SLIDERS.items():
        fields = FIGURES[name].request.model_json_schema()["properties"]
        sliders = {k: v for k, v in controls.sliders[name].items() if k in fields}
        assert set(sliders) == expected, name
        for field, attrs in sliders.items():
            spec = fields[field]
            low, high = bounds(spec)
            scale = math.log10 if attrs.get("data-scale") == "log10" else float
            shown = [float(attrs[key]) for key in ("min", "max", "value")]
            assert shown == pytest.approx([scale(low), scale(high), scale(spec["default"])]), (
                name,
                field,
            )
            assert spec["minimum" if "minimum" in spec else "exclusiveMinimum"] <= low < high
            assert high <= spec["maximum"]


def test_every_figures_script_starts_from_its_request_models_defaults(controls):
    for name, figure in FIGURES.items():
        if name in controls.defaults:
            assert controls.defaults[name] == figure.context()["defaults"], name
            if not any(f.is_required() for f in figure.request.model_fields.values()):
                instance = figure.request.model_validate(controls.defaults[name])
                assert instance == figure.request(), name
    assert set(SLIDERS) <= set(controls.defaults)


def route_of(client, model) -> str:
    """The path whose POST body is ``model``, from the app's OpenAPI description."""
    ref = f"#/components/schemas/{model.__name__}"
    for path, operations in client.app.openapi()["paths"].items():
        body = operations.get("post", {}).get("requestBody", {})
        if body.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref") == ref:
            return path
    raise AssertionError(f"no route takes {model.__name__}")


@pytest.mark.parametrize("name", sorted(SLIDERS))
def test_a_value_outside_a_sliders_field_is_a_422_naming_it(client, name):
    model = FIGURES[name].request
    url = route_of(client, model)
    fields = model.model_json_schema()["properties"]
    for field in SLIDERS[name]:
        spec = fields[field]
        low = spec.get("minimum", spec.get("exclusiveMinimum"))
        for outside in (spec["maximum"] + 1, low - 1):
            response = client.post(url, json={field: outside})
            assert response.status_code == 422, (url, field, outside)
            message = response.json()["message"]
            bound = spec["maximum"] if outside > spec["maximum"] else low
            named = [part for part in message.split("; ") if part.startswith(f"{field}:")]
            assert named and f"{bound:g}" in named[0], message
