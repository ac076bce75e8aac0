"""The interactive API documentation in Chromium: /docs (Swagger UI) and /redoc (ReDoc) are
served by this server and work under its Content-Security-Policy, offline."""

import httpx
import pytest

pytestmark = pytest.mark.browser

PATIENCE = 120_000  # ms; the pages render in about a second


def operations(live_server) -> list[str]:
    spec = httpx.get(live_server + "/openapi.json").json()
    return [f"{method.upper()} {path}" for path, item in spec["paths"].items() for method in item]


def offline(page, live_server):
    """Refuse every request that leaves this server, and record it."""
    outside = []

    def route(route):
        if route.request.url.startswith(live_server):
            return route.continue_()
        outside.append(route.request.url)
        return route.abort()

    page.route("**/*", route)
    return outside


def test_swagger_ui_lists_every_operation(live_server, page):
    outside = offline(page, live_server)
    page.goto(live_server + "/docs", timeout=PATIENCE)
    page.locator(".opblock").first.wait_for(timeout=PATIENCE)
    shown = page.eval_on_selector_all(
        ".opblock-summary",
        "els => els.map(e => e.querySelector('.opblock-summary-method').textContent.trim()"
        " + ' ' + e.querySelector('.opblock-summary-path').getAttribute('data-path'))",
    )
    assert sorted(shown) == sorted(operations(live_server))
    assert "/api/quiz/answer" in page.locator("#swagger-ui").inner_text()
    assert outside == []
    assert page.errors == [], page.errors


def test_redoc_lists_the_operations(live_server, page):
    outside = offline(page, live_server)
    page.goto(live_server + "/redoc", timeout=PATIENCE)
    heading = page.locator("#redoc h2", has_text="Answer a quiz task; stored anonymously")
    heading.first.wait_for(timeout=PATIENCE)
    text = page.locator("#redoc").inner_text()
    for summary in ("Start meta-training a model", "Classify query images given a few labelled"):
        assert summary in text
    styled = page.evaluate("() => document.querySelectorAll('style[data-styled]').length")
    assert styled > 0  # ReDoc's styles were admitted (by the page's nonce)
    assert outside == []
    # ReDoc always shows Redocly's logo from its CDN; the CSP blocks it, as anything outside
    logo = "https://cdn.redoc.ly/redoc/logo-mini.svg"
    assert [e for e in page.errors if logo not in e] == [], page.errors


def test_documentation_pages_send_a_content_security_policy(live_server):
    for path in ("/docs", "/redoc"):
        response = httpx.get(live_server + path)
        policy = response.headers["content-security-policy"]
        assert (
            "script-src 'self'" in policy
            and "unsafe-inline" not in policy.split("style-src-attr")[0]
        )
        assert response.headers.get_list("content-security-policy") == [policy]
