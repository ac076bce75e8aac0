"""Third-party browser code served by this app: Plotly's cartesian build.

``static/vendor/plotly.min.js`` is npm's ``plotly.js-cartesian-dist-min`` (its licence
beside it), put there by ``scripts/vendor-plotly``: a package, never a CDN, and no install
step. It registers every trace type the figures use (scatter, bar, heatmap, contour; a test
checks) and is a third of the full bundle's size (``bench/plotly_build.py``).

Plotly injects two inline ``<style>`` elements when it loads: an empty one that it
fills through the CSSOM, and MapLibre's style sheet as text. The Content-Security-
Policy allows exactly these by their SHA-256 hashes, computed here from the
bundled file, so nothing else inline is allowed and a Plotly upgrade stays correct.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from functools import lru_cache
from pathlib import Path

PLOTLY_JS = Path(__file__).resolve().parents[2] / "static" / "vendor" / "plotly.min.js"
INLINE_STYLE = re.compile(r"\.textContent='((?:[^'\\]|\\.)*)'")
FIGURES = PLOTLY_JS.parent.parent / "js"
TRACE_MODULE = re.compile(r'moduleType:"trace",name:"(\w+)"')
TRACE_TYPE = re.compile(r'^\s*\{?\s*type:\s*"(\w+)"', re.M)  # a trace object starts with its type
NOT_TRACES = {"data", "log", "linear", "category", "date"}  # error bars' and axes' types


def registered_trace_types(bundle: str) -> set[str]:
    """The trace types a Plotly bundle registers."""
    return set(TRACE_MODULE.findall(bundle))


def used_trace_types(scripts: Path = FIGURES) -> set[str]:
    """The trace types the figure modules draw (``scatter`` is Plotly's default)."""
    found = {"scatter"}
    for script in scripts.glob("*.js"):
        found |= set(TRACE_TYPE.findall(script.read_text())) - NOT_TRACES
    return found


def csp_hash(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


def js_string(body: str) -> str:
    """The value of a single-quoted JavaScript string literal's body."""
    return json.loads('"' + body.replace('"', '\\"').replace("\\'", "'") + '"')


@lru_cache(maxsize=1)
def plotly_style_hashes() -> tuple[str, ...]:
    styles = [js_string(m.group(1)) for m in INLINE_STYLE.finditer(PLOTLY_JS.read_text())]
    return tuple(csp_hash(text) for text in ["", *styles])
