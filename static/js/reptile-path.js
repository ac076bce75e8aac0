/* Figure: Reptile's inner paths from a draggable θ, the average end point and the interpolated new θ. */
"use strict";

(function () {
  const FLOOR = 1e-1;
  const TASK_COLORS = Fig.taskColors;

  Fig.figure("reptile-path", (root, fig) => {
    const plot = fig.$("[data-plot=paths]");
    const readout = fig.$("[data-readout]");
    const start = fig.defaults.theta;
    const state = { ...fig.defaults, theta: start.slice(), surface: null, result: null };

    function render() {
      const s = state.surface;
      if (!s) return;
      const r = state.result;
      const traces = [
        Fig.lossHeatmap(s, "L₁(θ) + L₂(θ) before adaptation", "summed loss"),
        Fig.optimaTrace(s.minima, "task optima", {
          mode: "markers+text", text: ["task 1", "task 2"], textposition: "bottom center", textfont: { color: "#ffffff", size: 12 },
        }),
      ];
      if (r) {
        r.paths.forEach((path, i) => traces.push({
          x: path.map((p) => p[0]), y: path.map((p) => p[1]), mode: "lines+markers", name: `task ${i + 1}: φ<sub>0</sub> … φ<sub>${r.inner_steps}</sub>`,
          line: { color: TASK_COLORS[i], width: 2.5, dash: "dot" }, marker: { size: 6, color: TASK_COLORS[i] },
          hovertemplate: `task ${i + 1}, φ<sub>%{pointNumber}</sub> = (%{x:.3f}, %{y:.3f})<extra></extra>`,
        }));
        traces.push({
          x: [r.target[0]], y: [r.target[1]], mode: "markers", name: "φ̄, average end point",
          marker: { symbol: "diamond", size: 11, color: "#ffffff", line: { width: 1.5, color: "#1d1f21" } },
        });
        traces.push({
          ...Fig.arrow(r.theta[0], r.theta[1], r.new_theta[0], r.new_theta[1], 0.15), mode: "lines",
          name: "Reptile's step θ + β(φ̄ − θ)", line: { color: Fig.colors.reptile, width: 3 }, hoverinfo: "skip",
        });
        traces.push({
          x: [r.new_theta[0]], y: [r.new_theta[1]], mode: "markers", name: "new θ", showlegend: false,
          marker: { size: 11, color: Fig.colors.reptile, line: { width: 1.5, color: "#ffffff" } },
          hovertemplate: "new θ = (%{x:.4f}, %{y:.4f})<extra></extra>",
        });
        traces.push({
          x: [r.gradient_step[0]], y: [r.gradient_step[1]], mode: "markers", name: "plain gradient step, size αβ",
          marker: { symbol: "circle-open", size: 17, color: Fig.colors.pretrained, line: { width: 2.5 } },
          hovertemplate: "gradient step = (%{x:.4f}, %{y:.4f})<extra></extra>",
        });
      }
      traces.push(Fig.thetaTrace(state.theta));
      Fig.drawPlane(plot, traces, Fig.weightAxes(s.box));
    }

    function showReadout(r) {
      readout.textContent =
        `k = ${r.inner_steps}, β = ${Fig.fmt(r.beta, 2)}: Reptile moves θ = ${Fig.pair(r.theta, 3)} to ${Fig.pair(r.new_theta, 4)}; ` +
        `a plain gradient step on the summed loss, θ − αβ∇½(L₁ + L₂)(θ), gives ${Fig.pair(r.gradient_step, 4)}` +
        (r.inner_steps === 1 ? " — the same point: with one inner step Reptile is gradient descent on the pretrained objective." : ".");
    }

    const request = fig.request("/api/landscape/reptile",
      () => ({ theta: state.theta.map(Fig.round3), inner_steps: state.inner_steps, beta: state.beta, alpha: state.alpha }),
      (result) => { state.result = result; render(); showReadout(result); });

    // θ follows the pointer every frame; the paths follow when the server answers
    Fig.dragTheta(plot, (theta) => { state.theta = theta; render(); request(); });
    const update = (name) => (v) => { state[name] = v; request(); };
    fig.slider("inner_steps", (v) => parseInt(v, 10), String, update("inner_steps"));
    fig.slider("beta", parseFloat, (v) => v.toFixed(2), update("beta"));
    fig.slider("alpha", parseFloat, (v) => v.toFixed(2), update("alpha"));
    fig.$("[data-action=reset]").addEventListener("click", () => { state.theta = start.slice(); request(); });
    fig.redraw(render);

    fig.load(Fig.combinedSurface(fig.surface, FLOOR), (surface) => {
      state.surface = surface;
      render();
      request();
    });
  });
})();
