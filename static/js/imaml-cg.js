/* Figure: conjugate-gradient iterates towards iMAML's implicit gradient, and their error against the bound. */
"use strict";

(function () {
  const START = [-1.0, 2.0];  // the θ of the iMAML landscape figure until the reader moves it
  const CG_STEPS = 6;

  function setup(root) {
    const $ = (selector) => root.querySelector(selector);
    const iterPlot = $("[data-plot=iterates]");
    const errPlot = $("[data-plot=errors]");
    const statusLine = $("[data-status]");
    const readout = $("[data-readout]");
    const state = { theta: START.slice(), lam: 1, damping: 0, shown: CG_STEPS, result: null };
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
      Fig.drawPlane(iterPlot, traces, {
        title: { text: "Iterates in the plane of g", font: { size: 14 }, x: 0.02, xanchor: "left", yref: "container", y: 1, yanchor: "top", pad: { t: 8 } },
        xaxis: Fig.axis("first component (∂/∂w₀)", { zeroline: true }),
        yaxis: Fig.axis("second component (∂/∂w₁)", { scaleanchor: "x", zeroline: true }),
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
      errTraces.push({
        x: [n, n], y: [0, 1], yaxis: "y2", mode: "lines", showlegend: false, hoverinfo: "skip",
        line: { color: "#9aa3ad", width: 1, dash: "dot" },
      });
      Fig.draw(errPlot, errTraces, {
        title: { text: "Error against iteration", font: { size: 14 }, x: 0.02, xanchor: "left", yref: "container", y: 1, yanchor: "top", pad: { t: 8 } },
        height: iterPlot._fullLayout ? iterPlot._fullLayout.height : 420,
        margin: iterPlot._fullLayout ? Object.assign({}, iterPlot.layout.margin) : { l: 56, r: 12, t: 84, b: 64 },
        legend: { orientation: "h", x: 0, y: 1.005, xanchor: "left", yanchor: "bottom", font: { size: 12 } },
        xaxis: Fig.axis("conjugate-gradient iteration n", { dtick: 1, range: [-0.2, steps.length - 0.8] }),
        yaxis: Fig.axis("error (log scale)", { type: "log", exponentformat: "power" }),
        yaxis2: { overlaying: "y", range: [0, 1], visible: false },
      });
      const kappa = r.condition.map((k) => (k === null ? "∞ (A not positive definite)" : Fig.fmt(k, 2)));
      readout.textContent =
        `θ = ${Fig.pair(r.theta, 2)}, λ = ${Fig.fmt(r.lam, 2)}, μ = ${Fig.fmt(r.damping, 2)}: κ = ${kappa[0]} (task 1), ${kappa[1]} (task 2). ` +
        `After ${n} iteration${n === 1 ? "" : "s"} the errors ‖gₙ − g‖_A are ${r.errors_a[n].map((e) => e.toExponential(1)).join(" and ")}.`;
    }

    const request = Fig.latest(async () => {
      const body = { theta: state.theta, lam: state.lam, damping: state.damping, cg_steps: CG_STEPS };
      try {
        state.result = await Fig.postJSON("/api/landscape/imaml-cg", body);
        Fig.status(statusLine, "");
        render();
      } catch (error) {
        Fig.status(statusLine, error.message, true);
      }
    });

    const show = { lam: (v) => (v < 10 ? v.toFixed(2) : v.toFixed(0)), damping: (v) => v.toFixed(2), shown: (v) => String(v) };
    function setLam(lam) {
      state.lam = lam;
      $("[data-out=lam]").textContent = show.lam(lam);
    }
    $("input[name=lam]").addEventListener("input", (event) => {
      setLam(Math.round(10 ** parseFloat(event.target.value) * 1000) / 1000);
      request();
    });
    $("input[name=damping]").addEventListener("input", (event) => {
      state.damping = parseFloat(event.target.value);
      $("[data-out=damping]").textContent = show.damping(state.damping);
      request();
    });
    const shown = $("input[name=shown]");
    shown.addEventListener("input", () => {
      state.shown = parseInt(shown.value, 10);
      $("[data-out=shown]").textContent = shown.value;
      render();
    });
    let timer = null;
    $("[data-action=play]").addEventListener("click", () => {
      if (timer) clearInterval(timer);
      let n = 0;
      timer = setInterval(() => {
        shown.value = n;
        shown.dispatchEvent(new Event("input"));
        if (++n > CG_STEPS) { clearInterval(timer); timer = null; }
      }, 600);
    });
    window.addEventListener("imaml-theta", (event) => {  // follow θ and λ of the figure above
      state.theta = event.detail.theta;
      setLam(event.detail.lam);
      $("input[name=lam]").value = Math.log10(event.detail.lam);
      request();
    });
    window.addEventListener("resize", () => render());
    request();
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("[data-figure=imaml-cg]").forEach(setup);
  });
})();
