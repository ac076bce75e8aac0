"""Typesetting for the article: LaTeX to MathML, equation numbers and citations, on the server.

Templates are written with LaTeX-style markup that this module turns into plain
HTML, so the browser needs no script or CDN to show the mathematics:

- ``\\( … \\)`` inline math and ``\\[ … \\]`` display math become MathML;
- ``\\label{name}`` inside a display equation numbers it (1), (2), … in page order
  and ``\\eqref{name}`` anywhere links to it, before or after the equation;
- ``\\cite{key}`` (or ``\\cite{a,b}``) becomes an author–year link to the page's
  reference list, built from :mod:`app.article.bibliography`.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from latex2mathml.converter import convert

from app.article.bibliography import REFERENCES

DISPLAY = re.compile(r"\\\[(.+?)\\\]", re.S)
INLINE = re.compile(r"\\\((.+?)\\\)", re.S)
LABEL = re.compile(r"\\label\{([\w:-]+)\}")
EQREF = re.compile(r"\\eqref\{([\w:-]+)\}")
CITE = re.compile(r"\\cite\{([\w,\s-]+)\}")


class ArticleError(ValueError):
    """Markup that cannot be typeset: an unknown citation or label, or bad LaTeX."""


@dataclass(frozen=True)
class Typeset:
    html: str
    cited: list[str]


def _mathml(latex: str, display: str) -> str:
    try:
        return convert(html.unescape(latex.strip()), display=display)
    except Exception as error:  # latex2mathml raises many exception types
        raise ArticleError(f"cannot typeset {latex!r}: {error}") from error


def short_citation(key: str) -> str:
    entry = REFERENCES[key]
    authors = entry["authors"]
    if len(authors) == 1:
        names = authors[0].split()[-1]
    elif len(authors) == 2:
        names = f"{authors[0].split()[-1]} & {authors[1].split()[-1]}"
    else:
        names = f"{authors[0].split()[-1]} et al."
    return f"{names}, {entry['year']}"


def typeset(source: str) -> Typeset:
    numbers: dict[str, int] = {}
    cited: list[str] = []

    def display(match: re.Match) -> str:
        body = match.group(1)
        label = LABEL.search(body)
        body = LABEL.sub("", body)
        math = _mathml(body, "block")
        if not label:
            return f'<div class="equation">{math}</div>'
        name = label.group(1)
        if name in numbers:
            raise ArticleError(f"equation label {name!r} is used twice")
        numbers[name] = len(numbers) + 1
        return (
            f'<div class="equation" id="eq-{name}">{math}'
            f'<span class="eq-number">({numbers[name]})</span></div>'
        )

    def cite(match: re.Match) -> str:
        links = []
        for key in (k.strip() for k in match.group(1).split(",")):
            if key not in REFERENCES:
                raise ArticleError(f"unknown citation {key!r}")
            if key not in cited:
                cited.append(key)
            links.append(f'<a class="cite" href="#ref-{key}">{short_citation(key)}</a>')
        return "(" + "; ".join(links) + ")"

    def eqref(match: re.Match) -> str:
        name = match.group(1)
        if name not in numbers:
            raise ArticleError(f"unknown equation label {name!r}")
        return f'<a class="eqref" href="#eq-{name}">({numbers[name]})</a>'

    text = DISPLAY.sub(display, source)
    text = INLINE.sub(lambda m: _mathml(m.group(1), "inline"), text)
    text = CITE.sub(cite, text)
    text = EQREF.sub(eqref, text)
    return Typeset(text, cited)
