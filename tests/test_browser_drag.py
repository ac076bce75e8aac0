"""After a fast drag of θ, each figure shows what the server computes for the final θ.

The drag sends its moves in quick succession; the figure coalesces them to animation frames and
keeps one request in flight (static/js/common.js). Once every request has been answered, the
drawn θ and what hangs on it (arrows, φ, paths) must be the API's answer for that θ, that θ must
have been asked for once (not again on release), and the loss surface must not have been
redrawn. How fast that happens is bench/drag_browser.py's business, never a test's.
"""

import httpx
import pytest

pytestmark = pytest.mark.browser

# Counts the page's requests whose answer has not been read yet (the figures read every answer with
# response.json()), and keeps what each one sent.
PENDING = """
window.__pending = 0;
window.__sent = [];
const send = window.fetch;
window.fetch = function (...args) {
  window.__pending += 1;
  window.__sent.push([String(args[0]), args[1] && args[1].body ? JSON.parse(args[1].body) : null]);
  return send.apply(this, args).then((response) => {
    const read = response.json.bind(response);
    response.json = () => read().finally(() => { window.__pending -= 1; });
    return response;
  }, (error) => { window.__pending -= 1; throw error; });
};
"""
# Records changes to a plot's heatmaps from now on.
WATCH_HEATMAPS = """sel => {
  const layer = document.querySelector(sel + ' .heatmaplayer');
  window.__heatmapChanges = 0;
  new MutationObserver((list) => { window.__heatmapChanges += list.length; })
    .observe(layer, { subtree: true, attributes: true, childList: true });
}"""
TRACES = """sel => document.querySelector(sel).data.filter((t) => t.type !== 'heatmap')
  .map((t) => ({ name: t.name || null, x: Array.from(t.x || []), y: Array.from(t.y || []) }))"""


def settled(page, selector):
    """Every request answered, and the plot unchanged over two animation frames."""
    page.wait_for_function("() => window.__pending === 0", timeout=30000)
    page.wait_for_function(
        f"""sel => new Promise((done) => {{
          const read = () => JSON.stringify(({TRACES})(sel));
          const before = read();
          const same = () => read() === before && window.__pending === 0;
          requestAnimationFrame(() => requestAnimationFrame(() => done(same())));
        }})""",
        arg=selector,
        timeout=30000,
    )
    return page.evaluate(TRACES, selector)


def fast_drag(page, selector, start, end, moves=25):
    """Press at θ, move to end in quick succession, release."""
    box = page.locator(selector).locator(".nsewdrag").first.bounding_box()
    x0, y0 = start
    x1, y1 = box["x"] + end[0] * box["width"], box["y"] + end[1] * box["height"]
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x1, y1, steps=moves)
    page.mouse.up()


def theta_at(page, selector):
    """θ's marker on the page, in pixels."""
    return page.evaluate(
        """sel => { const gd = document.querySelector(sel);
          const box = gd.querySelector('.nsewdrag').getBoundingClientRect();
          const t = gd.data.find((d) => (d.name || '').startsWith('θ'));
          const { xaxis, yaxis } = gd._fullLayout;
          return [box.left + xaxis.l2p(t.x[0]), box.top + yaxis.l2p(t.y[0])]; }""",
        selector,
    )


def named(traces, prefix):
    return next(t for t in traces if t["name"] and t["name"].startswith(prefix))


def dragged(live_server, page, slug, plot, ready, end, route):
    """Open the page, drag θ on plot to end (fractions of its area): the settled traces, and θ."""
    page.add_init_script(script=PENDING)
    page.goto(f"{live_server}/{slug}", wait_until="networkidle")
    page.wait_for_function(
        "([sel, name]) => { const gd = document.querySelector(sel);"
        " return gd && gd.data && gd.data.some((t) => (t.name || '').startsWith(name)); }",
        arg=[plot, ready],
        timeout=30000,
    )
    page.locator(plot).scroll_into_view_if_needed()
    before = settled(page, plot)
    page.evaluate(WATCH_HEATMAPS, plot)
    fast_drag(page, plot, theta_at(page, plot), end)
    after = settled(page, plot)
    theta = named(after, "θ")
    theta = [theta["x"][0], theta["y"][0]]
    assert theta != [named(before, "θ")["x"][0], named(before, "θ")["y"][0]]
    assert page.evaluate("() => window.__heatmapChanges") == 0  # the surface was not redrawn
    sent = page.evaluate("() => window.__sent")
    final = [body for url, body in sent if url == route and body["theta"] == theta]
    assert len(final) == 1  # the final θ was asked for once, not again on release
    assert page.errors == []
    return after, theta


def api(live_server, route, body):
    response = httpx.post(f"{live_server}{route}", json=body, timeout=60)
    response.raise_for_status()
    return response.json()


def test_update_directions_show_the_api_answer_for_the_final_theta(live_server, page):
    plot = "[data-figure=update-directions] [data-plot=directions]"
    after, theta = dragged(
        live_server, page, "comparison", plot, "MAML", (0.25, 0.75), "/api/updates"
    )
    body = {"theta": theta, "alpha": 0.1, "inner_steps": 1, "lam": 10, "baseline": True}
    updates = api(live_server, "/api/updates", body)
    for name, key in (
        ("MAML", "maml"),
        ("FOMAML", "fomaml"),
        ("Reptile", "reptile"),
        ("iMAML", "imaml"),
    ):
        arrow, d = named(after, name), updates[key]
        length = (d[0] ** 2 + d[1] ** 2) ** 0.5  # unit-length display: every arrow 1.2 long
        assert arrow["x"][:2] == pytest.approx([theta[0], theta[0] + 1.2 * d[0] / length], abs=1e-9)
        assert arrow["y"][:2] == pytest.approx([theta[1], theta[1] + 1.2 * d[1] / length], abs=1e-9)
    caption = page.locator("[data-figure=update-directions] [data-table] caption").inner_text()
    assert f"({theta[0]:.2f}, {theta[1]:.2f})" in caption


def test_two_tasks_show_the_api_answer_for_the_final_theta(live_server, page):
    plot = "[data-figure=two-tasks] [data-plot=task][data-task='0']"
    after, theta = dragged(
        live_server, page, "maml", plot, "inner step", (0.3, 0.7), "/api/landscape/two-tasks"
    )
    answer = api(live_server, "/api/landscape/two-tasks", {"theta": theta, "alpha": 0.3})
    step = named(after, "inner step")
    assert step["x"][:2] == pytest.approx([theta[0], answer["phi"][0][0]], abs=1e-9)
    assert step["y"][:2] == pytest.approx([theta[1], answer["phi"][0][1]], abs=1e-9)


def test_reptile_path_shows_the_api_answer_for_the_final_theta(live_server, page):
    plot = "[data-figure=reptile-path] [data-plot=paths]"
    after, theta = dragged(
        live_server, page, "reptile", plot, "task 1", (0.8, 0.25), "/api/landscape/reptile"
    )
    body = {"theta": theta, "inner_steps": 5, "beta": 0.5, "alpha": 0.2}
    answer = api(live_server, "/api/landscape/reptile", body)
    for i in (0, 1):
        path = named(after, f"task {i + 1}")
        assert path["x"] == pytest.approx([p[0] for p in answer["paths"][i]], abs=1e-9)
        assert path["y"] == pytest.approx([p[1] for p in answer["paths"][i]], abs=1e-9)
    new = named(after, "new θ")
    assert [new["x"][0], new["y"][0]] == pytest.approx(answer["new_theta"], abs=1e-9)


def test_imaml_landscape_shows_the_api_answer_for_the_final_theta(live_server, page):
    plot = "[data-figure=imaml-landscape] [data-plot=loss]"
    after, theta = dragged(
        live_server, page, "imaml", plot, "φ*", (0.7, 0.3), "/api/landscape/imaml"
    )
    answer = api(live_server, "/api/landscape/imaml", {"theta": theta, "lam": 1, "task": 1})
    phi = named(after, "φ*")
    assert [phi["x"][0], phi["y"][0]] == pytest.approx(answer["phi"][0], abs=1e-9)
    spring = named(after, "spring θ – φ*")
    assert spring["x"] == pytest.approx([theta[0], answer["phi"][0][0]], abs=1e-9)
