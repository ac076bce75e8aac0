/* Shared helpers for the figures: JSON requests, Plotly defaults, colours. Loaded before every figure module. */
"use strict";

window.Fig = (function () {
  const colors = {
    target: "#5c6370",
    support: "#1d1f21",
    pretrained: "#d95f02",
    maml: "#1b9e77",
    fomaml: "#7570b3",
    reptile: "#e7298a",
    imaml: "#66a61e",
    yours: "#7570b3",
    accent: "#1f4e79",
  };

  async function postJSON(url, body) {
    const response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      const message = data.message || data.detail || response.statusText;
      throw new Error(typeof message === "string" ? message : JSON.stringify(message));
    }
    return data;
  }

  function layout(overrides) {
    const base = {
      margin: { l: 60, r: 16, t: 40, b: 96 },
      font: { family: "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", size: 13 },
      paper_bgcolor: "rgba(0,0,0,0)",
      plot_bgcolor: "#ffffff",
      legend: { orientation: "h", x: 0, y: -0.2, yanchor: "top" },
      dragmode: false,
      hovermode: "closest",
    };
    return Object.assign(base, overrides || {});
  }

  function axis(title, extra) {
    return Object.assign({ title: { text: title }, gridcolor: "#e5e8ec", zerolinecolor: "#c9ced6" }, extra || {});
  }

  const config = { displayModeBar: false, responsive: true };

  function draw(element, traces, overrides) {
    return Plotly.react(element, traces, layout(overrides), config);
  }

  /* Data coordinates of a click anywhere inside a plot's axes (Plotly only reports clicks on points). */
  function onPlotClick(element, handler) {
    element.addEventListener("click", (event) => {
      const full = element._fullLayout;
      if (!full) return;
      const area = element.querySelector(".nsewdrag");
      if (!area) return;
      const box = area.getBoundingClientRect();
      if (event.clientX < box.left || event.clientX > box.right || event.clientY < box.top || event.clientY > box.bottom) return;
      handler(full.xaxis.p2l(event.clientX - box.left), full.yaxis.p2l(event.clientY - box.top));
    });
  }

  function status(element, text, isError) {
    if (!element) return;
    element.textContent = text;
    element.classList.toggle("error", Boolean(isError));
  }

  return { colors, postJSON, layout, axis, config, draw, onPlotClick, status };
})();
