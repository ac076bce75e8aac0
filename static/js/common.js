/* The figure kernel, loaded before every figure module: how a figure starts, talks to the server,
   reports errors and talks to other figures, plus the Plotly defaults and colours they share.

   A figure module is one call:

     Fig.figure("reptile-path", (root, fig) => { ... });

   setup runs once for every element [data-figure="reptile-path"] when the page has been parsed.
   fig holds the tools bound to that element: fig.defaults and fig.surface (its request model's
   defaults and the loss surface it draws on, rendered by the server into data-defaults and
   data-surface from app/web/figures.py, the one place they are written), fig.$ / fig.$$ (query inside it), fig.status(text) and
   fig.fail(error, prefix) for its status line [data-status] (the one place a figure reports
   errors), fig.request(url, body, done) for a throttled JSON request whose errors go to that line,
   fig.load(promise, done) for the data of its first drawing, fig.slider(name, read, show, change),
   fig.play(last, ms, show) / fig.stop() to step through an animation, fig.flipbook(holder, count,
   draw) for a slider over drawings known in advance, and fig.redraw(render) to draw again when the
   window is resized.

   Following the pointer: a figure's render() may run on every frame of a drag, because drawing
   (Fig.draw, Fig.drawPlane) redraws only what changed since the last drawing: moving traces (θ,
   arrows, paths) move and a surface on an unchanged colour range is painted again without the
   axes, colour bar or legend being drawn again (see paint). Fig.steadyRange and Fig.ceiling keep
   ranges and colour bars steady while an answer still fits them.
   Pointer moves (Fig.onPlotDrag, Fig.dragTheta) and slider changes (fig.slider) reach the figure at
   most once an animation frame, the latest; fig.request keeps at most two requests in flight, the
   latest waiting, sends the next before drawing an answer, and does not send the same body twice
   in a row. So θ follows the pointer every frame and what the server computes for it follows as
   fast as the server answers.

   Requests: Fig.json(url) is a GET, Fig.json(url, body) a POST of JSON, Fig.json(url, body, method)
   any other method. Each resolves to the parsed answer or rejects with an Error whose message is
   the server's own (and whose .status is the HTTP status).

   Window events between figures: Fig.emit(name, detail) and Fig.on(name, handler(detail)). Only the
   names below exist; any other name throws, so that a renamed event fails loudly.

     training-started    train panel -> live landscape: a run was accepted. detail: the job,
                         { id, events } (events is the URL of its Server-Sent Events stream).
     training-landscape  train panel -> live landscape: the stream's `landscape` event, the loss
                         around θ on two planes. detail: { step, inner_steps, pca, random }.
     model-trained       train panel -> sinusoid fine-tuning: "use this model". detail: { id, algo }.
     imaml-theta         iMAML landscape -> iMAML conjugate gradient: the reader moved θ or λ
                         (sent when a drag ends, not while it lasts). detail: { theta, lam }.

   The quiz leaves two things in localStorage for figures on other pages: the reader's score
   (Fig.quizScore(), read by the accuracy chart) and the latest task (Fig.rememberTask /
   Fig.lastTask, read by the MAML page's adaptation figure). */
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

  /* JSON to and from the server: GET without a body, POST with one (or the given method). */
  async function json(url, body, method) {
    const options = { method: method || (body === undefined ? "GET" : "POST") };
    if (body !== undefined) {
      options.headers = { "Content-Type": "application/json" };
      options.body = JSON.stringify(body);
    }
    const response = await fetch(url, options);
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      const message = data.message || data.detail || response.statusText;
      const error = new Error(typeof message === "string" ? message : JSON.stringify(message));
      error.status = response.status;
      throw error;
    }
    return data;
  }

  /* The window events figures send each other (see the list at the top). */
  const EVENTS = new Set(["training-started", "training-landscape", "model-trained", "imaml-theta"]);
  function known(name) {
    if (!EVENTS.has(name)) throw new Error(`unknown figure event "${name}": add it to the list in common.js`);
  }
  function emit(name, detail) {
    known(name);
    window.dispatchEvent(new CustomEvent(name, { detail }));
  }
  function on(name, handler) {
    known(name);
    window.addEventListener(name, (event) => handler(event.detail));
  }

  /* Start a figure: setup(root, fig) for every [data-figure=name] once the page is parsed. */
  function figure(name, setup) {
    const start = () => document.querySelectorAll(`[data-figure="${name}"]`).forEach((root) => setup(root, tools(root)));
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
    else start();
  }

  /* A figure's requests in flight at once (fig.request): with two, the server computes the next
     answer while the last one travels and is drawn, and a drag's last position need not wait for
     the answer to the one before. */
  const IN_FLIGHT = 2;

  /* The tools a figure's setup receives, bound to its root element. */
  function tools(root) {
    const statusLine = root.querySelector("[data-status]");
    let timer = null;
    const fig = {
      root,
      defaults: JSON.parse(root.dataset.defaults || "{}"),
      surface: root.dataset.surface ? JSON.parse(root.dataset.surface) : null,
      $: (selector) => root.querySelector(selector),
      $$: (selector) => Array.from(root.querySelectorAll(selector)),
      status: (text) => status(statusLine, text, false),
      fail: (error, prefix) => status(statusLine, (prefix ? `${prefix}: ` : "") + (error && error.message ? error.message : String(error)), true),
      /* A throttled request: at most IN_FLIGHT of this figure's requests in flight, only the latest
         call waiting for a free slot; body() is built when the request leaves. done(answer, body)
         runs on success and clears the status line, unless a later request's answer has been shown
         already (the figure never steps back); a failure goes to the status line. A waiting request
         leaves before the answer that freed its slot is drawn, so the server computes while the page
         draws. A body equal to the one last sent (a drag's release where its last move was) is not
         sent again, unless that request failed. */
      request: (url, body, done) => {
        let last = null, asked = 0, shown = 0, flying = 0, waiting = false;
        function send() {
          if (flying >= IN_FLIGHT) { waiting = true; return; }
          waiting = false;
          const sent = body();
          const key = JSON.stringify(sent);
          if (key === last) return;
          last = key;
          const id = ++asked;
          flying += 1;
          const settle = (show) => (result) => {
            flying -= 1;
            if (waiting) send();
            if (id < shown) return;
            shown = id;
            try { show(result); } catch (error) { fig.fail(error); }
          };
          json(url, sent).then(settle((answer) => { fig.status(""); done(answer, sent); }), settle((error) => {
            if (last === key) last = null;
            fig.fail(error);
          }));
        }
        return () => send();
      },
      /* A range input and its <output data-out=name>: change(value) with read(input's string), the
         output showing show(value) from the start and at once, change running once a frame at most.
         Returns the input. */
      slider: (name, read, show, change) => {
        const input = fig.$(`input[name=${name}]`);
        const output = fig.$(`[data-out=${name}]`);
        const changed = frame(change);
        output.textContent = show(read(input.value));
        input.addEventListener("input", () => {
          const value = read(input.value);
          output.textContent = show(value);
          changed(value);
        });
        return input;
      },
      /* Step through 0 … last, one step every ms milliseconds, calling show(step); a new call (or
         fig.stop()) stops the previous run. */
      play: (last, ms, show) => {
        fig.stop();
        let step = 0;
        show(step);
        timer = setInterval(() => {
          if (step >= last) { fig.stop(); return; }
          step += 1;
          show(step);
        }, ms);
      },
      stop: () => { clearInterval(timer); timer = null; },
      /* A slider over count drawings known in advance (surfaces that change in full from one value to
         the next, each too costly to draw in a frame): each is drawn once, by draw(i, element), into
         its own page of holder (.flipbook: pages stacked in one place, only the shown one visible),
         the one asked for at once and the others one per idle moment after the first is shown.
         book.show(i) then only swaps which page is visible. Pages are real plots (hover works on
         the shown one); a change of the holder's width draws them again. Returns { show }. */
      flipbook: (holder, count, draw) => {
        holder.classList.add("flipbook");
        const pages = new Map();
        let shown = null, preparing = false, width = holder.clientWidth;
        function page(i) {
          if (!pages.has(i)) {
            const element = document.createElement("div");
            element.className = "flip-page";
            element.dataset.page = String(i);
            holder.appendChild(element);
            pages.set(i, { element, ready: Promise.resolve(draw(i, element)) });
          }
          return pages.get(i);
        }
        function prepare() {
          if (preparing) return;
          preparing = true;
          const next = () => {
            const todo = Array.from({ length: count }, (_, i) => i).find((i) => !pages.has(i));
            if (todo === undefined) { preparing = false; return; }
            page(todo).ready.then(() => idle(next), (error) => { preparing = false; fig.fail(error); });
          };
          idle(next);
        }
        function show(i) {
          const target = page(i).element;
          if (shown !== null && shown !== i && pages.has(shown)) delete pages.get(shown).element.dataset.shown;
          target.dataset.shown = "";
          shown = i;
          prepare();
        }
        window.addEventListener("resize", () => {
          if (holder.clientWidth === width) return;
          width = holder.clientWidth;
          pages.forEach(({ element }) => { Plotly.purge(element); element.remove(); });
          pages.clear();
          if (shown !== null) { const i = shown; shown = null; show(i); }
        });
        return { show };
      },
      /* Wait for data the figure needs before its first drawing: done(data), or the error on the status line. */
      load: (promise, done) => promise.then(done).catch((error) => fig.fail(error)),
      redraw: (render) => window.addEventListener("resize", () => render()),
    };
    return fig;
  }

  /* Run task when the page is idle (soon after, where the browser cannot say). */
  const idle = (task) => (window.requestIdleCallback ? window.requestIdleCallback(() => task(), { timeout: 2000 }) : setTimeout(task, 50));

  /* Parameters rounded to three decimals, as the figures send them. */
  const round3 = (v) => Math.round(v * 1000) / 1000;

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
      // Plotly wraps the legend within the plot area: the width less the margins and a colour bar
      // standing at the right (about 110 px with its title)
      const upright = traces.some((t) => ["heatmap", "contour"].includes(t.type) && t.showscale !== false && !(t.colorbar && t.colorbar.orientation === "h"));
      const area = (element.clientWidth || 400) - full.margin.l - full.margin.r - (upright ? 110 : 0);
      const rows = legendRows(legendItems(traces), area);
      full.margin = Object.assign({}, full.margin, { b: 60 + 21 * rows });
    }
    return paint(element, traces, full);
  }

  /* Redraw only what changed. A figure draws everything each time (render() builds every trace), but
     while the reader drags or slides, most of it stays as it was: the axes, the legend, the colour
     bar. When, since the last drawing of this element, only the x and y of some scatter or bar
     traces changed (θ, arrows, paths, bars), the z of some heatmaps (a surface that depends on θ or
     a slider, on an unchanged colour range) and perhaps the title, only those traces move (see
     shift, else Plotly.animate without a redraw: no other trace is computed or drawn again), only
     those heatmaps' images are painted again (see repaint) and the title changes with
     Plotly.relayout; anything else is drawn in full by Plotly.react. Moving needs fixed axes (a
     range or categories): an autoranged axis may have to grow. */
  const MOVE = { mode: "immediate", transition: { duration: 0 }, frame: { duration: 0, redraw: false } };
  const MOVABLE = new Set(["scatter", "bar"]);  // the trace types Plotly animates in this bundle
  function paint(element, traces, full) {
    const before = element.__painted;
    const change = before && changes(before, traces, full);
    const now = { traces: snapshot(traces), layout: snapshot(full), moving: change ? before.moving : new Map(), count: change ? before.count : 0 };
    element.__painted = now;
    const painted = change && repaint(element, change.surfaces, traces);
    const shifted = painted && !now.moving.size && shift(element, change.traces, traces);
    if (!painted || (change.surfaces.length && !shifted)) return Plotly.react(element, traces, full, config);
    painted.forEach((write) => write());
    const moves = [];
    if (change.title) moves.push(Plotly.relayout(element, { title: full.title || { text: "" } }));
    if (shifted) {
      shifted.forEach((write) => write());
      return Promise.all(moves).then(() => element);
    }
    /* A move that a newer one cuts short (mode "immediate") never lands and rejects its promise, so
       until a trace's latest move has landed, every later move carries that trace too. */
    const indices = [...new Set([...change.traces, ...now.moving.keys()])];
    if (indices.length) {
      const id = ++now.count;
      indices.forEach((i) => now.moving.set(i, id));
      const landed = () => indices.forEach((i) => { if (now.moving.get(i) === id) now.moving.delete(i); });
      const moved = { data: indices.map((i) => ({ x: traces[i].x, y: traces[i].y })), traces: indices };
      moves.push(Plotly.animate(element, moved, MOVE).then(landed, (error) => { if (error) throw error; }));
    }
    return Promise.all(moves).then(() => element);
  }

  /* The SVG group Plotly drew for each trace of one layer (selector), by the trace's index. */
  function traceGroups(element, selector) {
    const groups = new Map();
    element.querySelectorAll(selector).forEach((g) => {
      const cd = g.__data__;
      if (cd && cd[0] && cd[0].trace) groups.set(cd[0].trace.index, g);
    });
    return groups;
  }

  /* Move scatter traces at once, without Plotly: for each trace whose points only moved (as many as
     before, gaps where they were; lines, markers or both, straight segments, no fill, on the x and
     y axes), write the new positions where Plotly.animate would: into the SVG Plotly drew (each
     line segment's path, each marker's translation, in pixels from the axes' c2p), and into the
     element's data, full data and calcdata (which hover reads), so that Plotly's next drawing
     starts from what is shown. Plotly.animate computes and checks every trace again, the loss
     surface's included (several milliseconds a plot, a frame's budget on a two-panel figure); this
     takes a few attributes. Returns the writes to make, or null when a trace does not qualify. */
  const SHIFTABLE = /^(lines|markers|lines\+markers)$/;
  function shift(element, indices, traces) {
    const full = element._fullLayout, data = element._fullData, calc = element.calcdata;
    if (!full || !data || !calc) return null;
    const groups = traceGroups(element, ".scatterlayer .trace");
    const missing = (v) => typeof v !== "number" || !Number.isFinite(v);
    const writes = [];
    for (const i of indices) {
      const t = data[i], cd = calc[i], g = groups.get(i), { x, y } = traces[i];
      if (!t || !cd || !g || t.type !== "scatter" || t.xaxis !== "x" || t.yaxis !== "y" || !SHIFTABLE.test(t.mode)) return null;
      const lined = t.mode.includes("lines"), marked = t.mode.includes("markers");
      if ((t.fill && t.fill !== "none") || (lined && (t.connectgaps || t.line.shape !== "linear"))) return null;
      if ((t.error_x && t.error_x.visible) || (t.error_y && t.error_y.visible)) return null;
      if (x.length !== y.length || cd.length !== x.length) return null;
      const xa = full.xaxis, ya = full.yaxis, segments = [], points = [];
      let segment = [];
      for (let j = 0; j < x.length; j++) {
        const gap = missing(x[j]) || missing(y[j]);
        if (gap !== (missing(cd[j].x) || missing(cd[j].y))) return null;
        if (gap) { if (segment.length) segments.push(segment); segment = []; continue; }
        const p = [Math.round(xa.c2p(x[j]) * 100) / 100, Math.round(ya.c2p(y[j]) * 100) / 100];
        segment.push(p);
        points.push(p);
      }
      if (segment.length) segments.push(segment);
      const drawn = lined ? segments.filter((s) => s.length > 1) : [];
      const lines = lined ? g.querySelectorAll("path.js-line") : [];
      const markers = marked ? g.querySelectorAll("path.point") : [];
      if (lines.length !== drawn.length || markers.length !== (marked ? points.length : 0)) return null;
      writes.push(() => {
        drawn.forEach((s, k) => lines[k].setAttribute("d", "M" + s.map((p) => p.join(",")).join("L")));
        markers.forEach((m, k) => m.setAttribute("transform", `translate(${points[k][0]},${points[k][1]})`));
        for (let j = 0; j < x.length; j++) if (!missing(cd[j].x)) { cd[j].x = x[j]; cd[j].y = y[j]; }
        element.data[i].x = x; element.data[i].y = y;
        t.x = x; t.y = y;
      });
    }
    return writes;
  }

  /* Paint heatmaps again at once, without Plotly: for each heatmap whose z changed (same rows and
     columns, on the x and y axes, zsmooth "fast", its colour range zmin … zmax set by the figure and
     unchanged), colour a pixel a cell as Plotly does (heatmap/plot.js: the colour scale's stops
     spread over zmin … zmax, linear between them, clamped; a missing value transparent; rows from
     the bottom when y grows upwards) and swap the PNG into the image Plotly drew; z goes into the
     element's data, full data and calcdata (which hover reads). Plotly.react would also lay out
     the axes, colour bar and legend again: some 20 ms for a 101 × 101 surface. Returns the writes
     to make, or null when a heatmap does not qualify. */
  function repaint(element, indices, traces) {
    if (!indices.length) return [];
    const full = element._fullLayout, data = element._fullData, calc = element.calcdata;
    if (!full || !data || !calc) return null;
    const layers = traceGroups(element, ".heatmaplayer .hm");
    const writes = [];
    for (const i of indices) {
      const t = data[i], cd = calc[i] && calc[i][0], g = layers.get(i), given = traces[i], z = given.z;
      const image = g && g.querySelector("image");
      if (!t || !cd || !image || t.type !== "heatmap" || t.zsmooth !== "fast" || t.xaxis !== "x" || t.yaxis !== "y") return null;
      if (t.transpose || t.connectgaps || t._colorAx || typeof given.zmin !== "number" || typeof given.zmax !== "number") return null;
      const rows = z.length, columns = rows ? z[0].length : 0;
      if (!cd.z || cd.z.length !== rows || !rows || z.some((row) => row.length !== columns) || cd.z[0].length !== columns) return null;
      const { xaxis: xa, yaxis: ya } = full;
      const flipX = xa.c2p(cd.x[cd.x.length - 1]) < xa.c2p(cd.x[0]);
      const flipY = ya.c2p(cd.y[cd.y.length - 1]) < ya.c2p(cd.y[0]);
      const color = scale(t.reversescale ? flipped(t.colorscale) : t.colorscale, t.zmin, t.zmax);
      const clean = z.map((row) => row.map((v) => (typeof v === "number" && Number.isFinite(v) ? v : undefined)));
      const canvas = document.createElement("canvas");
      canvas.width = columns;
      canvas.height = rows;
      const context = canvas.getContext("2d");
      const pixels = context.createImageData(columns, rows);
      for (let r = 0; r < rows; r++) {
        const at = (flipY ? rows - 1 - r : r) * columns;
        for (let c = 0; c < columns; c++) {
          const v = clean[r][c];
          if (v === undefined) continue;
          const rgba = color(v), k = (at + (flipX ? columns - 1 - c : c)) * 4;
          pixels.data[k] = Math.round(rgba[0]);
          pixels.data[k + 1] = Math.round(rgba[1]);
          pixels.data[k + 2] = Math.round(rgba[2]);
          pixels.data[k + 3] = Math.round(rgba[3] * 255);
        }
      }
      context.putImageData(pixels, 0, 0);
      const png = canvas.toDataURL("image/png");
      writes.push(() => {
        image.setAttributeNS(XLINK, "xlink:href", png);
        cd.z = clean;
        element.data[i].z = z;
        t.z = z;
      });
    }
    return writes;
  }
  const XLINK = "http://www.w3.org/1999/xlink";

  /* A colour scale's stops ([[fraction, colour], …]) reversed, as Plotly reads reversescale. */
  const flipped = (stops) => stops.slice().reverse().map(([f, c]) => [1 - f, c]);

  /* The colour of value v on a colour scale over lo … hi, as [r, g, b, alpha] (d3's clamped
     piecewise-linear scale, the one Plotly uses: a * (1 - t) + b * t between neighbouring stops). */
  function scale(stops, lo, hi) {
    let domain = stops.map(([f]) => lo + f * (hi - lo)), range = stops.map(([, c]) => rgba(c));
    const last = domain.length - 1;
    if (domain[last] < domain[0]) { domain = domain.slice().reverse(); range = range.slice().reverse(); }
    return (v) => {
      let j = 1;
      while (j < last && domain[j] <= v) j += 1;
      const a = domain[j - 1], span = (domain[j] - a) || 1 / (domain[j] - a);
      const s = Math.max(0, Math.min(1, (v - a) / span)), from = range[j - 1], to = range[j];
      return from.map((x, k) => x * (1 - s) + to[k] * s);
    };
  }

  /* A CSS colour as [r, g, b, alpha] (0–255 and 0–1), read back through a canvas's fillStyle. */
  let swatch = null;
  function rgba(css) {
    swatch = swatch || document.createElement("canvas").getContext("2d");
    swatch.fillStyle = "#000000";
    swatch.fillStyle = css;
    const value = swatch.fillStyle;
    if (value[0] === "#") return [1, 3, 5].map((k) => parseInt(value.slice(k, k + 2), 16)).concat(1);
    const parts = value.slice(value.indexOf("(") + 1, -1).split(",").map(Number);
    return [parts[0], parts[1], parts[2], parts.length > 3 ? parts[3] : 1];
  }

  /* What paint keeps of a drawing to compare the next with: its objects copied (Plotly adds keys to
     the ones it is given), its arrays as they are. Figures build new arrays for new data and Plotly
     does not write into them, so an unchanged surface is the same array and compares at once. */
  function snapshot(value) {
    if (value === null || typeof value !== "object" || Array.isArray(value)) return value;
    const copy = {};
    Object.keys(value).forEach((key) => { copy[key] = snapshot(value[key]); });
    return copy;
  }

  /* What changed from the drawing before: { traces: indices whose x or y moved, surfaces: heatmaps
     whose z changed, title: true/false }, or null when it has to be drawn in full. */
  function changes(before, traces, full) {
    if (before.traces.length !== traces.length) return null;
    const { title: oldTitle, ...oldLayout } = before.layout;
    const { title, ...layout } = full;
    const axes = Object.keys(layout).filter((key) => /^[xy]axis\d*$/.test(key));
    if (!axes.every((key) => Array.isArray(layout[key].range) || layout[key].type === "category")) return null;
    if (!same(oldLayout, layout)) return null;
    const moved = [], surfaces = [];
    for (let i = 0; i < traces.length; i++) {
      const { x: oldX, y: oldY, z: oldZ, ...old } = before.traces[i];
      const { x, y, z, ...rest } = traces[i];
      if (!same(old, rest)) return null;
      const shifted = !(same(oldX, x) && same(oldY, y));
      if (!same(oldZ, z)) {
        if (rest.type !== "heatmap" || shifted) return null;
        surfaces.push(i);
      } else if (shifted) {
        if (!MOVABLE.has(rest.type || "scatter")) return null;
        moved.push(i);
      }
    }
    return { traces: moved, surfaces, title: !same(oldTitle, title) };
  }

  /* Deep equality of plain data (numbers, strings, arrays, objects). */
  function same(a, b) {
    if (a === b) return true;
    if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return Number.isNaN(a) && Number.isNaN(b);
    if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((v, i) => same(v, b[i]));
    if (Array.isArray(b)) return false;
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((key) => Object.prototype.hasOwnProperty.call(b, key) && same(a[key], b[key]));
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
     Moves are coalesced to the next animation frame: however fast the pointer sends them, the handler
     sees at most one move a frame, the latest (and a release first hands over a move still waiting).
     Touch drags inside the axes move the point instead of scrolling (CSS touch-action on .drag-plot). */
  function onPlotDrag(element, handler) {
    element.classList.add("drag-plot");
    let dragging = false;
    const move = frame((at) => handler(at.x, at.y, "move"));
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
      if (at) move(at);
    });
    const stop = (event) => {
      if (!dragging) return;
      dragging = false;
      move.flush();
      const at = toData(event);
      if (at) handler(at.x, at.y, "end");
    };
    element.addEventListener("pointerup", stop);
    element.addEventListener("pointercancel", stop);
  }

  /* Coalesce calls to the next animation frame: run(arg) as often as it comes, task(latest arg) once a
     frame, and not sooner than ms milliseconds after the last time (ms = 0: every frame); run.flush()
     runs a waiting call now. A stream of events that each redraw a chart (the lab's progress) would
     otherwise keep the page from drawing frames at all. */
  function frame(task, ms) {
    let waiting = false, arg = null, id = 0, timer = 0, at = -Infinity;
    function fire() {
      if (!waiting) return;
      waiting = false;
      cancelAnimationFrame(id);
      clearTimeout(timer);
      at = performance.now();
      task(arg);
    }
    function run(next) {
      arg = next;
      if (waiting) return;
      waiting = true;
      const wait = at + (ms || 0) - performance.now();
      if (wait > 0) timer = setTimeout(() => { id = requestAnimationFrame(fire); }, wait);
      else id = requestAnimationFrame(fire);
    }
    run.flush = fire;
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
    if (vals.length >= 2 || !(span > 0)) return { tickvals: vals, ticktext: text };
    // a range narrower than the gap between two of those values: its ends and middle, with the
    // digits that tell them apart
    const ends = [min, min + span / 2, max];
    for (let digits = 2; ; digits++) {
      const labels = ends.map((v) => String(Number((10 ** v).toPrecision(digits))));
      if (new Set(labels).size === 3 || digits === 6) return { tickvals: ends, ticktext: labels };
    }
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
    const rows = legendRows(o.items, side);  // the legend wraps within the plot's width
    const t = (o.title ? 44 : 10) + (rows ? rows * 21 + 8 : 0);  // a title: its line and a gap
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

  /* A round number at or above v > 0: the least of 1, 1.5, 2, 3, 5 and 7 times a power of ten (at most
     1.5 times v), for the end of a colour bar that should not move with every small change of v. */
  function ceiling(v) {
    if (!(v > 0)) return v;
    const power = 10 ** Math.floor(Math.log10(v));
    return [1, 1.5, 2, 3, 5, 7, 10].map((m) => m * power).find((c) => c >= v * (1 - 1e-12));
  }

  /* A range over values (nulls skipped) for an axis or a colour bar that should not move with every
     answer during a drag (so that traces move and surfaces repaint without a full redraw, see
     paint): the previous range while it still holds every value and is at most slack times as wide
     as a new one would be; else a new one, padded by pad of the values' spread on each side, so
     that the values can move within the padding before it changes again. */
  function steadyRange(previous, values, pad, slack) {
    const finite = values.filter((v) => typeof v === "number" && Number.isFinite(v));
    if (!finite.length) return previous || [0, 1];
    const lo = Math.min(...finite), hi = Math.max(...finite);
    const spread = (hi - lo) || Math.abs(hi) || 1, margin = (pad === undefined ? 0.08 : pad) * spread;
    const want = [lo - margin, hi + margin];
    const fits = previous && previous[0] <= lo && previous[1] >= hi;
    if (fits && previous[1] - previous[0] <= (slack || 2.5) * (want[1] - want[0])) return previous;
    return want;
  }


  /* Digits as Unicode subscripts, for plain-text labels: sub(12) is "₁₂". */
  const sub = (n) => String(n).replace(/[0-9]/g, (d) => "₀₁₂₃₄₅₆₇₈₉"[d]);

  /* The two-task toy's combined loss (m = 0 of the toy request body, a figure's fig.surface), log-coloured (several figures draw on it):
     { xs, ys, box, z, minima, zmin, zmax }, ready for lossHeatmap. */
  async function combinedSurface(body, floor) {
    const data = await json("/api/landscape/toy", body);
    const z = logColor(data.meta_losses[0], floor);
    const [zmin, zmax] = extent(z);
    return { xs: data.xs, ys: data.ys, box: data.box, z, minima: data.tasks, zmin, zmax };
  }

  /* The heatmap trace of a log-coloured loss surface { xs, ys, z, zmin, zmax }, with its colour bar. */
  function lossHeatmap(s, title, name) {
    return {
      type: "heatmap", zsmooth: "fast", x: s.xs, y: s.ys, z: s.z, zmin: s.zmin, zmax: s.zmax, ...lossScale,
      colorbar: lossColorbar(title, s.zmin, s.zmax),
      hovertemplate: "w₀ %{x:.2f}, w₁ %{y:.2f}<extra></extra>", showlegend: false, name,
    };
  }

  /* The toy's parameter plane: θ = (w₀, w₁) that the reader drags, the tasks' optima, the axes. */
  function thetaTrace(theta) {
    return {
      x: [theta[0]], y: [theta[1]], mode: "markers", name: "θ (drag me)", marker: markers.theta,
      hovertemplate: "θ = (%{x:.3f}, %{y:.3f})<extra></extra>",
    };
  }
  /* Drag θ on each of these plots: move([w₀, w₁], phase) with phase "start", "move" or "end", θ rounded
     as the figures send it (round3), so that the θ drawn is the θ computed. */
  function dragTheta(plots, move) {
    [].concat(plots).forEach((plot) => onPlotDrag(plot, (x, y, phase) => move([round3(x), round3(y)], phase)));
  }
  function optimaTrace(points, name, extra) {
    return Object.assign({
      x: points.map((p) => p[0]), y: points.map((p) => p[1]), mode: "markers", name,
      marker: markers.optimum, hoverinfo: "skip",
    }, extra || {});
  }
  /* The x and y axes over box = [w₀ min, w₀ max, w₁ min, w₁ max], on one scale. */
  function weightAxes(box, w0Title) {
    return {
      xaxis: axis(w0Title || "w₀ (slope)", { range: [box[0], box[1]], constrain: "domain" }),
      yaxis: axis("w₁ (offset)", { range: [box[2], box[3]], scaleanchor: "x", constrain: "domain" }),
    };
  }

  /* A plot's title in its top-left corner, above a legend that sits over the plot. */
  function panelTitle(text) {
    return { text, font: { size: 14 }, x: 0.02, xanchor: "left", yref: "container", y: 1, yanchor: "top", pad: { t: 8 } };
  }

  /* The reader's quiz score in this browser, { "5": { answered, correct }, "20": … }. */
  const SCORE = "maml-quiz-score";
  function quizScore() {
    try {
      const saved = JSON.parse(localStorage.getItem(SCORE));
      if (saved && saved["5"] && saved["20"]) return saved;
    } catch (error) { /* a corrupt entry starts afresh */ }
    return { "5": { answered: 0, correct: 0 }, "20": { answered: 0, correct: 0 } };
  }
  function saveQuizScore(score) {
    try { localStorage.setItem(SCORE, JSON.stringify(score)); } catch (error) { /* storage off */ }
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

  /* Several paths (each a list of [x, y]) as one line trace's x and y, separated by null. */
  function joinPaths(paths) {
    const x = [], y = [];
    paths.forEach((path, i) => {
      if (i) { x.push(null); y.push(null); }
      path.forEach((p) => { x.push(p[0]); y.push(p[1]); });
    });
    return { x, y };
  }

  return {
    figure, json, emit, on, colors, layout, axis, config, draw, onPlotClick, status, round3, frame,
    onPlotDrag, arrow, arrows, logColor, logTicks, planeLayout, drawPlane, legendItems, colorbar, lossScale, lossColorbar,
    markers, taskColors, extent, ceiling, steadyRange, sub, fmt, pair, combinedSurface, lossHeatmap, thetaTrace, dragTheta, optimaTrace, weightAxes,
    panelTitle, quizScore, saveQuizScore, rememberTask, lastTask, joinPaths,
  };
})();
