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


def test_phone_width_has_no_horizontal_scroll(live_server, browser):
    context = browser.new_context(viewport={"width": 375, "height": 800}, is_mobile=True)
    tab = context.new_page()
    for info in PAGES:
        tab.goto(live_server + info.path, wait_until="networkidle")
        overflow = tab.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{info.slug} is {overflow}px wider than the phone"
    context.close()
