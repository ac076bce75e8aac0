/* Figure: measured time and peak saved-tensor memory of one meta-gradient against the inner steps k. */
"use strict";

(function () {
  const ALGORITHMS = [
    { id: "maml", title: "MAML (second order)", short: "MAML" },
    { id: "fomaml", title: "FOMAML", short: "FOMAML" },
    { id: "imaml", title: "iMAML", short: "iMAML" },
  ];
  const KS = [1, 2, 4, 8, 16];

  Fig.figure("meta-gradient-cost", (root, fig) => {
    const timePlot = fig.$("[data-plot=time]");
    const memoryPlot = fig.$("[data-plot=memory]");
    const table = fig.$("[data-table]");
    const button = fig.$("[data-action=measure]");
    const state = { results: [], log: false };

    function chart(plot, key, title, yTitle) {
      const traces = ALGORITHMS.map((a) => {
        const rows = state.results.filter((r) => r.algorithm === a.id);
        return {
          x: rows.map((r) => r.inner_steps), y: rows.map((r) => r[key]), name: a.title, mode: "lines+markers",
          line: { color: Fig.colors[a.id], width: 2.5 }, marker: { size: 8 },
          hovertemplate: `${a.title}, k = %{x}: %{y:.3g} ${key === "ms" ? "ms" : "MB"}<extra></extra>`,
        };
      });
      const log = state.log;
      Fig.draw(plot, traces, {
        title: { text: title, font: { size: 14 } },
        height: 380,
        margin: { l: 64, r: 16, t: 40 },
        xaxis: Fig.axis("inner steps k", log
          ? { type: "log", tickvals: KS, ticktext: KS.map(String), range: [-0.1, Math.log10(16) + 0.1] }
          : { tickvals: [0].concat(KS), range: [0, 17] }),
        yaxis: Fig.axis(yTitle, log ? { type: "log" } : { rangemode: "tozero" }),
      });
    }

    function render() {
      chart(timePlot, "ms", "Time of one meta-gradient", "milliseconds (median)");
      chart(memoryPlot, "peak_mb", "Memory autograd holds (peak)", "MB saved for the backward pass");
      if (!state.results.length) { table.hidden = true; return; }
      table.hidden = false;
      table.textContent = "";
      const caption = table.createCaption();
      caption.textContent = "Measured: milliseconds (median) and MB held at the peak";
      const head = table.createTHead().insertRow();
      ["k"].concat(ALGORITHMS.map((a) => a.short)).forEach((text) => {
        const th = document.createElement("th");
        th.scope = "col";
        th.textContent = text;
        head.appendChild(th);
      });
      const body = table.createTBody();
      KS.forEach((k) => {
        const row = body.insertRow();
        const th = document.createElement("th");
        th.scope = "row";
        th.textContent = String(k);
        row.appendChild(th);
        ALGORITHMS.forEach((a) => {
          const r = state.results.find((x) => x.algorithm === a.id && x.inner_steps === k);
          const cell = row.insertCell();
          if (!r) { cell.textContent = "…"; return; }
          cell.append(`${r.ms.toFixed(1)} ms`, document.createElement("br"), `${r.peak_mb.toFixed(2)} MB`);
        });
      });
    }

    async function measure() {
      button.disabled = true;
      state.results = [];
      render();
      let threads = 1;
      try {
        for (const a of ALGORITHMS) {
          fig.status(`Measuring ${a.title} for k = ${KS.join(", ")}…`);
          const data = await Fig.json("/api/landscape/cost", { algorithms: [a.id], inner_steps: KS, repeats: 3 });
          state.results = state.results.concat(data.results);
          threads = data.threads;
          render();
        }
        fig.status(`Measured just now on this server (${ALGORITHMS.length * KS.length} configurations, three timed runs each, ${threads} CPU thread${threads === 1 ? "" : "s"}).`);
      } catch (error) {
        fig.fail(error);
      } finally {
        button.disabled = false;
      }
    }

    button.addEventListener("click", measure);
    fig.$("input[name=log]").addEventListener("change", (event) => { state.log = event.target.checked; render(); });
    fig.redraw(render);
    render();
  });
})();
