/* Figure: Omniglot 20-way 1-shot accuracy by year, with the reader, all readers and this app's models. */
"use strict";

(function () {
  const NOW = new Date().getFullYear();

  function readerScore() {
    try {
      return JSON.parse(localStorage.getItem("maml-quiz-score")) || {};
    } catch (error) {
      return {};
    }
  }

  async function getJSON(url) {
    const response = await fetch(url);
    if (!response.ok) return null;
    return response.json();
  }

  async function setup(root) {
    const published = JSON.parse(root.querySelector("[data-published]").textContent);
    const plot = root.querySelector("[data-plot=accuracy]");
    const statusLine = root.querySelector("[data-status]");
    const [stats, models] = await Promise.all([getJSON("/api/quiz/stats"), getJSON("/api/omniglot/models")]);
    const traces = [{
      x: published.map((p) => p[1]), y: published.map((p) => p[2]),
      text: published.map((p) => p[0]), customdata: published.map((p) => "#" + p[4]),
      mode: "markers+text", textposition: published.map((p) => p[5]), name: "published",
      marker: { size: 11, color: Fig.colors.accent }, textfont: { size: 11 },
      hovertemplate: "%{text}<br>%{x}: %{y:.1f}%<extra></extra>",
    }];
    const mine = readerScore();
    const you = [];
    for (const [ways, symbol] of [["20", "star"], ["5", "star-open"]]) {
      const s = mine[ways];
      if (s && s.answered > 0) {
        you.push({ ways, symbol, acc: (100 * s.correct) / s.answered, n: s.answered });
      }
    }
    if (you.length) {
      traces.push({
        x: you.map(() => NOW), y: you.map((u) => u.acc),
        text: you.map((u) => `you, ${u.ways}-way (${u.n} answer${u.n === 1 ? "" : "s"})`),
        customdata: you.map(() => "/#quiz"), mode: "markers", name: "your quiz score",
        marker: { size: 20, symbol: you.map((u) => u.symbol), color: Fig.colors.pretrained, line: { width: 2, color: Fig.colors.pretrained } },
        hovertemplate: "%{text}: %{y:.0f}%<extra></extra>",
      });
    }
    if (stats) {
      const rows = ["20", "5"].filter((w) => stats[w] && stats[w].answers > 0);
      if (rows.length) {
        traces.push({
          x: rows.map(() => NOW + 0.3), y: rows.map((w) => 100 * stats[w].accuracy),
          error_y: { type: "data", symmetric: false, array: rows.map((w) => 100 * (stats[w].interval[1] - stats[w].accuracy)),
                     arrayminus: rows.map((w) => 100 * (stats[w].accuracy - stats[w].interval[0])), color: Fig.colors.maml },
          text: rows.map((w) => `all readers, ${w}-way (${stats[w].answers} answers)`),
          customdata: rows.map(() => "/#quiz"), mode: "markers", name: "all readers of this server",
          marker: { size: 12, symbol: rows.map((w) => (w === "20" ? "diamond" : "diamond-open")), color: Fig.colors.maml },
          hovertemplate: "%{text}: %{y:.1f}%<extra></extra>",
        });
      }
    }
    const ours = (models || []).filter((m) => m.ways === 20 && m.shots === 1);
    if (ours.length) {
      traces.push({
        x: ours.map(() => NOW - 0.3), y: ours.map((m) => 100 * m.accuracy),
        error_y: { type: "data", array: ours.map((m) => 100 * m.interval), color: Fig.colors.reptile },
        text: ours.map((m) => `this app: ${m.method}`), customdata: ours.map(() => "/comparison#measured"),
        mode: "markers", name: "trained by this app", marker: { size: 11, symbol: "square", color: Fig.colors.reptile },
        hovertemplate: "%{text}: %{y:.1f}%<extra></extra>",
      });
    }
    const lows = traces.flatMap((t) => t.y.map((y, i) => y - ((t.error_y && (t.error_y.arrayminus || t.error_y.array)[i]) || 0)));
    const bottom = Math.min(40, Math.floor(Math.min(...lows) / 10) * 10 - 5);
    Fig.draw(plot, traces, {
      title: { text: "Omniglot 20-way 1-shot accuracy", font: { size: 15 } },
      xaxis: Fig.axis("year", { range: [2009.5, NOW + 1], dtick: 1 }),
      yaxis: Fig.axis("accuracy (%)", { range: [bottom, 105] }),
      height: 480,
    });
    plot.on("plotly_click", (event) => {
      const target = event.points[0].customdata;
      if (!target) return;
      if (target.startsWith("#")) {
        const section = document.getElementById(target.slice(1));
        if (section) section.scrollIntoView({ behavior: "smooth" });
        history.replaceState(null, "", target);
      } else {
        window.location.href = target;
      }
    });
    if (!you.length) Fig.status(statusLine, "Take the quiz on the first page and your score appears here.");
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("[data-figure=accuracy-chart]").forEach(setup);
  });
})();
