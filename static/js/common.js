/* Shared helpers for the figures: JSON requests, Plotly defaults, colours. Loaded before every figure module. */
"use strict";

window.Fig = (function () {
  const colors = {
    target: "#5c6370",
    support: "#1d1f21",
    pretrained: "#d95f02",
    maml: "#1b9e77",
    fomaml: "#7570b3",
    reptile: "#e7298a",
    imaml: "#66a61e",
    yours: "#7570b3",
    accent: "#1f4e79",
  };

  async function postJSON(url, body) {
    const response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      const message = data.message || data.detail || response.statusText;
      const error = new Error(typeof message === "string" ? message : JSON.stringify(message));
      error.status = response.status;
      throw error;
    }
    return data;
  }

  /* The default layout: the legend lies flat along the bottom edge of the figure, under the x axis's
     title, and the bottom margin grows with the legend's rows (see draw), so the two never meet. */
  function layout(overrides) {
    const base = {
      margin: { l: 60, r: 16, t: 40, b: 110 },
      font: { family: "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", size: 13 },
      paper_bgcolor: "rgba(0,0,0,0)",
      plot_bgcolor: "#ffffff",
      legend: { orientation: "h", x: 0, xanchor: "left", yref: "container", y: 0, yanchor: "bottom", font: { size: 12 } },
      dragmode: false,
      hovermode: "closest",
    };
    return Object.assign(base, overrides || {});
  }

  function axis(title, extra) {
    return Object.assign({ title: { text: title }, gridcolor: "#e5e8ec", zerolinecolor: "#c9ced6" }, extra || {});
  }

  const config = { displayModeBar: false, responsive: true };

  /* Draw with the default layout. Unless overrides place the legend or set the bottom margin, the
     margin makes room for the x axis's title (about 58 px) and, below it, each row of the legend. */
  function draw(element, traces, overrides) {
    const o = overrides || {};
    const full = layout(o);
    if (!o.legend && !(o.margin && o.margin.b !== undefined) && o.showlegend !== false) {
      const rows = legendRows(legendItems(traces), (element.clientWidth || 400) - 16);
      full.margin = Object.assign({}, full.margin, { b: 60 + 21 * rows });
    }
    return Plotly.react(element, traces, full, config);
  }

  /* Data coordinates of a click anywhere inside a plot's axes (Plotly only reports clicks on points). */
  function onPlotClick(element, handler) {
    element.addEventListener("click", (event) => {
      const full = element._fullLayout;
      if (!full) return;
      const area = element.querySelector(".nsewdrag");
      if (!area) return;
      const box = area.getBoundingClientRect();
      if (event.clientX < box.left || event.clientX > box.right || event.clientY < box.top || event.clientY > box.bottom) return;
      handler(full.xaxis.p2l(event.clientX - box.left), full.yaxis.p2l(event.clientY - box.top));
    });
  }

  function status(element, text, isError) {
    if (!element) return;
    element.textContent = text;
    element.classList.toggle("error", Boolean(isError));
  }

  /* Dragging a point on a plot: pointer events on the plot's drag layer (.nsewdrag), turned into data
     coordinates clamped to the axes' ranges. handler(x, y, phase) with phase "start", "move" or "end".
     Touch drags inside the axes move the point instead of scrolling (CSS touch-action on .drag-plot). */
  function onPlotDrag(element, handler) {
    element.classList.add("drag-plot");
    let dragging = false;
    function toData(event) {
      const full = element._fullLayout;
      const area = element.querySelector(".nsewdrag");
      if (!full || !area) return null;
      const box = area.getBoundingClientRect();
      const inside = event.clientX >= box.left && event.clientX <= box.right && event.clientY >= box.top && event.clientY <= box.bottom;
      const clamp = (v, range) => Math.min(Math.max(v, Math.min(range[0], range[1])), Math.max(range[0], range[1]));
      return {
        inside,
        x: clamp(full.xaxis.p2l(event.clientX - box.left), full.xaxis.range),
        y: clamp(full.yaxis.p2l(event.clientY - box.top), full.yaxis.range),
      };
    }
    element.addEventListener("pointerdown", (event) => {
      if (event.button !== 0) return;
      const at = toData(event);
      if (!at || !at.inside) return;
      dragging = true;
      try { element.setPointerCapture(event.pointerId); } catch (error) { /* a synthetic pointer */ }
      event.preventDefault();
      handler(at.x, at.y, "start");
    });
    element.addEventListener("pointermove", (event) => {
      if (!dragging) return;
      const at = toData(event);
      if (at) handler(at.x, at.y, "move");
    });
    const stop = (event) => {
      if (!dragging) return;
      dragging = false;
      const at = toData(event);
      if (at) handler(at.x, at.y, "end");
    };
    element.addEventListener("pointerup", stop);
    element.addEventListener("pointercancel", stop);
  }

  /* Throttle requests: at most one in flight; while one runs, only the latest call waits to run next.
     run(arg) returns nothing; task(arg) is an async function. */
  function latest(task) {
    let busy = false, pending = null, hasPending = false;
    async function run(arg) {
      if (busy) { pending = arg; hasPending = true; return; }
      busy = true;
      try { await task(arg); } finally {
        busy = false;
        if (hasPending) { const next = pending; hasPending = false; pending = null; run(next); }
      }
    }
    return run;
  }

  /* An arrow from (x0, y0) to (x1, y1) as one line trace (shaft and head, segments separated by null).
     The head is drawn in data units; plots with arrows keep x and y on the same scale. */
  function arrow(x0, y0, x1, y1, size) {
    const dx = x1 - x0, dy = y1 - y0, length = Math.hypot(dx, dy);
    if (!(length > 0)) return { x: [x0], y: [y0] };
    const head = Math.min(size, 0.45 * length), ux = dx / length, uy = dy / length;
    const c = Math.cos(0.45), s = Math.sin(0.45);
    const lx = x1 - head * (ux * c - uy * s), ly = y1 - head * (uy * c + ux * s);
    const rx = x1 - head * (ux * c + uy * s), ry = y1 - head * (uy * c - ux * s);
    return { x: [x0, x1, null, lx, x1, rx], y: [y0, y1, null, ly, y1, ry] };
  }

  /* Several arrows in one trace: arrows(list of [x0, y0, x1, y1], size). */
  function arrows(list, size) {
    const out = { x: [], y: [] };
    list.forEach(([x0, y0, x1, y1], i) => {
      const a = arrow(x0, y0, x1, y1, size);
      if (i) { out.x.push(null); out.y.push(null); }
      out.x.push(...a.x); out.y.push(...a.y);
    });
    return out;
  }

  /* A log-scaled colour axis for a heatmap of positive values: the trace shows log10(max(v, floor))
     and the colour bar is labelled with the values themselves. */
  function logColor(z, floor) {
    const f = floor || 1e-3;
    return z.map((row) => row.map((v) => (v === null ? null : Math.log10(Math.max(v, f)))));
  }
  function logTicks(min, max) {
    const vals = [], text = [];
    const span = max - min;
    const mantissas = span < 0.5 ? [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8] : span < 1.2 ? [1, 1.5, 2, 3, 5, 7] : span < 2.5 ? [1, 2, 5] : [1, 3];
    for (let e = Math.floor(min); e <= Math.ceil(max); e++) {
      for (const m of mantissas) {
        const v = e + Math.log10(m);
        if (v >= min - 1e-9 && v <= max + 1e-9) { vals.push(v); text.push(String(Number((m * 10 ** e).toPrecision(2)))); }
      }
    }
    return { tickvals: vals, ticktext: text };
  }

  /* Layout of a square plot over a plane of two parameters: equal scales on x and y, a horizontal
     colour bar under the x axis, the legend above the plot. The height follows the element's width and
     makes room for the legend's rows (estimated from options.items, the number of legend entries),
     so the plot area stays square on a phone too. options: { items, title, colorbar }. */
  function planeLayout(element, overrides, options) {
    const o = Object.assign({ items: [], title: false, colorbar: true }, options || {});
    const width = element.clientWidth || 400;
    const l = 56, r = 12;
    const side = Math.max(220, Math.min(520, width - l - r));
    const rows = legendRows(o.items, width - 16);
    const t = (o.title ? 38 : 10) + (rows ? rows * 19 + 8 : 0);
    const b = o.colorbar ? 134 : 64;
    return Object.assign({
      height: side + t + b,
      margin: { l, r, t, b },
      legend: { orientation: "h", x: 0, y: 1.005, xanchor: "left", yanchor: "bottom", font: { size: 12 } },
    }, overrides || {});
  }

  /* Rows a horizontal legend of these entry names takes in this width (an estimate: about 6.6 px a
     character at 12 px, plus the symbol). A number instead of names counts entries of 170 px. */
  function legendRows(items, width) {
    const widths = typeof items === "number" ? Array(items).fill(170)
      : items.map((name) => 46 + 6.6 * String(name).replace(/<[^>]+>/g, "").length);
    let rows = 0, used = Infinity;
    widths.forEach((w) => {
      if (used + w > width) { rows += 1; used = 0; }
      used += w;
    });
    return rows;
  }

  /* The names of the entries a set of traces puts in the legend. */
  function legendItems(traces) {
    const groups = new Set();
    return traces.filter((t) => {
      if (t.showlegend === false || !t.name || t.visible === false || t.type === "heatmap" || t.type === "contour") return false;
      if (t.legendgroup) { if (groups.has(t.legendgroup)) return false; groups.add(t.legendgroup); }
      return true;
    }).map((t) => t.name);
  }

  /* Draw on a plane plot: planeLayout with the legend's size taken from the traces. */
  function drawPlane(element, traces, overrides, options) {
    const o = Object.assign({ items: legendItems(traces), title: Boolean(overrides && overrides.title) }, options || {});
    return draw(element, traces, planeLayout(element, overrides, o));
  }

  function colorbar(title, extra) {
    return Object.assign({
      orientation: "h", x: 0.5, xanchor: "center", yref: "container", y: 0, yanchor: "bottom", ypad: 6,
      thickness: 12, len: 0.95, title: { text: title, side: "bottom", font: { size: 12 } }, tickfont: { size: 11 },
    }, extra || {});
  }

  /* Every loss surface is coloured the same way: Viridis, dark for low loss and yellow for high, on a log
     scale. lossColorbar says so in the colour bar's title, with ticks labelled in loss values. */
  const lossScale = { colorscale: "Viridis", reversescale: false };
  function lossColorbar(title, zmin, zmax) {
    return colorbar(`${title}<br>log scale, dark = low`, logTicks(zmin, zmax));
  }

  const taskColors = ["#ff4d4d", "#4dc3ff"];  // task 1, task 2 on the two-task toy

  /* Marker styles that read on a dark heatmap and in the legend alike. */
  const markers = {
    theta: { size: 14, color: "#ffffff", line: { width: 2.5, color: "#1d1f21" } },
    optimum: { symbol: "x", size: 12, color: "#ffffff", line: { width: 1, color: "#1d1f21" } },
  };

  /* The lowest and highest non-null value of a surface (rows of numbers). */
  function extent(z) {
    let lo = Infinity, hi = -Infinity;
    z.forEach((row) => row.forEach((v) => { if (v !== null) { if (v < lo) lo = v; if (v > hi) hi = v; } }));
    return [lo, hi];
  }

  /* Digits as Unicode subscripts, for plain-text labels: sub(12) is "₁₂". */
  const sub = (n) => String(n).replace(/[0-9]/g, (d) => "₀₁₂₃₄₅₆₇₈₉"[d]);

  /* The two-task toy's combined loss on a 101² grid, log-coloured (several figures draw on it). */
  async function combinedSurface(floor) {
    const data = await postJSON("/api/landscape/toy", { n: 101, max_steps: 0 });
    const log = logColor(data.meta_losses[0], floor);
    const [zmin, zmax] = extent(log);
    return { xs: data.xs, ys: data.ys, box: data.box, log, minima: data.tasks, zmin, zmax };
  }

  /* Fetch combinedSurface() into state.surface, then call done(); a failure goes to the status line. */
  function loadCombinedSurface(floor, state, statusLine, done) {
    combinedSurface(floor)
      .then((surface) => {
        state.surface = surface;
        done();
      })
      .catch((error) => status(statusLine, error.message, true));
  }

  /* The heatmap trace of a surface from combinedSurface(), with its colour bar. */
  function surfaceTrace(s, title, name) {
    return {
      type: "heatmap", zsmooth: "fast", x: s.xs, y: s.ys, z: s.log, zmin: s.zmin, zmax: s.zmax, ...lossScale,
      colorbar: lossColorbar(title, s.zmin, s.zmax),
      hovertemplate: "w₀ %{x:.2f}, w₁ %{y:.2f}<extra></extra>", showlegend: false, name,
    };
  }

  /* The reader's latest quiz task in this browser, { task, choice }, for the MAML page's figure: the
     quiz keeps each task it has answered (with the reader's choice), the figure each task it draws
     itself (no choice). A task the quiz still waits on is never kept: the figure shows the answer. */
  const LAST_TASK = "maml-quiz-last-task";
  function rememberTask(task, choice) {
    try { localStorage.setItem(LAST_TASK, JSON.stringify({ task, choice })); } catch (error) { /* storage off */ }
  }
  function lastTask() {
    try {
      const saved = JSON.parse(localStorage.getItem(LAST_TASK));
      if (saved && typeof saved.task === "string") return saved;
    } catch (error) { /* a corrupt entry counts as none */ }
    return null;
  }

  const fmt = (v, digits) => (v === null || v === undefined ? "–" : Number(v).toFixed(digits === undefined ? 3 : digits));
  const pair = (p, digits) => `(${fmt(p[0], digits)}, ${fmt(p[1], digits)})`;

  return {
    colors, postJSON, layout, axis, config, draw, onPlotClick, status,
    onPlotDrag, latest, arrow, arrows, logColor, logTicks, planeLayout, drawPlane, legendItems, colorbar, lossScale, lossColorbar, markers, taskColors, extent, sub, fmt, pair, loadCombinedSurface, surfaceTrace,
    rememberTask, lastTask,
  };
})();
