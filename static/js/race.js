/* Figure: the race. MAML, FOMAML, Reptile, iMAML and the pretrained baseline trained side by side as five
   training jobs (POST /api/race), each streamed from its own job's events: meta-loss against
   meta-iterations and against seconds of training, the probe task after 1 and 10 inner steps, θ on the
   plane of the reference models, and a table of what each job measured. */
"use strict";

(function () {
  const METHODS = [
    { id: "maml", title: "MAML" },
    { id: "fomaml", title: "FOMAML" },
    { id: "reptile", title: "Reptile" },
    { id: "imaml", title: "iMAML" },
    { id: "pretrained", title: "pretrained baseline" },
  ];
  const TITLE = Object.fromEntries(METHODS.map((m) => [m.id, m.title]));
  const NARROW = 640;  // px: below this the two curve panels stack
  const SMOOTH = 10;  // reported meta-losses in the running mean drawn

  /* The running mean of the last SMOOTH values at each point: one meta-batch's loss is noisy. */
  function runningMean(values) {
    let sum = 0;
    return values.map((v, i) => {
      sum += v - (i >= SMOOTH ? values[i - SMOOTH] : 0);
      return sum / Math.min(i + 1, SMOOTH);
    });
  }

  Fig.figure("race", (root, fig) => {
    const $ = fig.$;
    const form = $("[data-race-form]");
    const startButton = $("[data-action=start]");
    const cancelButton = $("[data-action=cancel]");
    const curves = $("[data-plot=curves]");
    const planePlot = $("[data-plot=plane]");
    const table = $("[data-table]");
    const probes = $("[data-probes]");
    let runs = {}, sources = [], starting = false;

    /* One small probe panel per method. */
    const panels = {};
    METHODS.forEach((m) => {
      const panel = document.createElement("div");
      panel.className = "plot race-probe";
      panel.dataset.probe = m.id;
      probes.appendChild(panel);
      panels[m.id] = panel;
    });

    function request() {
      const body = { task: form.elements.task.value, steps: parseInt(form.elements.steps.value, 10),
                     alpha: parseFloat(form.elements.alpha.value) };
      if (form.elements.inner_steps.value !== "") body.inner_steps = parseInt(form.elements.inner_steps.value, 10);
      return body;
    }

    const line = (id, extra) => Object.assign({ color: Fig.colors[id], width: id === "pretrained" ? 1.5 : 2 },
      id === "pretrained" ? { dash: "dot" } : {}, extra || {});

    /* Meta-loss against meta-iterations and against seconds, two panels on one y axis. */
    function drawCurves() {
      const traces = [];
      METHODS.forEach((m) => {
        const r = runs[m.id];
        if (!r) return;
        const common = { name: m.title, legendgroup: m.id, mode: "lines", line: line(m.id), y: runningMean(r.losses) };
        traces.push({ ...common, x: r.steps.slice(), xaxis: "x", yaxis: "y",
          hovertemplate: `${m.title}: step %{x}, meta-loss %{y:.3f}<extra></extra>` });
        traces.push({ ...common, x: r.seconds.slice(), xaxis: "x2", yaxis: "y2", showlegend: false,
          hovertemplate: `${m.title}: %{x:.2f} s, meta-loss %{y:.3f}<extra></extra>` });
      });
      const narrow = (curves.clientWidth || 800) < NARROW;
      const total = Math.max(1, ...Object.values(runs).map((r) => r.total));
      const yTitle = "meta-loss (MSE, log)";
      Fig.draw(curves, traces, {
        height: narrow ? 620 : 380,
        xaxis: Fig.axis("meta-iteration", { domain: narrow ? [0, 1] : [0, 0.47], anchor: "y", range: [0, total] }),
        xaxis2: Fig.axis("seconds of training", { domain: narrow ? [0, 1] : [0.53, 1], anchor: "y2", rangemode: "tozero" }),
        yaxis: Fig.axis(yTitle, { type: "log", domain: narrow ? [0.58, 1] : [0, 1], anchor: "x" }),
        yaxis2: Fig.axis(narrow ? yTitle : "", { type: "log", matches: "y", anchor: "x2", domain: narrow ? [0, 0.42] : [0, 1] }),
        title: { text: "Meta-loss", font: { size: 14 } },
      });
    }

    function drawProbe(id) {
      const r = runs[id];
      const p = r && r.probe, s = r && r.snapshot;
      if (!p || !s) return;
      Fig.draw(panels[id], [
        { x: p.x, y: p.target, name: "target", mode: "lines", line: { color: Fig.colors.target, dash: "dot", width: 1.5 } },
        { x: p.x, y: s.predictions["1"], name: "1 step", mode: "lines", line: { color: Fig.colors[id], width: 2.5 } },
        { x: p.x, y: s.predictions["10"], name: "10 steps", mode: "lines", line: { color: Fig.colors.support, width: 1.2, dash: "dash" } },
        { x: p.support.x, y: p.support.y, name: "support", mode: "markers", marker: { color: Fig.colors.support, size: 5 } },
      ], {
        height: 230, showlegend: false, margin: { l: 32, r: 6, t: 30, b: 28 },
        title: { text: `${TITLE[id]}, step ${s.step}`, font: { size: 12 } },
        xaxis: Fig.axis("", { range: [-5, 5], tickfont: { size: 10 } }),
        yaxis: Fig.axis("", { range: [-6, 6], tickfont: { size: 10 } }),
      });
    }

    function drawPlane() {
      const started = METHODS.filter((m) => runs[m.id] && runs[m.id].started);
      if (started.length && started.every((m) => !runs[m.id].hasPlane)) {
        Fig.draw(planePlot, [], { title: { text: "θ on the plane of the reference models", font: { size: 14 } },
          annotations: [{ text: "The reference models are missing on this server.", showarrow: false, x: 0.5, y: 0.5, xref: "paper", yref: "paper" }],
          xaxis: { visible: false }, yaxis: { visible: false } });
        return;
      }
      const traces = METHODS.filter((m) => runs[m.id] && runs[m.id].plane.length).map((m) => {
        const path = runs[m.id].plane;
        return { x: path.map((q) => q[0]), y: path.map((q) => q[1]), name: m.title, mode: "lines+markers",
                 line: line(m.id, { width: 1.5 }), marker: { size: 4, color: Fig.colors[m.id] },
                 hovertemplate: `${m.title}: (%{x:.3f}, %{y:.3f})<extra></extra>` };
      });
      traces.push({ x: [0], y: [0], mode: "markers+text", name: "θ₀", text: ["θ₀"], textposition: "bottom right",
        marker: { size: 9, color: "#1d1f21" }, hoverinfo: "skip" });
      Fig.draw(planePlot, traces, {
        title: { text: "θ on the plane of θ₀ and the reference models", font: { size: 14 } },
        xaxis: Fig.axis("towards reference MAML (1 = there)"), yaxis: Fig.axis("towards reference baseline (1 = there)"),
        showlegend: false, margin: { l: 60, r: 16, t: 40, b: 60 }, height: 420,
      });
    }

    function renderTable() {
      table.textContent = "";
      table.createCaption().textContent = "Measured by each job: MSE on 1,000 new tasks ± its 95% interval";
      const head = table.createTHead().insertRow();
      ["method", "state", "ms per meta-iteration", "MSE after 1 step", "after 10 steps", "memory (MiB)"].forEach((text) => {
        const th = document.createElement("th");
        th.scope = "col";
        th.textContent = text;
        head.appendChild(th);
      });
      const body = table.createTBody();
      METHODS.forEach((m) => {
        const r = runs[m.id];
        if (!r) return;
        const row = body.insertRow();
        row.dataset.method = m.id;
        const th = document.createElement("th");
        th.scope = "row";
        th.textContent = m.title;
        th.className = `swatch swatch-${m.id}`;
        row.appendChild(th);
        const d = r.done;
        const mse = (k) => (d ? (d.eval.mse[k] === null ? "diverged" : `${Fig.fmt(d.eval.mse[k])} ± ${Fig.fmt(d.eval.ci95[k])}`) : "");
        const cells = [r.state, d ? Fig.fmt((1000 * d.seconds) / d.steps, 2) : "", mse("1"), mse("10"),
                       r.memory === null ? "" : Fig.fmt(r.memory, 3)];
        cells.forEach((text, i) => {
          const cell = row.insertCell();
          cell.textContent = text;
          if (i === 0) cell.dataset.state = r.done ? "done" : r.state;
        });
      });
    }

    /* Draw at most once a frame: a cached race replays hundreds of events at once. */
    let pending = new Set();
    function schedule(part) {
      if (!pending.size) requestAnimationFrame(flush);
      pending.add(part);
    }
    function flush() {
      const parts = pending;
      pending = new Set();
      if (parts.has("curves")) drawCurves();
      if (parts.has("plane")) drawPlane();
      if (parts.has("table")) renderTable();
      METHODS.forEach((m) => { if (parts.has(`probe-${m.id}`)) drawProbe(m.id); });
    }
    fig.redraw(() => { schedule("curves"); schedule("plane"); METHODS.forEach((m) => schedule(`probe-${m.id}`)); });

    function finished() {
      return Object.values(runs).every((r) => r.ended);
    }
    function summary() {
      const states = Object.values(runs).map((r) => r.state);
      const done = states.filter((s) => s === "done").length;
      if (finished()) {
        startButton.disabled = false;
        cancelButton.disabled = true;
        fig.status(done === METHODS.length ? "The race is over: all five jobs finished." : `The race stopped: ${done} of five jobs finished.`);
      } else {
        const running = Object.values(runs).filter((r) => r.state.startsWith("step")).map((r) => `${TITLE[r.id]} ${r.state}`);
        fig.status(running.length ? `Training: ${running.join(", ")}.` : "Waiting for a worker…");
      }
    }

    function end(r, state) {
      r.state = state;
      r.ended = true;
      r.source.close();
      schedule("table");
      summary();
    }

    function follow(job) {
      const r = { id: job.algo, job: job.id, steps: [], losses: [], seconds: [], plane: [], total: 1, probe: null,
                  snapshot: null, done: null, memory: null, state: "waiting", ended: false, started: false, hasPlane: false };
      runs[job.algo] = r;
      const source = new EventSource(job.events);
      r.source = source;
      sources.push(source);
      const listen = (name, handler) => source.addEventListener(name, (e) => handler(JSON.parse(e.data)));
      listen("queued", (d) => { r.state = `queued (${d.position})`; schedule("table"); });
      listen("start", (d) => {
        r.total = d.steps;
        r.probe = d.probe;
        r.memory = d.memory_mb;
        r.started = true;
        r.state = "step 0";
        schedule("table");
      });
      listen("progress", (d) => {
        if (d.seconds === undefined) return;  // an evaluation, not a training step
        r.steps.push(d.step);
        r.losses.push(d.loss);
        r.seconds.push(d.seconds);
        r.state = `step ${d.step}`;
        schedule("curves");
        schedule("table");
      });
      listen("snapshot", (d) => {
        r.snapshot = d;
        if (d.plane) { r.plane.push(d.plane); r.hasPlane = true; }
        schedule(`probe-${r.id}`);
        schedule("plane");
      });
      listen("done", (d) => { r.done = d; end(r, "done"); });
      source.addEventListener("error", (e) => {
        if (e.data) end(r, JSON.parse(e.data).message);
        else if (source.readyState === EventSource.CLOSED && !r.ended) end(r, "connection lost");
      });
    }

    function stopListening() {
      sources.forEach((s) => s.close());
      sources = [];
    }

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (starting) return;
      starting = true;
      stopListening();
      startButton.disabled = true;
      fig.status("Starting the race…");
      try {
        const race = await Fig.json("/api/race", request());
        runs = {};
        race.jobs.forEach(follow);
        cancelButton.disabled = false;
        schedule("table");
        summary();
      } catch (error) {
        startButton.disabled = false;
        fig.fail(error);
      } finally {
        starting = false;
      }
    });

    cancelButton.addEventListener("click", async () => {
      cancelButton.disabled = true;
      const live = Object.values(runs).filter((r) => !r.ended);
      await Promise.all(live.map((r) => Fig.json(`/api/jobs/${r.job}`, undefined, "DELETE"))).catch((error) => fig.fail(error));
    });
  });
})();
