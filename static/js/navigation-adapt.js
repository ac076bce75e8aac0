/* Figure: the pretrained and the MAML navigation policy adapting to the reader's goal, step by step. */
"use strict";

(function () {
  const BOX = 0.5, VIEW = 0.75;
  const COST_FLOOR = 1e-2;  // a return of 0 (a policy that starts on the goal) on the log axis

  Fig.figure("navigation-adapt", (root, fig) => {
    const $ = fig.$;
    const STEPS = fig.defaults.steps;
    const state = { goal: fig.defaults.goal, seed: fig.defaults.seed, step: 0, result: null, request: 0 };
    const panels = fig.$$("[data-plot=panel]");

    function render() {
      const r = state.result;
      if (!r) return;
      const step = Math.min(state.step, r.steps);
      panels.forEach((panel) => {
        const id = panel.dataset.model;
        const model = r.models[id];
        if (!model) return;
        const color = Fig.colors[id];
        const before = Fig.joinPaths(model.trajectories[0]);
        const now = Fig.joinPaths(model.trajectories[step]);
        const traces = [];
        if (step > 0) {
          traces.push({ x: before.x, y: before.y, name: "before adaptation", mode: "lines", line: { color: "#b8bec6", width: 1 }, hoverinfo: "skip" });
        }
        traces.push(
          { x: now.x, y: now.y, name: step ? `after ${step} step${step === 1 ? "" : "s"}` : "before adaptation", mode: "lines", line: { color, width: 1.4 }, opacity: 0.8, hoverinfo: "skip" },
          { x: [0], y: [0], name: "start", mode: "markers", marker: { size: 10, color: "#ffffff", line: { width: 2, color: Fig.colors.support } } },
          { x: [r.goal[0]], y: [r.goal[1]], name: "goal", mode: "markers", marker: { symbol: "star", size: 17, color: "#f2c14e", line: { width: 1.5, color: Fig.colors.support } } },
        );
        const layout = Fig.planeLayout(panel, {
          title: {
            text: `${model.title}: return ${Fig.fmt(model.returns[step], 1)}`, font: { size: 15 },
            y: 1, yref: "container", yanchor: "top", pad: { t: 8 },
          },
          xaxis: Fig.axis("x", { range: [-VIEW, VIEW], constrain: "domain" }),
          yaxis: Fig.axis("y", { range: [-VIEW, VIEW], scaleanchor: "x", constrain: "domain" }),
          shapes: [{ type: "rect", x0: -BOX, x1: BOX, y0: -BOX, y1: BOX, line: { color: "#9aa3ad", width: 1, dash: "dash" } }],
        }, { items: Fig.legendItems(traces), title: true, colorbar: false });
        Fig.draw(panel, traces, layout);
      });
      // the cost, minus the return, on a log scale: one step that overshoots (a cost of thousands)
      // would flatten the others on a linear axis of returns
      const returns = Object.entries(r.models).map(([id, model]) => ({
        x: model.returns.map((_, j) => j), y: model.returns.map((v) => Math.max(-v, COST_FLOOR)), customdata: model.returns,
        name: model.title, mode: "lines+markers", line: { color: Fig.colors[id], width: 2 },
        hovertemplate: "after %{x} steps: return %{customdata:.2f}<extra>%{fullData.name}</extra>",
      }));
      returns.push({
        x: [step, step], y: [0, 1], yaxis: "y2", mode: "lines", showlegend: false, hoverinfo: "skip",
        line: { color: "#9aa3ad", width: 1, dash: "dot" },
      });
      Fig.draw($("[data-plot=returns]"), returns, {
        xaxis: Fig.axis("policy-gradient steps", { dtick: 1, range: [-0.2, STEPS + 0.2] }),
        yaxis: Fig.axis("cost = −return (log)", { type: "log" }),
        yaxis2: { overlaying: "y", range: [0, 1], visible: false },
        legend: { orientation: "h", x: 0, y: 1.02, xanchor: "left", yanchor: "bottom" },
        margin: { l: 60, r: 16, t: 40, b: 56 },
        height: 260,
      });
      const parts = Object.values(r.models).map((m) => `${m.title} ${Fig.fmt(m.returns[step], 2)}`);
      $("[data-readout]").textContent = `Goal ${Fig.pair(r.goal, 2)}, after ${step} step${step === 1 ? "" : "s"}: ${parts.join(", ")}.`;
    }

    async function update() {
      const request = ++state.request;
      fig.status("Adapting both policies to the goal…");
      try {
        const result = await Fig.json("/api/navigation/adapt", {
          goal: state.goal, models: ["pretrained", "maml"], steps: STEPS, seed: state.seed,
        });
        if (request !== state.request) return;
        state.result = result;
        fig.status("");
        render();
      } catch (error) {
        if (request === state.request) fig.fail(error);
      }
    }

    function setStep(step) {
      state.step = step;
      $("input[name=step]").value = step;
      $("[data-out=step]").textContent = String(step);
      render();
    }

    panels.forEach((panel) => {
      Fig.onPlotClick(panel, (x, y) => {
        if (Math.abs(x) > BOX || Math.abs(y) > BOX) {
          fig.status("Goals lie in the dashed square [−0.5, 0.5]².");
          return;
        }
        state.goal = [Fig.round3(x), Fig.round3(y)];
        update();
      });
    });
    $("input[name=step]").addEventListener("input", (event) => setStep(parseInt(event.target.value, 10)));
    const corners = [[0.45, 0.45], [-0.45, 0.45], [-0.45, -0.45], [0.45, -0.45]];
    let corner = 0;
    const actions = {
      corner: () => { state.goal = corners[corner++ % corners.length]; },
      near: () => { state.goal = [0.05, 0.03]; },
      resample: () => { state.seed += 1; },
    };
    fig.$$("[data-action]").forEach((button) => {
      const action = actions[button.dataset.action];
      if (action) button.addEventListener("click", () => { action(); update(); });
    });
    $("[data-action=play]").addEventListener("click", () => fig.play(STEPS, 700, setStep));
    fig.redraw(render);
    update();
  });
})();
