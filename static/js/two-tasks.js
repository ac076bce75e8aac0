/* Figure: two task landscapes side by side, a draggable θ and each task's inner step θ → φ_i. */
"use strict";

(function () {
  const FLOOR = 1e-2;
  const TASK_COLORS = Fig.taskColors;

  Fig.figure("two-tasks", (root, fig) => {
    const panels = fig.$$("[data-plot=task]");
    const readout = fig.$("[data-readout]");
    const start = fig.defaults.theta;
    const state = { theta: start.slice(), alpha: fig.defaults.alpha, surfaces: null, result: null };

    function render() {
      const s = state.surfaces;
      if (!s) return;
      const r = state.result;
      panels.forEach((plot, i) => {
        const traces = [
          Fig.lossHeatmap({ ...s, z: s.logs[i] }, `L<sub>${i + 1}</sub>(θ), loss of task ${i + 1}`, `task ${i + 1} loss`),
          Fig.optimaTrace([s.minima[i]], `task ${i + 1} optimum`, { hoverinfo: "all" }),
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
        traces.push(Fig.thetaTrace(state.theta));
        // the losses go to the readout: a title that changes with every answer is a relayout each time
        Fig.drawPlane(plot, traces, { title: Fig.panelTitle(`Task ${i + 1}`), ...Fig.weightAxes(s.box) });
      });
    }

    function showReadout(r) {
      readout.innerHTML = "";
      const strong = document.createElement("strong");
      strong.textContent = `MAML's meta-loss at θ = ${Fig.pair(r.theta, 2)}: L₁(φ₁) + L₂(φ₂) = ${Fig.fmt(r.meta_loss)}`;
      const steps = r.losses.map((l, i) => `task ${i + 1}: L${Fig.sub(i + 1)}(θ) = ${Fig.fmt(l[0])} → L${Fig.sub(i + 1)}(φ${Fig.sub(i + 1)}) = ${Fig.fmt(l[1])}`);
      readout.append(strong, document.createTextNode(
        ` · before adaptation, L₁(θ) + L₂(θ) = ${Fig.fmt(r.loss_before)} (the pretrained objective). Each step: ${steps.join("; ")}.`));
    }

    const request = fig.request("/api/landscape/two-tasks",
      () => ({ theta: state.theta.map(Fig.round3), alpha: state.alpha }),
      (result) => { state.result = result; render(); showReadout(result); });

    // θ follows the pointer every frame; the inner steps follow when the server answers
    function moveTo(theta) {
      state.theta = theta;
      render();
      request();
    }
    Fig.dragTheta(panels, moveTo);
    fig.slider("alpha", parseFloat, (v) => v.toFixed(2), (v) => { state.alpha = v; request(); });
    fig.$("[data-action=reset]").addEventListener("click", () => moveTo(start.slice()));
    fig.redraw(render);

    fig.load(Fig.json("/api/landscape/toy", fig.surface), (data) => {
      const logs = data.task_losses.map((z) => Fig.logColor(z, FLOOR));
      const zmax = Math.max(...logs.map((z) => Fig.extent(z)[1]));
      state.surfaces = { xs: data.xs, ys: data.ys, box: data.box, logs, minima: data.tasks, zmin: Math.log10(FLOOR), zmax };
      render();
      request();
    });
  });
})();
