/* Figure: the update directions of MAML, FOMAML, Reptile and iMAML at a draggable θ on the combined loss. */
"use strict";

(function () {
  const START = [-1.0, 1.5];
  const FLOOR = 1e-1;
  const METHODS = [
    { id: "maml", title: "MAML", color: Fig.colors.maml },
    { id: "fomaml", title: "FOMAML", color: Fig.colors.fomaml },
    { id: "reptile", title: "Reptile", color: Fig.colors.reptile },
    { id: "imaml", title: "iMAML", color: Fig.colors.imaml },
    { id: "pretrained", title: "pretrained baseline", color: "#ffffff" },
  ];
  const LENGTH = 1.2;  // display length of the longest arrow, in parameter units

  function setup(root) {
    const $ = (selector) => root.querySelector(selector);
    const plot = $("[data-plot=directions]");
    const statusLine = $("[data-status]");
    const table = $("[data-table]");
    const state = {
      theta: START.slice(), alpha: 0.1, inner_steps: 1, lam: 10, unit: true,
      shown: new Set(["maml", "fomaml", "reptile", "imaml"]), surface: null, result: null,
    };
    const round3 = (v) => Math.round(v * 1000) / 1000;

    function render() {
      const s = state.surface;
      if (!s) return;
      const r = state.result;
      const traces = [
        Fig.surfaceTrace(s, "combined loss L₁(θ) + L₂(θ)", "combined loss"),
        {
          x: s.minima.map((p) => p[0]), y: s.minima.map((p) => p[1]), mode: "markers", name: "task optima",
          marker: Fig.markers.optimum, hoverinfo: "skip",
        },
      ];
      if (r) {
        const v = r.updates;
        const visible = METHODS.filter((m) => state.shown.has(m.id) && v[m.id]);
        const longest = Math.max(1e-12, ...visible.map((m) => Math.hypot(...v[m.id])));
        METHODS.forEach((m) => {
          const d = v[m.id];
          if (!d) return;
          const norm = Math.hypot(d[0], d[1]);
          const scale = state.unit ? (norm > 0 ? LENGTH / norm : 0) : LENGTH / longest;
          traces.push({
            ...Fig.arrow(r.theta[0], r.theta[1], r.theta[0] + scale * d[0], r.theta[1] + scale * d[1], 0.22),
            mode: "lines", name: m.title, visible: state.shown.has(m.id),
            line: { color: m.color, width: m.id === "pretrained" ? 2.5 : 3.5, dash: m.id === "pretrained" ? "dot" : "solid" },
            hoverinfo: "skip",
          });
        });
      }
      traces.push({
        x: [state.theta[0]], y: [state.theta[1]], mode: "markers", name: "θ (drag me)", marker: Fig.markers.theta,
        hovertemplate: "θ = (%{x:.3f}, %{y:.3f})<extra></extra>",
      });
      Fig.drawPlane(plot, traces, {
        legend: { orientation: "h", x: 0, y: 1.005, xanchor: "left", yanchor: "bottom", font: { size: 12 }, itemclick: false, itemdoubleclick: false },
        xaxis: Fig.axis("w₀ (slope)", { range: [s.box[0], s.box[1]], constrain: "domain" }),
        yaxis: Fig.axis("w₁ (offset)", { range: [s.box[2], s.box[3]], scaleanchor: "x", constrain: "domain" }),
      });
      if (r) renderTable(r.updates);
    }

    function renderTable(v) {
      table.textContent = "";
      table.createCaption().textContent = `Steps at θ = ${Fig.pair(state.result.theta, 2)} (per unit outer step)`;
      const head = table.createTHead().insertRow();
      ["method", "Δw₀", "Δw₁", "length"].forEach((text) => {
        const th = document.createElement("th");
        th.scope = "col";
        th.textContent = text;
        head.appendChild(th);
      });
      const body = table.createTBody();
      METHODS.filter((m) => v[m.id]).forEach((m) => {
        const row = body.insertRow();
        const th = document.createElement("th");
        th.scope = "row";
        th.textContent = m.title;
        th.className = `swatch swatch-${m.id}`;
        row.appendChild(th);
        const d = v[m.id];
        [d[0], d[1], Math.hypot(d[0], d[1])].forEach((x) => { row.insertCell().textContent = x.toFixed(3); });
      });
    }

    const request = Fig.latest(async () => {
      const theta = state.theta.map(round3);
      const body = { theta, alpha: state.alpha, inner_steps: state.inner_steps, lam: state.lam, baseline: true };
      try {
        state.result = { theta, updates: await Fig.postJSON("/api/updates", body) };
        Fig.status(statusLine, "");
        render();
      } catch (error) {
        Fig.status(statusLine, error.message, true);
      }
    });

    Fig.onPlotDrag(plot, (x, y) => { state.theta = [x, y]; request(); });
    root.querySelectorAll("input[name=show]").forEach((box) => box.addEventListener("change", () => {
      if (box.checked) state.shown.add(box.value); else state.shown.delete(box.value);
      render();
    }));
    const outputs = { inner_steps: (v) => String(v), alpha: (v) => v.toFixed(2), lam: (v) => (v < 10 ? v.toFixed(2) : v.toFixed(1)) };
    Object.keys(outputs).forEach((name) => {
      const input = $(`input[name=${name}]`);
      input.addEventListener("input", () => {
        const raw = parseFloat(input.value);
        state[name] = name === "lam" ? Math.round(10 ** raw * 1000) / 1000 : name === "inner_steps" ? Math.round(raw) : raw;
        $(`[data-out=${name}]`).textContent = outputs[name](state[name]);
        request();
      });
    });
    $("input[name=unit]").addEventListener("change", (event) => { state.unit = event.target.checked; render(); });
    window.addEventListener("resize", () => render());

    Fig.loadCombinedSurface(FLOOR, state, statusLine, () => {
      render();
      request();
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("[data-figure=update-directions]").forEach(setup);
  });
})();
