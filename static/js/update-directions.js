/* Figure: the update directions of MAML, FOMAML, Reptile and iMAML at a draggable θ on the combined loss. */
"use strict";

(function () {
  const FLOOR = 1e-1;
  const METHODS = [
    { id: "maml", title: "MAML", color: Fig.colors.maml },
    { id: "fomaml", title: "FOMAML", color: Fig.colors.fomaml },
    { id: "reptile", title: "Reptile", color: Fig.colors.reptile },
    { id: "imaml", title: "iMAML", color: Fig.colors.imaml },
    { id: "pretrained", title: "pretrained baseline", color: "#ffffff" },
  ];
  const LENGTH = 1.2;  // display length of the longest arrow, in parameter units

  Fig.figure("update-directions", (root, fig) => {
    const plot = fig.$("[data-plot=directions]");
    const table = fig.$("[data-table]");
    const state = {
      ...fig.defaults, unit: true,
      shown: new Set(["maml", "fomaml", "reptile", "imaml"]), surface: null, result: null,
    };

    function render() {
      const s = state.surface;
      if (!s) return;
      const r = state.result;
      const traces = [
        Fig.lossHeatmap(s, "combined loss L₁(θ) + L₂(θ)", "combined loss"),
        Fig.optimaTrace(s.minima, "task optima"),
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
      traces.push(Fig.thetaTrace(state.theta));
      Fig.drawPlane(plot, traces, {
        legend: { orientation: "h", x: 0, y: 1.005, xanchor: "left", yanchor: "bottom", font: { size: 12 }, itemclick: false, itemdoubleclick: false },
        ...Fig.weightAxes(s.box),
      });
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

    const request = fig.request("/api/updates",
      () => ({ theta: state.theta.map(Fig.round3), alpha: state.alpha, inner_steps: state.inner_steps, lam: state.lam, baseline: state.baseline }),
      (updates, sent) => {
        state.result = { theta: sent.theta, updates };
        render();
        renderTable(updates);
      });

    // θ follows the pointer every frame; its arrows follow when the server answers
    Fig.dragTheta(plot, (theta) => { state.theta = theta; render(); request(); });
    root.querySelectorAll("input[name=show]").forEach((box) => box.addEventListener("change", () => {
      if (box.checked) state.shown.add(box.value); else state.shown.delete(box.value);
      render();
    }));
    const update = (name) => (v) => { state[name] = v; request(); };
    fig.slider("inner_steps", (v) => Math.round(parseFloat(v)), String, update("inner_steps"));
    fig.slider("alpha", parseFloat, (v) => v.toFixed(2), update("alpha"));
    fig.slider("lam", (v) => Fig.round3(10 ** parseFloat(v)), (v) => (v < 10 ? v.toFixed(2) : v.toFixed(1)), update("lam"));
    fig.$("input[name=unit]").addEventListener("change", (event) => { state.unit = event.target.checked; render(); });
    fig.redraw(render);

    fig.load(Fig.combinedSurface(fig.surface, FLOOR), (surface) => {
      state.surface = surface;
      render();
      request();
    });
  });
})();
