/* Figure: two task landscapes side by side, a draggable θ and each task's inner step θ → φ_i. */
"use strict";

(function () {
  const START = [0.5, -0.5];
  const FLOOR = 1e-2;
  const TASK_COLORS = Fig.taskColors;

  function setup(root) {
    const $ = (selector) => root.querySelector(selector);
    const panels = Array.from(root.querySelectorAll("[data-plot=task]"));
    const statusLine = $("[data-status]");
    const readout = $("[data-readout]");
    const state = { theta: START.slice(), alpha: 0.3, surfaces: null, result: null };

    const round3 = (v) => Math.round(v * 1000) / 1000;

    function render() {
      const s = state.surfaces;
      if (!s) return;
      const r = state.result;
      const [tx, ty] = state.theta;
      panels.forEach((plot, i) => {
        const traces = [
          {
            type: "heatmap", zsmooth: "fast", x: s.xs, y: s.ys, z: s.logs[i], zmin: s.zmin, zmax: s.zmax, ...Fig.lossScale,
            colorbar: Fig.lossColorbar(`L<sub>${i + 1}</sub>(θ), loss of task ${i + 1}`, s.zmin, s.zmax),
            hovertemplate: "w₀ %{x:.2f}, w₁ %{y:.2f}<extra></extra>", showlegend: false, name: `task ${i + 1} loss`,
          },
          {
            x: [s.minima[i][0]], y: [s.minima[i][1]], mode: "markers", name: `task ${i + 1} optimum`,
            marker: Fig.markers.optimum,
          },
        ];
        if (r) {
          const phi = r.phi[i];
          traces.push({
            ...Fig.arrow(r.theta[0], r.theta[1], phi[0], phi[1], 0.22), mode: "lines", name: `inner step θ → φ${Fig.sub(i + 1)}`,
            line: { color: TASK_COLORS[i], width: 3.5 }, hoverinfo: "skip",
          });
          traces.push({
            x: [phi[0]], y: [phi[1]], mode: "markers", name: `φ${Fig.sub(i + 1)}`, showlegend: false,
            marker: { size: 7, color: TASK_COLORS[i], line: { width: 1, color: "#1d1f21" } },
            hovertemplate: `φ${Fig.sub(i + 1)} = (%{x:.3f}, %{y:.3f})<extra></extra>`,
          });
        }
        traces.push({
          x: [tx], y: [ty], mode: "markers", name: "θ (drag me)",
          marker: Fig.markers.theta,
          hovertemplate: "θ = (%{x:.3f}, %{y:.3f})<extra></extra>",
        });
        const losses = r ? r.losses[i] : null;
        Fig.drawPlane(plot, traces, {
          title: {
            text: `Task ${i + 1}` + (losses ? `: L<sub>${i + 1}</sub>(θ) = ${Fig.fmt(losses[0])} → L<sub>${i + 1}</sub>(φ<sub>${i + 1}</sub>) = ${Fig.fmt(losses[1])}` : ""),
            font: { size: 14 }, x: 0.02, xanchor: "left", yref: "container", y: 1, yanchor: "top", pad: { t: 8 },
          },
          xaxis: Fig.axis("w₀ (slope)", { range: [s.box[0], s.box[1]], constrain: "domain" }),
          yaxis: Fig.axis("w₁ (offset)", { range: [s.box[2], s.box[3]], scaleanchor: "x", constrain: "domain" }),
        });
      });
      if (r) {
        readout.innerHTML = "";
        const strong = document.createElement("strong");
        strong.textContent = `MAML's meta-loss at θ = ${Fig.pair(r.theta, 2)}: L₁(φ₁) + L₂(φ₂) = ${Fig.fmt(r.meta_loss)}`;
        readout.append(strong, document.createTextNode(
          ` · before adaptation, L₁(θ) + L₂(θ) = ${Fig.fmt(r.loss_before)} (the pretrained objective).`));
      }
    }

    const request = Fig.latest(async () => {
      const body = { theta: state.theta.map(round3), alpha: state.alpha };
      try {
        state.result = await Fig.postJSON("/api/landscape/two-tasks", body);
        Fig.status(statusLine, "");
        render();
      } catch (error) {
        Fig.status(statusLine, error.message, true);
      }
    });

    function moveTo(x, y) {
      state.theta = [x, y];
      request();
    }
    panels.forEach((plot) => Fig.onPlotDrag(plot, (x, y) => moveTo(x, y)));

    $("input[name=alpha]").addEventListener("input", (event) => {
      state.alpha = parseFloat(event.target.value);
      $("[data-out=alpha]").textContent = state.alpha.toFixed(2);
      request();
    });
    $("[data-action=reset]").addEventListener("click", () => moveTo(...START));
    window.addEventListener("resize", () => render());

    Fig.postJSON("/api/landscape/toy", { n: 101, max_steps: 0 })
      .then((data) => {
        const logs = data.task_losses.map((z) => Fig.logColor(z, FLOOR));
        let zmax = -Infinity;
        logs.forEach((z) => z.forEach((row) => row.forEach((v) => { if (v > zmax) zmax = v; })));
        state.surfaces = { xs: data.xs, ys: data.ys, box: data.box, logs, minima: data.tasks, zmin: Math.log10(FLOOR), zmax };
        render();
        request();
      })
      .catch((error) => Fig.status(statusLine, error.message, true));
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("[data-figure=two-tasks]").forEach(setup);
  });
})();
