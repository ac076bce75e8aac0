/* Figure: Omniglot 20-way 1-shot accuracy by year, with the reader, all readers and this app's models.
   Every point is labelled; labels are placed after drawing, in pixels, so that none overlaps another
   label or a point (with a leader line when a label has to move away from its point). */
"use strict";

(function () {
  const NOW = new Date().getFullYear();
  const FONT_SIZE = 11;
  const FONT = `${FONT_SIZE}px system-ui, -apple-system, Segoe UI, Roboto, sans-serif`;
  const MARKER = 7; // half the size of a point's box that labels keep clear of, in px

  // How each published point was measured: the trace it goes in, and how it is drawn.
  const GROUPS = [
    { name: "published: Lake et al.'s within-alphabet task", test: (p) => p.split === "within-alphabet",
      marker: { symbol: "triangle-up", size: 12 } },
    { name: "published: 1,200/423 split, one query at a time", test: (p) => p.split === "rotated" && p.protocol === "one query at a time",
      marker: { symbol: "circle", size: 11 } },
    { name: "published: 1,200/423 split, transductive", test: (p) => p.split === "rotated" && p.protocol === "transductive",
      marker: { symbol: "circle-open", size: 11, line: { width: 2.5 } } },
    { name: "published: 1,200/423 split, transduction not stated", test: (p) => p.split === "rotated" && p.protocol === "transduction not stated",
      marker: { symbol: "circle-open-dot", size: 11, line: { width: 2 } } },
  ];

  /* The y axis is logarithmic in the error rate, 100 − accuracy, labelled in accuracy: it spreads
     the published points, all within a few points of 100%, without hiding the weaker ones. */
  const TOP_ERROR = 1.5;
  const err = (accuracy) => Math.max(TOP_ERROR, 100 - accuracy);

  /* Points of one year that would sit on one another (runs of neighbours closer than 0.05 in
     log error rate) are spread a little sideways around their year; the others stay on it. */
  function dodge(points) {
    const byYear = new Map();
    for (const p of points) {
      if (!byYear.has(p.year)) byYear.set(p.year, []);
      byYear.get(p.year).push(p);
    }
    for (const group of byYear.values()) {
      group.sort((a, b) => a.accuracy - b.accuracy);
      const runs = [];
      group.forEach((p, i) => {
        const close = i > 0 && Math.log10(err(group[i - 1].accuracy) / err(p.accuracy)) < 0.05;
        if (close) runs[runs.length - 1].push(p); else runs.push([p]);
      });
      for (const run of runs) run.forEach((p, i) => { p.x = p.year + (i - (run.length - 1) / 2) * 0.26; });
    }
  }

  let measureContext = null;
  function textWidth(text) {
    if (!measureContext) {
      measureContext = document.createElement("canvas").getContext("2d");
      measureContext.font = FONT;
    }
    return measureContext.measureText(text).width;
  }

  function overlap(a, b) {
    return Math.max(0, Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0)) * Math.max(0, Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0));
  }

  /* Offsets (in px, label anchor relative to its point) to try, nearest first. `side` is the
     preferred side: "left" for this app's models, whose points stand right of the empty years. */
  function candidates(side) {
    const out = [];
    for (const d of [10, 18, 28, 40, 54, 70, 90, 115, 145]) {
      const around = [
        { dx: d, dy: 0, anchor: "left" }, { dx: -d, dy: 0, anchor: "right" },
        { dx: 0, dy: -d, anchor: "center" }, { dx: 0, dy: d, anchor: "center" },
        { dx: d, dy: -d * 0.6, anchor: "left" }, { dx: d, dy: d * 0.6, anchor: "left" },
        { dx: -d, dy: -d * 0.6, anchor: "right" }, { dx: -d, dy: d * 0.6, anchor: "right" },
        { dx: d * 0.5, dy: -d, anchor: "left" }, { dx: d * 0.5, dy: d, anchor: "left" },
        { dx: -d * 0.5, dy: -d, anchor: "right" }, { dx: -d * 0.5, dy: d, anchor: "right" },
      ];
      const preferred = side === "left" ? around.filter((c) => c.dx < 0) : around;
      out.push(...preferred);
    }
    if (side === "left") {  // then anywhere
      for (const d of [10, 18, 28, 40, 54, 70, 90, 115, 145]) {
        out.push({ dx: d, dy: 0, anchor: "left" }, { dx: 0, dy: -d, anchor: "center" }, { dx: 0, dy: d, anchor: "center" });
      }
    }
    return out;
  }

  function box(px, py, c, width) {
    const h = FONT_SIZE + 4;
    const cx = px + c.dx, cy = py + c.dy;
    const x0 = c.anchor === "left" ? cx : c.anchor === "right" ? cx - width : cx - width / 2;
    return { x0, x1: x0 + width, y0: cy - h / 2, y1: cy + h / 2 };
  }

  /* Place every label: for each, the first candidate position that stays inside the plot and
     clear of every point and every label placed before it (or, failing that, the one that
     overlaps least). Returns Plotly annotations. */
  function placeLabels(plot, labels, reserved) {
    const full = plot._fullLayout;
    const size = full._size;
    const xa = full.xaxis, ya = full.yaxis;
    const px = (x) => xa.c2p(x), py = (y) => ya.c2p(y);
    const obstacles = [];
    for (const trace of plot.data) {
      const sizes = (trace.marker && trace.marker.size) || 2 * MARKER;
      (trace.x || []).forEach((x, i) => {
        const cx = px(x), cy = py(trace.y[i]);
        const r = Math.max(MARKER, (Array.isArray(sizes) ? sizes[i] : sizes) / 2 + 1);
        obstacles.push({ x0: cx - r, x1: cx + r, y0: cy - r, y1: cy + r });
      });
    }
    const bounds = { x0: 0, x1: size.w, y0: 0, y1: size.h };
    const placed = reserved.map((r) => r(px, py, size));
    const annotations = [];
    for (const label of labels) {
      const width = textWidth(label.text) + 6;
      const x = px(label.x), y = py(label.y);
      let best = null, bestCost = Infinity;
      for (const c of candidates(label.side)) {
        const b = box(x, y, c, width);
        if (b.x0 < bounds.x0 || b.x1 > bounds.x1 || b.y0 < bounds.y0 || b.y1 > bounds.y1) continue;
        let cost = 0;
        for (const o of obstacles) cost += overlap(b, o);
        for (const o of placed) cost += overlap(b, o);
        if (cost === 0) { best = { c, b }; break; }
        if (cost < bestCost) { bestCost = cost; best = { c, b }; }
      }
      if (!best) best = { c: { dx: 10, dy: 0, anchor: "left" }, b: box(x, y, { dx: 10, dy: 0, anchor: "left" }, width) };
      placed.push(best.b);
      const far = Math.hypot(best.c.dx, best.c.dy) > 14;
      annotations.push({
        x: label.x, y: ya.type === "log" ? Math.log10(label.y) : label.y, xref: "x", yref: "y", text: label.text,
        showarrow: true, arrowhead: 0, arrowwidth: 1, standoff: MARKER - 2,
        arrowcolor: far ? "#9aa3ad" : "rgba(0,0,0,0)",
        ax: best.c.dx, ay: best.c.dy, xanchor: best.c.anchor, yanchor: "middle",
        font: { size: FONT_SIZE, color: label.color }, bgcolor: "rgba(255,255,255,0.85)", borderpad: 1,
        captureevents: false,
      });
    }
    return annotations;
  }

  Fig.figure("accuracy-chart", async (root, fig) => {
    const data = JSON.parse(fig.$("[data-published]").textContent);
    const published = data.points;
    const plot = fig.$("[data-plot=accuracy]");
    // the chart stands without the readers' statistics and this server's models
    const optional = (url) => Fig.json(url).catch(() => null);
    const [stats, models] = await Promise.all([optional("/api/quiz/stats"), optional("/api/omniglot/models")]);
    dodge(published);
    const hover = "%{customdata[1]} (%{customdata[2]})<br>%{customdata[3]}<extra></extra>";
    const traces = GROUPS.map((group) => {
      const points = published.filter(group.test);
      return {
        x: points.map((p) => p.x), y: points.map((p) => err(p.accuracy)), name: group.name, mode: "markers",
        customdata: points.map((p) => ["#" + p.anchor, `${p.title}: ${p.text}%`, p.year, `${p.source}; ${p.split_text}; ${p.protocol}`]),
        marker: Object.assign({ color: Fig.colors.accent }, group.marker, { line: Object.assign({ color: Fig.colors.accent }, group.marker.line || {}) }),
        hovertemplate: hover,
      };
    }).filter((t) => t.x.length);
    const labels = published.map((p) => ({ x: p.x, y: err(p.accuracy), text: p.label, side: "any", color: Fig.colors.accent }));
    const mine = Fig.quizScore();
    const you = [];
    for (const [ways, symbol] of [["20", "star"], ["5", "star-open"]]) {
      const s = mine[ways];
      if (s && s.answered > 0) {
        you.push({ ways, symbol, acc: (100 * s.correct) / s.answered, n: s.answered });
      }
    }
    if (you.length) {
      traces.push({
        x: you.map(() => NOW), y: you.map((u) => err(u.acc)),
        text: you.map((u) => `you, ${u.ways}-way: ${u.acc.toFixed(0)}% (${u.n} answer${u.n === 1 ? "" : "s"})`),
        customdata: you.map(() => "/#quiz"), mode: "markers", name: "your quiz score",
        marker: { size: 20, symbol: you.map((u) => u.symbol), color: Fig.colors.pretrained, line: { width: 2, color: Fig.colors.pretrained } },
        hovertemplate: "%{text}<extra></extra>",
      });
    }
    if (stats) {
      const rows = ["20", "5"].filter((w) => stats[w] && stats[w].answers > 0);
      if (rows.length) {
        traces.push({
          x: rows.map(() => NOW + 0.3), y: rows.map((w) => err(100 * stats[w].accuracy)),
          error_y: { type: "data", symmetric: false, array: rows.map((w) => err(100 * stats[w].interval[0]) - err(100 * stats[w].accuracy)),
                     arrayminus: rows.map((w) => err(100 * stats[w].accuracy) - err(100 * stats[w].interval[1])), color: Fig.colors.maml },
          text: rows.map((w) => `all readers, ${w}-way: ${(100 * stats[w].accuracy).toFixed(1)}% (${(100 * stats[w].interval[0]).toFixed(1)}–${(100 * stats[w].interval[1]).toFixed(1)}%, ${stats[w].answers} answers)`),
          customdata: rows.map(() => "/#quiz"), mode: "markers", name: "all readers of this server",
          marker: { size: 12, symbol: rows.map((w) => (w === "20" ? "diamond" : "diamond-open")), color: Fig.colors.maml },
          hovertemplate: "%{text}<extra></extra>",
        });
      }
    }
    const short = data.labels;
    const ours = (models || []).filter((m) => m.ways === 20 && m.shots === 1)
      .map((m) => Object.assign({}, m, { year: NOW - 0.6, accuracy: 100 * m.accuracy, interval: 100 * m.interval }));
    dodge(ours);
    if (ours.length) {
      traces.push({
        x: ours.map((m) => m.x), y: ours.map((m) => err(m.accuracy)),
        error_y: { type: "data", array: ours.map((m) => m.interval), color: Fig.colors.reptile },
        text: ours.map((m) => `this app: ${m.title}, ${m.accuracy.toFixed(1)} ± ${m.interval.toFixed(1)}%`),
        customdata: ours.map(() => "/comparison#measured"),
        mode: "markers", name: "trained by this app (test alphabets)", marker: { size: 10, symbol: "square", color: Fig.colors.reptile },
        hovertemplate: "%{text}<extra></extra>",
      });
      for (const m of ours) {
        labels.push({ x: m.x, y: err(m.accuracy), text: `${short[m.method] || m.title} ${m.accuracy.toFixed(1)}%`,
                      side: "left", color: Fig.colors.reptile });
      }
    }
    const people = data.people;
    const worst = Math.max(...traces.flatMap((t) => t.y.map((y, i) => y + ((t.error_y && t.error_y.array[i]) || 0))));
    const bottomError = Math.min(100, worst * 1.2);
    const ticks = [10, 30, 50, 70, 80, 90, 95, 97, 98].filter((a) => 100 - a <= bottomError && 100 - a >= TOP_ERROR);
    const narrow = plot.clientWidth < 600;
    const layout = {
      title: { text: "Omniglot 20-way 1-shot accuracy", font: { size: 15 } },
      xaxis: Fig.axis("year", { range: [narrow ? 2010.5 : 2009.5, NOW + 1], dtick: narrow ? 4 : 1, tickangle: 0 }),
      yaxis: Fig.axis("accuracy (%), spaced by error rate", {
        type: "log", range: [Math.log10(bottomError), Math.log10(TOP_ERROR * 0.9)],
        tickvals: ticks.map((a) => 100 - a), ticktext: ticks.map(String),
      }),
      height: narrow ? 780 : 600,
      margin: { l: 52, r: 12, t: 40, b: narrow ? 190 : 120 },
      legend: { orientation: "h", x: 0, y: narrow ? -0.12 : -0.14, yanchor: "top", font: { size: 12 } },
      shapes: [{ type: "line", xref: "paper", x0: 0, x1: 1, y0: err(people.accuracy), y1: err(people.accuracy),
                 line: { color: Fig.colors.target, width: 1, dash: "dot" } }],
    };
    const peopleLabel = { xref: "x", x: 2019.7, y: Math.log10(err(people.accuracy)), yref: "y", yanchor: "bottom", xanchor: "left", showarrow: false,
                          text: narrow ? `people ${people.accuracy}%` : `people, ${people.accuracy}% (${people.source})`, font: { size: 10, color: Fig.colors.target } };
    await Fig.draw(plot, traces, layout);
    // The people line's caption sits just above the line at the left edge: keep labels off it.
    const peopleBox = (px, py) => {
      const x = px(peopleLabel.x), y = py(err(people.accuracy));
      return { x0: x, x1: x + textWidth(peopleLabel.text) + 8, y0: y - FONT_SIZE - 4, y1: y };
    };
    const relabel = () => {
      const annotations = placeLabels(plot, labels, [peopleBox]);
      Plotly.relayout(plot, { annotations: [peopleLabel].concat(annotations) });
    };
    relabel();
    let pending = null;
    window.addEventListener("resize", () => {
      clearTimeout(pending);
      pending = setTimeout(relabel, 200);
    });
    plot.on("plotly_click", (event) => {
      const point = event.points[0];
      const target = Array.isArray(point.customdata) ? point.customdata[0] : point.customdata;
      if (!target) return;
      if (target.startsWith("#")) {
        const section = document.getElementById(target.slice(1));
        if (section) section.scrollIntoView({ behavior: "smooth" });
        history.replaceState(null, "", target);
      } else {
        window.location.href = target;
      }
    });
    if (!you.length) fig.status("Take the quiz on the first page and your score appears here.");
  });
})();
