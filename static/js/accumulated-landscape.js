/* Figure: the accumulated meta-loss F_m over the two-task toy plane, for m = 0 … max_steps inner steps. */
"use strict";

(function () {
  const FLOOR = 1e-2;

  Fig.figure("accumulated-landscape", (root, fig) => {
    const plot = fig.$("[data-plot=surface]");
    const state = { m: 0, data: null, logs: null, ranges: null };
    const maxSteps = fig.defaults.max_steps;

    // the surface of one m, drawn once into its own page of the flipbook (see render)
    function draw(m, element) {
      const d = state.data;
      const z = state.logs[m];
      const [zmin, zmax] = state.ranges[m];
      const trail = d.meta_minima.slice(0, m + 1);
      const traces = [
        Fig.lossHeatmap({ xs: d.xs, ys: d.ys, z, zmin, zmax }, `F<sub>${m}</sub>(θ), both tasks' loss after ${m} step${m === 1 ? "" : "s"}`, `F_${m}`),
        {
          type: "contour", x: d.xs, y: d.ys, z, showscale: false, hoverinfo: "skip", showlegend: false,
          ncontours: 14, contours: { coloring: "none" }, line: { color: "rgba(255,255,255,0.4)", width: 0.8 },
        },
        {
          x: trail.map((p) => p[0]), y: trail.map((p) => p[1]), mode: "lines", name: "trail of the minimum",
          line: { color: "#e6ab02", width: 3 }, hoverinfo: "skip",
        },
        Fig.optimaTrace(d.task_minima, "task optima", {
          mode: "markers+text", text: ["task 1", "task 2"], textposition: "top center", textfont: { color: "#ffffff", size: 12 },
        }),
        {
          x: [d.meta_minima[0][0]], y: [d.meta_minima[0][1]], mode: "markers", name: "pretrained optimum (m = 0)",
          marker: { symbol: "diamond", size: 13, color: Fig.colors.pretrained, line: { width: 1.5, color: "#ffffff" } },
        },
        {
          x: [d.meta_minima[m][0]], y: [d.meta_minima[m][1]], mode: "markers", name: `minimum of F<sub>${m}</sub>`,
          marker: { symbol: "star", size: 17, color: Fig.colors.maml, line: { width: 1.5, color: "#ffffff" } },
        },
      ];
      return Fig.drawPlane(element, traces, Fig.weightAxes(d.box, "w₀ (slope of the neuron)"));
    }

    // each m changes the whole surface, its contours and its colour bar: a full drawing (some
    // 40 ms), so every m is drawn once and the slider swaps the drawings
    const book = fig.flipbook(plot, maxSteps + 1, draw);

    function render() {
      const d = state.data;
      if (!d) return;
      const m = state.m;
      book.show(m);
      const best = d.meta_minima[m];
      const pre = d.meta_minima[0];
      fig.status(
        `m = ${m}: the minimum of F${Fig.sub(m)} is ${Fig.fmt(d.meta_minimum_values[m])} at θ = ${Fig.pair(best, 2)}` +
        (m ? `; the pretrained optimum is at ${Fig.pair(pre, 2)}.` : " (the pretrained optimum)."));
    }

    const slider = fig.slider("m", (v) => parseInt(v, 10), String, (m) => { state.m = m; render(); });
    fig.$("[data-action=play]").addEventListener("click", () => fig.play(maxSteps, 300, (m) => {
      slider.value = m;
      slider.dispatchEvent(new Event("input"));
    }));

    fig.load(Fig.json("/api/landscape/toy", fig.defaults), (data) => {
      state.data = data;
      state.logs = data.meta_losses.map((z) => Fig.logColor(z, FLOOR));
      state.ranges = state.logs.map(Fig.extent);  // each landscape spans the whole colour scale
      render();
    });
  });
})();
