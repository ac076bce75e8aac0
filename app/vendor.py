"""Third-party browser code served by this app: Plotly, from the ``plotly`` Python package.

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

import plotly

PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
INLINE_STYLE = re.compile(r"\.textContent='((?:[^'\\]|\\.)*)'")


def csp_hash(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


def js_string(body: str) -> str:
    """The value of a single-quoted JavaScript string literal's body."""
    return json.loads('"' + body.replace('"', '\\"').replace("\\'", "'") + '"')


@lru_cache(maxsize=1)
def plotly_style_hashes() -> tuple[str, ...]:
    styles = [js_string(m.group(1)) for m in INLINE_STYLE.finditer(PLOTLY_JS.read_text())]
    return tuple(csp_hash(text) for text in ["", *styles])
