"""The article's pages: their order, titles, routes, and server-side rendering.

A page is rendered once (Jinja, then :func:`app.article.typesetting.typeset` for its math
and citations), compressed once and kept; it is served with a short lifetime and
an ETag (:class:`app.web.assets.Encoded`), its assets by their hashed URLs. Figures
fill themselves in from the API at run time.

A figure is placed by its one name, ``{{ figure("reptile-path") }}``: :func:`figure` renders
``templates/partials/reptile-path.html`` (a missing partial is an error, not a silent gap)
with its request model's schema and defaults (:mod:`app.web.figures`), which its sliders
(``templates/controls.html``) and script start from, and the page then loads
``static/js/reptile-path.js``, once, after ``common.js``.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from markupsafe import Markup

from app.article.bibliography import REFERENCES
from app.article.comparison import chart_points, measured_table
from app.article.model_cards import body_measurements
from app.article.typesetting import typeset
from app.meta import inner
from app.meta.algorithms import ALGORITHMS, REGISTRY, maml
from app.meta.config import NavigationConfig
from app.meta.rl import META_GRADIENTS as NAVIGATION_ALGORITHMS
from app.settings import Settings
from app.web import figures
from app.web.assets import STATIC, Encoded, catalogue
from app.web.job_limits import OMNIGLOT_WEB_ALGORITHMS, OMNIGLOT_WEB_MAX_BATCH

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
REFERENCES_MARK = "<!--references-->"
PAGE_CACHE = "public, max-age=60"  # short: a page names its assets, which change with a release
SOURCE = {  # the engine's own functions whose code the MAML page shows (read when it renders)
    "sgd_adapt": inner.sgd_adapt,
    "adapted_query_loss": maml.adapted_query_loss,
    "maml_meta_gradient": maml.meta_gradient,
}


@dataclass(frozen=True)
class Page:
    slug: str
    title: str
    plotly: bool = True  # whether its figures draw with Plotly

    @property
    def path(self) -> str:
        return "/" if self.slug == "introduction" else f"/{self.slug}"


PAGES: tuple[Page, ...] = (
    Page("introduction", "Introduction", plotly=False),
    Page("why-model-agnostic", "Why model-agnostic"),
    Page("maml", "MAML"),
    Page("meta-gradient", "The meta-gradient"),
    Page("fomaml", "FOMAML"),
    Page("reptile", "Reptile"),
    Page("imaml", "iMAML"),
    Page("comparison", "Comparison"),
    Page("conclusion", "Conclusion and further reading"),
    Page("lab", "Lab"),
    Page("draw", "Draw", plotly=False),
)
BY_SLUG = {page.slug: page for page in PAGES}

environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


@pass_context
def figure(context: Context, name: str) -> Markup:
    """The figure ``name`` in place: its partial, rendered with the page's variables and its
    request model's ``fields``, ``defaults`` and ``surface`` (:func:`app.web.figures.context`);
    its script (``static/js/NAME.js``, where there is one) joins the page's ``figure_scripts``."""
    partial = context.environment.get_template(f"partials/{name}.html")
    script = f"js/{name}.js"
    scripts = context["figure_scripts"]
    if (STATIC / script).is_file() and script not in scripts:
        scripts.append(script)
    return Markup(partial.render(context.get_all() | figures.context(name)))


environment.globals["figure"] = figure
environment.filters["log10"] = math.log10  # the λ sliders move log10 λ


def references_html(keys: list[str]) -> str:
    if not keys:
        return ""
    template = environment.get_template("references.html")
    return template.render(entries=[(key, REFERENCES[key]) for key in keys])


@cache
def render(slug: str, settings: Settings) -> str:
    """The finished HTML of a page: typeset, with its reference list."""
    page = BY_SLUG[slug]
    index = PAGES.index(page)
    html = environment.get_template(f"pages/{slug}.html").render(
        page=page,
        pages=PAGES,
        figure_scripts=[],  # filled by figure() as the page renders
        previous=PAGES[index - 1] if index > 0 else None,
        next=PAGES[index + 1] if index + 1 < len(PAGES) else None,
        algorithms=list(ALGORITHMS.values()),
        job_max_steps=settings.job_max_steps,
        measured=measured_table(settings.models_dir),
        body=body_measurements(settings.models_dir),
        omniglot_web=OMNIGLOT_WEB_ALGORITHMS,
        omniglot_only=[REGISTRY[n] for n in OMNIGLOT_WEB_ALGORITHMS if n not in ALGORITHMS],
        omniglot_max_steps=settings.omniglot_job_max_steps,
        omniglot_max_batch=OMNIGLOT_WEB_MAX_BATCH,
        navigation={
            "fields": NavigationConfig.model_json_schema()["properties"],
            "algorithms": list(NAVIGATION_ALGORITHMS),
            "max_steps": settings.navigation_job_max_steps,
        },
        code={name: inspect.getsource(function) for name, function in SOURCE.items()},
        asset=catalogue(settings.cache_dir).url,
        published=chart_points(),
    )
    result = typeset(html)
    return result.html.replace(REFERENCES_MARK, references_html(result.cited))


@cache
def encoded(slug: str, settings: Settings) -> Encoded:
    """A page's HTML with its stored gzip and brotli forms and its ETag."""
    return Encoded.of(render(slug, settings).encode(), "text/html; charset=utf-8", PAGE_CACHE)


def router(settings: Settings) -> APIRouter:
    routes = APIRouter()

    def view(slug: str):
        def handler(request: Request) -> Response:
            return encoded(slug, settings).response(request)

        handler.__name__ = f"page_{slug.replace('-', '_')}"
        return handler

    for page in PAGES:
        routes.add_api_route(
            page.path,
            view(page.slug),
            methods=["GET"],
            response_class=HTMLResponse,
            include_in_schema=False,
        )

    return routes
