/* Figure: iMAML's regularised inner objective for a draggable θ and a λ slider, and the balance of
   forces at its minimiser φ*. Announces θ and λ to the CG figure on the same page ("imaml-theta"). */
"use strict";

(function () {
  const FLOOR = 1e-2;
  const FORCE_LENGTH = 0.9;
  const SPRING = "#00bcd4";  // display length, in parameter units, of the (equal) forces

  Fig.figure("imaml-landscape", (root, fig) => {
    const lossPlot = fig.$("[data-plot=loss]");
    const regPlot = fig.$("[data-plot=regularised]");
    const readout = fig.$("[data-readout]");
    const start = fig.defaults.theta;
    const state = { theta: start.slice(), lam: fig.defaults.lam, task: fig.defaults.task, toy: null, result: null, colors: null };

    function common(r, t) {
      const traces = [];
      traces.push(Fig.optimaTrace([state.toy.tasks[t]], "task optimum"));
      if (r) {
        traces.push({
          x: [r.theta[0], r.phi[t][0]], y: [r.theta[1], r.phi[t][1]], mode: "lines", name: "spring θ – φ*",
          line: { color: SPRING, width: 2, dash: "dot" }, hoverinfo: "skip",
        });
        traces.push({
          x: [r.phi[t][0]], y: [r.phi[t][1]], mode: "markers", name: "φ*, inner optimum",
          marker: { size: 11, color: Fig.colors.imaml, line: { width: 1.5, color: "#ffffff" } },
          hovertemplate: "φ* = (%{x:.3f}, %{y:.3f})<extra></extra>",
        });
      }
      traces.push(Fig.thetaTrace(state.theta));
      return traces;
    }

    const layout = (title) => ({ title: Fig.panelTitle(title), ...Fig.weightAxes(state.toy.box) });

    function render() {
      const toy = state.toy;
      if (!toy) return;
      const r = state.result && state.result.task === state.task ? state.result : null;
      const t = state.task - 1;
      const [zmin, zmax] = toy.ranges[t];
      const left = [
        Fig.lossHeatmap({ xs: toy.xs, ys: toy.ys, z: toy.logs[t], zmin, zmax }, `L<sup>S</sup>(φ): support loss of task ${state.task}`, "support loss"),
      ].concat(common(r, t));
      if (!r) {
        Fig.drawPlane(lossPlot, left, layout(`Task ${state.task}: support loss`));
        return;
      }
      // the colour range is kept while the surface's values stay within it (and use most of it), so
      // that a drag of θ repaints the surface instead of drawing the panel again (Fig.draw)
      const [lo, hi] = state.colors = Fig.steadyRange(state.colors, Fig.extent(r.reg), 0.1, 1.3);
      const g = r.task_gradient[t], p = r.proximal_gradient[t], phi = r.phi[t];
      const size = Math.hypot(g[0], g[1]);
      const scale = size > 0 ? FORCE_LENGTH / size : 0;  // both forces at one display scale
      const forces = [
        { name: "task's pull −∇L(φ*)", color: Fig.colors.pretrained, v: [-g[0], -g[1]] },
        { name: "spring's pull λ(θ − φ*)", color: SPRING, v: [-p[0], -p[1]] },
      ].map((f) => ({
        ...Fig.arrow(phi[0], phi[1], phi[0] + scale * f.v[0], phi[1] + scale * f.v[1], 0.2),
        mode: "lines", name: f.name, line: { color: f.color, width: 3.5 }, hoverinfo: "skip",
      }));
      const right = [
        Fig.lossHeatmap({ xs: r.xs, ys: r.ys, z: r.reg, zmin: lo, zmax: hi }, `L<sup>S</sup>(φ) + λ/2 ‖φ − θ‖², λ = ${Fig.fmt(r.lam, 2)}`, "regularised objective"),
      ].concat(common(r, t), forces);
      const items = Fig.legendItems(right);  // the same legend height on both panels keeps them aligned
      Fig.drawPlane(lossPlot, left, layout(`Task ${state.task}: support loss`), { items });
      Fig.drawPlane(regPlot, right, layout("Regularised inner objective"), { items });
    }

    function showReadout(r) {
      const t = r.task - 1;
      const g = r.task_gradient[t], p = r.proximal_gradient[t], phi = r.phi[t];
      const size = Math.hypot(g[0], g[1]);
      const spring = Math.hypot(p[0], p[1]);
      const unsolved = r.residual_norm[t] > 0.05 * Math.max(size, spring, 1e-3);
      readout.textContent =
        `λ = ${Fig.fmt(r.lam, 2)}: φ* = ${Fig.pair(phi, 3)}; ‖∇L(φ*)‖ = ${Fig.fmt(size, 4)} and ‖λ(φ* − θ)‖ = ${Fig.fmt(spring, 4)}, ` +
        `their sum has length ${Fig.fmt(r.residual_norm[t], 5)} (${r.solver.inner_steps} gradient steps of size ${Fig.fmt(r.solver.alpha, 3)} from θ)` +
        (unsolved ? ". Here those steps have not reached the optimum: with a slack spring, gradient descent on the inner problem is slow." : ".");
    }

    const request = fig.request("/api/landscape/imaml",
      () => ({ theta: state.theta.map(Fig.round3), lam: state.lam, task: state.task }),
      (result) => {
        state.result = { ...result, reg: Fig.logColor(result.regularised, FLOOR) };
        render();
        showReadout(result);
      });
    // the CG figure below follows θ once a drag ends (so a drag redraws two plots, not four), and λ
    const announce = () => Fig.emit("imaml-theta", { theta: state.theta.slice(), lam: state.lam });

    // θ follows the pointer every frame; φ*, the forces and the regularised surface when the server answers
    Fig.dragTheta([lossPlot, regPlot], (theta, phase) => {
      state.theta = theta;
      render();
      request();
      if (phase === "end") announce();
    });
    fig.slider("lam", (v) => Fig.round3(10 ** parseFloat(v)), (v) => (v < 10 ? v.toFixed(2) : v.toFixed(0)),
      (lam) => { state.lam = lam; request(); announce(); });
    root.querySelectorAll("input[name=task]").forEach((input) => input.addEventListener("change", () => {
      state.task = parseInt(input.value, 10);
      render();
      request();
    }));
    fig.$("[data-action=reset]").addEventListener("click", () => { state.theta = start.slice(); request(); announce(); });
    fig.redraw(render);

    fig.load(Fig.json("/api/landscape/toy", fig.surface), (data) => {
      const logs = data.task_losses.map((z) => Fig.logColor(z, FLOOR));
      state.toy = { xs: data.xs, ys: data.ys, box: data.box, tasks: data.tasks, logs, ranges: logs.map(Fig.extent) };
      render();
      request();
    });
  });
})();
