/* Figure: MAML's exact meta-gradient against FOMAML's over a grid, on a quadratic with curvature C. */
"use strict";

(function () {
  Fig.figure("fomaml-quadratic", (root, fig) => {
    const field = fig.$("[data-plot=field]");
    const gap = fig.$("[data-plot=gap]");
    const readout = fig.$("[data-readout]");
    const state = { a: fig.defaults.a, b: fig.defaults.b, c: fig.defaults.c, unit: false, measure: "angle_deg", result: null };

    function quiver(xs, ys, vectors, scale, unit) {
      const list = [];
      ys.forEach((y, iy) => xs.forEach((x, ix) => {
        const [u, v] = vectors[iy][ix];
        const norm = Math.hypot(u, v);
        const s = unit ? (norm > 0 ? scale / norm : 0) : scale;
        list.push([x, y, x + s * u, y + s * v]);
      }));
      return Fig.arrows(list, 0.06);
    }

    function render() {
      const r = state.result;
      if (!r) return;
      const { xs, ys, maml, fomaml } = r.arrows;
      const spacing = xs[1] - xs[0];
      let longest = 0;
      [maml, fomaml].forEach((f) => f.forEach((row) => row.forEach(([u, v]) => { longest = Math.max(longest, Math.hypot(u, v)); })));
      const scale = state.unit ? 0.8 * spacing : (longest > 0 ? 0.9 * spacing / longest : 0);
      const box = r.box;
      const planeAxes = {
        xaxis: Fig.axis("x₁", { range: [box[0] - 0.15, box[1] + 0.15], constrain: "domain" }),
        yaxis: Fig.axis("x₂", { range: [box[2] - 0.15, box[3] + 0.15], scaleanchor: "x", constrain: "domain" }),
      };
      Fig.drawPlane(field, [
        { ...quiver(xs, ys, fomaml, scale, state.unit), mode: "lines", name: "g<sub>FO</sub>, first-order (FOMAML)", line: { color: Fig.colors.fomaml, width: 1.6 }, hoverinfo: "skip" },
        { ...quiver(xs, ys, maml, scale, state.unit), mode: "lines", name: "g<sub>MAML</sub>, exact (MAML)", line: { color: Fig.colors.maml, width: 1.6 }, hoverinfo: "skip" },
        { x: [0.5], y: [0.5], mode: "markers", name: "x₀ = (½, ½)", marker: { symbol: "cross-thin", size: 10, line: { width: 2, color: Fig.colors.target } } },
      ], Object.assign({
        title: Fig.panelTitle(state.unit ? "Directions (arrows of equal length)" : "Meta-gradients (one common scale)"),
      }, planeAxes), { colorbar: false });
      const h = r.heat;
      const angle = state.measure === "angle_deg";
      // the colour bar ends at a round number above the largest value, so that most answers during
      // a slide keep it and only the heatmap's image is painted again (Fig.draw)
      const top = Fig.ceiling(Fig.extent(h[state.measure])[1]);
      Fig.drawPlane(gap, [{
        type: "heatmap", zsmooth: "fast", x: h.xs, y: h.ys, z: h[state.measure], colorscale: angle ? "YlOrRd" : "Blues", reversescale: true,  // Plotly lists both dark first
        zmin: 0, zmax: angle ? Math.min(Math.max(top, 1), 180) : Math.max(top, 1e-3),
        colorbar: Fig.colorbar(angle ? "angle between g<sub>MAML</sub> and g<sub>FO</sub> (degrees)" : "‖g<sub>FO</sub> − g<sub>MAML</sub>‖", {}),
        hovertemplate: angle ? "x = (%{x:.2f}, %{y:.2f}): %{z:.1f}°<extra></extra>" : "x = (%{x:.2f}, %{y:.2f}): %{z:.3f}<extra></extra>",
        name: angle ? "angle" : "error",
      }], Object.assign({
        title: Fig.panelTitle(angle ? "Angle between the two" : "Length of the difference"),
      }, planeAxes));
      const [l2, l1] = r.eigenvalues;
      const [f2, f1] = r.maml_factors;
      readout.textContent =
        `C = [[${Fig.fmt(r.a, 1)}, ${Fig.fmt(r.b, 1)}], [${Fig.fmt(r.b, 1)}, ${Fig.fmt(r.c, 1)}]]: eigenvalues λ₁ = ${Fig.fmt(l1, 2)}, λ₂ = ${Fig.fmt(l2, 2)}; ` +
        `MAML multiplies FOMAML's components along them by 1 − αλ = ${Fig.fmt(f1, 2)} and ${Fig.fmt(f2, 2)}` +
        (f1 < 0 || f2 < 0 ? " (a negative factor reverses that component)." : ".");
    }

    const request = fig.request("/api/landscape/quadratic", () => ({ a: state.a, b: state.b, c: state.c }),
      (result) => { state.result = result; render(); });

    function show() {
      ["a", "b", "c"].forEach((name) => {
        fig.$(`input[name=${name}]`).value = state[name];
        fig.$(`[data-out=${name}]`).textContent = state[name].toFixed(1);
      });
    }
    ["a", "b", "c"].forEach((name) => {
      fig.$(`input[name=${name}]`).addEventListener("input", (event) => {
        state[name] = parseFloat(event.target.value);
        show();
        request();
      });
    });
    root.querySelectorAll("[data-preset]").forEach((button) => button.addEventListener("click", () => {
      [state.a, state.b, state.c] = button.dataset.preset.split(",").map(Number);
      show();
      request();
    }));
    fig.$("input[name=unit]").addEventListener("change", (event) => { state.unit = event.target.checked; render(); });
    fig.$("select[name=measure]").addEventListener("change", (event) => { state.measure = event.target.value; render(); });
    fig.redraw(render);
    show();
    request();
  });
})();
