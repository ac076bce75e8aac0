"""The navigation figure in Chromium: place a goal, play the steps; after one step MAML's
trajectories end closer to the goal."""

import math

import pytest

pytestmark = pytest.mark.browser

VIEW = 0.75  # the panels show [−0.75, 0.75]² (static/js/navigation-adapt.js)
GOAL = (-0.4, 0.4)


def current(page, model):
    """The goal and the trajectories the panel of ``model`` draws now (split at nulls)."""
    return page.evaluate(
        """model => {
          const figure = document.querySelector("[data-figure=navigation-adapt]");
          const panel = figure.querySelector(`[data-model=${model}]`);
          const goal = panel.data.find((t) => t.name === "goal");
          const now = panel.data.find((t) => t.name.startsWith("after"))
            || panel.data.find((t) => t.name === "before adaptation");
          const paths = [[]];
          Array.from(now.x).forEach((x, i) => {
            if (x === null) paths.push([]); else paths[paths.length - 1].push([x, now.y[i]]);
          });
          return { goal: [goal.x[0], goal.y[0]], name: now.name, paths };
        }""",
        model,
    )


def mean_final_distance(drawn):
    gx, gy = drawn["goal"]
    ends = [path[-1] for path in drawn["paths"]]
    return sum(math.hypot(x - gx, y - gy) for x, y in ends) / len(ends)


def test_placing_a_goal_and_playing_the_steps(live_server, page):
    page.goto(live_server + "/why-model-agnostic", wait_until="networkidle")
    figure = page.locator("[data-figure=navigation-adapt]")
    panel = figure.locator("[data-model=maml]")
    panel.scroll_into_view_if_needed(timeout=30_000)  # Plotly may still be laying it out
    page.wait_for_function(
        "() => { const p = document.querySelector('[data-figure=navigation-adapt] "
        "[data-model=maml]'); return p && p.data && p.data.length >= 3; }"
    )
    box = panel.locator(".nsewdrag").bounding_box()
    page.mouse.click(
        box["x"] + (GOAL[0] + VIEW) / (2 * VIEW) * box["width"],
        box["y"] + (VIEW - GOAL[1]) / (2 * VIEW) * box["height"],
    )
    page.wait_for_function(
        "g => { const p = document.querySelector('[data-figure=navigation-adapt] "
        "[data-model=maml]'); const t = p.data.find((d) => d.name === 'goal');"
        " return Math.abs(t.x[0] - g[0]) < 0.03 && Math.abs(t.y[0] - g[1]) < 0.03; }",
        arg=list(GOAL),
    )
    before = current(page, "maml")
    assert before["name"] == "before adaptation" and len(before["paths"]) == 20
    assert all(path[0] == [0, 0] for path in before["paths"])
    figure.locator("[data-action=play]").click()
    page.wait_for_function(
        "() => document.querySelector('[data-figure=navigation-adapt] [data-out=step]')"
        ".textContent === '3'",
        timeout=120_000,
    )
    assert current(page, "maml")["name"] == "after 3 steps"
    slider = figure.locator("input[name=step]")
    slider.fill("1")
    slider.dispatch_event("input")
    after = current(page, "maml")
    assert after["name"] == "after 1 step" and after["goal"] == before["goal"]
    # one policy-gradient step takes the trajectories' ends clearly towards the goal
    assert mean_final_distance(after) < 0.75 * mean_final_distance(before)
    returns = page.evaluate(
        "() => document.querySelector('[data-figure=navigation-adapt] [data-plot=returns]')"
        ".data.filter((t) => t.name).map((t) => ({name: t.name, y: Array.from(t.y)}))"
    )
    assert [t["name"] for t in returns] == ["Pretrained policy", "MAML"]
    assert all(len(t["y"]) == 4 for t in returns)
    assert "after 1 step" in figure.locator("[data-readout]").inner_text()
    assert page.errors == []


def test_a_click_outside_the_square_is_refused(live_server, page):
    page.goto(live_server + "/why-model-agnostic", wait_until="networkidle")
    figure = page.locator("[data-figure=navigation-adapt]")
    panel = figure.locator("[data-model=pretrained]")
    panel.scroll_into_view_if_needed(timeout=30_000)  # Plotly may still be laying it out
    page.wait_for_function(
        "() => { const p = document.querySelector('[data-figure=navigation-adapt] "
        "[data-model=pretrained]'); return p && p.data && p.data.length >= 3; }"
    )
    goal = current(page, "pretrained")["goal"]
    box = panel.locator(".nsewdrag").bounding_box()
    page.mouse.click(box["x"] + 0.02 * box["width"], box["y"] + 0.02 * box["height"])
    assert "dashed square" in figure.locator("[data-status]").inner_text()
    assert current(page, "pretrained")["goal"] == goal
    assert page.errors == []
