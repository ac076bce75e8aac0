"""The race in Chromium: start it, see five curves grow on both time axes and the final table;
cancel it and see all five stop. Each test has a server of its own, so that its queue and its
client's rate are its own."""

import pytest

from tests.conftest import server_settings, serving

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Waits are for events in the page, polled on each animation frame; the limits are far above the
# normal times so that a busy machine only makes the test slower.
PATIENCE = 900_000  # ms
FIGURE = "[data-figure=race]"

POINTS = """() => {
  const plot = document.querySelector('[data-figure=race] [data-plot=curves]');
  if (!plot || !plot.data) return null;
  const count = (axis) => plot.data.filter((t) => t.xaxis === axis).map((t) => t.x.length);
  return { iterations: count('x'), seconds: count('x2') };
}"""


def states(page):
    return page.eval_on_selector_all(
        f"{FIGURE} [data-table] tbody tr",
        "rows => Object.fromEntries(rows.map(r => [r.dataset.method, r.cells[1].textContent]))",
    )


def start(page, base, steps):
    page.goto(base + "/comparison#race", wait_until="networkidle")
    figure = page.locator(FIGURE)
    figure.locator("input[name=steps]").fill(str(steps))
    figure.locator("[data-action=start]").click()
    return figure


def test_the_race_streams_five_curves_on_both_axes_and_ends_with_its_table(tmp_path, page):
    with serving(server_settings(tmp_path)) as (base, _):
        start(page, base, 20)
        page.wait_for_function(
            f"() => {{ const p = ({POINTS})(); return p && p.iterations.length === 5"
            " && p.seconds.length === 5 && p.iterations.some((n) => n > 0); }",
            timeout=PATIENCE,
        )
        first = page.evaluate(POINTS)
        page.wait_for_function(
            f"() => document.querySelectorAll('{FIGURE} [data-table] td[data-state=done]').length"
            " === 5",
            timeout=PATIENCE,
        )
        last = page.evaluate(POINTS)
        for axis in ("iterations", "seconds"):
            assert all(n >= 1 for n in last[axis]) and sum(last[axis]) > sum(first[axis])
        rows = page.eval_on_selector_all(
            f"{FIGURE} [data-table] tbody tr",
            "rows => rows.map(r => Array.from(r.cells).map(c => c.textContent))",
        )
        assert [row[0] for row in rows] == [
            "MAML",
            "FOMAML",
            "Reptile",
            "iMAML",
            "pretrained baseline",
        ]
        for _, state, ms, one_step, ten_steps, memory in rows:
            assert state == "done" and float(ms) > 0 and float(memory) > 0
            assert " ± " in one_step and " ± " in ten_steps
        plane = page.evaluate(
            f"() => document.querySelector('{FIGURE} [data-plot=plane]').data.length"
        )
        probes = page.eval_on_selector_all(
            f"{FIGURE} [data-probe]", "panels => panels.filter(p => p.data).length"
        )
        assert plane == 6 and probes == 5  # five paths and the landmarks; five probe panels
        assert page.errors == []


def test_cancelling_the_race_stops_all_five_jobs(tmp_path, page):
    with serving(server_settings(tmp_path)) as (base, app):
        figure = start(page, base, 2000)
        page.wait_for_function(
            f"() => {{ const p = ({POINTS})(); return p && p.iterations.some((n) => n > 0); }}",
            timeout=PATIENCE,
        )
        figure.locator("[data-action=cancel]").click()
        page.wait_for_function(
            f"() => document.querySelectorAll('{FIGURE} [data-table] td[data-state=cancelled]')"
            ".length === 5",
            timeout=PATIENCE,
        )
        assert set(states(page).values()) == {"cancelled"}
        assert {job.config.algo: job.status for job in app.state.jobs.jobs.values()} == {
            algo: "cancelled" for algo in ("maml", "fomaml", "reptile", "imaml", "pretrained")
        }
        assert figure.locator("[data-action=start]").is_enabled()
        assert page.errors == []
