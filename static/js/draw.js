/* The draw page: the reader draws N new symbols and a query; every trained model classifies it. */
"use strict";

(function () {
  const LETTERS = "ABCDEFGHIJ";
  const STROKE = 9; /* on a 280 px canvas: about 3.4 px on Omniglot's 105 px canvas */

  function drawable(canvas, onChange) {
    const ctx = canvas.getContext("2d");
    function clear() {
      ctx.fillStyle = "#ffffff";
      ctx.fillRect(0, 0, canvas.width, canvas.height);
      canvas.dataset.empty = "true";
      if (onChange) onChange();
    }
    function point(event) {
      const box = canvas.getBoundingClientRect();
      return [((event.clientX - box.left) * canvas.width) / box.width, ((event.clientY - box.top) * canvas.height) / box.height];
    }
    let last = null;
    canvas.addEventListener("pointerdown", (event) => {
      event.preventDefault();
      canvas.setPointerCapture(event.pointerId);
      last = point(event);
      ctx.beginPath();
      ctx.arc(last[0], last[1], STROKE / 2, 0, 2 * Math.PI);
      ctx.fillStyle = "#000000";
      ctx.fill();
      canvas.dataset.empty = "false";
    });
    canvas.addEventListener("pointermove", (event) => {
      if (!last) return;
      const next = point(event);
      ctx.strokeStyle = "#000000";
      ctx.lineWidth = STROKE;
      ctx.lineCap = "round";
      ctx.lineJoin = "round";
      ctx.beginPath();
      ctx.moveTo(last[0], last[1]);
      ctx.lineTo(next[0], next[1]);
      ctx.stroke();
      last = next;
    });
    const end = () => {
      if (last && onChange) onChange();
      last = null;
    };
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);
    clear();
    return { canvas, clear, png: () => canvas.toDataURL("image/png").split(",")[1] };
  }

  Fig.figure("draw", (root, fig) => {
    const $ = fig.$;
    const grid = $("[data-examples]");
    const results = $("[data-results]");
    const query = drawable($("[data-query]"));
    let examples = [];

    function build() {
      const n = Math.max(2, Math.min(10, parseInt($("input[name=symbols]").value, 10) || 3));
      while (examples.length < n) {
        const i = examples.length;
        const cell = document.createElement("div");
        cell.className = "draw-cell";
        const canvas = document.createElement("canvas");
        canvas.className = "draw-canvas";
        canvas.width = 280;
        canvas.height = 280;
        canvas.dataset.example = LETTERS[i];
        canvas.setAttribute("aria-label", `draw symbol ${LETTERS[i]} here`);
        const label = document.createElement("div");
        label.className = "draw-label";
        label.textContent = `symbol ${LETTERS[i]} `;
        const clearButton = document.createElement("button");
        clearButton.type = "button";
        clearButton.className = "secondary small";
        clearButton.textContent = "clear";
        label.appendChild(clearButton);
        cell.append(canvas, label);
        grid.appendChild(cell);
        const pad = drawable(canvas);
        clearButton.addEventListener("click", pad.clear);
        examples.push({ cell, pad });
      }
      while (examples.length > n) examples.pop().cell.remove();
    }

    function bars(model, prediction) {
      const card = document.createElement("div");
      card.className = "draw-model";
      const title = document.createElement("h4");
      const best = Object.entries(prediction.probabilities).sort((a, b) => b[1] - a[1])[0];
      title.textContent = `${model.title} (${model.ways}-way model): ${best[0]}`;
      card.appendChild(title);
      for (const [label, p] of Object.entries(prediction.probabilities)) {
        const row = document.createElement("div");
        row.className = "draw-bar" + (label === prediction.label ? " best" : "");
        const name = document.createElement("span");
        name.textContent = label;
        const track = document.createElement("span");
        track.className = "draw-track";
        const fill = document.createElement("span");
        fill.className = "draw-fill";
        fill.style.width = `${(100 * p).toFixed(1)}%`;
        track.appendChild(fill);
        const value = document.createElement("span");
        value.textContent = `${(100 * p).toFixed(0)}%`;
        row.append(name, track, value);
        card.appendChild(row);
      }
      return card;
    }

    async function classify() {
      const empty = examples.filter((e) => e.pad.canvas.dataset.empty === "true");
      if (empty.length || query.canvas.dataset.empty === "true") {
        fig.fail("Draw every symbol and the query first.");
        return;
      }
      fig.status("Asking the models…");
      results.textContent = "";
      const support = examples.map((e, i) => ({ label: LETTERS[i], image: e.pad.png() }));
      const queries = [query.png()];
      let models;
      try {
        models = (await Fig.json("/api/omniglot/models")).filter((m) => m.ways >= examples.length || m.family !== "optimisation");
      } catch (error) {
        fig.fail(error);
        return;
      }
      if (!models.length) {
        fig.fail("No trained Omniglot model can answer this many symbols on this server.");
        return;
      }
      const answers = await Promise.all(models.map(async (model) => {
        try {
          const result = await Fig.json("/api/omniglot/classify", { id: model.id, support, queries });
          return [model, result.predictions[0], null];
        } catch (error) {
          return [model, null, error.message];
        }
      }));
      for (const [model, prediction, error] of answers) {
        if (prediction) results.appendChild(bars(model, prediction));
        else {
          const note = document.createElement("p");
          note.className = "status error";
          note.textContent = `${model.title}: ${error}`;
          results.appendChild(note);
        }
      }
      fig.status(`${answers.filter((a) => a[1]).length} models answered.`);
    }

    $("input[name=symbols]").addEventListener("change", build);
    $("[data-action=clear-all]").addEventListener("click", () => {
      examples.forEach((e) => e.pad.clear());
      query.clear();
      results.textContent = "";
    });
    $("[data-clear-query]").addEventListener("click", query.clear);
    $("[data-action=classify]").addEventListener("click", classify);
    build();
  });
})();
