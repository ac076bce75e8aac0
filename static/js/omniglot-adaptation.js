/* Figure: the Omniglot MAML model fine-tuning on the reader's quiz task, one inner step at a time. */
"use strict";

(function () {
  const PLAY_MS = 700;
  const OTHER = "#9aa3ad";
  /* Both plots: the same height and margins, so their axes line up; the legend sits under the title. */
  const FRAME = {
    height: 340,
    margin: { l: 58, r: 12, t: 76, b: 52 },
    legend: { orientation: "h", x: 0, y: 1.02, yanchor: "bottom", font: { size: 12 } },
  };
  const title = (text) => ({ text, font: { size: 14 }, yref: "container", y: 0.98, yanchor: "top" });

  Fig.figure("omniglot-adaptation", (root, fig) => {
    const $ = fig.$;
    const slider = $("input[name=step]");
    const play = $("[data-action=play]");
    const state = { result: null, choice: null, step: 0, request: 0 };

    const percent = (p) => (p === null ? "–" : `${Math.round(100 * p)}%`);
    const steps = (n) => `${n} step${n === 1 ? "" : "s"}`;
    const loss = (v) => (v === null ? "–" : v < 1e-3 ? v.toExponential(1) : v.toPrecision(3));

    /* Adapt to a task token; choice is the reader's quiz answer to it, if any. A saved
       token the server no longer accepts (422: issued before its tokens were signed)
       is replaced by a fresh task of the same N. */
    async function adapt(token, choice, saved = false) {
      const request = ++state.request;
      fig.stop();
      fig.status("Fine-tuning the model on this task…");
      try {
        const result = await Fig.json("/api/omniglot/adapt", { task: token });
        if (request !== state.request) return;
        state.result = result;
        state.choice = Number.isInteger(choice) ? choice : null;
        state.step = 0;
        fig.status("");
        showTask();
        render();
      } catch (error) {
        if (request !== state.request) return;
        if (saved && error.status === 422) fresh(parseInt(token, 10) === 20 ? 20 : 5);
        else fig.fail(error, "Could not adapt");
      }
    }

    async function fresh(ways) {
      fig.status(`Drawing a new ${ways}-way task…`);
      try {
        const data = await Fig.json(`/api/quiz/task?ways=${ways}`);
        Fig.rememberTask(data.task);
        await adapt(data.task, null);
      } catch (error) {
        fig.fail(error, "No new task");
      }
    }

    function showTask() {
      const r = state.result;
      const m = r.model;
      const source = state.choice === null
        ? "A task drawn for this figure"
        : `Your latest quiz task; you picked candidate ${state.choice + 1}` +
          (state.choice === r.answer ? ", the right one" : `, the right one is ${r.answer + 1}`);
      $("[data-task-line]").textContent =
        `${source}. Model: ${m.title}, ${r.ways}-way (${(100 * m.accuracy).toFixed(1)}% right on held-out test tasks), ` +
        `α = ${m.alpha}, ${steps(m.steps)}.`;
      fig.$$("[data-action=new]").forEach((button) => {
        button.classList.toggle("secondary", parseInt(button.dataset.ways, 10) !== r.ways);
      });
      $("[data-adapt-query]").src = r.query;
      const list = $("[data-adapt-choices]");
      list.textContent = "";
      list.classList.toggle("many", r.ways > 5);
      r.choices.forEach((url, i) => {
        const item = document.createElement("li");
        item.className = "adapt-choice" + (i === r.answer ? " right" : "") + (i === state.choice ? " picked" : "");
        const img = document.createElement("img");
        img.src = url;
        img.alt = `candidate ${i + 1}` + (i === r.answer ? ", the right answer" : "");
        img.width = 105;
        img.height = 105;
        const key = document.createElement("span");
        key.className = "adapt-key";
        key.textContent = String(i + 1);
        item.append(img, key);
        list.appendChild(item);
      });
      slider.max = String(m.steps);
      slider.disabled = false;
      play.disabled = false;
      play.textContent = `Play steps 0 → ${m.steps}`;
    }

    function render() {
      const r = state.result;
      if (!r) return;
      const step = state.step;
      slider.value = String(step);
      $("[data-out=step]").textContent = String(step);
      const labels = r.choices.map((_, i) => String(i + 1));
      const p = r.probabilities[step];
      const bars = [
        {
          type: "bar", x: labels, y: r.probabilities[0], name: "θ, before any step",
          marker: { color: "rgba(0,0,0,0)", line: { color: Fig.colors.target, width: 1.5 } },
          hovertemplate: "candidate %{x}: %{y:.1%} at θ<extra></extra>",
        },
        {
          type: "bar", x: labels, y: p, name: `φ${Fig.sub(step)}, after ${steps(step)}`,
          marker: { color: labels.map((_, i) => (i === r.answer ? Fig.colors.maml : OTHER)) },
          hovertemplate: `candidate %{x}: %{y:.1%} after ${steps(step)}<extra></extra>`,
        },
      ];
      Fig.draw($("[data-plot=probabilities]"), bars, {
        ...FRAME,
        title: title(`The query's probabilities after ${steps(step)}`),
        barmode: "overlay",
        bargap: 0.25,
        xaxis: Fig.axis("candidate", { type: "category", tickfont: { size: r.ways > 5 ? 10 : 13 } }),
        yaxis: Fig.axis("probability", { range: [0, 1.08], tickformat: ".0%" }),
        annotations: [{  // x by position: on a category axis "4" would also be read as position 4
          x: r.answer, y: Math.max(p[r.answer] || 0, r.probabilities[0][r.answer] || 0), yshift: 4,
          text: "right", showarrow: false, yanchor: "bottom", font: { color: Fig.colors.maml, size: 12 },
        }],
      });
      const losses = r.support_losses;
      Fig.draw($("[data-plot=losses]"), [
        {
          x: losses.map((_, j) => j), y: losses, name: "support loss", mode: "lines+markers",
          line: { color: Fig.colors.maml, width: 2 }, marker: { size: 8 },
          hovertemplate: "after %{x} steps: %{y:.3g}<extra></extra>",
        },
        {
          x: [step], y: [losses[step]], mode: "markers", showlegend: false, hoverinfo: "skip",
          marker: { size: 14, color: "rgba(0,0,0,0)", line: { color: Fig.colors.target, width: 2 } },
        },
      ], {
        ...FRAME,
        title: title("Loss on the support set"),
        showlegend: false,
        xaxis: Fig.axis("inner gradient steps j", { dtick: 1, range: [-0.3, losses.length - 0.7] }),
        yaxis: Fig.axis("cross-entropy (log scale)", { type: "log", dtick: 1, exponentformat: "power" }),
      });
      const best = p.indexOf(Math.max(...p));
      $("[data-readout]").textContent =
        `After ${steps(step)}: the model picks candidate ${best + 1} with ${percent(p[best])}` +
        (best === r.answer ? ", the right answer" : `; the right one, ${r.answer + 1}, has ${percent(p[r.answer])}`) +
        `. Support loss ${loss(losses[step])}.`;
    }

    slider.addEventListener("input", () => {
      fig.stop();
      state.step = parseInt(slider.value, 10);
      render();
    });
    play.addEventListener("click", () => fig.play(state.result.model.steps, PLAY_MS, (step) => {
      state.step = step;
      render();
    }));
    fig.$$("[data-action=new]").forEach((button) => {
      button.addEventListener("click", () => fresh(parseInt(button.dataset.ways, 10)));
    });

    const saved = Fig.lastTask();
    if (saved) adapt(saved.task, saved.choice, true);
    else fresh(5);
  });
})();
