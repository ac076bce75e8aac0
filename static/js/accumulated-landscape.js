/* Figure: the accumulated meta-loss F_m over the two-task toy plane, for m = 0 … 20 inner steps. */
"use strict";

(function () {
  const MAX_STEPS = 20;
  const FLOOR = 1e-2;

  function setup(root) {
    const $ = (selector) => root.querySelector(selector);
    const plot = $("[data-plot=surface]");
    const slider = $("input[name=m]");
    const statusLine = $("[data-status]");
    const state = { m: 0, data: null, logs: null, ranges: null };

    function render() {
      const d = state.data;
      if (!d) return;
      const m = state.m;
      const z = state.logs[m];
      const [zmin, zmax] = state.ranges[m];
      const trail = d.meta_minima.slice(0, m + 1);
      const traces = [
        {
          type: "heatmap", zsmooth: "fast", x: d.xs, y: d.ys, z, zmin, zmax, ...Fig.lossScale,
          colorbar: Fig.lossColorbar(`F<sub>${m}</sub>(θ), both tasks' loss after ${m} step${m === 1 ? "" : "s"}`, zmin, zmax),
          hovertemplate: "w₀ %{x:.2f}, w₁ %{y:.2f}<extra></extra>", name: `F_${m}`, showlegend: false,
        },
        {
          type: "contour", x: d.xs, y: d.ys, z, showscale: false, hoverinfo: "skip", showlegend: false,
          ncontours: 14, contours: { coloring: "none" }, line: { color: "rgba(255,255,255,0.4)", width: 0.8 },
        },
        {
          x: trail.map((p) => p[0]), y: trail.map((p) => p[1]), mode: "lines", name: "trail of the minimum",
          line: { color: "#e6ab02", width: 3 }, hoverinfo: "skip",
        },
        {
          x: d.task_minima.map((p) => p[0]), y: d.task_minima.map((p) => p[1]), mode: "markers+text",
          name: "task optima", text: ["task 1", "task 2"], textposition: "top center", hoverinfo: "skip",
          textfont: { color: "#ffffff", size: 12 },
          marker: Fig.markers.optimum,
        },
        {
          x: [d.meta_minima[0][0]], y: [d.meta_minima[0][1]], mode: "markers", name: "pretrained optimum (m = 0)",
          marker: { symbol: "diamond", size: 13, color: Fig.colors.pretrained, line: { width: 1.5, color: "#ffffff" } },
        },
        {
          x: [d.meta_minima[m][0]], y: [d.meta_minima[m][1]], mode: "markers", name: `minimum of F<sub>${m}</sub>`,
          marker: { symbol: "star", size: 17, color: Fig.colors.maml, line: { width: 1.5, color: "#ffffff" } },
        },
      ];
      Fig.drawPlane(plot, traces, {
        xaxis: Fig.axis("w₀ (slope of the neuron)", { range: [d.box[0], d.box[1]], constrain: "domain" }),
        yaxis: Fig.axis("w₁ (offset)", { range: [d.box[2], d.box[3]], scaleanchor: "x", constrain: "domain" }),
      });
      const best = d.meta_minima[m];
      const pre = d.meta_minima[0];
      Fig.status(statusLine,
        `m = ${m}: the minimum of F${Fig.sub(m)} is ${Fig.fmt(d.meta_minimum_values[m])} at θ = ${Fig.pair(best, 2)}` +
        (m ? `; the pretrained optimum is at ${Fig.pair(pre, 2)}.` : " (the pretrained optimum)."));
    }

    slider.addEventListener("input", () => {
      state.m = parseInt(slider.value, 10);
      $("[data-out=m]").textContent = slider.value;
      render();
    });
    let timer = null;
    $("[data-action=play]").addEventListener("click", () => {
      if (timer) clearInterval(timer);
      let m = 0;
      timer = setInterval(() => {
        slider.value = m;
        slider.dispatchEvent(new Event("input"));
        if (++m > MAX_STEPS) { clearInterval(timer); timer = null; }
      }, 300);
    });
    window.addEventListener("resize", () => render());

    Fig.postJSON("/api/landscape/toy", { n: 101, max_steps: MAX_STEPS })
      .then((data) => {
        state.data = data;
        state.logs = data.meta_losses.map((z) => Fig.logColor(z, FLOOR));
        state.ranges = state.logs.map(Fig.extent);  // each landscape spans the whole colour scale
        render();
      })
      .catch((error) => Fig.status(statusLine, error.message, true));
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("[data-figure=accumulated-landscape]").forEach(setup);
  });
})();
