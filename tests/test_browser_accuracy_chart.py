"""The accuracy chart in Chromium: every point labelled, no label on another label or a point."""

import pytest

from app.article.comparison import chart_points

pytestmark = pytest.mark.browser

BOXES = """() => {
  const plot = document.querySelector('[data-plot=accuracy]');
  const box = (el) => { const r = el.getBoundingClientRect();
                        return {x0: r.left, x1: r.right, y0: r.top, y1: r.bottom}; };
  return {
    labels: [...plot.querySelectorAll('g.annotation')].map((g) => Object.assign(
      box(g.querySelector('rect.bg')), {text: g.textContent})),
    points: [...plot.querySelectorAll('.scatterlayer path.point')].map(box),
    traces: plot.data.map((t) => ({name: t.name, n: t.y.length})),
  };
}"""


def overlap(a, b, slack=1.0):
    dx = min(a["x1"], b["x1"]) - max(a["x0"], b["x0"])
    dy = min(a["y1"], b["y1"]) - max(a["y0"], b["y0"])
    return dx > slack and dy > slack


@pytest.mark.parametrize("width", [1280, 390])
def test_every_point_has_a_label_that_collides_with_nothing(live_server, browser, width):
    context = browser.new_context(viewport={"width": width, "height": 900}, is_mobile=width < 500)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(live_server + "/why-model-agnostic", wait_until="networkidle")
    page.wait_for_function(
        "() => document.querySelectorAll('[data-plot=accuracy] g.annotation').length > 5"
    )
    models = page.evaluate("fetch('/api/omniglot/models').then((r) => r.json())")
    ours = [m for m in models if m["ways"] == 20 and m["shots"] == 1]
    found = page.evaluate(BOXES)
    context.close()
    assert errors == []
    published = chart_points()
    labels = found["labels"]
    texts = [label["text"] for label in labels]
    # One label per published point and per model of this app, and the people line's caption.
    assert len(labels) == len(published["points"]) + len(ours) + 1
    for m in ours:
        name = published["labels"][m["method"]]
        assert f"{name} {100 * m['accuracy']:.1f}%" in texts
    for p in published["points"]:
        assert p["label"] in texts
    assert sum(t["n"] for t in found["traces"] if t["name"].startswith("published")) == len(
        published["points"]
    )
    # Published points are marked by how they were measured.
    names = {t["name"] for t in found["traces"]}
    assert "published: Lake et al.'s within-alphabet task" in names
    assert "published: 1,200/423 split, transductive" in names
    for i, a in enumerate(labels):
        for b in labels[i + 1 :]:
            assert not overlap(a, b), (a["text"], b["text"])
        for point in found["points"]:
            assert not overlap(a, point), (a["text"], point)
