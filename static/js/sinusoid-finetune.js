/* Figure: fine-tuning the pretrained and the MAML model on the reader's points of a sinusoid. */
"use strict";

(function () {
  const X_MIN = -5, X_MAX = 5;

  Fig.figure("sinusoid-finetune", (root, fig) => {
    const $ = fig.$;
    const MAX_POINTS = parseInt($("input[name=k]").max, 10);  // K, rendered from the request model
    const STEPS = fig.defaults.steps;
    const state = {
      amplitude: fig.defaults.amplitude,
      phase: fig.defaults.phase,
      xs: [],
      step: 1,
      models: ["pretrained", "maml"],
      result: null,
    };
    const panels = $("[data-panels]");

    function equispaced(k) {
      if (k === 1) return [0];
      return Array.from({ length: k }, (_, i) => X_MIN + 0.5 + (i * (X_MAX - X_MIN - 1)) / (k - 1));
    }
    function squeezed(k) {
      return Array.from({ length: k }, (_, i) => (k === 1 ? 1 : (2 * i) / (k - 1)));
    }
    function uniform(k) {
      return Array.from({ length: k }, () => X_MIN + Math.random() * (X_MAX - X_MIN));
    }
    function k() {
      return Math.max(1, Math.min(MAX_POINTS, parseInt($("input[name=k]").value, 10) || 5));
    }
    const round = Fig.round3;

    function ensurePanels() {
      const wanted = state.models.length;
      while (panels.children.length < wanted) {
        const div = document.createElement("div");
        div.className = "plot";
        div.dataset.plot = "panel";
        panels.appendChild(div);
        Fig.onPlotClick(div, (x) => {
          if (x < X_MIN || x > X_MAX) return;
          if (state.xs.length >= MAX_POINTS) {
            fig.status("Ten points at most: clear or resample to start again.");
            return;
          }
          state.xs.push(round(x));
          update();
        });
      }
      while (panels.children.length > wanted) panels.removeChild(panels.lastChild);
    }

    /* The server fine-tunes on the points (one request in flight, the latest waiting: fig.request). */
    const request = fig.request("/api/sinusoid/finetune", () => ({
      amplitude: state.amplitude, phase: state.phase,
      xs: state.xs.length ? state.xs : [0], models: state.models, steps: state.xs.length ? STEPS : 0,
    }), (result, sent) => {
      const k = sent.steps ? sent.xs.length : 0;
      if (!k) result.support = { x: [], y: [] };
      state.result = result;
      fig.status(k ? `K = ${k} point${k > 1 ? "s" : ""}.` : "No points yet: click inside a panel to add one.");
      render();
    });

    function update() {
      $("[data-out=amplitude]").textContent = state.amplitude.toFixed(1);
      $("[data-out=phase]").textContent = state.phase.toFixed(2);
      ensurePanels();
      if (state.xs.length === 0) fig.status("No points yet: click inside a panel to add one.");
      request();
    }

    function render() {
      const r = state.result;
      if (!r) return;
      const step = Math.min(state.step, r.models[0].predictions.length - 1);
      // one y range for every step, so that stepping moves the curves, not the axes
      const all = r.models.flatMap((m) => m.predictions.flat()).concat(r.target);
      const span = Math.max(5.5, Math.min(12, Math.max(...all.map(Math.abs)) * 1.05));
      const after = `after ${step} step${step === 1 ? "" : "s"}`;
      r.models.forEach((model, i) => {
        const color = Fig.colors[model.id] || Fig.colors.yours;
        const traces = [
          { x: r.x, y: r.target, name: "target", mode: "lines", line: { color: Fig.colors.target, width: 2, dash: "dot" } },
          { x: r.x, y: model.predictions[0], name: "before (step 0)", mode: "lines", line: { color, width: 1.5, dash: "dash" }, opacity: 0.6 },
          { x: r.x, y: model.predictions[step], name: "fine-tuned", mode: "lines", line: { color, width: 3 } },
          { x: r.support.x, y: r.support.y, name: "support points", mode: "markers", marker: { color: Fig.colors.support, size: 9 } },
        ];
        Fig.draw(panels.children[i], traces, {
          title: { text: `${model.title}${model.diverged ? " (diverged)" : ""}, ${after}`, font: { size: 15 } },
          xaxis: Fig.axis("x", { range: [X_MIN, X_MAX] }),
          yaxis: Fig.axis("y", { range: [-span, span] }),
        });
      });
      const losses = r.models.map((model) => ({
        x: model.losses.map((_, j) => j), y: model.losses, name: model.title, mode: "lines+markers",
        line: { color: Fig.colors[model.id] || Fig.colors.yours, width: 2 },
      }));
      losses.push({
        x: [step, step], y: [0, 1], yaxis: "y2", mode: "lines", showlegend: false, hoverinfo: "skip",
        line: { color: "#9aa3ad", width: 1, dash: "dot" },
      });
      // fixed axes, so that stepping moves the marker line only (log axes take log10 ranges)
      const values = r.models.flatMap((model) => model.losses).filter((v) => v > 0 && Number.isFinite(v));
      const last = r.models[0].losses.length - 1;
      Fig.draw($("[data-plot=losses]"), losses, {
        title: { text: "Loss on the support points after each inner step", font: { size: 14 } },
        xaxis: Fig.axis("inner gradient steps", { dtick: 1, range: [-0.3, last + 0.3] }),
        yaxis: Fig.axis("mean-squared error", { type: "log", range: [Math.log10(Math.min(...values)) - 0.15, Math.log10(Math.max(...values)) + 0.15] }),
        yaxis2: { overlaying: "y", range: [0, 1], visible: false },
        height: 280,
      });
    }

    const target = {
      amplitude: fig.slider("amplitude", parseFloat, (v) => v.toFixed(1), (v) => { state.amplitude = v; update(); }),
      phase: fig.slider("phase", parseFloat, (v) => v.toFixed(2), (v) => { state.phase = v; update(); }),
    };
    fig.slider("step", (v) => parseInt(v, 10), String, (step) => { state.step = step; render(); });
    const actions = {
      "new-target": () => {  // anywhere in the sliders' ranges, on their steps
        Object.entries(target).forEach(([name, input]) => {
          const [low, high, step] = [input.min, input.max, input.step].map(Number);
          input.value = low + Math.floor(Math.random() * ((high - low) / step + 1)) * step;
          input.dispatchEvent(new Event("input"));
          state[name] = parseFloat(input.value);
        });
      },
      equispaced: () => { state.xs = equispaced(k()).map(round); },
      squeezed: () => { state.xs = squeezed(k()).map(round); },
      resample: () => { state.xs = uniform(k()).map(round); },
      clear: () => { state.xs = []; },
    };
    fig.$$("[data-action]").forEach((button) => {
      const action = actions[button.dataset.action];
      if (action) button.addEventListener("click", () => { action(); update(); });
    });
    const slider = $("input[name=step]");
    $("[data-action=play]").addEventListener("click", () => fig.play(STEPS, 350, (s) => {
      slider.value = s;
      slider.dispatchEvent(new Event("input"));
    }));
    Fig.on("model-trained", (model) => {
      state.models = ["pretrained", "maml", model.id];
      fig.status(`Your ${model.algo} model was added as a third panel.`);
      update();
    });
    state.xs = equispaced(k()).map(round);
    update();
  });
})();
