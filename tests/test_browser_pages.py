"""Every page in headless Chromium: loads with no console errors, works offline, figures respond."""

import pytest

from app.web.pages import PAGES

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("page_info", PAGES, ids=lambda p: p.slug)
def test_page_loads_without_errors(live_server, page, page_info):
    outside = []
    page.on(
        "request", lambda r: outside.append(r.url) if not r.url.startswith(live_server) else None
    )
    response = page.goto(live_server + page_info.path, wait_until="networkidle")
    assert response.status == 200
    assert page.title().startswith(page_info.title)
    assert page.locator("nav.site-nav a[aria-current=page]").inner_text() == page_info.title
    assert page.locator("math").count() > 0 or page_info.slug in ("lab", "draw")
    assert page.errors == []
    assert outside == []


# The widest element past the right edge, to name in a failure.
WIDEST = """() => {
  const edge = document.documentElement.clientWidth;
  const out = Array.from(document.querySelectorAll('body *'))
    .filter((e) => e.getBoundingClientRect().right > edge + 1)
    .map((e) => [Math.round(e.getBoundingClientRect().right),
                 e.tagName.toLowerCase() + '.' + (e.getAttribute('class') || '')]);
  out.sort((a, b) => b[0] - a[0]);
  return out.slice(0, 3);
}"""


@pytest.fixture(scope="module")
def phone(browser):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    yield context.new_page()
    context.close()


@pytest.mark.parametrize("page_info", PAGES, ids=lambda p: p.slug)
def test_no_horizontal_scroll_on_a_phone(live_server, phone, page_info):
    """At 390 px (and at 375 px) the page never scrolls sideways once its figures are drawn."""
    for width in (390, 375):
        phone.set_viewport_size({"width": width, "height": 844})
        phone.goto(live_server + page_info.path, wait_until="networkidle")
        overflow = phone.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, (
            f"{page_info.slug} scrolls {overflow}px sideways at {width}px: {phone.evaluate(WIDEST)}"
        )
