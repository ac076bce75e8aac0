/* Figure: the loss landscape around a model while it trains (fed by the train panel's stream). */
"use strict";

(function () {
  Fig.figure("live-landscape", (root, fig) => {
    const plot = fig.$("[data-plot=live-landscape]");
    let latest = null;

    function draw() {
      if (!latest) return;
      const kind = root.querySelector("input[name=plane]:checked").value;
      const view = latest[kind];
      const last = view.path[view.path.length - 1];
      const log = view.z.map((row) => row.map((v) => Math.log10(v)));
      const [zmin, zmax] = Fig.extent(log);
      const path = { x: view.path.map((p) => p[0]), y: view.path.map((p) => p[1]), mode: "lines+markers", hoverinfo: "skip" };
      Fig.draw(plot, [
        /* colours on a log scale: the loss spans orders of magnitude away from θ; filled bands, not a
           smooth heatmap under the lines, which took twice as long to draw (76 against 33 ms) */
        { type: "contour", x: view.x, y: view.y, z: log, zmin, zmax,
          customdata: view.z, name: "loss", ...Fig.lossScale,
          contours: { coloring: "fill" }, line: { width: 0.5 },
          colorbar: { title: { text: "loss (log scale, dark = low)", side: "right" }, ...Fig.logTicks(zmin, zmax) },
          hovertemplate: "(%{x:.3g}, %{y:.3g}): loss %{customdata:.3f}<extra></extra>" },
        /* the path in white over a dark halo, so that it reads on dark (low) and bright (high) loss alike */
        { ...path, name: "path of θ", legendgroup: "path", line: { color: "#1d1f21", width: 4.5 }, marker: { size: 7, color: "#1d1f21" } },
        { ...path, name: "path of θ", legendgroup: "path", showlegend: false, line: { color: "#ffffff", width: 2 }, marker: { size: 4, color: "#ffffff" } },
        { x: [last[0]], y: [last[1]], mode: "markers", name: `θ at step ${latest.step}`,
          marker: { size: 13, symbol: "star", color: Fig.colors.pretrained, line: { color: "#fff", width: 1 } } },
      ], {
        title: { text: `Loss after ${latest.inner_steps} inner step${latest.inner_steps === 1 ? "" : "s"}, around θ at step ${latest.step}`, font: { size: 14 } },
        xaxis: Fig.axis(kind === "pca" ? "first principal component" : "random direction 1"),
        yaxis: Fig.axis(kind === "pca" ? "second principal component" : "random direction 2"),
        height: 480,
      });
    }

    Fig.on("training-landscape", (landscape) => {
      latest = landscape;
      fig.status("");
      draw();
    });
    Fig.on("training-started", () => {
      latest = null;
      fig.status("Waiting for the first landscape of this run…");
    });
    fig.$$("input[name=plane]").forEach((input) => input.addEventListener("change", draw));
  });
})();
