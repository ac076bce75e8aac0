"""Does a smaller Plotly build pay off? The served bundle against another one, in Chromium.

The app serves npm's cartesian build (``static/vendor/plotly.min.js``); compare it with the
full one, or any other build. For each bundle: its size as sent (bytes, gzip, brotli as
``app.web.assets`` stores them), the trace types it registers (against those the figures use:
``static/js`` is searched for ``type: "…"`` in trace objects, and ``scatter`` is Plotly's
default), and, in headless Chromium (Debian's ``chromium``), the time from navigation to
a drawn heatmap with a contour overlay on a cold cache: the script's transfer, parse and
execution (Playwright fulfils the requests from memory). Each is measured ``--repeats``
times, alternating, and the medians compared.

    (cd /tmp && npm pack plotly.js-dist-min@4.1.1 && tar -xzf plotly.js-dist-min-4.1.1.tgz)
    .venv/bin/python bench/plotly_build.py --other /tmp/package/plotly.min.js

(or the ``plotly`` Python package's ``package_data/plotly.min.js``, the same full build).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.web.assets import ENCODINGS  # noqa: E402
from app.web.vendor import PLOTLY_JS, registered_trace_types, used_trace_types  # noqa: E402

PAGE = """<!doctype html><html><head><script src="/plotly.js"></script></head><body>
<div id="f" style="width:600px;height:400px"></div><script>
const n = 81, xs = [...Array(n).keys()].map((i) => i / 10 - 4);
const z = xs.map((y) => xs.map((x) => Math.log10(1 + x * x + 3 * y * y)));
Plotly.newPlot("f", [{type: "heatmap", x: xs, y: xs, z, zsmooth: "fast"},
  {type: "contour", x: xs, y: xs, z, contours: {coloring: "none"}},
  {type: "scatter", x: [0, 1], y: [0, 1]}, {type: "bar", x: [1], y: [1]}])
  .then(() => { window.drawn = performance.now(); });
</script></body></html>"""


def draw_ms(browser, bundle: bytes) -> float:
    context = browser.new_context()
    page = context.new_page()
    page.route(
        "http://bench.test/plotly.js",
        lambda route: route.fulfill(body=bundle, content_type="text/javascript"),
    )
    page.route(
        "http://bench.test/", lambda route: route.fulfill(body=PAGE, content_type="text/html")
    )
    page.goto("http://bench.test/")
    page.wait_for_function("window.drawn !== undefined", timeout=60_000)
    ms = page.evaluate("window.drawn")
    context.close()
    return ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--other", type=Path, required=True, help="another Plotly bundle")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    bundles = {"served": PLOTLY_JS.read_bytes(), "other": args.other.read_bytes()}
    needed = used_trace_types()
    print(f"trace types the figures use: {', '.join(sorted(needed))}")
    print(f"{'bundle':<10} {'bytes':>9} {'gzip':>9} {'br':>9}  missing trace types")
    for name, data in bundles.items():
        sizes = [len(ENCODINGS[c](data)) for c in ("gzip", "br")]
        missing = needed - registered_trace_types(data.decode())
        print(f"{name:<10} {len(data):>9} {sizes[0]:>9} {sizes[1]:>9}  {sorted(missing) or '-'}")

    from playwright.sync_api import sync_playwright

    times: dict[str, list[float]] = {name: [] for name in bundles}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=shutil.which("chromium"), args=["--headless", "--no-sandbox"]
        )
        for _ in range(args.repeats):
            for name, data in bundles.items():
                times[name].append(draw_ms(browser, data))
        browser.close()
    medians = {name: statistics.median(ms) for name, ms in times.items()}
    for name, ms in times.items():
        print(
            f"{name:<10} navigation → drawn: median {medians[name]:.0f} ms ({len(ms)} cold loads)"
        )
    print(f"served / other: {medians['served'] / medians['other']:.2f}")


if __name__ == "__main__":
    main()
