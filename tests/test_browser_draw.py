"""The draw page in Chromium: draw symbols and a query, every served model answers."""

import pytest

pytestmark = pytest.mark.browser

SHAPES = {  # strokes as fractions of the canvas
    0: [[(0.2, 0.2), (0.8, 0.8)], [(0.8, 0.2), (0.2, 0.8)]],  # a cross
    1: [[(0.5, 0.15), (0.5, 0.85)], [(0.3, 0.85), (0.7, 0.85)]],  # an inverted T
    2: [[(0.2, 0.5), (0.5, 0.2), (0.8, 0.5), (0.5, 0.8), (0.2, 0.5)]],  # a diamond
}


def draw(page, canvas, strokes, jitter=0.0):
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    for stroke in strokes:
        points = [
            (box["x"] + (x + jitter) * box["width"], box["y"] + (y + jitter) * box["height"])
            for x, y in stroke
        ]
        page.mouse.move(*points[0])
        page.mouse.down()
        for point in points[1:]:
            page.mouse.move(*point, steps=6)
        page.mouse.up()


def test_drawn_symbols_are_classified_by_every_model(live_server, page):
    page.goto(live_server + "/draw", wait_until="networkidle")
    canvases = page.locator("[data-example]")
    assert canvases.count() == 3
    for i in range(3):
        draw(page, canvases.nth(i), SHAPES[i])
    draw(page, page.locator("[data-query]"), SHAPES[2], jitter=0.03)
    page.locator("[data-action=classify]").click()
    page.wait_for_function(
        "() => document.querySelector('[data-status]').textContent.includes('models answered')",
        timeout=60000,
    )
    cards = page.locator(".draw-model")
    served = len(page.evaluate("fetch('/api/omniglot/models').then(r => r.json())"))
    assert cards.count() == served > 0
    assert page.locator(".draw-model .draw-bar").count() == 3 * served
    assert page.errors == []


def test_classify_asks_for_all_drawings_first(live_server, page):
    page.goto(live_server + "/draw", wait_until="networkidle")
    page.locator("[data-action=classify]").click()
    assert "Draw every symbol" in page.locator("[data-status]").inner_text()
    page.locator("input[name=symbols]").fill("5")
    page.locator("input[name=symbols]").dispatch_event("change")
    assert page.locator("[data-example]").count() == 5
    assert page.errors == []
