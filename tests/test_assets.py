"""Static assets: hashed URLs on every page, stored compressed bytes, exact caching headers."""

from __future__ import annotations

import gzip
import hashlib
import re

import brotli
import pytest
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

from app.settings import Settings
from app.web import assets as asset_module
from app.web import docs
from app.web.assets import (
    IMMUTABLE,
    PREFIX,
    DiskCache,
    GZipExceptAssets,
    catalogue,
    choose_encoding,
    source_files,
)
from app.web.main import create_app
from app.web.middleware import SECURITY_HEADERS
from app.web.pages import PAGE_CACHE, PAGES
from app.web.vendor import PLOTLY_JS, registered_trace_types, used_trace_types

ASSET_URL = re.compile(r'(?:src|href)="(/static/[^"]*)"')
HASHED = re.compile(r"^/static/(?P<stem>.+)\.(?P<hash>[0-9a-f]{12})(?P<suffix>\.[A-Za-z0-9]+)$")
SECURITY = {name.decode() for name, _ in SECURITY_HEADERS}
DECODE = {"br": brotli.decompress, "gzip": gzip.decompress}


@pytest.fixture(scope="module")
def client():
    return TestClient(create_app())


@pytest.fixture(scope="module")
def assets():
    return catalogue(Settings.from_env().cache_dir)


def raw(client: TestClient, url: str, **headers):
    """(response, body exactly as sent: no decoding)."""
    with client.stream("GET", url, headers=headers) as response:
        return response, b"".join(response.iter_raw())


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.slug)
def test_every_asset_url_on_every_page_carries_its_hash(client, page):
    html = client.get(page.path).text
    urls = ASSET_URL.findall(html)
    assert urls and any("/css/site." in url for url in urls)
    files = source_files()
    for url in urls:
        match = HASHED.match(url)
        assert match, f"{url} has no content hash"
        name = match["stem"] + match["suffix"]
        content = files[name].read_bytes()
        assert match["hash"] == hashlib.sha256(content).hexdigest()[:12]
        response, body = raw(client, url, **{"Accept-Encoding": "identity"})
        assert response.status_code == 200 and body == content
        # the old name, and any other hash, are not found
        assert client.get(PREFIX + name).status_code == 404
        assert client.get(url.replace(match["hash"], "0" * 12)).status_code == 404


def test_old_plotly_url_is_gone(client):
    assert client.get("/static/vendor/plotly.min.js").status_code == 404
    assert client.get("/static/js/common.js").status_code == 404
    assert client.get("/static/").status_code == 404


@pytest.mark.parametrize("coding", ["br", "gzip"])
def test_compressed_bytes_are_the_stored_ones_and_decode_to_the_file(client, assets, coding):
    for name, path in source_files().items():
        url = assets.url(name)
        response, body = raw(client, url, **{"Accept-Encoding": coding})
        assert response.headers["content-encoding"] == coding, name
        assert body == assets.by_url[url].compressed[coding]
        assert DECODE[coding](body) == path.read_bytes(), name


def test_asset_headers_are_exactly_these(client, assets):
    url = assets.url("vendor/plotly.min.js")
    stored = assets.by_url[url]
    response, body = raw(client, url, **{"Accept-Encoding": "gzip, deflate, br"})
    assert response.status_code == 200
    assert set(response.headers) == {
        "content-type",
        "content-length",
        "content-encoding",
        "vary",
        "cache-control",
        "etag",
        *SECURITY,
    }
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    assert response.headers["content-encoding"] == "br"
    assert response.headers["content-length"] == str(len(body)) == str(len(stored.compressed["br"]))
    assert response.headers["vary"] == "Accept-Encoding"
    assert response.headers["cache-control"] == IMMUTABLE
    assert IMMUTABLE == "public, max-age=31536000, immutable"
    assert response.headers["etag"] == stored.etag
    # no encoding asked for: the file itself, same caching
    plain, body = raw(client, url, **{"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert body == PLOTLY_JS.read_bytes()
    assert plain.headers["cache-control"] == IMMUTABLE
    assert plain.headers["vary"] == "Accept-Encoding"
    css, _ = raw(client, assets.url("css/site.css"), **{"Accept-Encoding": "gzip"})
    assert css.headers["content-type"] == "text/css; charset=utf-8"
    assert css.headers["content-encoding"] == "gzip"


def test_pages_have_a_short_lifetime_an_etag_and_stored_encodings(client):
    response, body = raw(client, "/fomaml", **{"Accept-Encoding": "br"})
    assert response.status_code == 200
    assert response.headers["cache-control"] == PAGE_CACHE == "public, max-age=60"
    assert response.headers["vary"] == "Accept-Encoding"
    assert response.headers["content-encoding"] == "br"
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    etag = response.headers["etag"]
    assert re.fullmatch(r'W/"[0-9a-f]{32}"', etag)  # weak: one content, several encodings
    html = brotli.decompress(body)
    assert gzip.decompress(raw(client, "/fomaml", **{"Accept-Encoding": "gzip"})[1]) == html
    again = client.get("/fomaml", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    assert again.headers["cache-control"] == PAGE_CACHE
    assert client.get("/fomaml", headers={"If-None-Match": etag[2:]}).status_code == 304
    assert client.get("/fomaml", headers={"If-None-Match": '"other"'}).status_code == 200


def test_head_requests(client, assets):
    url = assets.url("css/site.css")
    response = client.head(url, headers={"Accept-Encoding": "br"})
    assert response.status_code == 200 and response.content == b""
    assert response.headers["content-encoding"] == "br"
    assert response.headers["cache-control"] == IMMUTABLE


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("gzip, deflate, br", "br"),
        ("gzip, deflate", "gzip"),
        ("br;q=0.5, gzip", "gzip"),
        ("br;q=0, gzip;q=0.1", "gzip"),
        ("BR", "br"),
        ("*", "br"),
        ("*;q=0, gzip", "gzip"),
        ("identity", None),
        ("", None),
        ("deflate", None),
        ("gzip;q=nonsense", None),
    ],
)
def test_choose_encoding(header, expected):
    assert choose_encoding(header, {"br": b"", "gzip": b""}) == expected


def test_the_per_request_gzip_leaves_assets_alone():
    body = b"x" * 5000

    async def endpoint(request):
        return Response(body, media_type="text/plain")

    inner = Starlette(routes=[Route("/static/a.txt", endpoint), Route("/api/a", endpoint)])
    client = TestClient(GZipExceptAssets(inner, minimum_size=1000))
    page = client.get("/api/a", headers={"Accept-Encoding": "gzip"})
    assert page.headers["content-encoding"] == "gzip"
    asset, sent = raw(client, "/static/a.txt", **{"Accept-Encoding": "gzip"})
    assert "content-encoding" not in asset.headers and sent == body


def test_disk_cache_compresses_once_and_refuses_damaged_files(tmp_path, monkeypatch):
    data = b"the same bytes, compressed once " * 100
    cache = DiskCache(tmp_path)
    first = cache("br", data)
    assert brotli.decompress(first) == data
    (stored,) = tmp_path.glob("*.br")
    assert stored.read_bytes() == first
    calls = []
    monkeypatch.setitem(asset_module.ENCODINGS, "br", lambda d: calls.append(d) or first)
    assert cache("br", data) == first and calls == []  # read back, not compressed again
    stored.write_bytes(b"damaged")
    assert cache("br", data) == first and len(calls) == 1
    assert stored.read_bytes() == first


def test_disk_cache_prunes_what_no_current_asset_uses(tmp_path):
    cache = DiskCache(tmp_path)
    old, new = b"an older version " * 100, b"the current version " * 100
    for coding in ("br", "gzip"):
        cache(coding, old), cache(coding, new)
    (tmp_path / "notes.txt").write_text("not the cache's")
    cache.prune({hashlib.sha256(new).hexdigest()})
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [cache.path(new, "br").name, cache.path(new, "gzip").name, "notes.txt"]
    )


def test_the_api_documentation_assets_are_hashed_stored_and_immutable(client):
    urls = re.findall(r"(?:src|href)='(/docs-assets/[^']*)'", client.get("/docs").text)
    urls += re.findall(r"(?:src|href)='(/docs-assets/[^']*)'", client.get("/redoc").text)
    stored = docs.catalogue(Settings.from_env().cache_dir)
    names = {name for name in docs.ASSETS}
    assert {stored.url(name) for name in names} == set(urls)
    for name in names:
        url = stored.url(name)
        assert re.fullmatch(r"/docs-assets/.+\.[0-9a-f]{12}\.[a-z]+", url)
        content = (docs.ASSETS[name] / name).read_bytes()
        encoded = stored.by_url[url]
        coding = next(iter(encoded.compressed), None)
        response, body = raw(client, url, **{"Accept-Encoding": coding or "identity"})
        assert response.status_code == 200
        assert response.headers["cache-control"] == IMMUTABLE
        assert response.headers.get("content-encoding") == coding
        assert body == (encoded.compressed[coding] if coding else content)  # not gzipped again
        assert (DECODE[coding](body) if coding else body) == content
        assert client.get(docs.PREFIX + name).status_code == 404  # only hashed names exist


def test_plotly_build_has_every_trace_type_the_figures_use():
    used = used_trace_types()
    assert {"scatter", "heatmap", "contour", "bar"} <= used
    assert used <= registered_trace_types(PLOTLY_JS.read_text())
