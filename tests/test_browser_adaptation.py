"""The MAML page's Omniglot figure in Chromium: the model adapts to the reader's latest quiz task,
or to a new one, and the charts show every inner step."""

import pytest

pytestmark = pytest.mark.browser

FIGURE = "[data-figure=omniglot-adaptation]"


def skip_without_models(page, base):
    served = page.evaluate(f"fetch('{base}/api/omniglot/models').then(r => r.json())")
    if not {m["ways"] for m in served if m["method"] == "maml"} >= {5, 20}:
        pytest.skip("no 5- and 20-way MAML models in models/")


def wait_for_charts(page, ways):
    page.wait_for_function(
        "ways => { const p = document.querySelector('" + FIGURE + " [data-plot=probabilities]');"
        " return p && p.data && p.data[1].y.length === ways; }",
        arg=ways,
    )


def charts(page):
    return page.evaluate(
        "() => { const f = document.querySelector('" + FIGURE + "');"
        " const bars = f.querySelector('[data-plot=probabilities]');"
        " const losses = f.querySelector('[data-plot=losses]');"
        " return {title: bars.layout.title.text, bars: Array.from(bars.data[1].y),"
        " colors: bars.data[1].marker.color, losses: Array.from(losses.data[0].y),"
        " max: parseInt(f.querySelector('input[name=step]').max, 10)}; }"
    )


def test_the_figure_adapts_to_a_new_task_step_by_step(live_server, page):
    page.goto(live_server + "/maml", wait_until="networkidle")
    skip_without_models(page, live_server)
    wait_for_charts(page, 5)  # no quiz task in this browser yet: a new 5-way one
    figure = page.locator(FIGURE)
    assert figure.locator("[data-adapt-choices] li").count() == 5
    before = charts(page)
    k = before["max"]
    assert k >= 1 and len(before["losses"]) == k + 1
    assert before["title"].endswith("after 0 steps")
    assert sum(c == "#1b9e77" for c in before["colors"]) == 1  # the right answer, in green
    figure.locator("input[name=step]").fill(str(k))
    figure.locator("input[name=step]").dispatch_event("input")
    after = charts(page)
    assert after["title"].endswith(f"after {k} steps") and after["bars"] != before["bars"]
    assert f"After {k} steps" in figure.locator("[data-readout]").inner_text()

    figure.locator("[data-action=new][data-ways='20']").click()
    wait_for_charts(page, 20)
    assert figure.locator("[data-adapt-choices] li").count() == 20
    assert "secondary" not in figure.locator("[data-ways='20']").get_attribute("class")
    assert "secondary" in figure.locator("[data-ways='5']").get_attribute("class")
    assert len(charts(page)["losses"]) == charts(page)["max"] + 1
    figure.locator("[data-action=play]").click()
    page.wait_for_function(
        "() => { const s = document.querySelector('" + FIGURE + " input[name=step]');"
        " return s.value === s.max; }",
        timeout=120_000,  # the play animation takes seconds; generous for a busy machine
    )
    assert page.errors == []


def test_the_figure_uses_the_task_the_reader_answered_last(live_server, page):
    page.goto(live_server + "/", wait_until="networkidle")
    skip_without_models(page, live_server)
    page.wait_for_function(
        "() => document.querySelectorAll('[data-quiz-choice]').length > 0"
        " && document.querySelector('[data-quiz-feedback]').textContent === ''"
    )
    page.wait_for_timeout(250)  # the server rejects answers faster than a person could give
    query = page.locator("[data-quiz-query]").get_attribute("src")
    page.locator("[data-quiz-choice]").nth(2).click()
    page.wait_for_function("() => !document.querySelector('[data-quiz-next]').disabled")
    page.goto(live_server + "/maml", wait_until="networkidle")
    wait_for_charts(page, 5)
    figure = page.locator(FIGURE)
    assert figure.locator("[data-adapt-query]").get_attribute("src") == query
    assert "you picked candidate 3" in figure.locator("[data-task-line]").inner_text()
    assert figure.locator("[data-adapt-choices] li.right").count() == 1
    assert page.errors == []


def test_the_figure_fits_a_phone(live_server, browser):
    context = browser.new_context(viewport={"width": 375, "height": 800}, is_mobile=True)
    tab = context.new_page()
    tab.goto(live_server + "/maml", wait_until="networkidle")
    skip_without_models(tab, live_server)
    tab.locator(FIGURE + " [data-action=new][data-ways='20']").click()
    wait_for_charts(tab, 20)
    overflow = tab.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1
    context.close()
