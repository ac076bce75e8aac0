"""How the figures follow the reader's drag in Chromium, against a full redraw of the same figures
in the same run: settle time, computed updates a second and frames a second, for every figure
that recomputes while the reader drags θ or moves a slider (issue 15).

    python bench/drag_browser.py [--rounds 5] [--figure update-directions ...] [--base URL]
                                 [--compare URL] [--out runs.jsonl]

Starts the app (``bench/serving.py``) unless ``--base`` names a running one. For every round,
figure and mode, a fresh browser context (cold cache) loads the figure's page and waits until the
figure is drawn and quiet; one warm-up drag (15 moves in 0.5 s), then the measured drag: 30
pointer moves on a fixed 33 ms schedule, sent without waiting for the page (a real mouse does not
wait for a busy page), then the button is released. A drag moves θ from where it is drawn (the
figures' planes) or a slider's thumb along its track (the sliders' figures: FIGURES below). Placing
points on the sinusoid figure is clicks, not a drag: after "clear", ten clicks (its most points)
along the first panel in 1 s, with the same measures (the clicks are the moves). The lab's live
landscape follows a training stream, not the pointer (``--figure live-landscape``, not in the
default set, since it trains a model): a short sinusoid run is started from the train panel and,
for each landscape event it sends, the time from the event to the figure's last change is its
settle; its fps are counted while the run streams. The modes:

- ``moves``: the figures as they are (the kernel moves only what moved, ``static/js/common.js``);
- ``full redraw``, the baseline: the same page, every update drawn in full by ``Plotly.react``
  as the figures drew before (``bench/drag_instrument.js`` hides the kernel's last drawing);
- ``compare`` (with ``--compare URL``): another server, e.g. the code before a change, unchanged.

Measured in the page (``bench/drag_instrument.js``), from the first to the last move as sent:

- settle: last move → last change of the figure's DOM (once every request of the page has been
  answered and the figure has been quiet for 1.5 s); of which the page's own share: from the last
  answer to the last change; and the median round trip of the requests;
- computed updates/s: changes of the figure's computed traces (arrows, paths, bars) seen at
  animation frames; a slider can show no more than the values its thumb passes (``values``);
- fps: animation frames;
- requests the page sent during the drag (and after it), and how many were left unanswered
  20 s after the last move.

The machine is noisy (shared with training runs), so the table gives medians over rounds, and the
ratio of each median to the full redraw's in the same run. Timing targets live here, never in tests:
settle ≤ 100 ms, ≥ 20 computed updates/s (where the thumb passes that many values), ≥ 50 fps.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import shutil
import statistics
import sys
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import async_playwright
from serving import serving

INSTRUMENT = (Path(__file__).with_name("drag_instrument.js")).read_text()
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]  # fmt: skip
QUIET_MS, CAP_MS = 1500, 20000
MOVES, DRAG_MS = 30, 1000
WARM_MOVES, WARM_MS = 15, 500
TARGETS = {"settle_ms": 100, "updates_per_s": 20, "fps": 50}


@dataclass(frozen=True)
class Figure:
    """A figure: its page, what is dragged (a plot: θ; an input: its thumb), its computed traces."""

    name: str
    page: str
    drag: str  # selector inside [data-figure=name]: a plot (drag θ) or input[type=range]
    computed: tuple[str, ...]  # prefixes of the names of the traces that follow the computation
    end: tuple[float, float] = (0.75, 0.7)  # where a θ drag ends, as fractions of the plot area
    warm: float = 0.35  # where a slider's warm-up leaves the thumb (fraction of the track)
    clicks: int = 0  # clicks along the plot (placing points) instead of a drag

    @property
    def root(self) -> str:
        return f"[data-figure={self.name}]"

    @property
    def label(self) -> str:
        return self.name + (", placing points" if self.clicks else "")

    @property
    def slider(self) -> bool:
        return self.drag.startswith("input")


FIGURES = [
    Figure("update-directions", "comparison", "[data-plot=directions]", ("MAML",)),
    Figure("two-tasks", "maml", "[data-plot=task][data-task='0']", ("inner step",), (0.3, 0.7)),
    Figure("reptile-path", "reptile", "[data-plot=paths]", ("task 1",), (0.8, 0.25)),
    Figure("imaml-landscape", "imaml", "[data-plot=loss]", ("φ*",), (0.7, 0.3)),
    Figure("imaml-cg", "imaml", "input[name=damping]", ("task 1",)),
    Figure("fomaml-quadratic", "fomaml", "input[name=c]", ("g<sub>MAML</sub>",)),
    Figure("accumulated-landscape", "maml", "input[name=m]", ("minimum of F",)),
    # the trace was "after k steps" until the title took the step count (--compare an older server)
    Figure("sinusoid-finetune", "maml", "input[name=step]", ("fine-tuned", "after"), warm=0.1),
    Figure("omniglot-adaptation", "maml", "input[name=step]", ("φ",), warm=0.2),
    Figure("sinusoid-finetune", "maml", "[data-panels] .plot", ("fine-tuned",), clicks=10),
]
LIVE = Figure("live-landscape", "lab", "[data-plot=live-landscape]", ("θ at step",))
LIVE_STEPS, LIVE_CAP_S = 100, 180  # the lab's run: meta-iterations, and how long to wait for it

READY = """([root, names]) => {
  const plots = Array.from(document.querySelectorAll(root + ' .js-plotly-plot'));
  const traces = plots.flatMap((p) => p.data || []);
  const input = document.querySelector(root + ' input[type=range]');
  return plots.length > 0 && plots.every((p) => p.querySelector('.nsewdrag')) &&
    traces.some((t) => names.some((n) => (t.name || '').startsWith(n))) &&
    !(input && input.disabled);
}"""
# Where the drag starts and what it spans, in page pixels: θ's marker and the plot area, or the
# slider's thumb and its track.
GEOMETRY = """([root, sel]) => {
  const el = document.querySelector(root + ' ' + sel);
  if (el.tagName === 'INPUT') {
    const box = el.getBoundingClientRect(), thumb = 8;
    const [v, lo, hi] = [el.value, el.min, el.max].map(parseFloat), f = (v - lo) / (hi - lo);
    const left = box.left + thumb, width = box.width - 2 * thumb, y = box.top + box.height / 2;
    return { left, top: y, width, height: 0, x: left + f * width, y };
  }
  const box = el.querySelector('.nsewdrag').getBoundingClientRect();
  const theta = el.data.find((t) => (t.name || '').startsWith('θ'));
  const full = el._fullLayout;
  const [x, y] = theta ? [full.xaxis.l2p(theta.x[0]), full.yaxis.l2p(theta.y[0])]
    : [0, box.height / 2];  // no θ (clicks along the plot): its left edge, half-way up
  return { left: box.left, top: box.top, width: box.width, height: box.height,
           x: box.left + x, y: box.top + y };
}"""
START = "([root, names]) => window.__drag.start(root, names)"
CENTRE = """(sel) => { const r = document.querySelector(sel).getBoundingClientRect();
  window.scrollBy(0, r.top + r.height / 2 - innerHeight / 2); }"""


def path(start: tuple[float, float], end: tuple[float, float], n: int) -> list[tuple[float, float]]:
    """n points from start (excluded) to end, with a sideways sine wiggle of 4% of the length."""
    (x0, y0), (x1, y1) = start, end
    length = math.hypot(x1 - x0, y1 - y0) or 1.0
    px, py = -(y1 - y0) / length, (x1 - x0) / length
    points = []
    for k in range(1, n + 1):
        s = k / n
        w = 0.04 * length * math.sin(2 * math.pi * s)
        points.append((x0 + s * (x1 - x0) + w * px, y0 + s * (y1 - y0) + w * py))
    return points


def end_point(figure: Figure, geometry: dict, fraction: float | None = None) -> tuple[float, float]:
    if figure.slider:
        along = 1.0 if fraction is None else fraction
        return geometry["left"] + along * geometry["width"], geometry["y"]
    u, v = figure.end if fraction is None else (0.5 + fraction / 4, 0.5 - fraction / 4)
    return geometry["left"] + u * geometry["width"], geometry["top"] + v * geometry["height"]


async def clock_offset(page) -> float:
    """performance.now() of the page minus time.perf_counter() here, in ms (quickest of 5)."""
    best = None
    for _ in range(5):
        a = time.perf_counter()
        now = await page.evaluate("() => performance.now()")
        b = time.perf_counter()
        if best is None or b - a < best[0]:
            best = (b - a, now - (a + b) / 2 * 1000)
    return best[1]


async def wait_quiet(page, since: float) -> None:
    """Until every request is answered and the figure has not changed for QUIET_MS (or CAP_MS)."""
    while True:
        now, last, pending = await page.evaluate(
            "() => [window.__drag.now(), window.__drag.lastMutation(), window.__drag.pending()]"
        )
        quiet = now - max(last or since, since) >= QUIET_MS and not pending
        if quiet or now - since >= CAP_MS:
            return
        await asyncio.sleep(0.1)


async def on_schedule(page, figure: Figure, points, ms: int, act, hold: bool = False) -> dict:
    """``act(x, y)`` at each point, evenly over ``ms`` on a fixed schedule that does not wait
    for the page (with the button held throughout if ``hold``), then until the figure is
    quiet: the page's record and the actions' times."""
    offset = await clock_offset(page)
    await page.evaluate(START, [figure.root, list(figure.computed)])
    if hold:
        await page.mouse.down()
    base, sent, tasks = time.perf_counter(), [], []
    for k, (x, y) in enumerate(points):
        delay = base + k * ms / len(points) / 1000 - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        sent.append(time.perf_counter() * 1000 + offset)
        tasks.append(asyncio.create_task(act(x, y)))
    await asyncio.gather(*tasks)
    if hold:
        await page.mouse.up()
    await wait_quiet(page, await page.evaluate("() => window.__drag.now()"))
    record = await page.evaluate("() => window.__drag.stop()")
    return dict(record, sent=sent)


async def drag(page, figure: Figure, end: tuple[float, float], moves: int, ms: int) -> dict:
    """A drag from where θ or the thumb is to end: the page's record and the moves' times."""
    geometry = await page.evaluate(GEOMETRY, [figure.root, figure.drag])
    start = (geometry["x"], geometry["y"])
    points = path(start, end, moves)
    if figure.slider:  # along the track
        points = [(x, start[1]) for x, _ in points]
    await page.mouse.move(*start)
    await asyncio.sleep(0.3)
    return await on_schedule(page, figure, points, ms, page.mouse.move, hold=True)


async def click_along(page, figure: Figure, clicks: int, ms: int) -> dict:
    """clicks along the middle of the plot, from 10% to 90% of its width, on a fixed schedule."""
    geometry = await page.evaluate(GEOMETRY, [figure.root, figure.drag])
    xs = [0.1 + 0.8 * k / max(1, clicks - 1) for k in range(clicks)]
    points = [(geometry["left"] + u * geometry["width"], geometry["y"]) for u in xs]
    return await on_schedule(page, figure, points, ms, page.mouse.click)


async def cleared(page, figure: Figure) -> None:
    """Press the figure's "clear" and wait until it is quiet."""
    await page.evaluate(START, [figure.root, []])
    await page.click(f"{figure.root} [data-action=clear]")
    await wait_quiet(page, await page.evaluate("() => window.__drag.now()"))
    await page.evaluate("() => window.__drag.stop()")


def measures(record: dict) -> dict:
    first, last = record["sent"][0], record["sent"][-1]
    span = max(1e-6, last - first)
    during = lambda times: [t for t in times if first <= t <= last]  # noqa: E731
    mutated = [t for t, _ in record["mutations"]]
    values = {value for t, value in record["inputs"] if first <= t}
    answered = [f for f in record["fetches"] if f["answered"] is not None]
    settled = mutated[-1] if mutated else last
    # the page's own share of the settle: from the last answer (or the last move) to the last change
    since = max([last] + [f["answered"] for f in answered])
    return {
        "settle_ms": max(0.0, settled - last),
        "page_ms": max(0.0, settled - since),
        "round_trip_ms": statistics.median(f["answered"] - f["sent"] for f in answered)
        if answered
        else None,
        "updates_per_s": len(during(record["computed"])) / span * 1000,
        "fps": len(during(record["frames"])) / span * 1000,
        "values": len(values),
        "requests": len(record["fetches"]),
        "unanswered": sum(f["answered"] is None for f in record["fetches"]),
    }


async def one(browser, url: str, figure: Figure, full_redraw: bool) -> dict:
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    if full_redraw:
        await context.add_init_script(script="window.__DRAG_FULL_REDRAW = true;")
    await context.add_init_script(script=INSTRUMENT)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)[:200]))
    try:
        await page.goto(f"{url}/{figure.page}", wait_until="load", timeout=120000)
        await page.wait_for_function(
            READY, arg=[figure.root, list(figure.computed)], timeout=120000, polling=100
        )
        await page.evaluate(CENTRE, f"{figure.root} {figure.drag}")
        await page.evaluate(START, [figure.root, []])
        await wait_quiet(page, await page.evaluate("() => window.__drag.now()"))
        await page.evaluate("() => window.__drag.stop()")
        if figure.clicks:
            await cleared(page, figure)
            await click_along(page, figure, figure.clicks // 2, WARM_MS)
            await cleared(page, figure)
            record = await click_along(page, figure, figure.clicks, DRAG_MS)
            return dict(measures(record), values=figure.clicks, errors=errors)
        geometry = await page.evaluate(GEOMETRY, [figure.root, figure.drag])
        await drag(page, figure, end_point(figure, geometry, figure.warm), WARM_MOVES, WARM_MS)
        geometry = await page.evaluate(GEOMETRY, [figure.root, figure.drag])
        record = await drag(page, figure, end_point(figure, geometry), MOVES, DRAG_MS)
        return dict(measures(record), errors=errors)
    finally:
        await context.close()


async def streamed(browser, url: str) -> dict:
    """The lab's live landscape during a short run started from the train panel: for each landscape
    event, the time to the figure's last change before the next (its settle), and fps meanwhile."""
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    await context.add_init_script(script=INSTRUMENT)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)[:200]))
    try:
        await page.goto(f"{url}/{LIVE.page}", wait_until="load", timeout=120000)
        form = "[data-train-form]"
        await page.fill(f"{form} input[name=steps]", str(LIVE_STEPS))
        # a seed of its own: a configuration trained before replays from the cache at once
        await page.fill(f"{form} input[name=seed]", str(random.randrange(10**6)))
        await page.evaluate(CENTRE, f"{LIVE.root} {LIVE.drag}")
        await page.evaluate(START, [LIVE.root, list(LIVE.computed)])
        await page.click(f"{form} [data-action=start]")
        await page.wait_for_function(
            "() => !document.querySelector('[data-action=start]').disabled",
            timeout=LIVE_CAP_S * 1000,
            polling=200,
        )
        await wait_quiet(page, await page.evaluate("() => window.__drag.now()"))
        record = await page.evaluate("() => window.__drag.stop()")
    finally:
        await context.close()
    events, mutated = record["streamed"], [t for t, _ in record["mutations"]]
    settles = []
    for k, t in enumerate(events):
        until = events[k + 1] if k + 1 < len(events) else math.inf
        changes = [m for m in mutated if t <= m < until]
        settles.append(changes[-1] - t if changes else 0.0)
    span = max(1e-6, events[-1] - events[0]) if len(events) > 1 else None
    frames = [f for f in record["frames"] if events and events[0] <= f <= events[-1]]
    return {
        "settle_ms": max(settles) if settles else None,
        "page_ms": statistics.median(settles) if settles else None,
        "round_trip_ms": None,
        "updates_per_s": len(events) / span * 1000 if span else 0.0,
        "fps": len(frames) / span * 1000 if span else 0.0,
        "values": len(events),
        "requests": len(record["fetches"]),
        "unanswered": sum(f["answered"] is None for f in record["fetches"]),
        "errors": errors,
    }


def line(row: dict) -> str:
    return (
        f"settle {number(row['settle_ms']):>6} ms (page {number(row['page_ms']):>4} ms)  "
        f"updates {row['updates_per_s']:5.1f}/s  "
        f"fps {row['fps']:5.1f}  requests {row['requests']} ({row['unanswered']} unanswered)"
        + (f"  errors {row['errors']}" if row["errors"] else "")
    )


def median(rows: list[dict], key: str) -> float | None:
    values = [r[key] for r in rows if r[key] is not None]
    return statistics.median(values) if values else None


def number(value: float | None, digits: int = 0) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def table(results: dict[tuple[str, str], list[dict]], modes: list[str]) -> str:
    lines = [
        "| figure | mode | settle ms | of which the page's, after the last answer | server "
        "round trip ms | computed updates/s (values passed) | fps | requests (unanswered) | "
        "settle ÷ full redraw's |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for figure in dict.fromkeys(name for name, _ in results):
        full = median(results.get((figure, "full redraw"), []), "settle_ms")
        for mode in modes:
            rows = results.get((figure, mode))
            if not rows:
                continue
            settle = median(rows, "settle_ms")
            values = f" ({median(rows, 'values'):.0f})" if median(rows, "values") else ""
            cells = [
                figure,
                mode,
                number(settle),
                number(median(rows, "page_ms")),
                number(median(rows, "round_trip_ms")),
                number(median(rows, "updates_per_s"), 1) + values,
                number(median(rows, "fps")),
                f"{median(rows, 'requests'):.0f} ({max(r['unanswered'] for r in rows)})",
                number(settle / full, 2) if full else "–",
            ]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


async def run(args: argparse.Namespace, base: str) -> None:
    figures = [f for f in FIGURES if not args.figure or f.name in args.figure]
    live = bool(args.figure) and LIVE.name in args.figure
    modes = [("moves", base, False), ("full redraw", base, True)]
    if args.compare:
        modes.append(("compare", args.compare, False))
    results: dict[tuple[str, str], list[dict]] = {}
    out = open(args.out, "a") if args.out else nullcontext()  # noqa: SIM115
    with out:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=shutil.which("chromium"), headless=True, args=ARGS
            )
            for r in range(args.rounds):
                jobs = [(f, m, u, full) for f in figures for m, u, full in modes]
                if live:  # a stream draws every landscape in full: one mode
                    jobs.append((LIVE, "moves", base, False))
                for figure, mode, url, full_redraw in jobs:
                    label = f"round {r} {figure.label:<22} {mode:<11}"
                    try:
                        if figure is LIVE:
                            row = await streamed(browser, url)
                        else:
                            row = await one(browser, url, figure, full_redraw)
                    except PlaywrightError as error:  # a page that never got ready: next one
                        print(f"{label} failed: {str(error).splitlines()[0]}", flush=True)
                        continue
                    results.setdefault((figure.label, mode), []).append(row)
                    print(f"{label} {line(row)}", flush=True)
                    if args.out:
                        row = dict(row, round=r, figure=figure.label, mode=mode)
                        out.write(json.dumps(row) + "\n")
                        out.flush()
            await browser.close()
    print(f"\nmedians over {args.rounds} rounds; targets: {TARGETS}\n")
    print(table(results, [m for m, _, _ in modes]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--figure", action="append", choices=list(dict.fromkeys(f.name for f in FIGURES + [LIVE]))
    )
    parser.add_argument("--base", help="a running app to measure (default: start one)")
    parser.add_argument("--compare", help="another running app, measured the same way")
    parser.add_argument("--out", help="append every round's numbers to this JSON-lines file")
    args = parser.parse_args()
    with nullcontext(args.base.rstrip("/")) if args.base else serving() as base:
        asyncio.run(run(args, base))


if __name__ == "__main__":
    sys.exit(main())
