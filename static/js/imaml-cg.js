/* Figure: conjugate-gradient iterates towards iMAML's implicit gradient, and their error against the bound. */
"use strict";

(function () {

  Fig.figure("imaml-cg", (root, fig) => {
    const iterPlot = fig.$("[data-plot=iterates]");
    const errPlot = fig.$("[data-plot=errors]");
    const readout = fig.$("[data-readout]");
    // starts at the θ and λ of the iMAML landscape figure, until the reader moves them there
    const state = { ...fig.defaults, shown: fig.defaults.cg_steps, result: null, ranges: {} };
    const colors = Fig.taskColors;

    function render() {
      const r = state.result;
      if (!r) return;
      const n = Math.min(state.shown, r.iterates.length - 1);
      const traces = [];
      [0, 1].forEach((t) => {
        const path = r.iterates.slice(0, n + 1).map((step) => step[t]);
        traces.push({
          x: path.map((p) => p[0]), y: path.map((p) => p[1]), mode: "lines+markers", name: `task ${t + 1}: g<sub>0</sub> … g<sub>${n}</sub>`,
          line: { color: colors[t], width: 2 }, marker: { size: 8, color: colors[t] },
          hovertemplate: `task ${t + 1}, g<sub>%{pointNumber}</sub> = (%{x:.4f}, %{y:.4f})<extra></extra>`,
        });
        traces.push({
          x: [r.query_gradient[t][0]], y: [r.query_gradient[t][1]], mode: "markers", showlegend: t === 0,
          name: "∇L<sup>Q</sup>(φ*), first-order", legendgroup: "v",
          marker: { symbol: "circle-open", size: 12, color: colors[t], line: { width: 2.5 } },
          hovertemplate: `task ${t + 1}: ∇L<sup>Q</sup>(φ*) = (%{x:.4f}, %{y:.4f})<extra></extra>`,
        });
        traces.push({
          x: [r.exact[t][0]], y: [r.exact[t][1]], mode: "markers", showlegend: t === 0, name: "exact solution g",
          legendgroup: "exact", marker: { symbol: "star", size: 16, color: colors[t], line: { width: 1, color: "#1d1f21" } },
          hovertemplate: `task ${t + 1}: g = (%{x:.4f}, %{y:.4f})<extra></extra>`,
        });
      });
      // fixed ranges that hold every iterate, kept while they fit: a slide moves the traces only
      const points = [0, 1].flatMap((t) => r.iterates.map((step) => step[t]).concat([r.query_gradient[t], r.exact[t]]));
      const ranges = state.ranges;
      ranges.x = Fig.steadyRange(ranges.x, points.map((p) => p[0]));
      ranges.y = Fig.steadyRange(ranges.y, points.map((p) => p[1]));
      Fig.drawPlane(iterPlot, traces, {
        title: Fig.panelTitle("Iterates in the plane of g"),
        xaxis: Fig.axis("first component (∂/∂w₀)", { zeroline: true, range: ranges.x }),
        yaxis: Fig.axis("second component (∂/∂w₁)", { scaleanchor: "x", zeroline: true, range: ranges.y }),
      }, { colorbar: false });

      const steps = r.errors.map((_, j) => j);
      const floor = 1e-9;
      const errTraces = [];
      [0, 1].forEach((t) => {
        errTraces.push({
          x: steps, y: r.errors_a.map((e) => Math.max(e[t], floor)), mode: "lines+markers", name: `task ${t + 1}: error ‖g<sub>n</sub> − g‖<sub>A</sub>`,
          line: { color: colors[t], width: 2.5 }, marker: { size: 7 },
          hovertemplate: `task ${t + 1}, n = %{x}: error %{y:.2e}<extra></extra>`,
        });
        errTraces.push({
          x: steps, y: r.bound.map((b) => (b === null ? null : Math.max(b[t], floor))), mode: "lines", name: `task ${t + 1}: bound`,
          line: { color: colors[t], width: 1.5, dash: "dash" },
          hovertemplate: `task ${t + 1}, n = %{x}: bound %{y:.2e}<extra></extra>`,
        });
      });
      // the log axis's range in decades, kept while it fits (as in the plane above)
      ranges.err = Fig.steadyRange(ranges.err, errTraces.flatMap((e) => e.y).map((v) => (v === null ? null : Math.log10(v))), 0.06);
      errTraces.push({
        x: [n, n], y: [0, 1], yaxis: "y2", mode: "lines", showlegend: false, hoverinfo: "skip",
        line: { color: "#9aa3ad", width: 1, dash: "dot" },
      });
      Fig.draw(errPlot, errTraces, {
        title: Fig.panelTitle("Error against iteration"),
        height: iterPlot._fullLayout ? iterPlot._fullLayout.height : 420,
        margin: iterPlot._fullLayout ? Object.assign({}, iterPlot.layout.margin) : { l: 56, r: 12, t: 84, b: 64 },
        legend: { orientation: "h", x: 0, y: 1.005, xanchor: "left", yanchor: "bottom", font: { size: 12 } },
        xaxis: Fig.axis("conjugate-gradient iteration n", { dtick: 1, range: [-0.2, steps.length - 0.8] }),
        yaxis: Fig.axis("error (log scale)", { type: "log", exponentformat: "power", range: ranges.err }),
        yaxis2: { overlaying: "y", range: [0, 1], visible: false },
      });
      const kappa = r.condition.map((k) => (k === null ? "∞ (A not positive definite)" : Fig.fmt(k, 2)));
      readout.textContent =
        `θ = ${Fig.pair(r.theta, 2)}, λ = ${Fig.fmt(r.lam, 2)}, μ = ${Fig.fmt(r.damping, 2)}: κ = ${kappa[0]} (task 1), ${kappa[1]} (task 2). ` +
        `After ${n} iteration${n === 1 ? "" : "s"} the errors ‖gₙ − g‖_A are ${r.errors_a[n].map((e) => e.toExponential(1)).join(" and ")}.`;
    }

    const request = fig.request("/api/landscape/imaml-cg",
      () => ({ theta: state.theta, lam: state.lam, damping: state.damping, cg_steps: state.cg_steps }),
      (result) => { state.result = result; render(); });

    const showLam = (v) => (v < 10 ? v.toFixed(2) : v.toFixed(0));
    const lamInput = fig.slider("lam", (v) => Fig.round3(10 ** parseFloat(v)), showLam, (lam) => { state.lam = lam; request(); });
    fig.slider("damping", parseFloat, (v) => v.toFixed(2), (v) => { state.damping = v; request(); });
    const shown = fig.slider("shown", (v) => parseInt(v, 10), String, (n) => { state.shown = n; render(); });
    fig.$("[data-action=play]").addEventListener("click", () => fig.play(state.cg_steps, 600, (n) => {
      shown.value = n;
      shown.dispatchEvent(new Event("input"));
    }));
    Fig.on("imaml-theta", (detail) => {  // follow θ and λ of the figure above
      state.theta = detail.theta;
      state.lam = detail.lam;
      fig.$("[data-out=lam]").textContent = showLam(detail.lam);
      lamInput.value = Math.log10(detail.lam);
      request();
    });
    fig.redraw(render);
    request();
  });
})();
