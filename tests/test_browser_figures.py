"""The sinusoid figures in Chromium: clicking adds points, stepping redraws, training streams."""

import pytest

pytestmark = pytest.mark.browser

# Every wait below is for an event in the page (a trace drawn, a button shown), polled on each
# animation frame. The limits are far above the normal times (a few seconds) so that a machine
# busy with other work only makes the test slower: training runs behind whatever else the
# server's workers and CPUs are doing.
PATIENCE = 300_000  # ms


def panel_traces(page, index):
    return page.evaluate(
        "i => document.querySelectorAll('[data-figure=sinusoid-finetune] [data-plot=panel]')[i]"
        ".data.map(t => ({name: t.name, x: Array.from(t.x), y: Array.from(t.y)}))",
        index,
    )


def wait_for_panel_status(page, words):
    """Until the training panel's status line contains ``words``."""
    page.wait_for_function(
        "w => document.querySelector('[data-figure=train-panel] [data-status]')"
        ".textContent.includes(w)",
        arg=words,
        timeout=PATIENCE,
    )


def wait_for_points(page, n):
    page.wait_for_function(
        "n => { const p = document.querySelector("
        "'[data-figure=sinusoid-finetune] [data-plot=panel]');"
        " return p && p.data && p.data[3].x.length === n; }",
        arg=n,
        timeout=PATIENCE,
    )


def test_clicking_adds_points_and_the_fine_tuning_follows(live_server, page):
    page.goto(live_server + "/maml", wait_until="networkidle")
    figure = page.locator("[data-figure=sinusoid-finetune]")
    figure.locator("[data-action=clear]").click()
    wait_for_points(page, 0)
    panel = figure.locator("[data-plot=panel]").first
    panel.scroll_into_view_if_needed()
    area = panel.locator(".nsewdrag")
    box = area.bounding_box()
    for fraction in (0.2, 0.5, 0.8):
        page.mouse.click(box["x"] + fraction * box["width"], box["y"] + box["height"] / 2)
    wait_for_points(page, 3)
    before = panel_traces(page, 1)
    support = before[3]
    assert support["x"] == sorted(support["x"]) and -5 < support["x"][0] < support["x"][2] < 5
    after_one = before[2]["y"]
    figure.locator("input[name=step]").fill("10")
    figure.locator("input[name=step]").dispatch_event("input")
    page.wait_for_function(  # the slider redraws on the next animation frame
        "y => JSON.stringify(Array.from(document.querySelectorAll("
        "'[data-figure=sinusoid-finetune] [data-plot=panel]')[1].data[2].y)) !== JSON.stringify(y)",
        arg=after_one,
        timeout=PATIENCE,
    )
    assert "after 10 steps" in page.evaluate(
        "() => document.querySelectorAll('[data-figure=sinusoid-finetune] [data-plot=panel]')[1]"
        ".layout.title.text"
    )
    assert page.errors == []


def test_presets_change_the_points(live_server, page):
    page.goto(live_server + "/maml", wait_until="networkidle")
    figure = page.locator("[data-figure=sinusoid-finetune]")
    figure.locator("input[name=k]").fill("7")
    figure.locator("[data-action=squeezed]").click()
    wait_for_points(page, 7)
    xs = panel_traces(page, 0)[3]["x"]
    assert min(xs) >= 0 and max(xs) <= 2
    assert page.errors == []


def test_live_training_draws_progress_and_feeds_the_figure(live_server, page):
    page.goto(live_server + "/maml", wait_until="networkidle")
    panel = page.locator("[data-figure=train-panel]")
    panel.locator("select[name=algo]").select_option("fomaml")
    panel.locator("input[name=steps]").fill("300")
    panel.locator("input[name=meta_batch]").fill("5")
    panel.locator("[data-action=start]").click()
    page.wait_for_function(
        "() => { const p = document.querySelector('[data-figure=train-panel] [data-plot=loss]');"
        " return p.data && p.data[0].x.length > 0; }",
        timeout=PATIENCE,
    )
    page.wait_for_function(
        "() => Boolean(document.querySelector('[data-figure=train-panel] [data-plot=trajectory]')"
        ".data)",
        timeout=PATIENCE,
    )
    page.locator("[data-action=use-model]").wait_for(state="visible", timeout=PATIENCE)
    assert "Done in" in panel.locator("[data-status]").inner_text()
    page.locator("[data-action=use-model]").click()
    page.wait_for_function(
        "() => document.querySelectorAll('[data-figure=sinusoid-finetune] [data-plot=panel]')"
        ".length === 3 && document.querySelectorAll('[data-figure=sinusoid-finetune] "
        "[data-plot=panel]')[2].data",
        timeout=PATIENCE,
    )
    assert page.errors == []


def test_training_can_be_cancelled(live_server, page):
    page.goto(live_server + "/lab", wait_until="networkidle")
    panel = page.locator("[data-figure=train-panel]")
    panel.locator("input[name=steps]").fill("20000")
    panel.locator("input[name=seed]").fill("99")
    panel.locator("[data-action=start]").click()
    page.wait_for_function(
        "() => { const p = document.querySelector('[data-figure=train-panel] [data-plot=loss]');"
        " return p.data && p.data[0].x.length > 0; }",
        timeout=PATIENCE,
    )
    panel.locator("[data-action=cancel]").click()
    wait_for_panel_status(page, "cancelled")
    assert page.errors == []


def test_lab_landscape_follows_the_training(live_server, page):
    page.goto(live_server + "/lab", wait_until="networkidle")
    panel = page.locator("[data-figure=train-panel]")
    panel.locator("input[name=steps]").fill("200")
    panel.locator("input[name=meta_batch]").fill("5")
    panel.locator("input[name=seed]").fill("5")
    panel.locator("[data-action=start]").click()
    page.wait_for_function(
        "() => { const p = document.querySelector('[data-plot=live-landscape]');"
        " return p.data && p.layout.title.text.includes('step 200'); }",
        timeout=PATIENCE,
    )
    read = "document.querySelector('[data-plot=live-landscape]').data[0].x.slice()"
    pca = page.evaluate(read)
    page.locator("[data-figure=live-landscape] input[value=random]").check()
    assert page.evaluate(read) != pca
    assert page.errors == []


def test_lab_trains_an_omniglot_learner_and_shows_its_accuracy(live_server, page):
    page.goto(live_server + "/lab", wait_until="networkidle")
    panel = page.locator("[data-figure=train-panel]")
    panel.locator("select[name=task]").select_option("omniglot")
    assert panel.locator("select[name=algo]").input_value() in ("fomaml", "protonet")
    assert not panel.locator("[data-plot=probe]").is_visible()
    panel.locator("select[name=algo]").select_option("protonet")
    assert not panel.locator("input[name=alpha]").is_visible()
    panel.locator("input[name=steps]").fill("10")
    panel.locator("[data-action=start]").click()
    wait_for_panel_status(page, "validation alphabets")
    accuracy = page.evaluate(
        "document.querySelector('[data-figure=train-panel] [data-plot=loss]').data[1].y.length"
    )
    assert accuracy == 5
    assert page.errors == []


def test_lab_trains_a_navigation_policy_and_shows_its_returns_and_paths(live_server, page):
    page.goto(live_server + "/lab", wait_until="networkidle")
    panel = page.locator("[data-figure=train-panel]")
    panel.locator("select[name=task]").select_option("navigation")
    options = panel.locator("select[name=algo] option:not([hidden])")
    assert options.evaluate_all("os => os.map(o => o.value)") == ["pretrained", "maml", "fomaml"]
    assert not panel.locator("[data-plot=trajectory]").is_visible()
    assert panel.locator("input[name=alpha]").input_value() == "0.1"
    assert panel.locator("input[name=trajectories]").is_visible()
    panel.locator("input[name=steps]").fill("4")
    panel.locator("input[name=meta_batch]").fill("2")
    panel.locator("input[name=trajectories]").fill("4")
    panel.locator("[data-action=start]").click()
    wait_for_panel_status(page, "new goals")
    paths = page.evaluate(
        "() => document.querySelector('[data-figure=train-panel] [data-plot=probe]').data"
        ".map(t => ({name: t.name, points: t.x.filter(v => v !== null).length}))"
    )
    assert paths[0]["name"].startswith("before adaptation") and paths[0]["points"] >= 5
    assert paths[1]["name"].startswith("after 1 step") and paths[2]["name"] == "goal"
    returns = page.evaluate(
        "() => document.querySelector('[data-figure=train-panel] [data-plot=loss]').data"
        ".map(t => t.y.length)"
    )
    assert returns[0] == 4 and returns[1] == returns[2] >= 1
    assert not panel.locator("[data-action=use-model]").is_visible()
    assert page.errors == []


@pytest.mark.parametrize(
    "low, high, expected",
    [
        (0.0, 2.0, ["1", "2", "5", "10", "20", "50", "100"]),  # 1-2-5 over two decades
        (0.45, 0.52, ["2.8", "3.1", "3.3"]),  # only 3 between: the ends and the middle instead
        (0.4771, 0.4773, ["2.9999", "3.0005", "3.0012"]),  # as many digits as tell them apart
    ],
)
def test_log_colour_bars_have_at_least_two_ticks(live_server, page, low, high, expected):
    page.goto(f"{live_server}/lab", wait_until="load")
    page.wait_for_function("() => window.Fig")
    ticks = page.evaluate("([a, b]) => Fig.logTicks(a, b)", [low, high])
    assert ticks["ticktext"] == expected
    assert ticks["tickvals"] == sorted(ticks["tickvals"])
