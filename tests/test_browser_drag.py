"""After a fast drag of θ, a fast slide or quick clicks, each figure shows what the server
computes for where the reader stopped.

The moves come in quick succession; the figure coalesces them to animation frames and keeps at
most two requests in flight, showing no answer older than one it has shown (static/js/common.js).
Once every request has been answered, the drawn θ and what hangs on it (arrows, φ, paths, a
surface, the fine-tuned curve) must be the API's answer for the final θ, slider value or points,
that final value must have been asked for once (not again on release), and a drag of θ must not
have redrawn the loss surface. How fast that happens is bench/drag_browser.py's business, never a
test's.
"""

import math

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


# Where each point of the plot's scatter traces is drawn, against where its data puts it, in pixels:
# [name, drawn, expected] for every marker (static/js/common.js may write that SVG itself).
MARKERS = """sel => { const gd = document.querySelector(sel);
  const { xaxis, yaxis } = gd._fullLayout;
  return Array.from(gd.querySelectorAll('.scatterlayer .trace')).flatMap((g) => {
    const trace = g.__data__[0].trace, data = gd.data[trace.index];
    const at = data.x.map((x, j) => [x, data.y[j]]).filter(([x, y]) => x !== null && y !== null);
    return Array.from(g.querySelectorAll('path.point')).map((p, k) => [data.name || null,
      p.getAttribute('transform').match(/translate\\(([^,]+),([^)]+)\\)/).slice(1).map(Number),
      [xaxis.c2p(at[k][0]), yaxis.c2p(at[k][1])]]);
  }); }"""


def drawn_where_the_data_says(page, plot):
    markers = page.evaluate(MARKERS, plot)
    assert markers
    for name, drawn, expected in markers:
        assert drawn == pytest.approx(expected, abs=0.02), name


def named(traces, prefix):
    return next(t for t in traces if t["name"] and t["name"].startswith(prefix))


def opened(live_server, page, slug, plot, ready):
    """Open the page with the request counter: plot's traces once it shows one named ready…"""
    page.add_init_script(script=PENDING)
    page.goto(f"{live_server}/{slug}", wait_until="networkidle")
    page.wait_for_function(
        "([sel, name]) => { const gd = document.querySelector(sel);"
        " return gd && gd.data && gd.data.some((t) => (t.name || '').startsWith(name)); }",
        arg=[plot, ready],
        timeout=30000,
    )
    page.locator(plot).scroll_into_view_if_needed()
    return settled(page, plot)


def dragged(live_server, page, slug, plot, ready, end, route):
    """Open the page, drag θ on plot to end (fractions of its area): the settled traces, and θ."""
    before = opened(live_server, page, slug, plot, ready)
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
    drawn_where_the_data_says(page, plot)
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
    readout = page.locator("[data-figure=two-tasks] [data-readout]").inner_text()
    for i, (before, after_step) in enumerate(answer["losses"]):
        assert (
            f"L{'₁₂'[i]}(θ) = {before:.3f} → L{'₁₂'[i]}(φ{'₁₂'[i]}) = {after_step:.3f}" in readout
        )


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
    # the regularised surface, painted again for each answer during the drag, is the final θ's
    regularised = "[data-figure=imaml-landscape] [data-plot=regularised]"
    surface = page.evaluate(
        f"() => document.querySelector('{regularised}').data.find((t) => t.type === 'heatmap').z"
    )
    expected = [[math.log10(max(v, 1e-2)) for v in row] for row in answer["regularised"]]
    assert [v for row in surface for v in row] == pytest.approx(
        [v for row in expected for v in row], abs=1e-9
    )
    drawn, redrawn = page.evaluate(PLOTLY_DRAWS, regularised)  # and its image is Plotly's own
    assert drawn == redrawn and drawn.startswith("data:image/png")
    drawn_where_the_data_says(page, regularised)


def fast_slide(page, selector, fraction, moves=25):
    """Press a range input's thumb, move it to fraction of its track quickly, release."""
    box = page.locator(selector).bounding_box()
    at = page.evaluate(
        "sel => { const el = document.querySelector(sel);"
        " return (el.value - el.min) / (el.max - el.min); }",
        selector,
    )
    thumb, y = 8, box["y"] + box["height"] / 2
    track = lambda f: box["x"] + thumb + f * (box["width"] - 2 * thumb)  # noqa: E731
    page.mouse.move(track(at), y)
    page.mouse.down()
    page.mouse.move(track(fraction), y, steps=moves)
    page.mouse.up()


def sent_to(page, route):
    return [body for url, body in page.evaluate("() => window.__sent") if url == route]


def test_imaml_cg_shows_the_api_answer_for_the_final_damping(live_server, page):
    root = "[data-figure=imaml-cg]"
    plot = f"{root} [data-plot=iterates]"
    opened(live_server, page, "imaml", plot, "task 1")
    fast_slide(page, f"{root} input[name=damping]", 0.8)
    after = settled(page, plot)
    damping = float(page.locator(f"{root} input[name=damping]").input_value())
    bodies = sent_to(page, "/api/landscape/imaml-cg")
    assert [b["damping"] for b in bodies].count(damping) == 1  # asked for once
    answer = api(live_server, "/api/landscape/imaml-cg", bodies[-1])
    assert bodies[-1]["damping"] == damping
    for t in (0, 1):
        path = named(after, f"task {t + 1}")
        assert path["x"] == pytest.approx([step[t][0] for step in answer["iterates"]], abs=1e-9)
        assert path["y"] == pytest.approx([step[t][1] for step in answer["iterates"]], abs=1e-9)
    errors = settled(page, f"{root} [data-plot=errors]")
    assert named(errors, "task 1: error")["y"] == pytest.approx(
        [max(e[0], 1e-9) for e in answer["errors_a"]], rel=1e-12
    )
    for plot in ("iterates", "errors"):  # moved by the kernel on fixed ranges: where the data says
        drawn_where_the_data_says(page, f"{root} [data-plot={plot}]")
    assert page.errors == []


def test_fomaml_quadratic_shows_the_api_answer_for_the_final_curvature(live_server, page):
    root = "[data-figure=fomaml-quadratic]"
    opened(live_server, page, "fomaml", f"{root} [data-plot=field]", "g<sub>MAML</sub>")
    fast_slide(page, f"{root} input[name=c]", 0.9)
    settled(page, f"{root} [data-plot=field]")
    c = float(page.locator(f"{root} input[name=c]").input_value())
    bodies = sent_to(page, "/api/landscape/quadratic")
    assert [b["c"] for b in bodies].count(c) == 1
    assert bodies[-1]["c"] == c
    answer = api(live_server, "/api/landscape/quadratic", bodies[-1])
    gap = f"{root} [data-plot=gap]"
    z = page.evaluate(f"() => document.querySelector('{gap}').data[0].z")
    assert z == answer["heat"]["angle_deg"]
    # the image on the page is the one Plotly draws for that z (the kernel may paint it itself)
    drawn, redrawn = page.evaluate(PLOTLY_DRAWS, gap)
    assert drawn == redrawn and drawn.startswith("data:image/png")
    drawn_where_the_data_says(page, f"{root} [data-plot=field]")
    assert page.errors == []


# The heatmap image drawn on a plot, and the one Plotly.react draws for the same data and layout in
# a fresh element of the same width.
PLOTLY_DRAWS = """async (sel) => {
  const gd = document.querySelector(sel);
  const image = (el) => el.querySelector('.heatmaplayer image')
    .getAttributeNS('http://www.w3.org/1999/xlink', 'href');
  const fresh = document.createElement('div');
  fresh.style.width = gd.clientWidth + 'px';
  document.body.appendChild(fresh);
  const copy = (v) => JSON.parse(JSON.stringify(v));
  await Plotly.react(fresh, copy(gd.data), copy(gd.layout));
  const both = [image(gd), image(fresh)];
  Plotly.purge(fresh);
  fresh.remove();
  return both;
}"""

# Draws a heatmap (a colour scale, reversed or not, a missing cell, y decreasing), then a second z
# on the same colour range, through the kernel: [Plotly.react calls for the second drawing, the
# kernel's image, Plotly's own image for the second z, the z hover reads].
REPAINTED = """async ([scale, reverse]) => {
  const n = 31, m = 17;
  const xs = Array.from({ length: n }, (_, i) => -1 + 2 * i / (n - 1));
  const ys = Array.from({ length: m }, (_, i) => 3 - 5 * i / (m - 1));
  const surface = (k) => ys.map((y, r) => xs.map((x, c) =>
    (r === 3 && c === 5 ? null : 40 + 50 * Math.sin(3 * k * x) * Math.cos(y))));
  const traces = (z) => [
    { type: 'heatmap', zsmooth: 'fast', x: xs, y: ys, z, zmin: 0, zmax: 90, colorscale: scale,
      reversescale: reverse },
    { x: [0.2], y: [0.3], mode: 'markers', name: 'a point' },
  ];
  const layout = () => ({ xaxis: { range: [-1, 1] }, yaxis: { range: [-2, 3] } });
  const element = () => {
    const el = document.createElement('div');
    el.style.width = '480px';
    document.body.appendChild(el);
    return el;
  };
  const image = (el) => el.querySelector('.heatmaplayer image')
    .getAttributeNS('http://www.w3.org/1999/xlink', 'href');
  const kernel = element(), plotly = element();
  await Fig.draw(kernel, traces(surface(1)), layout());
  const react = Plotly.react;
  let reacts = 0;
  Plotly.react = (...args) => { reacts += 1; return react(...args); };
  try { await Fig.draw(kernel, traces(surface(2)), layout()); } finally { Plotly.react = react; }
  await Plotly.react(plotly, traces(surface(2)), Fig.layout(layout()));
  return [reacts, image(kernel), image(plotly), kernel.calcdata[0][0].z[1][2] === surface(2)[1][2]];
}"""


@pytest.mark.parametrize("scale, reverse", [("Viridis", False), ("YlOrRd", True)])
def test_a_repainted_heatmap_is_the_image_plotly_draws(live_server, page, scale, reverse):
    page.goto(f"{live_server}/fomaml", wait_until="load")
    page.wait_for_function("() => window.Fig && window.Plotly")
    reacts, kernel, plotly, hovered = page.evaluate(REPAINTED, [scale, reverse])
    assert reacts == 0  # painted by the kernel, not drawn again by Plotly
    assert kernel == plotly and kernel.startswith("data:image/png")
    assert hovered  # hover reads the new z
    assert page.errors == []


def test_sinusoid_points_placed_fast_show_the_api_answer(live_server, page):
    root = "[data-figure=sinusoid-finetune]"
    first = f"{root} [data-panels] .plot:first-child"
    opened(live_server, page, "maml", first, "fine-tuned")
    page.click(f"{root} [data-action=clear]")
    settled(page, first)
    box = page.locator(first).locator(".nsewdrag").first.bounding_box()
    for k in range(10):
        page.mouse.click(box["x"] + (0.1 + 0.08 * k) * box["width"], box["y"] + box["height"] / 2)
    after = settled(page, first)
    bodies = sent_to(page, "/api/sinusoid/finetune")
    assert len(bodies[-1]["xs"]) == 10 and bodies[-1]["steps"] > 0
    answer = api(live_server, "/api/sinusoid/finetune", bodies[-1])
    step = int(page.locator(f"{root} input[name=step]").input_value())
    assert named(after, "fine-tuned")["y"] == pytest.approx(
        answer["models"][0]["predictions"][step], abs=1e-9
    )
    assert named(after, "support points")["x"] == pytest.approx(answer["support"]["x"], abs=1e-9)
    assert page.errors == []


# Holds back the answer to the next request the page sends, by 1.5 s, once window.__holdNext is set.
HOLD_NEXT = """
const pass = window.fetch;
window.fetch = function (...args) {
  const answer = pass.apply(this, args);
  if (!window.__holdNext) return answer;
  window.__holdNext = false;
  return answer.then((response) => new Promise((done) => setTimeout(() => done(response), 1500)));
};
"""


def test_a_late_answer_for_an_earlier_theta_is_not_shown(live_server, page):
    """Two requests in flight: the answer for the final θ comes first; the earlier one, held back,
    comes after it and must not replace it."""
    plot = "[data-figure=two-tasks] [data-plot=task][data-task='0']"
    route = "/api/landscape/two-tasks"
    page.add_init_script(script=HOLD_NEXT)
    opened(live_server, page, "maml", plot, "inner step")
    page.evaluate("() => { window.__holdNext = true; }")
    fast_drag(page, plot, theta_at(page, plot), (0.3, 0.3), moves=1)
    fast_drag(page, plot, theta_at(page, plot), (0.7, 0.6), moves=1)
    after = settled(page, plot)
    theta = named(after, "θ")
    theta = [theta["x"][0], theta["y"][0]]
    bodies = sent_to(page, route)
    assert bodies[-1]["theta"] == theta and bodies[-2]["theta"] != theta
    answer = api(live_server, route, {"theta": theta, "alpha": 0.3})
    step = named(after, "inner step")
    assert step["x"][:2] == pytest.approx([theta[0], answer["phi"][0][0]], abs=1e-9)
    assert page.errors == []
