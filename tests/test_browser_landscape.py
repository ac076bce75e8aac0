"""The landscape figures in Chromium: dragging θ and moving every control redraws the data."""

import json
from contextlib import ExitStack
from urllib.parse import urlparse

import pytest

from app.web import figures

pytestmark = pytest.mark.browser

TRACES = """sel => {
  const plot = document.querySelector(sel);
  if (!plot || !plot.data) return null;
  const head = (v) => (Array.isArray(v) ? v.slice(0, 3) : v);
  const list = (a) => (a && a.length !== undefined ? Array.from(a, head) : a);
  const or = (v) => (v === undefined ? null : v);
  return plot.data.map((t) => ({ name: or(t.name), visible: or(t.visible), x: or(list(t.x)),
    y: or(list(t.y)), z: t.z ? [list(t.z[0]), list(t.z[Math.floor(t.z.length / 2)])] : null }));
}"""


def traces(page, selector):
    return page.evaluate(TRACES, selector)


def wait_drawn(page, selector, count=1):
    page.wait_for_function(
        "([sel, n]) => { const p = document.querySelectorAll(sel);"
        " return p.length >= n && Array.from(p).every((e) => e.data && e.data.length); }",
        arg=[selector, count],
        timeout=30000,
    )


def wait_changed(page, selector, before, timeout=120_000):
    """Wait until the plot's data (as TRACES reads it) differs from ``before``."""
    page.wait_for_function(
        f"([sel, old]) => JSON.stringify(({TRACES})(sel)) !== JSON.stringify(old)",
        arg=[selector, before],
        timeout=timeout,
    )
    return traces(page, selector)


def wait_idle(page, selector, settle_ms=400):
    """Wait until the plot stops changing (a throttled drag has caught up)."""
    last = None
    for _ in range(40):
        now = json.dumps(traces(page, selector))
        if now == last:
            return json.loads(now)
        last = now
        page.wait_for_timeout(settle_ms)
    return json.loads(last)


def set_range(page, selector, value):
    page.eval_on_selector(
        selector,
        "(el, v) => { el.value = v; el.dispatchEvent(new Event('input', { bubbles: true })); }",
        str(value),
    )


def drag(page, plot_selector, start, end):
    """Press at fraction ``start`` of the plot area, move to ``end``, release."""
    plot = page.locator(plot_selector)
    plot.scroll_into_view_if_needed()
    box = plot.locator(".nsewdrag").first.bounding_box()
    x0, y0 = box["x"] + start[0] * box["width"], box["y"] + start[1] * box["height"]
    x1, y1 = box["x"] + end[0] * box["width"], box["y"] + end[1] * box["height"]
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x1, y1, steps=8)
    page.mouse.up()


def named(data, prefix):
    return next(t for t in data if t["name"] and t["name"].startswith(prefix))


def open_page(page, live_server, slug):
    page.goto(f"{live_server}/{slug}", wait_until="networkidle")


# A flipbook's pages (fig.flipbook, static/js/common.js): [index, shown?, visibility, trace names].
PAGES = """sel => Array.from(document.querySelectorAll(sel + ' .flip-page')).map((p) => [
  Number(p.dataset.page), p.hasAttribute('data-shown'), getComputedStyle(p).visibility,
  (p.data || []).map((t) => t.name || null)])"""


def test_accumulated_landscape_slides_through_m(live_server, page):
    open_page(page, live_server, "maml")
    root = "[data-figure=accumulated-landscape]"
    plot = f"{root} [data-plot=surface] [data-shown]"  # the flipbook's shown page
    wait_drawn(page, plot)
    before = traces(page, plot)
    assert before[0]["name"] == "F_0"
    # every m is drawn once, into its own page, while the page is idle
    page.wait_for_function(
        f"sel => ({PAGES})(sel).filter((p) => p[3].length).length === 21", arg=root, timeout=60000
    )
    set_range(page, f"{root} input[name=m]", 20)
    after = wait_changed(page, plot, before)
    assert after[0]["name"] == "F_20" and after[0]["z"] != before[0]["z"]
    star, pretrained = named(after, "minimum of F"), named(after, "pretrained optimum")
    assert star["x"] != pretrained["x"]  # the minimum has moved away from m = 0's
    assert pretrained == named(before, "pretrained optimum")  # and m = 0's stays drawn
    assert len(named(after, "trail")["x"]) == 21
    pages = page.evaluate(PAGES, root)
    assert [p[0] for p in pages if p[1]] == [20]  # one page shown, the one for m = 20 ...
    assert all((p[2] == "visible") == p[1] for p in pages)  # ... and it alone is visible
    assert all(p[3][0] == f"F_{p[0]}" for p in pages)
    # a narrower window draws the pages again at its width, the shown one at once
    page.set_viewport_size({"width": 390, "height": 900})
    page.wait_for_function(
        """sel => { const shown = document.querySelector(sel + ' [data-shown]');
          return shown && shown.data && shown._fullLayout.width < 390
            && shown.data[0].name === 'F_20'; }""",
        arg=root,
        timeout=30000,
    )
    assert page.errors == []


def test_two_tasks_follow_a_dragged_theta(live_server, page):
    open_page(page, live_server, "maml")
    panel = "[data-figure=two-tasks] [data-plot=task][data-task='0']"
    wait_drawn(page, "[data-figure=two-tasks] [data-plot=task]", 2)
    page.wait_for_function(
        "sel => document.querySelector(sel).data.some((t) => t.name.startsWith('inner step'))",
        arg=panel,
    )
    before = traces(page, panel)
    readout = page.locator("[data-figure=two-tasks] [data-readout]").inner_text()
    drag(page, panel, (0.5, 0.5), (0.3, 0.7))
    wait_changed(page, panel, before)
    after = wait_idle(page, panel)
    theta = named(after, "θ")
    assert theta["x"][0] == pytest.approx(-1.2, abs=0.15) and theta["y"][0] == pytest.approx(
        -1.2, abs=0.15
    )
    assert named(after, "inner step")["x"] != named(before, "inner step")["x"]
    assert page.locator("[data-figure=two-tasks] [data-readout]").inner_text() != readout
    other = traces(page, "[data-figure=two-tasks] [data-plot=task][data-task='1']")
    assert named(other, "θ")["x"] == theta["x"]  # the same θ on both panels
    set_range(page, "[data-figure=two-tasks] input[name=alpha]", 0.1)
    shorter = wait_changed(page, panel, after)
    assert named(shorter, "inner step")["x"] != named(after, "inner step")["x"]
    assert page.errors == []


def test_reptile_path_redraws_for_theta_k_and_beta(live_server, page):
    open_page(page, live_server, "reptile")
    figure = "[data-figure=reptile-path]"
    plot = f"{figure} [data-plot=paths]"
    wait_drawn(page, plot)
    page.wait_for_function(
        f"() => document.querySelector('{plot}').data.some((t) => t.name.startsWith('task 1'))"
    )
    before = traces(page, plot)
    assert len(named(before, "task 1")["x"]) == 6  # k = 5: φ0 … φ5
    set_range(page, f"{figure} input[name=inner_steps]", 1)
    one = wait_changed(page, plot, before)
    assert len(named(one, "task 1")["x"]) == 2
    new, plain = named(one, "new θ"), named(one, "plain gradient step")
    assert new["x"][0] == pytest.approx(plain["x"][0], abs=1e-5)
    assert new["y"][0] == pytest.approx(plain["y"][0], abs=1e-5)
    assert "the same point" in page.locator(f"{figure} [data-readout]").inner_text()
    set_range(page, f"{figure} input[name=beta]", 1)
    full = wait_changed(page, plot, one)
    assert named(full, "new θ")["x"] != new["x"]
    drag(page, plot, (0.5, 0.5), (0.8, 0.2))
    moved = wait_changed(page, plot, full)
    moved = wait_idle(page, plot)
    assert named(moved, "task 1")["x"][0] == pytest.approx(1.8, abs=0.2)
    assert page.errors == []


def test_imaml_landscape_and_cg_follow_theta_and_lambda(live_server, page):
    open_page(page, live_server, "imaml")
    figure = "[data-figure=imaml-landscape]"
    reg, cg = f"{figure} [data-plot=regularised]", "[data-figure=imaml-cg] [data-plot=iterates]"
    wait_drawn(page, reg)
    wait_drawn(page, cg)
    before, cg_before = traces(page, reg), traces(page, cg)
    spring, pull = named(before, "spring's pull"), named(before, "task's pull")
    # equal and opposite, drawn from φ*: the shafts' far ends mirror each other
    assert spring["x"][1] - spring["x"][0] == pytest.approx(
        -(pull["x"][1] - pull["x"][0]), abs=0.02
    )
    set_range(page, f"{figure} input[name=lam]", 2)  # λ = 100
    stiff = wait_changed(page, reg, before)
    phi, theta = named(stiff, "φ*"), named(stiff, "θ")
    assert phi["x"][0] == pytest.approx(theta["x"][0], abs=0.05)  # a stiff spring holds φ* at θ
    cg_stiff = wait_changed(page, cg, cg_before)
    drag(page, reg, (0.5, 0.5), (0.7, 0.3))
    wait_changed(page, reg, stiff)
    wait_changed(page, cg, cg_stiff)  # the CG figure follows θ
    loss = f"{figure} [data-plot=loss]"
    task1 = traces(page, loss)
    page.locator(f"{figure} input[name=task][value='2']").check()
    task2 = wait_changed(page, loss, task1)
    assert task2[0]["z"] != task1[0]["z"]
    all_shown = traces(page, cg)
    set_range(page, "[data-figure=imaml-cg] input[name=shown]", 1)
    errors_plot = "[data-figure=imaml-cg] [data-plot=errors]"
    shown = wait_changed(page, cg, all_shown)  # redrawn at the next animation frame
    assert len(named(shown, "task 1")["x"]) == 2
    set_range(page, "[data-figure=imaml-cg] input[name=damping]", 1)
    wait_changed(page, errors_plot, traces(page, errors_plot))
    assert page.errors == []


def test_fomaml_quadratic_sliders_and_presets(live_server, page):
    open_page(page, live_server, "fomaml")
    figure = "[data-figure=fomaml-quadratic]"
    field, gap = f"{figure} [data-plot=field]", f"{figure} [data-plot=gap]"
    wait_drawn(page, field)
    wait_drawn(page, gap)
    for name, value in (("a", 3), ("b", -1), ("c", 5)):
        before = traces(page, field)
        set_range(page, f"{figure} input[name={name}]", value)
        wait_changed(page, field, before)
    page.locator(f"{figure} [data-preset='0,0,0']").click()
    page.wait_for_function(
        "sel => document.querySelector(sel).textContent.includes('[[0.0, 0.0]')",
        arg=f"{figure} [data-readout]",
    )
    flat = traces(page, field)
    assert named(flat, "g<sub>FO</sub>")["x"] == named(flat, "g<sub>MAML</sub>")["x"]
    before = traces(page, gap)
    page.locator(f"{figure} [data-preset='6,0,1']").click()
    steep = wait_changed(page, gap, before)
    largest = page.evaluate(f"() => Math.max(...document.querySelector('{gap}').data[0].z.flat())")
    assert largest > 90  # αλ = 1.5 > 1: MAML reverses a component
    page.locator(f"{figure} select[name=measure]").select_option("error")
    wait_changed(page, gap, steep)
    before = traces(page, field)
    page.locator(f"{figure} input[name=unit]").check()
    wait_changed(page, field, before)
    assert page.errors == []


def test_meta_gradient_cost_is_measured_on_request(live_server, page):
    open_page(page, live_server, "meta-gradient")
    figure = "[data-figure=meta-gradient-cost]"
    page.locator(f"{figure} [data-action=measure]").click()
    page.wait_for_function(
        "sel => document.querySelector(sel).textContent.startsWith('Measured')",
        arg=f"{figure} [data-status]",
        timeout=90000,
    )
    memory = traces(page, f"{figure} [data-plot=memory]")
    assert [t["name"] for t in memory] == ["MAML (second order)", "FOMAML", "iMAML"]
    maml, fomaml = memory[0]["y"], memory[1]["y"]
    assert memory[0]["x"] == [1, 2, 4, 8, 16]
    assert maml == sorted(maml) and maml[-1] > 8 * maml[0]
    assert len(set(fomaml)) == 1
    assert len(traces(page, f"{figure} [data-plot=time]")[2]["y"]) == 5
    assert page.locator(f"{figure} [data-table] tbody tr").count() == 5
    assert page.errors == []


def test_update_directions_drag_toggle_and_hyperparameters(live_server, page):
    open_page(page, live_server, "comparison")
    figure = "[data-figure=update-directions]"
    plot = f"{figure} [data-plot=directions]"
    wait_drawn(page, plot)
    page.wait_for_function(
        f"() => document.querySelector('{plot}').data.some((t) => t.name === 'MAML')"
    )
    before = traces(page, plot)
    assert named(before, "MAML")["visible"] is True
    assert named(before, "pretrained baseline")["visible"] is False
    page.locator(f"{figure} input[name=show][value=fomaml]").uncheck()
    hidden = wait_changed(page, plot, before)
    assert named(hidden, "FOMAML")["visible"] is False
    page.locator(f"{figure} input[name=show][value=pretrained]").check()
    shown = wait_changed(page, plot, hidden)
    assert named(shown, "pretrained baseline")["visible"] is True
    drag(page, plot, (0.5, 0.5), (0.2, 0.8))
    wait_changed(page, plot, shown)
    moved = wait_idle(page, plot)
    assert named(moved, "θ")["x"][0] == pytest.approx(-1.8, abs=0.2)
    assert named(moved, "MAML")["x"][0] == pytest.approx(named(moved, "θ")["x"][0], abs=1e-3)
    for name, value in (("inner_steps", 5), ("alpha", 0.3), ("lam", 0)):
        before = traces(page, plot)
        set_range(page, f"{figure} input[name={name}]", value)
        wait_changed(page, plot, before)
    rows = page.locator(f"{figure} [data-table] tbody tr")
    assert rows.count() == 5
    assert page.errors == []


@pytest.mark.parametrize(
    ("slug", "figures"),
    [
        ("maml", ["accumulated-landscape", "two-tasks"]),
        ("reptile", ["reptile-path"]),
        ("imaml", ["imaml-landscape", "imaml-cg"]),
        ("fomaml", ["fomaml-quadratic"]),
        ("comparison", ["update-directions"]),
        ("meta-gradient", ["meta-gradient-cost"]),
    ],
)
def test_figures_fit_a_phone(live_server, browser, slug, figures):
    context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True)
    phone = context.new_page()
    errors = []
    phone.on("pageerror", lambda e: errors.append(str(e)))
    phone.goto(f"{live_server}/{slug}", wait_until="networkidle")
    for name in figures:
        if name != "meta-gradient-cost":
            wait_drawn(phone, f"[data-figure={name}] .js-plotly-plot")  # a flipbook's pages too
        width = phone.evaluate(
            "sel => Math.max(...Array.from(document.querySelectorAll(sel + ' .plot, ' + sel),"
            " (e) => e.getBoundingClientRect().right))",
            f"[data-figure={name}]",
        )
        assert width <= 390, name
    assert errors == []
    context.close()


def test_every_figures_first_request_is_the_warm_ups(live_server, page):
    """The pages' figures first ask for their request models' defaults, rendered into them,
    which the warm-up computed: every first answer comes from the cache, none is computed."""
    figures.warm_up()  # as the server's start did, in this process (the server's caches)
    computes = {compute for compute, _ in figures.first_requests()}
    misses = {compute: compute.cache_info().misses for compute in computes}
    routes = {  # what each page's figures ask for as they open
        "maml": ["/api/landscape/toy", "/api/landscape/two-tasks"],
        "reptile": ["/api/landscape/toy", "/api/landscape/reptile"],
        "imaml": ["/api/landscape/toy", "/api/landscape/imaml", "/api/landscape/imaml-cg"],
        "fomaml": ["/api/landscape/quadratic"],
        "comparison": ["/api/landscape/toy", "/api/updates"],
    }
    for slug, paths in routes.items():
        with ExitStack() as answers:
            for path in paths:
                answers.enter_context(
                    page.expect_response(
                        lambda r, path=path: urlparse(r.url).path == path and r.ok,
                        timeout=60_000,
                    )
                )
            page.goto(f"{live_server}/{slug}")
    assert {compute: compute.cache_info().misses for compute in computes} == misses
    assert page.errors == []
