/* Figure: train a meta-learner on the server and watch its streams (loss, probe task, trajectory). */
"use strict";

(function () {
  Fig.figure("train-panel", (root, fig) => {
    const $ = fig.$;
    const form = $("[data-train-form]");
    const startButton = $("[data-action=start]");
    const cancelButton = $("[data-action=cancel]");
    const useButton = $("[data-action=use-model]");
    let source = null, job = null, run = null;
    // the charts follow the stream at most every CHART_MS, each on an animation frame: a quick run
    // sends a progress event every few milliseconds, and a full redraw for each would keep the page
    // from drawing frames (and the live landscape from showing) until the run ends
    const CHART_MS = 250;

    function task() {
      return form.elements.task ? form.elements.task.value : "sinusoid";
    }

    function showAlgoFields() {
      const t = task();
      const options = Array.from(form.elements.algo.options);
      options.forEach((o) => { o.hidden = !o.dataset.tasks.split(" ").includes(t); });
      if (form.elements.algo.selectedOptions[0].hidden) {
        form.elements.algo.value = options.find((o) => !o.hidden).value;
      }
      const algo = form.elements.algo.value;
      root.querySelectorAll("[data-only]").forEach((el) => { el.hidden = t !== "sinusoid" || el.dataset.only !== algo; });
      root.querySelectorAll("[data-task-only]").forEach((el) => { el.hidden = el.dataset.taskOnly !== t; });
      root.querySelectorAll("[data-not-algo]").forEach((el) => { el.hidden = el.dataset.notAlgo === algo; });
      $("[data-plot=probe]").hidden = t === "omniglot";
      $("[data-plot=trajectory]").hidden = t === "navigation";
    }

    /* Each task family's defaults and limits, written on its <option>. */
    function switchTask() {
      const option = form.elements.task.selectedOptions[0];
      for (const [name, value] of Object.entries(JSON.parse(option.dataset.defaults))) form.elements[name].value = value;
      form.elements.steps.max = option.dataset.maxSteps;
      form.elements.meta_batch.max = option.dataset.maxBatch;
      showAlgoFields();
    }
    form.elements.algo.addEventListener("change", showAlgoFields);
    if (form.elements.task) form.elements.task.addEventListener("change", switchTask);
    showAlgoFields();

    function config() {
      const algo = form.elements.algo.value;
      const body = { task: task(), algo };
      if (body.task === "omniglot") {
        body.ways = parseInt(form.elements.ways.value, 10);
        body.shots = 1;
      }
      for (const el of form.querySelectorAll("input[type=number]")) {
        if (el.closest("[hidden]")) continue;
        if (el.value === "") continue;
        body[el.name] = el.step === "1" ? parseInt(el.value, 10) : parseFloat(el.value);
      }
      return body;
    }

    /* Navigation: returns instead of losses, held-out goals before and after k steps. */
    function drawReturns() {
      const k = run.config.inner_steps;
      Fig.draw($("[data-plot=loss]"), [
        { x: run.steps.slice(), y: run.losses.map((l) => -l), name: "meta-batch, after adaptation", mode: "lines", line: { color: Fig.colors.accent, width: 1.5 } },
        { x: run.evalSteps.slice(), y: run.evalBefore.slice(), name: "held-out goals, before", mode: "lines+markers", line: { color: Fig.colors.pretrained, width: 2, dash: "dash" } },
        { x: run.evalSteps.slice(), y: run.evalAfter.slice(), name: `held-out goals, after ${k} step${k === 1 ? "" : "s"}`, mode: "lines+markers", line: { color: Fig.colors.maml, width: 2 } },
      ], {
        title: { text: "Mean return", font: { size: 14 } },
        xaxis: Fig.axis("meta-iteration", { range: [0, run.total] }),
        yaxis: Fig.axis("return (higher is better)"),
        margin: { l: 60, r: 16, t: 40 },
      });
    }

    function drawPaths(snapshot) {
      const box = run.probe.box, goal = run.probe.goal, last = snapshot.trajectories.length - 1;
      const traces = snapshot.trajectories.map((paths, j) => {
        const { x, y } = Fig.joinPaths(paths);
        const color = j === 0 ? "#b8bec6" : j === last ? Fig.colors.maml : Fig.colors.accent;
        const name = j === 0 ? "before adaptation" : `after ${j} step${j === 1 ? "" : "s"}`;
        return { x, y, name: `${name}: return ${Fig.fmt(snapshot.returns[j], 1)}`, mode: "lines", line: { color, width: j === last ? 1.8 : 1.2 }, hoverinfo: "skip" };
      });
      traces.push({ x: [goal[0]], y: [goal[1]], name: "goal", mode: "markers", marker: { symbol: "star", size: 15, color: "#f2c14e", line: { width: 1.5, color: Fig.colors.support } } });
      Fig.draw($("[data-plot=probe]"), traces, {
        title: { text: `Paths to a fixed goal at step ${snapshot.step}`, font: { size: 14 } },
        xaxis: Fig.axis("x", { range: [box[0] - 0.25, box[1] + 0.25] }),
        yaxis: Fig.axis("y", { range: [box[0] - 0.25, box[1] + 0.25], scaleanchor: "x" }),
        shapes: [{ type: "rect", x0: box[0], x1: box[1], y0: box[0], y1: box[1], line: { color: "#9aa3ad", width: 1, dash: "dash" } }],
      });
    }

    function drawLoss() {
      if (run.task === "navigation") { drawReturns(); return; }
      const classification = run.task === "omniglot";
      const traces = [
        { x: run.steps.slice(), y: run.losses.slice(), name: "meta-loss", mode: "lines", line: { color: Fig.colors.accent, width: 1.5 } },
      ];
      if (classification) {
        traces.push({ x: run.accSteps.slice(), y: run.accuracy.slice(), name: "validation accuracy (%)", yaxis: "y2",
                      mode: "lines+markers", line: { color: Fig.colors.maml, width: 2 } });
      } else {
        traces.push({ x: run.evalSteps.slice(), y: run.evalMse.slice(), name: "test MSE after 1 step", mode: "lines+markers", line: { color: Fig.colors.maml, width: 2 } });
      }
      const layout = {
        title: { text: "Meta-loss", font: { size: 14 } },
        xaxis: Fig.axis("meta-iteration", { range: [0, run.total] }),
        yaxis: Fig.axis(classification ? "cross-entropy" : "mean-squared error", { type: "log" }),
        margin: { l: 60, r: classification ? 56 : 16, t: 40 },
      };
      if (classification) layout.yaxis2 = Fig.axis("accuracy (%)", { overlaying: "y", side: "right", range: [0, 100] });
      Fig.draw($("[data-plot=loss]"), traces, layout);
    }

    function drawSnapshot(snapshot) {
      if (run.task === "navigation") { drawPaths(snapshot); return; }
      const p = run.probe;
      if (p) Fig.draw($("[data-plot=probe]"), [
        { x: p.x, y: p.target, name: "target", mode: "lines", line: { color: Fig.colors.target, dash: "dot", width: 2 } },
        { x: p.x, y: snapshot.predictions["0"], name: "step 0", mode: "lines", line: { color: Fig.colors.accent, dash: "dash", width: 1.5 } },
        { x: p.x, y: snapshot.predictions["1"], name: "1 step", mode: "lines", line: { color: Fig.colors.maml, width: 2.5 } },
        { x: p.x, y: snapshot.predictions["10"], name: "10 steps", mode: "lines", line: { color: Fig.colors.pretrained, width: 1.5 } },
        { x: p.support.x, y: p.support.y, name: "support", mode: "markers", marker: { color: Fig.colors.support, size: 8 } },
      ], {
        title: { text: `Probe task at step ${snapshot.step}`, font: { size: 14 } },
        xaxis: Fig.axis("x", { range: [-5, 5] }), yaxis: Fig.axis("y", { range: [-6, 6] }),
      });
      const path = snapshot.trajectory;
      Fig.draw($("[data-plot=trajectory]"), [
        { x: path.map((q) => q[0]), y: path.map((q) => q[1]), name: "θ during training", mode: "lines+markers",
          marker: { size: 5, color: path.map((_, i) => i), colorscale: "Viridis" }, line: { color: "#9aa3ad", width: 1 } },
        { x: [path[path.length - 1][0]], y: [path[path.length - 1][1]], name: "now", mode: "markers",
          marker: { size: 12, color: Fig.colors.pretrained, symbol: "star" } },
      ], {
        title: { text: "Parameter trajectory (PCA plane)", font: { size: 14 } },
        xaxis: Fig.axis("first principal component"), yaxis: Fig.axis("second principal component"),
      });
    }

    const lossChart = Fig.frame(drawLoss, CHART_MS);
    const snapshotChart = Fig.frame(drawSnapshot, CHART_MS);

    const drawNow = () => { lossChart.flush(); snapshotChart.flush(); };  // what the last events brought

    function finish(text, isError) {
      drawNow();
      if (isError) fig.fail(text); else fig.status(text);
      if (source) source.close();
      source = null;
      startButton.disabled = false;
      cancelButton.disabled = true;
    }

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (source) source.close();
      drawNow();
      useButton.hidden = true;
      startButton.disabled = true;
      fig.status("Starting…");
      run = { steps: [], losses: [], evalSteps: [], evalMse: [], evalBefore: [], evalAfter: [], accSteps: [], accuracy: [], total: 1, probe: null };
      try {
        job = await Fig.json("/api/jobs", config());
      } catch (error) {
        finish(error, true);
        return;
      }
      cancelButton.disabled = false;
      Fig.emit("training-started", job);
      source = new EventSource(job.events);
      source.addEventListener("queued", (e) => {
        fig.status(`Waiting in the queue: position ${JSON.parse(e.data).position}.`);
      });
      source.addEventListener("start", (e) => {
        const data = JSON.parse(e.data);
        run.total = data.steps;
        run.probe = data.probe;
        run.task = data.config.task;
        run.config = data.config;
        fig.status(`Training ${data.config.algo} for ${data.steps} meta-iterations…`);
      });
      source.addEventListener("progress", (e) => {
        const data = JSON.parse(e.data);
        if (data.returns) {
          run.evalSteps.push(data.step);
          run.evalBefore.push(data.returns["0"]);
          run.evalAfter.push(data.returns[String(run.config.inner_steps)]);
        } else if (data.mse) {
          run.evalSteps.push(data.step);
          run.evalMse.push(data.mse["1"]);
        } else if (data.accuracy !== undefined) {
          run.accSteps.push(data.step);
          run.accuracy.push(100 * data.accuracy);
        } else {
          run.steps.push(data.step);
          run.losses.push(data.loss);
          fig.status(run.task === "navigation"
            ? `Step ${data.step} of ${data.steps}: mean return after adaptation ${(-data.loss).toFixed(2)}`
            : `Step ${data.step} of ${data.steps}: meta-loss ${data.loss.toFixed(3)}`);
        }
        lossChart();
      });
      source.addEventListener("snapshot", (e) => snapshotChart(JSON.parse(e.data)));
      source.addEventListener("landscape", (e) => {
        Fig.emit("training-landscape", JSON.parse(e.data));
      });
      source.addEventListener("done", (e) => {
        const data = JSON.parse(e.data);
        if (data.eval.returns) {
          const r = data.eval.returns, ci = data.eval.ci95;
          const after = Object.keys(r).slice(1).map((j) => `${Fig.fmt(r[j], 2)} ± ${Fig.fmt(ci[j], 2)} after ${j}`);
          finish(`Done in ${data.seconds.toFixed(1)} s of training. Mean return on ${data.eval.goals} new goals: ` +
                 `${Fig.fmt(r["0"], 2)} ± ${Fig.fmt(ci["0"], 2)} before adapting, ${after.join(", ")} policy-gradient steps ` +
                 "(the model cards' measure; higher is better).");
          return;
        }
        if (data.eval.accuracy !== undefined) {
          finish(`Done in ${data.seconds.toFixed(1)} s of training. Accuracy on ${data.eval.episodes} episodes of the ` +
                 `validation alphabets: ${(100 * data.eval.accuracy).toFixed(1)}% ± ${(100 * data.eval.ci95).toFixed(1)}.`);
          return;
        }
        const mse = data.eval.mse;
        const fmt = (v) => (v === null ? "diverged" : v.toFixed(3));
        finish(`Done in ${data.seconds.toFixed(1)} s. Test MSE on 1,000 new tasks: ${fmt(mse["0"])} before adapting, ` +
               `${fmt(mse["1"])} after 1 step, ${fmt(mse["10"])} after 10 steps.`);
        useButton.hidden = false;
      });
      source.addEventListener("error", (e) => {
        if (e.data) finish(`Stopped: ${JSON.parse(e.data).message}`, true);
        else if (source && source.readyState === EventSource.CLOSED) finish("The connection to the server was lost.", true);
      });
    });

    cancelButton.addEventListener("click", async () => {
      if (!job) return;
      await Fig.json(`/api/jobs/${job.id}`, undefined, "DELETE").catch((error) => fig.fail(error));
    });
    useButton.addEventListener("click", () => {
      Fig.emit("model-trained", { id: job.id, algo: form.elements.algo.value });
      const figure = document.querySelector("[data-figure=sinusoid-finetune]");
      if (figure) figure.scrollIntoView({ behavior: "smooth" });
    });
  });
})();
